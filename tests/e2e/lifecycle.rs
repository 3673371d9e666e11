//! The runner across restarts, crashes and a missing k6.

use std::time::{Duration, Instant};

use crate::runner::{Runner, World, config, step};

/// A saved config is still there after the runner restarts.
#[tokio::test]
async fn config_survives_a_restart() {
    let world = World::new().await;
    let saved = config(7, "1h30m", 6000, &["pass.js", "legacy/wrapper.sh"], 30);
    {
        let runner = Runner::start(&world, &[]);
        runner.configure(&saved).await;
        assert!(runner.terminate().success());
    }
    let runner = Runner::start(&world, &[]);
    let (_, config) = runner.get("/config").await;
    assert_eq!(config, saved);
}

/// Without k6, the runner still starts; a start is refused with 503 and a
/// message naming the binary, and nothing is spawned.
#[tokio::test]
async fn missing_k6_gives_a_clear_error_on_start() {
    let world = World::new().await;
    let runner = Runner::start(&world, &["--k6", "/nonexistent/bin/k6"]);
    runner
        .configure(&config(1, "2s", 30, &["pass.js"], 0))
        .await;
    let (status, body) = runner.post("/start").await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/bin/k6"),
        "{body}"
    );
    let (_, state) = runner.get("/status").await;
    assert_eq!(state["isRunning"], false);
    assert!(state["k6Version"].is_null());
    assert_eq!(runner.get("/results").await.0, 404);
}

/// A runner killed with SIGKILL mid-run leaves k6 running under a legacy
/// wrapper; the next start kills it and marks the run interrupted, with
/// the config and the step's log intact, and the next run works.
#[tokio::test]
async fn runner_killed_mid_run_is_cleaned_up_at_the_next_start() {
    let world = World::new().await;
    let runner = Runner::start(&world, &[]);
    runner
        .configure(&config(1, "60s", 120, &["legacy/wrapper.sh"], 0))
        .await;
    let run_id = runner.start_run().await;
    runner
        .wait_status(
            Duration::from_secs(30),
            "k6 under the wrapper to run",
            |s| s["currentUserCount"].as_u64().unwrap_or(0) > 0,
        )
        .await;
    runner.kill9();

    // bash dies with the runner; the k6 it started lives on until the next start.
    let until = Instant::now() + Duration::from_secs(5);
    while world.processes_of(&run_id).len() > 1 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let orphans = world.processes_of(&run_id);
    assert!(
        !orphans.is_empty(),
        "k6 should have outlived the killed runner"
    );

    let runner = Runner::start(&world, &[]);
    let (_, config_after) = runner.get("/config").await;
    assert_eq!(
        config_after["enabledScripts"],
        serde_json::json!(["legacy/wrapper.sh"]),
        "config intact"
    );
    let log = world
        .data
        .join("runs")
        .join(&run_id)
        .join("01-legacy_wrapper.sh")
        .join("output.log");
    assert!(
        std::fs::read_to_string(&log).unwrap().contains("running ("),
        "the step's log was kept: {}",
        log.display()
    );
    assert!(
        world.processes_of(&run_id).is_empty(),
        "left behind: {:?}",
        world.processes_of(&run_id)
    );
    let (_, results) = runner.get("/results").await;
    assert_eq!(results["id"], run_id.as_str());
    assert_eq!(results["state"], "interrupted", "{results}");
    assert_eq!(step(&results, "legacy/wrapper.sh")["state"], "interrupted");
    let (_, status) = runner.get("/status").await;
    assert!(
        status["lastError"]
            .as_str()
            .unwrap()
            .contains("interrupted"),
        "{status}"
    );
    runner
        .configure(&config(1, "2s", 30, &["pass.js"], 0))
        .await;
    runner.start_run().await;
    assert_eq!(
        runner.wait_for_results().await["state"],
        "finished",
        "the next run works"
    );
}

/// A `config.json` that is not a valid config (hand-edited, half-written by
/// another tool) is reported at startup and kept aside untouched; the
/// runner starts with the defaults and never overwrites it.
#[tokio::test]
async fn corrupt_stored_config_is_reported_and_kept_aside() {
    let world = World::new().await;
    std::fs::create_dir_all(&world.data).unwrap();
    let garbage = "{\"globalUserCount\": \"lots\", \"testDuration\": ";
    std::fs::write(world.data.join("config.json"), garbage).unwrap();
    let runner = Runner::start(&world, &[]);

    let (_, status) = runner.get("/status").await;
    let error = status["lastError"].as_str().unwrap_or_default();
    assert!(error.contains("config.json.rejected-"), "{status}");
    let kept: Vec<_> = std::fs::read_dir(&world.data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("config.json.rejected-")
        })
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(
        std::fs::read_to_string(&kept[0]).unwrap(),
        garbage,
        "kept byte for byte"
    );
    let (_, config) = runner.get("/config").await;
    assert_eq!(
        config["globalUserCount"], 5,
        "the defaults are in use: {config}"
    );
    assert!(
        !world.data.join("config.json").exists(),
        "nothing was written over it"
    );
}

/// A second runner on a data directory in use is refused at startup, before
/// it touches anything: the first runner's run goes on undisturbed (a
/// second runner would otherwise take its k6 for a crashed runner's
/// leftovers and kill it) and its config is not replaced.
#[tokio::test]
async fn a_second_runner_on_the_same_data_dir_is_refused() {
    let world = World::new().await;
    let runner = Runner::start(&world, &[]);
    runner
        .configure(&config(1, "4s", 30, &["pass.js"], 0))
        .await;
    let stored = std::fs::read(world.data.join("config.json")).unwrap();
    let run_id = runner.start_run().await;
    runner
        .wait_status(Duration::from_secs(30), "k6 to run", |s| {
            s["currentScript"] == "pass.js"
        })
        .await;

    let other = std::fs::write(
        world.dir.path().join("other.json"),
        config(2, "2s", 30, &["pass.js"], 0).to_string(),
    );
    other.unwrap();
    for args in [
        vec!["serve", "--bind", "127.0.0.1:0"],
        vec!["run", world.dir.path().join("other.json").to_str().unwrap()],
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_k6-runner"))
            .args(&args)
            .args(["--data-dir", world.data.to_str().unwrap()])
            .args(["--scripts-dir", world.scripts.to_str().unwrap()])
            .args(["--k6", crate::runner::k6().to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?}: {stderr}");
        assert!(
            stderr.contains("in use by another k6-runner"),
            "{args:?}: {stderr}"
        );
    }

    let results = runner.wait_for_results().await;
    assert_eq!(results["id"], run_id.as_str());
    assert_eq!(step(&results, "pass.js")["state"], "completed", "{results}");
    assert_eq!(
        std::fs::read(world.data.join("config.json")).unwrap(),
        stored
    );
}
