//! Bare `k6 run` of corpus scripts against the stand-in.
//!
//! Covers every corpus script without remote imports whose own options run
//! for at most ~40 s (`offline && duration <= Short` in `testkit::corpus`,
//! measured verdicts only): the exit code must be one the corpus records and
//! every check in the `--summary-export` must do what the corpus says (pass
//! where it passes against the real service). Each script gets its own
//! stand-in, temporary directory (also k6's working directory, so
//! `handleSummary` files land there) and k6 process in its own process group,
//! killed on drop; waits are bounded by the script's own duration plus a
//! margin.
//!
//! k6: `$K6`, else `.tools/k6/bin/k6` of the workspace.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use testkit::corpus::{self, DurationClass, Env, Expect, Script, Verdict};
use testkit::process::ProcessGroup;
use testkit::stand_in::StandIn;

/// The scripts this test runs.
fn selected() -> impl Iterator<Item = &'static Script> {
    corpus::SCRIPTS.iter().filter(|s| {
        s.offline && s.duration <= DurationClass::Short && matches!(s.verdict, Verdict::Measured(_))
    })
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Every check in a summary export, by path.
fn checks(summary: &serde_json::Value) -> BTreeMap<String, (u64, u64)> {
    fn walk(group: &serde_json::Value, out: &mut BTreeMap<String, (u64, u64)>) {
        if let Some(checks) = group["checks"].as_object() {
            for c in checks.values() {
                let path = c["path"].as_str().unwrap_or_default().to_owned();
                let passes = c["passes"].as_u64().unwrap_or(0);
                let fails = c["fails"].as_u64().unwrap_or(0);
                out.insert(path, (passes, fails));
            }
        }
        if let Some(groups) = group["groups"].as_object() {
            for g in groups.values() {
                walk(g, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(&summary["root_group"], &mut out);
    out
}

fn run(path: &str) {
    let script = corpus::script(path).unwrap_or_else(|| panic!("{path} is not in the corpus"));
    let file = script.file();
    assert!(
        file.is_file(),
        "corpus file missing: {} (tests/corpus/ content is third-party; see its README.md)",
        file.display()
    );
    let k6 = testkit::world::k6();

    let stand_in = StandIn::start();
    let tmp = tempfile::tempdir().expect("temp dir");
    let config = stand_in.k6_config_file(tmp.path());
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).expect("work dir");
    let summary = tmp.path().join("summary.json");
    let stdout = tmp.path().join("stdout.txt");
    let stderr = tmp.path().join("stderr.txt");

    let mut cmd = Command::new(&k6);
    cmd.arg("run")
        .arg("--address")
        .arg("")
        .arg("--summary-export")
        .arg(&summary);
    if script.env == Env::BaseUrl {
        cmd.arg("-e")
            .arg(format!("BASE_URL={}", stand_in.base_url()));
    }
    cmd.arg(&file)
        .current_dir(&work)
        .env("K6_CONFIG", &config)
        .env("K6_NO_USAGE_REPORT", "true")
        .stdout(File::create(&stdout).expect("stdout file"))
        .stderr(File::create(&stderr).expect("stderr file"));

    let started = Instant::now();
    let mut child = ProcessGroup::spawn("k6", &mut cmd).unwrap_or_else(|error| panic!("{error}"));
    let limit = Duration::from_secs(u64::from(script.seconds) + 30);
    let Some(status) = child.wait_for(limit) else {
        drop(child);
        panic!(
            "{path}: k6 still running after {limit:?}; stderr:\n{}",
            tail(&stderr, 20)
        );
    };
    let took = started.elapsed();
    let code = status.code().unwrap_or(-1);
    eprintln!("{path}: exit {code} in {:.1} s", took.as_secs_f64());

    let context = || {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            tail(&stdout, 40),
            tail(&stderr, 20)
        )
    };
    assert!(
        script.verdict.codes().contains(&code),
        "{path}: exit {code}, expected one of {:?}\n{}",
        script.verdict.codes(),
        context()
    );

    // k6 writes no summary when it stops before the test starts (e.g. 107).
    let seen = match std::fs::read_to_string(&summary) {
        Ok(text) => checks(&serde_json::from_str(&text).expect("summary export is JSON")),
        Err(_) => BTreeMap::new(),
    };
    let expected: BTreeMap<&str, Expect> = script.checks.iter().copied().collect();
    for (check, &(passes, fails)) in &seen {
        let Some(&expect) = expected.get(check.as_str()) else {
            panic!("{path}: unexpected check {check:?} ({passes} passes, {fails} fails)");
        };
        let ok = match expect {
            Expect::Pass => passes > 0 && fails == 0,
            Expect::Fail => passes == 0 && fails > 0,
            Expect::Any => passes + fails > 0,
        };
        assert!(
            ok,
            "{path}: check {check:?} should be {expect:?}: {passes} passes, {fails} fails\n{}",
            context()
        );
    }
    for check in expected.keys() {
        assert!(
            seen.contains_key(*check),
            "{path}: check {check:?} not recorded\n{}",
            context()
        );
    }
}

macro_rules! corpus_tests {
    ($($name:ident => $path:literal,)*) => {
        $(
            #[test]
            fn $name() {
                run($path);
            }
        )*

        #[test]
        fn every_selected_script_has_a_test() {
            let listed: &[&str] = &[$($path),*];
            let wanted: Vec<&str> = selected().map(|s| s.path).collect();
            assert_eq!(listed, wanted.as_slice());
        }
    };
}

corpus_tests! {
    k6_tagging => "grafana__k6/examples/tagging.js",
    k6_es6sample => "grafana__k6/examples/es6sample.js",
    k6_custom_handle_summary => "grafana__k6/examples/custom_handle_summary.js",
    k6_csv_parse => "grafana__k6/examples/experimental/csv-parse.js",
    k6_csv_parser => "grafana__k6/examples/experimental/csv-parser.js",
    k6_fs => "grafana__k6/examples/experimental/fs/fs.js",
    k6_enhanced_script_ts => "grafana__k6/examples/enhanced/script.ts",
    k6_enhanced_abort_ts => "grafana__k6/examples/enhanced/abort.ts",
    k6_custom_metrics => "grafana__k6/samples/custom_metrics.js",
    k6_thresholds => "grafana__k6/samples/thresholds.js",
    k6_cookies => "grafana__k6/samples/cookies.js",
    k6_scenarios => "grafana__k6/samples/scenarios.js",
    quickpizza_01_basic_js => "grafana__quickpizza/k6/foundations/01.basic.js",
    quickpizza_01_basic_ts => "grafana__quickpizza/k6/foundations/01.basic.ts",
    quickpizza_03_lifecycle => "grafana__quickpizza/k6/foundations/03.lifecycle.js",
    quickpizza_04_metrics => "grafana__quickpizza/k6/foundations/04.metrics.js",
    quickpizza_06_thresholds => "grafana__quickpizza/k6/foundations/06.checks-with-thresholds.js",
    quickpizza_13_websockets => "grafana__quickpizza/k6/foundations/13.basic.websockets.js",
    quickpizza_17_login => "grafana__quickpizza/k6/foundations/17.login-action.js",
    test_api_basic_auth => "grafana__test-api.k6.io/k6_tests/basic_auth.js",
    test_api_cookie_auth => "grafana__test-api.k6.io/k6_tests/cookie_auth.js",
    test_api_token_auth => "grafana__test-api.k6.io/k6_tests/token_auth.js",
    test_api_multiusers => "grafana__test-api.k6.io/k6_tests/multiusers_demo.js",
    k6_benchmarks_website => "grafana__k6-benchmarks/scripts/website.js",
    jslib_utils_find_between => "grafana__k6-jslib-utils/tests/findBetween.js",
    k6_learn_playground => "grafana__k6-learn/Modules/III-k6-Intermediate/playground.js",
    template_ts_get_200 => "grafana__k6-template-typescript/src/get-200-status-test.ts",
}
