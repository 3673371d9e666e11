//! Schedules: an operator schedules the suite every 3 seconds (a 6-field
//! cron pattern); a run starts without anyone calling `/start`, recorded
//! as started by the schedule; the fires during that run are skipped
//! with the reason; the schedule is deleted and nothing more starts.

use std::time::Duration;

use serde_json::{Value, json};

use crate::runner::{Runner, World, config};

/// Polls the schedule's newest fires until one passes `done` (every
/// 100 ms, at most `timeout`) and returns it.
async fn wait_fire(
    runner: &Runner,
    timeout: Duration,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let find = |fires: &Value| fires.as_array()?.iter().find(|f| done(f)).cloned();
    let fires = runner
        .wait_for("/schedules/1/fires?limit=20", timeout, what, |fires| {
            find(fires).is_some()
        })
        .await;
    find(&fires).expect("the fire just seen")
}

#[tokio::test]
async fn a_schedule_starts_runs_by_itself_and_skips_while_one_is_in_progress() {
    let world = World::new().await;
    let runner = Runner::start(&world, &[]);
    // 6 s of k6: at least one fire every 3 s lands while it runs.
    runner
        .configure(&config(1, "6s", 30, &["pass.js"], 0))
        .await;

    let (status, created) = runner
        .post_json(
            "/schedules",
            &json!({"cron": "*/3 * * * * *", "name": "every 3 s"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["id"], 1);
    assert_eq!(created["nextFires"].as_array().unwrap().len(), 5);

    let started = wait_fire(&runner, Duration::from_secs(10), "started", |f| {
        f["outcome"] == "started"
    })
    .await;
    let run_id = started["runId"].as_str().unwrap().to_owned();
    let skipped = wait_fire(&runner, Duration::from_secs(10), "skipped", |f| {
        f["outcome"] == "skipped"
    })
    .await;
    assert_eq!(
        skipped["reason"],
        format!("a run is in progress (run {run_id})"),
        "{skipped}"
    );
    let (status, deleted) = runner.delete("/schedules/1").await;
    assert_eq!((status, &deleted), (200, &json!({"deleted": 1})));

    // The run nobody started by hand ran to its end, and says who did.
    let results = runner.wait_for_results().await;
    assert_eq!(results["id"], run_id.as_str(), "{results}");
    assert_eq!(results["outcome"], "passed", "{results}");
    assert_eq!(
        results["startedBy"],
        json!({"kind": "schedule", "schedule": 1})
    );
    let (_, record) = runner.get(&format!("/runs/{run_id}")).await;
    assert_eq!(record["startedBy"]["schedule"], 1, "{record}");
    let (_, page) = runner.get("/runs").await;
    assert_eq!(page["runs"][0]["id"], run_id.as_str(), "{page}");
    assert_eq!(
        page["runs"][0]["startedBy"],
        json!({"kind": "schedule", "schedule": 1}),
        "the history lists who started it"
    );

    // The audit log names the schedule as the run's starter, and each
    // fire with its outcome.
    let (_, audit) = runner.get("/audit?limit=200").await;
    let entries = audit.as_array().unwrap();
    assert!(
        entries.iter().any(|e| e["action"] == "run.start"
            && e["actor"] == "schedule:1"
            && e["detail"] == format!("run {run_id}")),
        "{audit}"
    );
    let fire_outcomes: Vec<&str> = entries
        .iter()
        .filter(|e| e["action"] == "schedule.fire" && e["actor"] == "schedule:1")
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert!(fire_outcomes.contains(&"ok"), "{audit}");
    assert!(fire_outcomes.contains(&"refused"), "{audit}");
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "schedule.delete" && e["outcome"] == "ok"),
        "{audit}"
    );

    // Counted for Prometheus.
    let metrics = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("http://{}/metrics", runner.addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for outcome in ["started", "skipped"] {
        let counted = metrics
            .lines()
            .find_map(|line| {
                line.strip_prefix(&format!(
                    "k6_runner_schedule_fires_total{{outcome=\"{outcome}\"}} "
                ))
            })
            .and_then(|value| value.parse::<f64>().ok());
        assert!(counted.is_some_and(|n| n >= 1.0), "{outcome}: {metrics}");
    }

    // Deleted, the schedule starts nothing more: still the same last run
    // after more than one period.
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    let (_, status) = runner.get("/status").await;
    assert_eq!(status["isRunning"], false, "{status}");
    assert_eq!(status["runId"], run_id.as_str(), "{status}");
}
