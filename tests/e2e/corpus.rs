//! Public k6 scripts written by other projects (`tests/corpus/`, verbatim)
//! run under the runner as their authors meant them, and as bare `k6 run`
//! runs them: the same exit code and verdict, the same thresholds with the
//! same outcome, the same metrics (every custom one included), checks that
//! pass or fail alike and about as many requests. Both runs use the same
//! local stand-in for the public demo services (`testkit`), reached through
//! the same k6 config (`K6_CONFIG`, passed to k6 with `--pass-env`).

use std::collections::BTreeSet;
use std::fs::File;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use testkit::corpus::{self, Env, Expect, Script};
use testkit::process::ProcessGroup;
use testkit::stand_in::StandIn;

use crate::runner::{Options, Runner, World, k6, step};

/// How the request count of a script can be compared between two runs.
#[derive(Clone, Copy, Debug)]
enum Requests {
    /// Set by iterations: the same count.
    Exact,
    /// Paced by `sleep` over a fixed duration: within 30 %.
    Near,
    /// As fast as the machine allows (no `sleep`): both sent some.
    Some,
}

/// The scripts compared: every offline corpus script with a measured,
/// single exit code that runs for at most 10 s with its own options, but
/// the one the stand-in test already covers at 10 s (`01.basic.js`, whose
/// TypeScript twin is here).
const SELECTED: &[(&str, Requests)] = &[
    ("grafana__k6/examples/tagging.js", Requests::Exact),
    (
        "grafana__k6/examples/custom_handle_summary.js",
        Requests::Exact,
    ),
    (
        "grafana__k6/examples/experimental/csv-parse.js",
        Requests::Exact,
    ),
    (
        "grafana__k6/examples/experimental/csv-parser.js",
        Requests::Exact,
    ),
    (
        "grafana__k6/examples/experimental/fs/fs.js",
        Requests::Exact,
    ),
    ("grafana__k6/examples/enhanced/abort.ts", Requests::Exact),
    ("grafana__k6/samples/custom_metrics.js", Requests::Exact),
    ("grafana__k6/samples/thresholds.js", Requests::Exact),
    ("grafana__k6/samples/cookies.js", Requests::Exact),
    ("grafana__k6/samples/scenarios.js", Requests::Some),
    (
        "grafana__quickpizza/k6/foundations/01.basic.ts",
        Requests::Near,
    ),
    (
        "grafana__quickpizza/k6/foundations/17.login-action.js",
        Requests::Near,
    ),
    ("grafana__k6-benchmarks/scripts/website.js", Requests::Exact),
    (
        "grafana__k6-jslib-utils/tests/findBetween.js",
        Requests::Exact,
    ),
    (
        "grafana__k6-learn/Modules/III-k6-Intermediate/playground.js",
        Requests::Exact,
    ),
    (
        "grafana__k6-template-typescript/src/get-200-status-test.ts",
        Requests::Near,
    ),
];

/// What a bare k6 run gave.
struct Bare {
    code: i32,
    /// Its `--summary-export` (k6 writes none when the script aborts early).
    summary: Option<Value>,
}

/// Runs `script` with bare `k6 run` (its own options), in its own process
/// group and working directory, for at most its own duration plus 60 s.
fn run_bare(script: &Script, stand_in: &StandIn, config: &Path, work: &Path) -> Bare {
    let dir = work.join(script.path.replace('/', "__"));
    std::fs::create_dir_all(&dir).unwrap();
    let export = dir.join("summary-export.json");
    let mut command = Command::new(k6());
    command
        .args(["run", "--no-usage-report", "--address", ""])
        .arg("--summary-export")
        .arg(&export);
    if script.env == Env::BaseUrl {
        command
            .arg("-e")
            .arg(format!("BASE_URL={}", stand_in.base_url()));
    }
    command
        .arg(script.file())
        .current_dir(&dir)
        .env("K6_CONFIG", config)
        .stdout(File::create(dir.join("stdout.txt")).unwrap())
        .stderr(File::create(dir.join("stderr.txt")).unwrap());
    let mut k6 = ProcessGroup::spawn("bare k6", &mut command).unwrap_or_else(|e| panic!("{e}"));
    let limit = Duration::from_secs(u64::from(script.seconds) + 60);
    let status = k6
        .wait_for(limit)
        .unwrap_or_else(|| panic!("bare k6 run of {} did not end in time", script.path));
    Bare {
        code: status.code().expect("k6 ended by itself"),
        summary: std::fs::read(&export)
            .ok()
            .map(|bytes| serde_json::from_slice(&bytes).unwrap()),
    }
}

/// Copies the corpus into `to`, keeping its layout (relative imports and
/// `open()` paths resolve as in the original repositories).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Metric names (with their tags) of a bare summary export.
fn bare_metrics(summary: &Value) -> BTreeSet<String> {
    summary["metrics"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

/// Thresholds of a bare summary export as (metric, expression, held).
/// In the export, `true` means the threshold was crossed.
fn bare_thresholds(summary: &Value) -> BTreeSet<(String, String, bool)> {
    let mut out = BTreeSet::new();
    for (metric, values) in summary["metrics"].as_object().unwrap() {
        if let Some(thresholds) = values["thresholds"].as_object() {
            for (expression, crossed) in thresholds {
                out.insert((
                    metric.clone(),
                    expression.clone(),
                    !crossed.as_bool().unwrap(),
                ));
            }
        }
    }
    out
}

/// Passes and fails of every check of a bare summary export.
fn bare_checks(summary: &Value) -> (u64, u64) {
    fn walk(group: &Value, totals: &mut (u64, u64)) {
        for check in group["checks"]
            .as_object()
            .into_iter()
            .flat_map(|c| c.values())
        {
            totals.0 += check["passes"].as_u64().unwrap();
            totals.1 += check["fails"].as_u64().unwrap();
        }
        for inner in group["groups"]
            .as_object()
            .into_iter()
            .flat_map(|g| g.values())
        {
            walk(inner, totals);
        }
    }
    let mut totals = (0, 0);
    walk(&summary["root_group"], &mut totals);
    totals
}

/// A count of a bare summary export (`http_reqs`, `iterations`).
fn bare_count(summary: &Value, metric: &str) -> Option<u64> {
    summary["metrics"][metric]["count"].as_u64()
}

/// Compares one script's step with its bare run and with the summary
/// export its own k6 wrote into the step's folder (`export`); returns what
/// differs.
fn differences(
    script: &Script,
    requests: Requests,
    bare: &Bare,
    ran: &Value,
    export: Option<Value>,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut differ = |what: &str, bare: String, runner: String| {
        if bare != runner {
            out.push(format!("{what}: bare {bare}, runner {runner}"));
        }
    };
    let state = if bare.code == 0 {
        "completed"
    } else {
        "failed"
    };
    differ(
        "exit code",
        bare.code.to_string(),
        ran["exitCode"].to_string(),
    );
    differ(
        "verdict",
        state.into(),
        ran["state"].to_string().replace('"', ""),
    );
    let Some(summary) = &bare.summary else {
        return out;
    };
    let got = &ran["summary"];
    differ(
        "summary source",
        "\"summaryExport\"".into(),
        got["source"].to_string(),
    );
    let metrics: BTreeSet<String> = got["metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect();
    // Everything the step's k6 reported is in the record, exactly.
    match &export {
        Some(export) => differ(
            "metrics of the step's own export",
            format!("{:?}", bare_metrics(export)),
            format!("{metrics:?}"),
        ),
        None => differ(
            "summary export in the step's folder",
            "written".into(),
            "missing".into(),
        ),
    }
    // A random script may record a metric in one run and not the other (a
    // Counter added only after a random login worked).
    let random = script.checks.iter().any(|(_, e)| *e == Expect::Any);
    if !random {
        differ(
            "metrics",
            format!("{:?}", bare_metrics(summary)),
            format!("{metrics:?}"),
        );
    }
    let thresholds: BTreeSet<(String, String, bool)> = got["thresholds"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            (
                t["metric"].as_str().unwrap().to_owned(),
                t["expression"].as_str().unwrap().to_owned(),
                t["passed"].as_bool().unwrap(),
            )
        })
        .collect();
    differ(
        "thresholds",
        format!("{:?}", bare_thresholds(summary)),
        format!("{thresholds:?}"),
    );
    // Checks: where every check does the same each time, the same ones
    // fail; where some are random, only that both ran checks.
    let (passes, fails) = bare_checks(summary);
    let (got_passes, got_fails) = (
        got["checksPassed"].as_u64().unwrap_or(0),
        got["checksFailed"].as_u64().unwrap_or(0),
    );
    if !random {
        differ(
            "failing checks",
            (fails > 0).to_string(),
            (got_fails > 0).to_string(),
        );
    }
    differ(
        "checks ran",
        (passes + fails > 0).to_string(),
        (got_passes + got_fails > 0).to_string(),
    );
    let (bare_requests, got_requests) = (
        bare_count(summary, "http_reqs"),
        got["requests"].as_u64().filter(|&r| r > 0),
    );
    match (requests, bare_requests, got_requests) {
        (_, None, None) => {}
        (Requests::Exact, b, g) => differ("requests", format!("{b:?}"), format!("{g:?}")),
        (Requests::Near, Some(b), Some(g)) if g.abs_diff(b) * 10 <= b * 3 => {}
        (Requests::Some, Some(_), Some(_)) => {}
        (_, b, g) => differ(
            "requests",
            format!("{b:?}"),
            format!("{g:?} (not within 30 %)"),
        ),
    }
    if matches!(requests, Requests::Exact) {
        differ(
            "iterations",
            format!("{:?}", bare_count(summary, "iterations")),
            format!("{:?}", got["iterations"].as_u64().filter(|&i| i > 0)),
        );
    }
    out
}

/// Sixteen public scripts (scenarios, TypeScript, helper modules, custom
/// metrics, handleSummary, experimental modules, an abort, crossed
/// thresholds) run bare, then as one suite under the runner with their own
/// load: each step agrees with its bare run.
#[tokio::test]
async fn public_scripts_run_under_the_runner_as_bare_k6_runs_them() {
    let world = World::new().await;
    let stand_in = StandIn::start();
    let config = stand_in.k6_config_file(world.dir.path());
    let scripts: Vec<(&Script, Requests)> = SELECTED
        .iter()
        .map(|&(path, requests)| {
            let script = corpus::script(path).unwrap_or_else(|| panic!("{path} not in the corpus"));
            (script, requests)
        })
        .collect();

    let work = world.dir.path().join("bare");
    let bare: Vec<Bare> = scripts
        .iter()
        .map(|(script, _)| run_bare(script, &stand_in, &config, &work))
        .collect();

    copy_tree(&corpus::corpus_dir(), &world.scripts.join("corpus"));
    let config_path = config.display().to_string();
    let runner = Runner::start_with(
        &world,
        Options {
            args: &["--pass-env", "K6_CONFIG"],
            env: &[("K6_CONFIG", &config_path)],
            ..Options::default()
        },
    );
    let entries: Vec<Value> = scripts
        .iter()
        .map(|(script, _)| {
            let mut entry = json!({"script": format!("corpus/{}", script.path), "load": "script"});
            if script.env == Env::BaseUrl {
                entry["env"] = json!({"BASE_URL": stand_in.base_url()});
            }
            entry
        })
        .collect();
    runner
        .configure(&json!({
            "globalUserCount": 1, "testDuration": "5s", "rampUpDuration": 0,
            "maxDuration": 120, "intervalBetweenTests": 0,
            "enabledScripts": entries,
        }))
        .await;
    runner.start_run().await;
    // Sixteen steps of up to 10 s each, plus k6's start and end per step.
    runner
        .wait_status(Duration::from_secs(300), "the suite to end", |s| {
            s["isRunning"] == false
        })
        .await;
    let (status, results) = runner.get("/results").await;
    assert_eq!(status, 200, "{results}");

    let run_dir = world
        .data
        .join("runs")
        .join(results["id"].as_str().unwrap());
    let report: Vec<String> = scripts
        .iter()
        .zip(&bare)
        .flat_map(|((script, requests), bare)| {
            let ran = step(&results, &format!("corpus/{}", script.path));
            let export = std::fs::read(
                run_dir
                    .join(ran["dir"].as_str().unwrap())
                    .join("summary.json"),
            )
            .ok()
            .map(|bytes| serde_json::from_slice(&bytes).unwrap());
            differences(script, *requests, bare, ran, export)
                .into_iter()
                .map(move |d| format!("{}: {d}", script.path))
        })
        .collect();
    assert!(report.is_empty(), "{}", report.join("\n"));
}
