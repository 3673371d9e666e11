//! Faults the runner must survive without losing anything: k6 dying or
//! hanging, a crowd of starts, a full disk, a chatty script.

use std::time::Duration;

use crate::runner::{Options, Runner, World, config, step};

/// Runs forever unless stopped, printing ~250 log lines per iteration.
const CHATTY: &str = r#"
import { sleep } from 'k6';
export default function () {
  for (let i = 0; i < 250; i++) {
    console.log(`chatty line ${i} ` + 'x'.repeat(100));
  }
  sleep(0.01);
}
"#;

/// Ends its test on time, then hangs in `teardown()`; k6 lets a teardown
/// finish even when asked to stop.
const HANGS_IN_TEARDOWN: &str = r#"
import { sleep } from 'k6';
export default function () { sleep(0.1); }
export function teardown() { sleep(600); }
"#;

/// k6 killed from outside mid-run (as a crash would) is reported as failed
/// with the signal, and the next run works.
#[tokio::test]
async fn k6_killed_from_outside_is_reported_and_the_next_run_works() {
    let world = World::new().await;
    let runner = Runner::start(&world, &[]);
    runner
        .configure(&config(1, "60s", 120, &["long.js"], 0))
        .await;
    let run_id = runner.start_run().await;
    runner
        .wait_status(Duration::from_secs(30), "k6 to serve metrics", |s| {
            s["metrics"]["requests"].as_u64().unwrap_or(0) > 0
        })
        .await;
    for pid in world.processes_of(&run_id) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
    }
    let results = runner.wait_for_results().await;
    let crashed = step(&results, "long.js");
    assert_eq!(crashed["state"], "failed", "{crashed}");
    assert_eq!(crashed["signal"], 9, "{crashed}");
    assert!(
        crashed["reason"].as_str().unwrap().contains("SIGKILL"),
        "{crashed}"
    );
    assert_eq!(
        crashed["summary"]["source"], "liveMetrics",
        "the live readings are kept: {crashed}"
    );

    runner
        .configure(&config(1, "2s", 30, &["pass.js"], 0))
        .await;
    runner.start_run().await;
    assert_eq!(
        step(&runner.wait_for_results().await, "pass.js")["state"],
        "completed"
    );
}

/// A k6 that will not stop (hung in teardown) is asked once at
/// `maxDuration`, then killed with its process group after the grace
/// period; it is reported as failed and nothing of it survives.
#[tokio::test]
async fn hung_k6_is_killed_after_the_grace_period() {
    let world = World::new().await;
    world.script("hangs.js", HANGS_IN_TEARDOWN);
    let runner = Runner::start(&world, &[]);
    // Generous limit: k6 must be in its teardown, not still starting, when
    // the stop request comes, even on a loaded machine.
    runner
        .configure(&config(1, "1s", 10, &["hangs.js", "pass.js"], 0))
        .await;
    let run_id = runner.start_run().await;
    let results = runner.wait_for_results().await;

    let hung = step(&results, "hangs.js");
    assert_eq!(hung["state"], "failed", "{hung}");
    assert_eq!(hung["signal"], 9, "killed after the grace period: {hung}");
    assert!(
        hung["reason"].as_str().unwrap().contains("maxDuration"),
        "{hung}"
    );
    assert_eq!(
        step(&results, "pass.js")["state"],
        "completed",
        "the suite went on"
    );
    assert!(world.processes_of(&run_id).is_empty());
    let (_, logs) = runner
        .get(&format!("/logs?run={run_id}&level=warning"))
        .await;
    assert!(
        logs["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["message"]
                .as_str()
                .unwrap()
                .contains("killing its process group")),
        "{logs}"
    );
}

/// A hundred simultaneous starts make exactly one run; the other 99 are
/// refused with 409.
#[tokio::test]
async fn hundred_concurrent_starts_make_exactly_one_run() {
    let world = World::new().await;
    let runner = Runner::start(&world, &[]);
    runner
        .configure(&config(1, "3s", 30, &["pass.js"], 0))
        .await;
    let base = runner.base.clone();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let starts = (0..100).map(|_| {
        let (client, url) = (client.clone(), format!("{base}/start"));
        tokio::spawn(async move { client.post(url).send().await.unwrap().status().as_u16() })
    });
    let mut statuses = Vec::new();
    for start in starts {
        statuses.push(start.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|&&s| s == 202).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 409).count(),
        99,
        "{statuses:?}"
    );
    runner.wait_for_results().await;
    assert_eq!(
        std::fs::read_dir(world.data.join("runs")).unwrap().count(),
        1
    );
}

/// With the data directory's disk full, a config change and a start fail
/// with a clear 507 naming the problem; the stored config is intact and
/// nothing is spawned; once space is back, both work. The data directory is
/// a 512 KiB tmpfs in the runner's own mount namespace (`unshare`).
#[tokio::test]
async fn full_disk_is_reported_and_nothing_is_corrupted() {
    let world = World::new().await;
    std::fs::create_dir_all(&world.data).unwrap();
    let data = world.data.display().to_string();
    let mount = "mount -t tmpfs -o size=512k tmpfs \"$1\" && shift && exec \"$@\"";
    let runner = Runner::start_with(
        &world,
        Options {
            args: &["--no-plugin-cache"],
            wrapper: &[
                "unshare",
                "--user",
                "--map-root-user",
                "--mount",
                "sh",
                "-c",
                mount,
                "sh",
                &data,
            ],
            ..Options::default()
        },
    );
    runner
        .configure(&config(1, "2s", 30, &["pass.js"], 0))
        .await;
    // The tmpfs is visible through the runner's own root.
    let inside = std::path::PathBuf::from(format!("/proc/{}/root{}", runner.pid(), data));
    let stored = std::fs::read(inside.join("config.json")).unwrap();
    let filler = inside.join("filler");
    let _ = std::fs::write(&filler, vec![0u8; 1 << 20]);

    let (status, body) = runner
        .put_json("/config", &config(9, "3s", 30, &["pass.js"], 0))
        .await;
    assert_eq!(status, 507, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("No space left on device"),
        "{body}"
    );
    let (status, body) = runner.post("/start").await;
    assert_eq!(status, 507, "{body}");
    assert_eq!(
        std::fs::read_dir(inside.join("runs")).unwrap().count(),
        0,
        "no half-made run folder"
    );
    assert_eq!(
        std::fs::read(inside.join("config.json")).unwrap(),
        stored,
        "config.json is intact"
    );
    assert_eq!(runner.get("/config").await.1["globalUserCount"], 1);
    assert!(runner.get("/status").await.1["isRunning"] == false);

    std::fs::remove_file(&filler).unwrap();
    runner
        .configure(&config(2, "2s", 30, &["pass.js"], 0))
        .await;
    runner.start_run().await;
    assert_eq!(
        step(&runner.wait_for_results().await, "pass.js")["state"],
        "completed"
    );
}

/// A script that prints tens of thousands of log lines keeps the runner's
/// memory bounded: the in-memory tail holds at most 5,000 lines, and the
/// step's log file is rotated at the configured size with three old parts.
#[tokio::test]
async fn chatty_script_keeps_logs_bounded_and_rotated() {
    let world = World::new().await;
    world.script("chatty.js", CHATTY);
    let runner = Runner::start(&world, &["--step-log-max-bytes", "65536"]);
    runner
        .configure(&config(1, "4s", 30, &["chatty.js"], 0))
        .await;
    let run_id = runner.start_run().await;
    let results = runner.wait_for_results().await;
    assert_eq!(step(&results, "chatty.js")["state"], "completed");

    let (_, logs) = runner
        .get(&format!("/logs?run={run_id}&limit=100000"))
        .await;
    let lines = logs["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 5_000, "the tail is full and capped");
    assert!(
        logs["next"].as_u64().unwrap() > 10_000,
        "far more lines went through: {}",
        logs["next"]
    );
    let step_dir = world.data.join("runs").join(&run_id).join("01-chatty.js");
    let parts: Vec<u64> = std::fs::read_dir(&step_dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().starts_with("output.log"))
        .map(|e| e.metadata().unwrap().len())
        .collect();
    assert_eq!(parts.len(), 4, "the log and three rotated parts: {parts:?}");
    assert!(parts.iter().all(|&size| size <= 65_536), "{parts:?}");
}
