//! `k6-bench`: what the k6 control plane costs, measured side by side in one
//! run, printed as markdown (the figures of `BENCHMARKS.md`).
//!
//! ```text
//! cargo run --release -p k6-bench -- all            # every figure (~7 min)
//! cargo run --release -p k6-bench -- all --quick    # a short smoke version
//! cargo run --release -p k6-bench -- core           # one section
//! ```
//!
//! Sections: `overhead` (k6 bare vs under the runner), `core` (the sandboxed
//! core vs native), `control` (start/stop latency), `api` (wrk on `/status`
//! during a run), `footprint` (RSS, cold start), `watched` (a chatty script
//! bare vs under the runner with 0, 10 and 200 WebSocket clients). Everything talks to
//! 127.0.0.1 only; every process started leads its own process group and is
//! killed and reaped at the end, also on failure. No figure is asserted.

mod api_load;
mod control;
mod footprint;
mod history;
mod overhead;
mod procs;
mod runner;
mod sandbox_vs_native;
mod setup;
mod stats;
mod watched;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::{Parser, ValueEnum};

use crate::overhead::LoadOptions;
use crate::sandbox_vs_native::CoreOptions;
use crate::setup::Scratch;

/// Benchmarks of the k6 control plane: the runner next to bare k6, the
/// sandboxed core next to native code.
#[derive(Debug, Parser)]
#[command(name = "k6-bench")]
struct Cli {
    /// Which figures to measure.
    what: What,
    /// A short smoke version: fewer and shorter runs, smaller volumes.
    #[arg(long)]
    quick: bool,
    /// Rounds of the overhead comparison, three k6 runs each (default 6,
    /// quick 2).
    #[arg(long)]
    rounds: Option<usize>,
    /// Seconds per k6 run (default 10, quick 3).
    #[arg(long)]
    seconds: Option<u32>,
    /// Constant VUs per k6 run.
    #[arg(long, default_value_t = 4)]
    users: u32,
    /// The k6-runner binary (default: built in release next to k6-bench).
    #[arg(long, value_name = "PATH")]
    runner: Option<PathBuf>,
    /// The k6 binary (default: `.tools/k6/bin/k6`, from scripts/setup.sh).
    #[arg(long, value_name = "PATH")]
    k6: Option<PathBuf>,
    /// Also write the markdown report to this file.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum What {
    /// Every section below, in one go.
    All,
    /// Goal 1: requests/s under the runner ÷ bare k6.
    Overhead,
    /// Goal 2: the core in the sandbox vs native.
    Core,
    /// Goal 3: start and stop latency.
    Control,
    /// Goal 4: wrk on the API during a run.
    Api,
    /// Goal 5: RSS and cold start.
    Footprint,
    /// Goal 6: a chatty script watched by 0, 10 and 200 WebSocket clients.
    Watched,
    /// Goal 7: the run history (10,000 runs, 6-hour series, import).
    History,
}

impl Cli {
    fn wants(&self, what: What) -> bool {
        self.what == What::All || self.what == what
    }
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let quick = cli.quick;
    let load = LoadOptions {
        users: cli.users,
        seconds: cli.seconds.unwrap_or(if quick { 3 } else { 10 }),
        pairs: cli.rounds.unwrap_or(if quick { 2 } else { 6 }),
    };
    let core_options = CoreOptions {
        volume: if quick { 20_000 } else { 200_000 },
        repeats: if quick { 3 } else { 5 },
        min_time: Duration::from_millis(if quick { 50 } else { 300 }),
    };
    // Stop and cold-start samples: at least five for the medians.
    let samples = if quick { 3 } else { 7 };
    let api_load = LoadOptions {
        pairs: if quick { 1 } else { 3 },
        ..load
    };

    let workspace = setup::workspace();
    let k6 = setup::k6_binary(cli.k6.as_deref())?;
    let needs_runner = !matches!(cli.what, What::Core | What::History);
    let runner = if needs_runner {
        Some(setup::runner_binary(cli.runner.as_deref())?)
    } else {
        None
    };
    let wrk = if cli.wants(What::Api) {
        Some(setup::ensure_wrk()?)
    } else {
        None
    };

    let began = Instant::now();
    let load_before = procs::load_average();
    let mut report = format!(
        "## Figures ({})\n\n{}- load average (1, 5, 15 min) before: {load_before}\n",
        if quick { "quick smoke run" } else { "full run" },
        setup::describe_machine(&k6),
    );
    let mut sections = String::new();

    // The core benchmark first, alone: no k6, no runner, no target running.
    if cli.wants(What::Core) {
        sections.push_str("\n## 2. The core through the sandbox vs native\n\n");
        sections.push_str(&sandbox_vs_native::run(&core_options, &workspace)?);
    }

    if let Some(runner) = runner {
        let runtime = tokio::runtime::Runtime::new()?;
        runtime.block_on(async {
            let target = setup::demo_target().await?;
            let scratch = Scratch::new(runner, k6.clone(), target)?;
            if cli.wants(What::Overhead) {
                sections.push_str("\n## 1. Overhead on k6\n\n");
                sections.push_str(&overhead::run(&scratch, &load).await?);
            }
            if cli.wants(What::Control) {
                sections.push_str("\n## 3. Control latency\n\n");
                sections.push_str(&control::run(&scratch, load.users, samples).await?);
            }
            if let Some(wrk) = &wrk {
                sections.push_str("\n## 4. API under load\n\n");
                sections.push_str(&api_load::run(&scratch, wrk, &api_load).await?);
            }
            if cli.wants(What::Footprint) {
                sections.push_str("\n## 5. Footprint\n\n");
                sections.push_str(&footprint::run(&scratch, &load, samples).await?);
            }
            if cli.wants(What::Watched) {
                sections.push_str("\n## 6. Watched: chatty output and WebSocket clients\n\n");
                sections.push_str(&watched::run(&scratch, &load).await?);
            }
            anyhow::Ok(())
        })?;
        // The demo target's tasks end with the runtime.
        runtime.shutdown_timeout(Duration::from_secs(5));
    }

    if cli.wants(What::History) {
        let options = history::HistoryOptions {
            runs: if quick { 1_000 } else { 10_000 },
            folders: if quick { 100 } else { 1_000 },
            long_seconds: if quick { 3_600 } else { 21_600 },
            repeats: if quick { 5 } else { 21 },
        };
        sections.push_str("\n## 7. Run history\n\n");
        let runtime = tokio::runtime::Runtime::new()?;
        sections.push_str(&runtime.block_on(history::run(&options))?);
    }

    report.push_str(&format!(
        "- load average after: {}; wall time {:.0} s\n- command: `cargo run {}-p k6-bench -- {}`\n",
        procs::load_average(),
        began.elapsed().as_secs_f64(),
        // An unoptimised build measures upper bounds; say which it was.
        if cfg!(debug_assertions) {
            ""
        } else {
            "--release "
        },
        std::env::args().skip(1).collect::<Vec<_>>().join(" "),
    ));
    report.push_str(&sections);
    print!("{report}");
    if let Some(path) = &cli.out {
        std::fs::write(path, &report)?;
    }
    Ok(())
}
