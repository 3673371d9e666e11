//! Goal 1: the same k6 run bare and under the runner, interleaved, and
//! requests/s under the runner ÷ bare. Also what the runner process costs
//! while it supervises (CPU, RSS), which footprint reports.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

use testkit::process::ProcessGroup;

use crate::procs;
use crate::runner::{Runner, first_step, run_config};
use crate::setup::{SCRIPT, Scratch};
use crate::stats::{Sample, mib, si};

/// How the runs look: VUs, seconds, and how many rounds or pairs.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// Constant VUs.
    pub users: u32,
    /// Seconds per run.
    pub seconds: u32,
    /// Rounds (overhead) or pairs (API under load) of runs.
    pub pairs: usize,
}

/// Extra time a run may take beyond its duration (k6 start and end).
const RUN_SLACK: Duration = Duration::from_secs(60);
/// How often the runner is polled and sampled during a run.
const SAMPLE_PERIOD: Duration = Duration::from_millis(500);
/// How often k6's CPU time is sampled; the last sample before it exits
/// misses at most this much of its CPU time.
const CPU_PERIOD: Duration = Duration::from_millis(20);

/// What one k6 run gave.
#[derive(Debug, Clone, Copy)]
pub struct RunFigures {
    /// k6's `http_reqs` rate over the test (from the summary export); NaN
    /// for a script that sends no request.
    pub rps: f64,
    /// Requests made.
    pub requests: f64,
    /// Iterations completed.
    pub iterations: f64,
    /// CPU seconds the k6 process used: requests per k6 CPU-second does not
    /// depend on how much CPU other processes left k6.
    pub k6_cpu_seconds: f64,
}

impl RunFigures {
    /// Requests per CPU-second of k6.
    pub fn per_cpu_second(&self) -> f64 {
        self.requests / self.k6_cpu_seconds
    }
}

/// Watches the CPU time of k6 process `pid` on a thread of its own.
fn watch_k6_cpu(pid: u32, options: &LoadOptions) -> std::thread::JoinHandle<Option<f64>> {
    let limit = Duration::from_secs(options.seconds.into()) + RUN_SLACK;
    std::thread::spawn(move || procs::watch_cpu(pid, CPU_PERIOD, limit))
}

/// Which run of a round.
#[derive(Debug, Clone, Copy)]
enum Arm {
    /// Bare k6.
    Bare,
    /// k6 under the runner.
    Runner,
    /// Bare k6 whose metrics the harness reads once a second with the
    /// runner's own live-metrics sampler: the cost of that alone.
    BarePolled,
}

impl Arm {
    fn letter(self) -> &'static str {
        match self {
            Self::Bare => "A",
            Self::Runner => "B",
            Self::BarePolled => "C",
        }
    }
}

/// Takes the runner's live readings (`LiveSampler`: the cheap metrics
/// each second, the latency trend backing off as it gets slower) of the k6
/// API on `port` once a second from one second after the start, until
/// aborted — what the runner's sampler (`supervisor/step.rs`) does during a
/// step.
async fn poll_metrics(port: u16) {
    use k6_runner::internals::{K6Api, LiveSampler};
    let mut sampler = LiveSampler::new(K6Api::new(port));
    let period = Duration::from_secs(1);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        let _ = sampler.reading(period).await;
    }
}

/// One bare `k6 run` with exactly the flags, environment and working folder
/// the runner's plan gives it; stdout and stderr go to files in its folder,
/// as an operator running k6 by hand would redirect them (the cheapest way
/// to keep k6's output: no reader process is woken per write).
/// With `polled`, its `/v1/metrics` is read once a second meanwhile.
pub async fn bare_k6(
    scratch: &Scratch,
    script: &str,
    options: &LoadOptions,
    index: usize,
    polled: bool,
) -> Result<RunFigures> {
    let run_dir = scratch.root.path().join(format!(
        "bare-{}-{index}-{}",
        script.replace('/', "_"),
        if polled { "polled" } else { "plain" }
    ));
    std::fs::create_dir_all(&run_dir)?;
    let step = scratch.planned_step(script, options.users, options.seconds, &run_dir)?;
    let k6_dir = scratch.k6.parent();
    let env =
        k6_runner::internals::step_env(k6_dir, &[], &step.env, &format!("bench-bare-{index}"));
    // The same snapshot the runner runs: the script's k6 archive, made in
    // the step's folder before the clock starts.
    std::fs::create_dir_all(&step.step_dir)?;
    if let Some(k6_core::types::Snapshot::K6Archive(archive)) = &step.snapshot {
        let made = std::process::Command::new(&scratch.k6)
            .args(&archive.args)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(&step.step_dir)
            .output()?;
        anyhow::ensure!(
            made.status.success(),
            "k6 archive failed: {}",
            String::from_utf8_lossy(&made.stderr)
        );
    }
    let mut command = Command::new(&scratch.k6);
    command
        .args(&step.args)
        .env_clear()
        .envs(env)
        .current_dir(&step.working_dir)
        .stdout(output_file(&run_dir, "k6.stdout")?)
        .stderr(output_file(&run_dir, "k6.stderr")?);
    let mut k6 = ProcessGroup::spawn("bare k6", &mut command)?;
    let cpu = watch_k6_cpu(k6.pid(), options);
    let poller = match (polled, step.api_port) {
        (true, Some(port)) => Some(tokio::spawn(poll_metrics(port))),
        (true, None) => bail!("the plan gives k6 no API port to poll"),
        (false, _) => None,
    };
    let limit = Duration::from_secs(options.seconds.into()) + RUN_SLACK;
    let status = k6.wait_async(limit).await;
    if let Some(poller) = poller {
        poller.abort();
    }
    let status = status.ok_or_else(|| anyhow!("bare k6 ran past {limit:?}"))?;
    if !status.success() {
        bail!("bare k6 failed: {status}");
    }
    let k6_cpu_seconds = joined_cpu(cpu)?;
    let export = step
        .summary_export_path
        .ok_or_else(|| anyhow!("the plan asked for no summary export"))?;
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(&export).with_context(|| format!("reading {export}"))?,
    )?;
    let metrics = &summary["metrics"];
    Ok(RunFigures {
        rps: metrics["http_reqs"]["rate"].as_f64().unwrap_or(f64::NAN),
        requests: metrics["http_reqs"]["count"].as_f64().unwrap_or(f64::NAN),
        iterations: metrics["iterations"]["count"]
            .as_f64()
            .ok_or_else(|| anyhow!("no iterations in {export}"))?,
        k6_cpu_seconds,
    })
}

fn output_file(dir: &std::path::Path, name: &str) -> Result<Stdio> {
    let path = dir.join(name);
    let file =
        std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    Ok(Stdio::from(file))
}

fn joined_cpu(watch: std::thread::JoinHandle<Option<f64>>) -> Result<f64> {
    watch
        .join()
        .map_err(|_| anyhow!("the k6 CPU watcher panicked"))?
        .ok_or_else(|| anyhow!("k6's CPU time could not be read"))
}

/// What the runner process did during one run it supervised.
#[derive(Debug, Clone, Default)]
pub struct RunnerCost {
    /// CPU seconds the runner used from POST /start to idle.
    pub cpu_seconds: f64,
    /// Wall seconds from POST /start to idle.
    pub wall_seconds: f64,
    /// VmRSS samples during the run, bytes.
    pub rss: Sample,
}

/// One run under the runner: POST /start, poll until idle (sampling the
/// runner's CPU and RSS), read `/results`. The config must already be set.
pub async fn runner_run(
    runner: &Runner,
    options: &LoadOptions,
) -> Result<(RunFigures, RunnerCost)> {
    let cpu_before = procs::cpu_seconds(runner.pid()).unwrap_or(f64::NAN);
    let started = Instant::now();
    // Find the k6 the run starts (it carries the run marker) and watch its
    // CPU time, as for bare k6.
    let runner_pid = runner.pid();
    let limit = Duration::from_secs(options.seconds.into()) + RUN_SLACK;
    let k6_cpu = std::thread::spawn(move || {
        let (_, pid, _) = procs::wait_marked_child(
            runner_pid,
            k6_runner::internals::RUN_MARKER_ENV,
            Duration::from_millis(1),
            limit,
        )?;
        procs::watch_cpu(pid, CPU_PERIOD, limit)
    });
    let run_id = runner.start_run().await?;
    let mut cost = RunnerCost::default();
    let deadline = started + Duration::from_secs(options.seconds.into()) + RUN_SLACK;
    loop {
        if Instant::now() > deadline {
            bail!("run {run_id} ran past its deadline");
        }
        tokio::time::sleep(SAMPLE_PERIOD).await;
        if runner.status().await?["isRunning"] == Value::Bool(false) {
            break;
        }
        if let Some(rss) = procs::rss_bytes(runner.pid()) {
            cost.rss.push(rss as f64);
        }
    }
    cost.wall_seconds = started.elapsed().as_secs_f64();
    cost.cpu_seconds = procs::cpu_seconds(runner.pid()).unwrap_or(f64::NAN) - cpu_before;
    let record = runner.results().await?;
    if record["id"] != Value::String(run_id.clone()) {
        bail!("/results shows another run than {run_id}");
    }
    let step = first_step(&record)?;
    if step["state"] != "completed" {
        bail!("the step did not complete: {step}");
    }
    let summary = &step["summary"];
    Ok((
        RunFigures {
            rps: summary["requestsPerSecond"].as_f64().unwrap_or(f64::NAN),
            requests: summary["requests"].as_f64().unwrap_or(f64::NAN),
            iterations: summary["iterations"]
                .as_f64()
                .ok_or_else(|| anyhow!("no iterations in {summary}"))?,
            k6_cpu_seconds: joined_cpu(k6_cpu)?,
        },
        cost,
    ))
}

/// Starts a runner for `scratch` with the load's config already stored.
pub async fn configured_runner(
    scratch: &Scratch,
    name: &str,
    options: &LoadOptions,
) -> Result<Runner> {
    configured_runner_for(scratch, SCRIPT, name, options).await
}

/// Starts a runner for `scratch` with a config running `script` stored.
pub async fn configured_runner_for(
    scratch: &Scratch,
    script: &str,
    name: &str,
    options: &LoadOptions,
) -> Result<Runner> {
    let runner = Runner::start(&scratch.runner_spec(name, false))?;
    runner
        .put_config(&run_config(script, options.users, options.seconds))
        .await?;
    Ok(runner)
}

/// Runs goal 1 and returns its markdown section.
pub async fn run(scratch: &Scratch, options: &LoadOptions) -> Result<String> {
    let runner = configured_runner(scratch, "overhead-data", options).await?;
    let mut bare = Sample::new();
    let mut under = Sample::new();
    let mut ratios = Sample::new();
    let mut polled_ratios = Sample::new();
    let mut rest_ratios = Sample::new();
    let mut efficiency = Sample::new();
    let mut cpu_share = Sample::new();
    let mut rss = Sample::new();
    let mut rows = String::new();
    let arms = [Arm::Bare, Arm::Runner, Arm::BarePolled];
    for round in 0..options.pairs {
        // A B C, then B C A, then C A B: a load that drifts during the
        // benchmark (other work on the machine) favours no arm.
        let order: Vec<Arm> = (0..arms.len())
            .map(|i| arms[(round + i) % arms.len()])
            .collect();
        let (mut a, mut b, mut c) = (None, None, None);
        for arm in &order {
            eprintln!(
                "bench: overhead: round {}/{}: {}",
                round + 1,
                options.pairs,
                match arm {
                    Arm::Bare => "bare k6",
                    Arm::Runner => "under the runner",
                    Arm::BarePolled => "bare k6, metrics read once a second as the runner does",
                }
            );
            match arm {
                Arm::Bare => a = Some(bare_k6(scratch, SCRIPT, options, round, false).await?),
                Arm::Runner => b = Some(runner_run(&runner, options).await?),
                Arm::BarePolled => c = Some(bare_k6(scratch, SCRIPT, options, round, true).await?),
            }
        }
        let (Some(a), Some((b, cost)), Some(c)) = (a, b, c) else {
            bail!("a round missed an arm");
        };
        bare.push(a.rps);
        under.push(b.rps);
        ratios.push(b.rps / a.rps);
        polled_ratios.push(c.rps / a.rps);
        rest_ratios.push(b.rps / c.rps);
        efficiency.push(b.per_cpu_second() / a.per_cpu_second());
        cpu_share.push(cost.cpu_seconds / cost.wall_seconds * 100.0);
        if let Some(value) = cost.rss.median() {
            rss.push(value);
        }
        rows.push_str(&format!(
            "| {} | {} | {} | {} | {} | **{:.3}** | {:.3} | {:.3} | {:.2} s ({:.1} % of a core) |\n",
            round + 1,
            order.iter().map(|arm| arm.letter()).collect::<Vec<_>>().join(" "),
            si(a.rps),
            si(b.rps),
            si(c.rps),
            b.rps / a.rps,
            c.rps / a.rps,
            b.rps / c.rps,
            cost.cpu_seconds,
            cost.cpu_seconds / cost.wall_seconds * 100.0,
        ));
    }
    runner.shutdown();
    let spread = |sample: &Sample| {
        let (low, high) = sample.min_max().unwrap_or((f64::NAN, f64::NAN));
        format!(
            "median {:.3} (min–max {low:.3}–{high:.3})",
            sample.median().unwrap_or(f64::NAN)
        )
    };
    Ok(format!(
        "{} VUs × {} s against the demo target's `/fast`, no sleep; {} rounds of three runs, \
         the order rotating: bare k6 (A), k6 under the runner (B), and bare k6 whose \
         metrics the harness reads once a second with the runner's own sampler (C). \
         Requests/s are k6's own (`http_reqs` rate of the summary export, in every arm).\n\n\
         | round | order | A req/s | B req/s | C req/s | B ÷ A | C ÷ A | B ÷ C | runner CPU during B |\n\
         |---:|---|---:|---:|---:|---:|---:|---:|---:|\n{rows}\n\
         **Requests/s under the runner ÷ bare (B ÷ A): {}.** The metrics reads alone \
         (C ÷ A): {}; everything else the runner does (B ÷ C): {}. Requests per k6 \
         CPU-second (user + system time of the k6 process, sampled every {} ms), B ÷ A: {}. \
         Bare median {} req/s, under the runner {} req/s. The runner itself used a median \
         {:.1} % of one core while supervising, with a median RSS of {}.\n",
        options.users,
        options.seconds,
        options.pairs,
        spread(&ratios),
        spread(&polled_ratios),
        spread(&rest_ratios),
        CPU_PERIOD.as_millis(),
        spread(&efficiency),
        si(bare.median().unwrap_or(f64::NAN)),
        si(under.median().unwrap_or(f64::NAN)),
        cpu_share.median().unwrap_or(f64::NAN),
        mib(rss.median().unwrap_or(f64::NAN)),
    ))
}
