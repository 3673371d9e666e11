//! Records are always true: a run folder that cannot be written, a step
//! folder k6 cannot write its export into, a disk that fills up mid-step.
//! Each run ends with the record a person would expect, served from memory
//! while the disk refuses it and written into the run folder once it can
//! be, without a restart.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::runner::{Options, Runner, World, config, step};

/// A folder made immutable (`chattr +i`: nothing can be created, renamed
/// or removed in it, even by root) until dropped.
struct Immutable(PathBuf);

impl Immutable {
    fn set(path: &Path) -> Self {
        let status = std::process::Command::new("chattr")
            .arg("+i")
            .arg(path)
            .status()
            .expect("running chattr (e2fsprogs)");
        assert!(status.success(), "chattr +i {} failed", path.display());
        Self(path.to_owned())
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = std::process::Command::new("chattr")
            .arg("-i")
            .arg(&self.0)
            .status();
    }
}

/// Waits (at most 30 s) until step 1's k6 is under way (its snapshot
/// made, requests sent) and returns the run's id.
async fn first_step_running(runner: &Runner) -> String {
    let status = runner
        .wait_status(
            Duration::from_secs(30),
            "step 1's k6 to send requests",
            |s| {
                s["steps"][0]["state"] == "running"
                    && s["metrics"]["requests"].as_u64().unwrap_or(0) > 0
            },
        )
        .await;
    status["runId"].as_str().unwrap().to_owned()
}

/// The record in `run.json` of `dir` (polled every 200 ms, at most 90 s)
/// once `done` holds for it.
fn on_disk_once(dir: &Path, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let until = Instant::now() + Duration::from_secs(90);
    loop {
        let record = std::fs::read(dir.join("run.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok());
        if let Some(record) = record.filter(|r| done(r)) {
            return record;
        }
        assert!(Instant::now() < until, "run.json never showed {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The run folder turns immutable during a step: the run still ends, and
/// `/results` says how, at once; `pending/` holds the truth meanwhile;
/// once the folder is writable again the record lands in it, finished,
/// with nothing left pending, and the runner has said it was struggling.
#[tokio::test]
async fn a_run_folder_that_cannot_be_written_mid_step_ends_true() {
    let world = World::new().await;
    let runner = Runner::start(&world, &[]);
    runner
        .configure(&config(1, "3s", 60, &["pass.js"], 0))
        .await;
    runner.start_run().await;
    let id = first_step_running(&runner).await;
    let run_dir = world.data.join("runs").join(&id);
    let lock = Immutable::set(&run_dir);

    let results = runner.wait_for_results().await;
    assert_eq!(results["id"], id.as_str());
    assert_eq!(results["state"], "finished", "{results}");
    assert_eq!(results["outcome"], "passed", "{results}");
    assert_eq!(step(&results, "pass.js")["state"], "completed");
    let (_, status) = runner.get("/status").await;
    assert!(
        status["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("cannot write the run record")),
        "{status}"
    );
    let pending = world.data.join("pending").join(format!("{id}.json"));
    let kept: Value = serde_json::from_slice(&std::fs::read(&pending).unwrap()).unwrap();
    assert_eq!(kept["state"], "finished");
    let stale: Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(
        stale["state"], "running",
        "the folder's copy could not change"
    );

    drop(lock);
    let written = on_disk_once(&run_dir, "the finished run", |r| r["state"] == "finished");
    assert_eq!(written["outcome"], "passed");
    assert!(!pending.exists(), "the pending copy is settled");
    let (_, from_disk) = runner.get(&format!("/runs/{id}")).await;
    assert_eq!(from_disk["state"], "finished");
}

/// k6 cannot write its summary export (the step folder turned immutable
/// mid-step; k6 still exits 0): the step is completed, as k6 says, but
/// its figures say they came from k6's text summary, and a note says the
/// export is missing.
#[tokio::test]
async fn a_missing_summary_export_is_said_not_hidden() {
    let world = World::new().await;
    let runner = Runner::start(&world, &[]);
    runner
        .configure(&config(1, "3s", 60, &["pass.js"], 0))
        .await;
    runner.start_run().await;
    let id = first_step_running(&runner).await;
    let step_dir = world.data.join("runs").join(&id).join("01-pass.js");
    let lock = Immutable::set(&step_dir);
    let results = runner.wait_for_results().await;
    drop(lock);
    let pass = step(&results, "pass.js");
    assert_eq!(pass["state"], "completed", "{pass}");
    assert!(!step_dir.join("summary.json").exists());
    assert_eq!(pass["summary"]["source"], "textSummary", "{pass}");
    assert!(pass["summary"]["requests"].as_u64().unwrap() > 0, "{pass}");
    let notes: Vec<&str> = pass["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("k6 wrote no summary export")),
        "{notes:?}"
    );
}

/// The data directory's disk fills up during a step (a 4 MiB tmpfs in the
/// runner's own mount namespace): nothing can be written, not even to
/// `pending/`; the run still ends with its true record in memory and the
/// status says it is kept there; once space is back, the record is
/// written into the run folder by itself.
#[tokio::test]
async fn a_disk_that_fills_up_mid_step_loses_nothing() {
    let world = World::new().await;
    std::fs::create_dir_all(&world.data).unwrap();
    let data = world.data.display().to_string();
    let mount = "mount -t tmpfs -o size=4m tmpfs \"$1\" && shift && exec \"$@\"";
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
        .configure(&config(1, "3s", 60, &["pass.js"], 0))
        .await;
    runner.start_run().await;
    let id = first_step_running(&runner).await;
    let inside = PathBuf::from(format!("/proc/{}/root{}", runner.pid(), data));
    let filler = inside.join("filler");
    // Fills the tmpfs: the write stops at "No space left on device".
    let _ = std::fs::write(&filler, vec![0u8; 8 << 20]);

    let results = runner.wait_for_results().await;
    assert_eq!(results["state"], "finished", "{results}");
    assert_eq!(step(&results, "pass.js")["state"], "completed", "{results}");
    let (_, status) = runner.get("/status").await;
    assert_eq!(status["isRunning"], false);
    assert!(
        status["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("could not be written")),
        "{status}"
    );

    std::fs::remove_file(&filler).unwrap();
    let run_dir = inside.join("runs").join(&id);
    let written = on_disk_once(&run_dir, "the finished run", |r| r["state"] == "finished");
    assert_eq!(written["steps"][0]["state"], "completed");
}
