//! Goal 3: how long the runner takes to act, seen from a client.
//!
//! - start: POST /start sent → the k6 process carrying
//!   `K6_RUNNER_RUN=<runId>` exists (exec'd) among the runner's children;
//! - stop: POST /stop sent → k6 has exited, and → `/status` says not
//!   running; the difference is the runner's own share (draining output,
//!   reading the summary export through the core, judging, writing the run
//!   record).

use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use serde_json::Value;

use crate::overhead::{LoadOptions, configured_runner};
use crate::procs;
use crate::runner::first_step;
use crate::setup::Scratch;
use crate::stats::{Sample, time};

/// How often the watcher threads look at `/proc`: the resolution of the
/// start and k6-exit times.
const WATCH_PERIOD: Duration = Duration::from_micros(500);
/// How often `/status` is polled after a stop.
const STATUS_PERIOD: Duration = Duration::from_millis(2);
/// How long k6 runs before it is stopped: its REST API is up and the VUs
/// are busy, as in a real stop.
const RUNNING_BEFORE_STOP: Duration = Duration::from_secs(3);
/// Longest any step of one measurement may take.
const LIMIT: Duration = Duration::from_secs(30);

/// Watches `runner`'s children until one has the run marker in its
/// environment (so it has exec'd k6); returns when, its pid and marker.
fn watch_spawn(runner: u32) -> std::thread::JoinHandle<Option<(Instant, u32, String)>> {
    std::thread::spawn(move || {
        procs::wait_marked_child(
            runner,
            k6_runner::internals::RUN_MARKER_ENV,
            WATCH_PERIOD,
            LIMIT,
        )
    })
}

/// Watches `pid` until it has exited (gone or a zombie); returns when.
fn watch_exit(pid: u32) -> std::thread::JoinHandle<Option<Instant>> {
    std::thread::spawn(move || {
        let deadline = Instant::now() + LIMIT;
        while Instant::now() < deadline {
            if !procs::alive(pid) {
                return Some(Instant::now());
            }
            std::thread::sleep(WATCH_PERIOD);
        }
        None
    })
}

fn joined<T>(handle: std::thread::JoinHandle<Option<T>>, what: &str) -> Result<T> {
    handle
        .join()
        .map_err(|_| anyhow!("the {what} watcher panicked"))?
        .ok_or_else(|| anyhow!("{what} not seen within {LIMIT:?}"))
}

/// Runs goal 3 and returns its markdown section.
pub async fn run(scratch: &Scratch, users: u32, runs: usize) -> Result<String> {
    // Long enough that every run ends by the stop, not by itself.
    let options = LoadOptions {
        users,
        seconds: 60,
        pairs: runs,
    };
    let runner = configured_runner(scratch, "control-data", &options).await?;
    let mut to_spawn = Sample::new();
    let mut start_answer = Sample::new();
    let mut to_k6_exit = Sample::new();
    let mut to_idle = Sample::new();
    let mut runner_share = Sample::new();
    for index in 0..runs {
        eprintln!("bench: control: run {}/{runs}", index + 1);
        let spawn_watch = watch_spawn(runner.pid());
        let sent = Instant::now();
        let run_id = runner.start_run().await?;
        let answered = Instant::now();
        let (spawned, pid, marker) = joined(spawn_watch, "k6 process")?;
        if marker.split_once('@').map(|(id, _)| id) != Some(run_id.as_str()) {
            bail!("k6 carries run marker {marker}, the run is {run_id}");
        }
        tokio::time::sleep(RUNNING_BEFORE_STOP).await;
        let exit_watch = watch_exit(pid);
        let stop_sent = Instant::now();
        runner.stop_run().await?;
        let idle = runner.wait_idle(STATUS_PERIOD, LIMIT).await?;
        let exited = joined(exit_watch, "k6 exit")?;
        let record = runner.results().await?;
        let step = first_step(&record)?;
        if step["state"] != "stopped" || step["summary"]["source"] != "summaryExport" {
            bail!("the stopped step kept no summary export: {step}");
        }
        if record["id"] != Value::String(run_id) {
            bail!("/results shows another run");
        }
        to_spawn.push(spawned.duration_since(sent).as_secs_f64());
        start_answer.push(answered.duration_since(sent).as_secs_f64());
        to_k6_exit.push(exited.duration_since(stop_sent).as_secs_f64());
        to_idle.push(idle.duration_since(stop_sent).as_secs_f64());
        runner_share.push(idle.duration_since(exited).as_secs_f64());
    }
    runner.shutdown();
    let row = |what: &str, sample: &Sample| {
        let (low, high) = sample.min_max().unwrap_or((f64::NAN, f64::NAN));
        format!(
            "| {what} | **{}** | {} – {} |\n",
            time(sample.median().unwrap_or(f64::NAN)),
            time(low),
            time(high)
        )
    };
    Ok(format!(
        "{runs} runs of {users} VUs, each stopped after {} s; /proc watched every {} µs, \
         `/status` polled every {} ms after the stop.\n\n\
         | interval | median | min – max |\n|---|---:|---:|\n{}{}{}{}{}",
        RUNNING_BEFORE_STOP.as_secs(),
        WATCH_PERIOD.as_micros(),
        STATUS_PERIOD.as_millis(),
        row(
            "POST /start sent → k6 exec'd with `K6_RUNNER_RUN=<runId>`",
            &to_spawn
        ),
        row("POST /start sent → its 202 answer received", &start_answer),
        row(
            "POST /stop sent → k6 exited (the runner's `PATCH /v1/status` to k6, then k6's \
             end-of-test: summary, export)",
            &to_k6_exit
        ),
        row(
            "POST /stop sent → `/status` not running, summary from `summaryExport`",
            &to_idle
        ),
        row(
            "k6 exited → `/status` not running (the runner's own share after k6: last \
             output, summary export through the core, verdict, run record)",
            &runner_share
        ),
    ))
}
