//! Goal 5: the runner's memory idle and during a run, and its cold start
//! with and without the precompiled-component cache.

use std::time::Duration;

use anyhow::Result;

use crate::overhead::{LoadOptions, configured_runner, runner_run};
use crate::procs;
use crate::runner::Runner;
use crate::setup::Scratch;
use crate::stats::{Sample, mib, time};

/// RSS samples taken while idle, and their spacing.
const IDLE_SAMPLES: usize = 10;
const IDLE_PERIOD: Duration = Duration::from_millis(100);
/// Settling time before idle samples (start-up allocations done, the
/// blocking pool's threads back to sleep).
const SETTLE: Duration = Duration::from_secs(1);

async fn idle_rss(pid: u32) -> Sample {
    tokio::time::sleep(SETTLE).await;
    let mut sample = Sample::new();
    for _ in 0..IDLE_SAMPLES {
        if let Some(rss) = procs::rss_bytes(pid) {
            sample.push(rss as f64);
        }
        tokio::time::sleep(IDLE_PERIOD).await;
    }
    sample
}

/// Start-up times (spawn → "listening" on stdout) of `starts` runners.
/// With the cache, a first start fills it and is not counted.
fn cold_starts(scratch: &Scratch, no_plugin_cache: bool, starts: usize) -> Result<Sample> {
    let name = if no_plugin_cache {
        "start-no-cache"
    } else {
        "start-warm-cache"
    };
    let spec = scratch.runner_spec(name, no_plugin_cache);
    if !no_plugin_cache {
        Runner::start(&spec)?.shutdown();
    }
    let mut sample = Sample::new();
    for _ in 0..starts {
        let runner = Runner::start(&spec)?;
        sample.push(runner.startup.as_secs_f64());
        runner.shutdown();
    }
    Ok(sample)
}

/// Runs goal 5 and returns its markdown section.
pub async fn run(scratch: &Scratch, options: &LoadOptions, starts: usize) -> Result<String> {
    eprintln!("bench: footprint: cold starts without the cache");
    let no_cache = cold_starts(scratch, true, starts)?;
    eprintln!("bench: footprint: cold starts with a warm cache");
    let warm = cold_starts(scratch, false, starts)?;

    eprintln!("bench: footprint: RSS idle, during a run, idle again");
    let runner = configured_runner(scratch, "footprint-data", options).await?;
    let fresh = idle_rss(runner.pid()).await;
    let (_, cost) = runner_run(&runner, options).await?;
    let after = idle_rss(runner.pid()).await;
    runner.shutdown();

    let describe_time = |sample: &Sample| {
        let (low, high) = sample.min_max().unwrap_or((f64::NAN, f64::NAN));
        format!(
            "**{}** | {} – {}",
            time(sample.median().unwrap_or(f64::NAN)),
            time(low),
            time(high)
        )
    };
    let describe_rss = |sample: &Sample| {
        let (low, high) = sample.min_max().unwrap_or((f64::NAN, f64::NAN));
        format!(
            "**{}** | {} – {} ({} samples)",
            mib(sample.median().unwrap_or(f64::NAN)),
            mib(low),
            mib(high),
            sample.len()
        )
    };
    Ok(format!(
        "| what | median | min – max |\n|---|---:|---:|\n\
         | cold start, `--no-plugin-cache` (Cranelift compiles the core) | {} |\n\
         | cold start, warm `<data-dir>/cache` | {} |\n\
         | runner RSS, idle after start | {} |\n\
         | runner RSS, during a {} VU × {} s run | {} |\n\
         | runner RSS, idle after that run | {} |\n\n\
         Cold start is spawn → the `listening on` line on stdout, {starts} starts each \
         (`k6-runner serve` with the benchmark's scripts folder; it also runs `k6 version` \
         once). RSS is `VmRSS` of `/proc/<pid>/status`, sampled every {} ms idle and every \
         500 ms during the run.\n",
        describe_time(&no_cache),
        describe_time(&warm),
        describe_rss(&fresh),
        options.users,
        options.seconds,
        describe_rss(&cost.rss),
        describe_rss(&after),
        IDLE_PERIOD.as_millis(),
    ))
}
