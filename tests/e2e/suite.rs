//! Running suites: results, thresholds, stop, conflicts, time limits.

use std::time::Duration;

use serde_json::Value;

use crate::runner::{Runner, World, config, step};

/// An operator runs two passing scripts with an interval between them and
/// reads real numbers for both in the results.
#[tokio::test]
async fn operator_runs_a_two_script_suite_and_reads_results_of_both() {
    let world = World::new().await;
    let runner = Runner::start(&world, &[]);
    runner
        .configure(&config(2, "3s", 60, &["pass.js", "pass2.js"], 2))
        .await;
    let run_id = runner.start_run().await;
    let results = runner.wait_for_results().await;

    assert_eq!(results["id"], run_id.as_str());
    assert_eq!(results["state"], "finished", "{results}");
    for script in ["pass.js", "pass2.js"] {
        let step = step(&results, script);
        assert_eq!(step["state"], "completed", "{step}");
        assert_eq!(step["exitCode"], 0);
        let summary = &step["summary"];
        assert_eq!(summary["source"], "summaryExport", "{summary}");
        assert!(summary["requests"].as_u64().unwrap() > 10, "{summary}");
        assert!(summary["requestsPerSecond"].as_f64().unwrap() > 1.0);
        assert!(summary["latencyMs"]["p95"].as_f64().is_some(), "{summary}");
        assert!(
            summary["latencyMs"]["p99"].as_f64().is_some(),
            "p(99) is asked for: {summary}"
        );
        assert_eq!(summary["errorRate"].as_f64(), Some(0.0));
        assert!(
            summary["thresholds"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["passed"] == true)
        );
    }
    let first_end =
        humantime::parse_rfc3339(step(&results, "pass.js")["endedAt"].as_str().unwrap()).unwrap();
    let second_start =
        humantime::parse_rfc3339(step(&results, "pass2.js")["startedAt"].as_str().unwrap())
            .unwrap();
    assert!(
        second_start.duration_since(first_end).unwrap_or_default() >= Duration::from_secs(1),
        "the 2 s interval was not waited between the scripts"
    );
    let (_, status) = runner.get("/status").await;
    assert_eq!(
        status["completedScripts"],
        serde_json::json!(["pass.js", "pass2.js"])
    );
    assert_eq!(status["failedScripts"], serde_json::json!([]));
    let (_, logs) = runner.get(&format!("/logs?run={run_id}&limit=5000")).await;
    assert!(
        logs["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["script"] == "pass2.js"),
        "{logs}"
    );
}

/// A script whose thresholds are crossed ends in `failedScripts` with
/// k6's exit code 99, and its threshold is reported as crossed.
#[tokio::test]
async fn crossed_thresholds_put_the_script_in_failed_scripts_with_exit_99() {
    let world = World::new().await;
    let runner = Runner::start(&world, &[]);
    runner
        .configure(&config(1, "2s", 60, &["fail.js", "pass.js"], 0))
        .await;
    runner.start_run().await;
    let results = runner.wait_for_results().await;

    let failed = step(&results, "fail.js");
    assert_eq!(failed["state"], "failed", "{failed}");
    assert_eq!(failed["exitCode"], 99);
    assert!(
        failed["reason"].as_str().unwrap().contains("threshold"),
        "{failed}"
    );
    let thresholds = failed["summary"]["thresholds"].as_array().unwrap();
    assert!(
        thresholds
            .iter()
            .any(|t| t["metric"] == "http_req_failed" && t["passed"] == false),
        "{thresholds:?}"
    );
    assert_eq!(failed["summary"]["errorRate"].as_f64(), Some(1.0));
    assert_eq!(
        step(&results, "pass.js")["state"],
        "completed",
        "a failed script does not stop the suite"
    );
    assert_eq!(
        results["outcome"], "failed",
        "a run with a failed step is not a pass: {results}"
    );
    let (_, status) = runner.get("/status").await;
    assert_eq!(status["outcome"], "failed", "{status}");
    assert_eq!(status["failedScripts"], serde_json::json!(["fail.js"]));
    assert!(
        status["lastError"].as_str().unwrap().contains("fail.js"),
        "{status}"
    );
}

/// Stopping mid-run asks k6 once through its REST API: the step ends as
/// stopped with exit 103 and its summary written, later scripts never
/// start, and no process of the run is left.
#[tokio::test]
async fn operator_stop_mid_run_keeps_the_summary_and_leaves_no_process() {
    let world = World::new().await;
    let runner = Runner::start(&world, &[]);
    runner
        .configure(&config(2, "60s", 120, &["long.js", "pass.js"], 0))
        .await;
    let run_id = runner.start_run().await;
    runner
        .wait_status(Duration::from_secs(30), "live requests", |s| {
            s["metrics"]["requests"].as_u64().unwrap_or(0) > 0
        })
        .await;

    let (status, body) = runner.post("/stop").await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["runId"], run_id.as_str());
    let results = runner.wait_for_results().await;

    assert_eq!(results["state"], "stopped", "{results}");
    assert_eq!(results["outcome"], "stopped", "{results}");
    let (_, status) = runner.get("/status").await;
    assert_eq!(
        status["lastError"],
        Value::Null,
        "a deliberate stop is not an error: {status}"
    );
    assert_eq!(status["stoppedScripts"], serde_json::json!(["long.js"]));
    assert_eq!(status["failedScripts"], serde_json::json!([]));
    let stopped = step(&results, "long.js");
    assert_eq!(stopped["state"], "stopped", "{stopped}");
    assert_eq!(
        stopped["exitCode"], 103,
        "stopped through k6's REST API: {stopped}"
    );
    assert_eq!(stopped["summary"]["source"], "summaryExport", "{stopped}");
    assert!(stopped["summary"]["requests"].as_u64().unwrap() > 0);
    assert_eq!(step(&results, "pass.js")["state"], "skipped");
    assert!(
        world.processes_of(&run_id).is_empty(),
        "processes left: {:?}",
        world.processes_of(&run_id)
    );
    let (again, body) = runner.post("/stop").await;
    assert_eq!(
        (again, body["stopping"].as_bool()),
        (200, Some(false)),
        "stop is idempotent"
    );
}

/// A legacy wrapper that runs k6 without `exec` and carries on after it
/// (an `echo`, as old suites did) is stopped, not "completed": the stop
/// reaches k6 in the wrapper's group, and the wrapper's exit 0 afterwards
/// does not hide it.
#[tokio::test]
async fn a_wrapper_stopped_while_its_k6_runs_is_reported_stopped() {
    let world = World::new().await;
    world.script(
        "legacy/then_echo.sh",
        r#"#!/usr/bin/env bash
here="$(cd "$(dirname "$0")" && pwd)"
k6 run --no-usage-report --vus 1 --duration 20s "$here/../long.js"
echo "the wrapper goes on after k6"
"#,
    );
    let runner = Runner::start(&world, &[]);
    runner
        .configure(&config(1, "20s", 60, &["legacy/then_echo.sh"], 0))
        .await;
    let run_id = runner.start_run().await;
    runner
        .wait_status(Duration::from_secs(30), "the wrapper to run", |s| {
            s["steps"][0]["state"] == "running"
        })
        .await;
    // A wrapper's k6 has no REST API the runner knows of: give it time to
    // be under way (5 s of its 20 s).
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (status, body) = runner.post("/stop").await;
    assert_eq!(status, 202, "{body}");
    let results = runner.wait_for_results().await;

    let wrapper = step(&results, "legacy/then_echo.sh");
    assert_eq!(wrapper["state"], "stopped", "{wrapper}");
    assert_eq!(results["outcome"], "stopped", "{results}");
    let (_, status) = runner.get("/status").await;
    assert_eq!(status["lastError"], Value::Null, "{status}");
    assert!(
        world.processes_of(&run_id).is_empty(),
        "processes left: {:?}",
        world.processes_of(&run_id)
    );
}

/// While a run is in progress, a second start is refused with 409 and the
/// first run goes on.
#[tokio::test]
async fn second_start_while_running_is_refused_with_409() {
    let world = World::new().await;
    let runner = Runner::start(&world, &[]);
    runner
        .configure(&config(1, "30s", 60, &["long.js"], 0))
        .await;
    let run_id = runner.start_run().await;

    let (status, body) = runner.post("/start").await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().unwrap().contains(&run_id), "{body}");
    let (_, state) = runner.get("/status").await;
    assert_eq!(
        (state["isRunning"].as_bool(), state["runId"].as_str()),
        (Some(true), Some(run_id.as_str()))
    );
    runner.post("/stop").await;
    runner.wait_for_results().await;
}

/// A script still running at `maxDuration` is stopped and reported as
/// failed for running too long, and none of its processes survive.
#[tokio::test]
async fn script_past_max_duration_is_stopped_and_reported_failed() {
    let world = World::new().await;
    let runner = Runner::start(&world, &[]);
    runner
        .configure(&config(1, "2s", 7, &["stuck.js"], 0))
        .await;
    let run_id = runner.start_run().await;
    let results = runner.wait_for_results().await;

    let stuck = step(&results, "stuck.js");
    assert_eq!(stuck["state"], "failed", "{stuck}");
    assert!(
        stuck["reason"].as_str().unwrap().contains("maxDuration"),
        "{stuck}"
    );
    assert_eq!(results["state"], "finished");
    assert!(world.processes_of(&run_id).is_empty());
}

/// A process that leaves its step's process group (`setsid`, a daemonising
/// wrapper) is not reached by the group's signal, but it carries the run's
/// marker: it is killed when its step ends, and the run leaves nothing.
#[tokio::test]
async fn a_process_that_leaves_its_group_does_not_outlive_its_step() {
    let world = World::new().await;
    world.script(
        "legacy/escaper.sh",
        "#!/usr/bin/env bash\nsetsid sleep 120 >/dev/null 2>&1 </dev/null &\nsleep 1\necho started a daemon\n",
    );
    let runner = Runner::start(&world, &[]);
    runner
        .configure(&config(1, "2s", 30, &["legacy/escaper.sh"], 0))
        .await;
    let run_id = runner.start_run().await;
    let results = runner.wait_for_results().await;
    assert_eq!(
        step(&results, "legacy/escaper.sh")["state"],
        "completed",
        "{results}"
    );
    assert!(
        world.processes_of(&run_id).is_empty(),
        "left behind: {:?}",
        world.processes_of(&run_id)
    );
    let (_, logs) = runner.get("/logs?level=warning").await;
    assert!(
        logs.to_string()
            .contains("had left the step's process group"),
        "{logs}"
    );
}
