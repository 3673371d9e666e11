//! Suites as their authors wrote them: the cluster manager's wrappers with
//! their own positional arguments, one script at several user counts,
//! scenario scripts with their own load, TypeScript, helper modules that
//! are not tests, `handleSummary()` files kept with the run, and the
//! rendered `k6_all.sh` run by hand agreeing with the runner.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::runner::*;

/// One of the cluster manager's dashboards: a Trend and a Rate per panel,
/// run for a fixed number of iterations.
const DASHBOARD: &str = r#"
import http from 'k6/http';
import { check } from 'k6';
import { Trend, Rate } from 'k6/metrics';
const responseTime = new Trend('dashboard_response_time', true);
const panelOk = new Rate('panel_success_rate_1');
export default function () {
  const res = http.get(`TARGET/json?from=${__ENV.TIME_FROM}&to=${__ENV.TIME_TO}`);
  responseTime.add(res.timings.duration);
  panelOk.add(res.status === 200);
  check(res, { 'panel answered': (r) => r.status === 200 });
}
"#;

/// `overall-1.sh <time-range> <vus> <iterations> <interval-seconds>`, as the
/// cluster manager's: every dashboard of its folder, each piped through
/// `tee` (which hides k6's exit code), then a pause.
const OVERALL_1: &str = r#"#!/usr/bin/env bash
if [ "$#" -ne 4 ]; then
  echo "usage: $0 <time-range> <vus> <iterations> <interval-seconds>" >&2
  exit 1
fi
cd "$(dirname "$0")" || exit 1
for dash in *.js; do
  k6 run --no-usage-report -e TIME_FROM="now-$1" -e TIME_TO=now --vus "$2" --iterations "$3" "$dash" | tee "${dash%.js}.out"
done
sleep "$4"
"#;

/// `overall.sh <vus> <iterations> <interval-seconds>` (login, reports).
const OVERALL: &str = r#"#!/usr/bin/env bash
if [ "$#" -ne 3 ]; then
  echo "usage: $0 <vus> <iterations> <interval-seconds>" >&2
  exit 1
fi
cd "$(dirname "$0")" || exit 1
k6 run --no-usage-report --vus "$1" --iterations "$2" flow.js | tee flow.out
sleep "$3"
"#;

/// Scenarios with named functions and no `default`: its own load only.
const SCENARIOS: &str = r#"
import http from 'k6/http';
import { sleep } from 'k6';
export const options = {
  scenarios: {
    browse: { executor: 'constant-vus', vus: 2, duration: '2s', exec: 'browse' },
    burst: { executor: 'shared-iterations', vus: 2, iterations: 6, exec: 'burst', startTime: '1s' },
  },
};
export function browse() { http.get('TARGET/fast'); sleep(0.1); }
export function burst() { http.get('TARGET/json'); }
"#;

/// TypeScript, which k6 1.x runs natively.
const TYPESCRIPT: &str = r#"
import http from 'k6/http';
import { check } from 'k6';
interface Page { path: string }
const page: Page = { path: '/fast' };
export default function (): void {
  check(http.get(`TARGET${page.path}`), { 'typed ok': (r) => r.status === 200 });
}
"#;

/// A helper module: named exports only, imported by tests, not a test.
const HELPER: &str = r#"
export const BASE = 'TARGET';
export function url(path) { return `${BASE}${path}`; }
"#;

/// Its own load (three iterations) and its own report file, written with a
/// relative path.
const REPORTING: &str = r#"
import http from 'k6/http';
import { url } from './lib/config.js';
export const options = { iterations: 3 };
export default function () { http.get(url('/fast')); }
export function handleSummary(data) {
  return {
    'report.json': JSON.stringify({ iterations: data.metrics.iterations.values.count }),
    stdout: 'custom summary\n',
  };
}
"#;

/// sha256 of every file below `dir`, by relative path.
fn tree_digest(dir: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for entry in walk(dir) {
        let bytes = std::fs::read(&entry).unwrap();
        let name = entry.strip_prefix(dir).unwrap().display().to_string();
        files.insert(name, hex::encode(Sha256::digest(&bytes)));
    }
    files
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn metric_names(summary: &Value) -> Vec<String> {
    summary["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The three lines of the cluster manager's `k6_all.sh`
/// (`linux-mssql-dashboard/overall-1.sh 6h 5 5 10`, `login/overall.sh 5 5
/// 10`, `reports/overall.sh 1 1 10`), with users from the config: each
/// wrapper gets its own argument list; every dashboard's summary, custom
/// metrics included, is kept in order; the `tee` files are the run's; the
/// script directory is untouched and the record names what ran.
#[tokio::test]
async fn the_cluster_managers_wrappers_run_with_their_own_arguments() {
    let world = World::new().await;
    world.script("dashboards/overall-1.sh", OVERALL_1);
    world.script("dashboards/cpu.js", DASHBOARD);
    world.script("dashboards/disk.js", DASHBOARD);
    world.script("login/overall.sh", OVERALL);
    world.script("login/flow.js", crate::runner::PASS);
    world.script("reports/overall.sh", OVERALL);
    world.script("reports/flow.js", crate::runner::PASS);
    let before = tree_digest(&world.scripts);
    let runner = Runner::start(&world, &[]);
    runner
        .configure(&json!({
            "globalUserCount": 5, "testDuration": "10s", "rampUpDuration": 0,
            "maxDuration": 120, "intervalBetweenTests": 0,
            "enabledScripts": [
                {"script": "dashboards/overall-1.sh", "users": 2, "iterations": 3,
                 "args": ["6h", "{users}", "{iterations}", "1"]},
                {"script": "login/overall.sh", "users": 2, "iterations": 2,
                 "args": ["{users}", "{iterations}", "1"]},
                {"script": "reports/overall.sh", "users": 1, "iterations": 1,
                 "args": ["{users}", "{iterations}", "1"]},
            ],
        }))
        .await;
    runner.start_run().await;
    let results = runner.wait_for_results().await;
    let steps = results["steps"].as_array().unwrap();
    for step in steps {
        assert_eq!(step["state"], "completed", "{step}");
    }
    // Two dashboards: two k6 summaries in order, each with its panels'
    // metrics; the step's figures are their exact sums.
    let dashboards = &steps[0]["summary"];
    let runs = dashboards["runs"]
        .as_array()
        .expect("one summary per dashboard");
    assert_eq!(runs.len(), 2, "{dashboards}");
    for run in runs {
        let names = metric_names(run);
        assert!(
            names.contains(&"dashboard_response_time".to_owned()),
            "{names:?}"
        );
        assert!(
            names.contains(&"panel_success_rate_1".to_owned()),
            "{names:?}"
        );
        assert_eq!(run["iterations"], 3, "{run}");
    }
    assert_eq!(dashboards["iterations"], 6);
    assert_eq!(
        dashboards["requestsPerSecond"],
        Value::Null,
        "no invented rate"
    );
    // The time range reached k6 as the wrapper passed it.
    let (_, logs) = runner.get("/logs?limit=5000").await;
    assert!(
        logs["lines"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| !l["message"].as_str().unwrap().contains("usage:"))
    );
    // The tee files are the run's, not the script directory's.
    let files: Vec<&str> = steps[0]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(
        files.iter().any(|f| f.ends_with("dashboards/cpu.out")),
        "{files:?}"
    );
    assert_eq!(
        tree_digest(&world.scripts),
        before,
        "the script directory changed"
    );
    let wrapper = std::fs::read(world.scripts.join("dashboards/overall-1.sh")).unwrap();
    assert_eq!(
        steps[0]["snapshot"]["scriptSha256"],
        hex::encode(Sha256::digest(&wrapper))
    );
}

/// The brief's example suite: one script at 5, 10, 25 and 50 users, each
/// step with its own count, in order.
#[tokio::test]
async fn one_script_runs_at_four_user_counts() {
    let world = World::new().await;
    let runner = Runner::start(&world, &[]);
    let entries: Vec<Value> = [5, 10, 25, 50]
        .iter()
        .map(|users| json!({"script": "long.js", "users": users}))
        .collect();
    runner
        .configure(&json!({
            "globalUserCount": 1, "testDuration": "2s", "rampUpDuration": 0,
            "maxDuration": 60, "intervalBetweenTests": 0, "enabledScripts": entries,
        }))
        .await;
    let started = runner.start_run().await;
    let results = runner.wait_for_results().await;
    assert_eq!(results["id"], started.as_str());
    let got: Vec<(u64, &str, u64)> = results["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["step"].as_u64().unwrap(),
                s["state"].as_str().unwrap(),
                s["summary"]["maxVus"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (1, "completed", 5),
            (2, "completed", 10),
            (3, "completed", 25),
            (4, "completed", 50)
        ]
    );
}

/// A script of its own scenarios (no `default`) is refused under the
/// global load with the way out, runs with `"load": "script"` and gives
/// the scenario results bare k6 gives; a TypeScript script runs.
#[tokio::test]
async fn scenario_scripts_run_their_own_load_and_typescript_runs() {
    let world = World::new().await;
    world.script("scenarios.js", SCENARIOS);
    world.script("typed.ts", TYPESCRIPT);
    let runner = Runner::start(&world, &[]);
    let mut body = config(2, "2s", 60, &["scenarios.js"], 0);
    let (status, refused) = runner.put_json("/config", &body).await;
    assert_eq!(status, 422, "{refused}");
    let message = refused["fields"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("own scenarios (browse and burst)"),
        "{message}"
    );
    assert!(message.contains("\"load\": \"script\""), "{message}");

    body["enabledScripts"] = json!([{"script": "scenarios.js", "load": "script"}, "typed.ts"]);
    runner.configure(&body).await;
    runner.start_run().await;
    let results = runner.wait_for_results().await;
    let own = step(&results, "scenarios.js");
    assert_eq!(own["state"], "completed", "{own}");
    assert_eq!(own["settings"]["load"], "script");
    assert_eq!(own["settings"]["users"], Value::Null);
    let typed = step(&results, "typed.ts");
    assert_eq!(typed["state"], "completed", "{typed}");
    assert_eq!(typed["summary"]["checksFailed"], 0, "{typed}");

    // Bare k6 on the same script, without overrides: the same scenarios
    // ran (the same shared iterations, the same metric set).
    let bare_export = world.dir.path().join("bare.json");
    // (On tokio's process API: the target answers on this test's runtime.)
    let output = tokio::process::Command::new(k6())
        .args(["run", "--no-usage-report", "--summary-export"])
        .arg(&bare_export)
        .arg(world.scripts.join("scenarios.js"))
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let bare: Value = serde_json::from_slice(&std::fs::read(&bare_export).unwrap()).unwrap();
    let bare_json_requests = bare["metrics"]["http_reqs"]["count"].as_u64().unwrap();
    let runner_requests = own["summary"]["requests"].as_u64().unwrap();
    let (low, high) = (
        bare_json_requests * 7 / 10,
        bare_json_requests * 13 / 10 + 1,
    );
    assert!(
        (low..=high).contains(&runner_requests),
        "bare {bare_json_requests} vs runner {runner_requests}"
    );
    let mut bare_names: Vec<&str> = bare["metrics"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    bare_names.sort_unstable();
    let mut runner_names = metric_names(&own["summary"]);
    runner_names.sort_unstable();
    assert_eq!(runner_names, bare_names);
}

/// A helper module is in the catalogue but marked not runnable with k6's
/// own reason, never enabled by the defaults, and refused if named; the
/// test that imports it runs from its archive, its `handleSummary()` file
/// lands in the step's folder, downloads through the files API, and the
/// script directory stays as it was.
#[tokio::test]
async fn helper_modules_are_not_tests_and_report_files_stay_with_the_run() {
    let world = World::new().await;
    world.script("lib/config.js", HELPER);
    world.script("reporting.js", REPORTING);
    let before = tree_digest(&world.scripts);
    let runner = Runner::start(&world, &[]);
    let (_, scripts) = runner.get("/scripts").await;
    let helper = scripts
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "lib/config.js")
        .expect("the module is listed");
    assert_eq!(helper["runnable"], false, "{helper}");
    assert!(
        helper["test"]["reason"]
            .as_str()
            .unwrap()
            .contains("default"),
        "{helper}"
    );
    let (_, defaults) = runner.post("/config/reset").await;
    assert!(
        !defaults["enabledScripts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "lib/config.js"),
        "{defaults}"
    );
    let (status, refused) = runner
        .put_json("/config", &config(1, "5s", 60, &["lib/config.js"], 0))
        .await;
    assert_eq!(status, 422);
    assert_eq!(refused["fields"][0]["code"], "not-runnable");

    let mut body = config(1, "10s", 60, &[], 0);
    body["enabledScripts"] = json!([{"script": "reporting.js", "load": "script"}]);
    runner.configure(&body).await;
    let run_id = runner.start_run().await;
    let results = runner.wait_for_results().await;
    let reporting = step(&results, "reporting.js");
    assert_eq!(reporting["state"], "completed", "{reporting}");
    let files: Vec<&str> = reporting["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(files.contains(&"01-reporting.js/report.json"), "{files:?}");
    let (status, report) = runner
        .get(&format!("/runs/{run_id}/files/01-reporting.js/report.json"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(report["iterations"], 3);
    let (status, _) = runner
        .get(&format!("/runs/{run_id}/files/..%2F..%2Fconfig.json"))
        .await;
    assert_eq!(status, 404, "a path out of the run folder is not served");
    // The archive holds the script and the module it imports.
    let archived: Vec<&str> = reporting["snapshot"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(
        archived.iter().any(|f| f.ends_with("lib/config.js")),
        "{archived:?}"
    );
    assert_eq!(
        tree_digest(&world.scripts),
        before,
        "the script directory changed"
    );
}

/// The `k6_all.sh` of `GET /script`, run by hand with bash on the real k6
/// (a passing k6 script, a legacy wrapper, a script crossing its
/// thresholds), writes each step's export where it says and ends each step
/// the way the runner does.
#[tokio::test]
async fn the_rendered_k6_all_sh_runs_by_hand_and_agrees_with_the_runner() {
    let world = World::new().await;
    let runner = Runner::start(&world, &[]);
    runner
        .configure(&json!({
            "globalUserCount": 1, "testDuration": "2s", "rampUpDuration": 0,
            "maxDuration": 60, "intervalBetweenTests": 0,
            "enabledScripts": ["pass.js", "legacy/wrapper.sh", "fail.js"],
        }))
        .await;
    let (status, script) = runner.get("/script").await;
    assert_eq!(status, 200);
    let text = script.as_str().unwrap().to_owned();
    let work = world.dir.path().join("by-hand");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("k6_all.sh"), &text).unwrap();
    // Another k6 holding k6's default API port must be no obstacle.
    let _holder = std::net::TcpListener::bind("127.0.0.1:6565");
    let output = tokio::process::Command::new("bash")
        .arg("k6_all.sh")
        .current_dir(&work)
        .env("K6", k6())
        .env("K6_NO_USAGE_REPORT", "true")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "one script failed: {stdout}\n{stderr}"
    );
    let by_hand = |script: &str| -> &'static str {
        if stdout.contains(&format!("{script} completed")) {
            "completed"
        } else if stderr.contains(&format!("{script} failed")) {
            "failed"
        } else {
            "unknown"
        }
    };
    for export in ["01-pass.js", "03-fail.js"] {
        assert!(
            work.join("k6-results")
                .join(export)
                .join("summary.json")
                .is_file(),
            "{export}: {stdout}\n{stderr}"
        );
    }

    runner.start_run().await;
    let results = runner.wait_for_results().await;
    for script in ["pass.js", "legacy/wrapper.sh", "fail.js"] {
        assert_eq!(
            step(&results, script)["state"].as_str().unwrap(),
            by_hand(script),
            "{script}: {stdout}\n{stderr}"
        );
    }
}
