//! Goal 6: watching costs the test nothing. The chatty script (k6's
//! `csv-parse` example: a `console.log` on every iteration, CPU-bound) run
//! bare and under the runner with 0, 10 and 200 WebSocket clients on
//! `/ws`, half of them never reading a byte, interleaved; iterations under
//! the runner ÷ bare per column, and the runner's RSS while it fans out.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use futures_util::StreamExt;
use tokio::task::JoinSet;

use crate::overhead::{LoadOptions, RunFigures, bare_k6, configured_runner_for, runner_run};
use crate::runner::Runner;
use crate::setup::{CHATTY, Scratch};
use crate::stats::{Sample, mib, si};

/// The WebSocket audiences compared, in clients (half of them stuck).
const AUDIENCES: [usize; 3] = [0, 10, 200];

/// How long a client may take to connect.
const CONNECT_LIMIT: Duration = Duration::from_secs(10);

/// One column of a round.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Arm {
    /// Bare k6.
    Bare,
    /// Under the runner, watched by this many WebSocket clients.
    Watched(usize),
}

/// WebSocket clients of one run: the reading half drain every message, the
/// stuck half connect and never read (their socket buffers fill; the
/// runner must drop or skip them rather than wait).
struct Audience {
    readers: JoinSet<u64>,
    /// Held open, never polled.
    stuck: Vec<
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
    >,
}

impl Audience {
    async fn connect(runner: &Runner, clients: usize) -> Result<Self> {
        let url = format!("{}/ws", runner.api().replacen("http://", "ws://", 1));
        let mut audience = Self {
            readers: JoinSet::new(),
            stuck: Vec::new(),
        };
        for index in 0..clients {
            let (socket, _) = tokio::time::timeout(
                CONNECT_LIMIT,
                tokio_tungstenite::connect_async(url.as_str()),
            )
            .await
            .context("connecting a WebSocket client timed out")?
            .with_context(|| format!("connecting WebSocket client {index} to {url}"))?;
            if index % 2 == 0 {
                audience.readers.spawn(async move {
                    let mut socket = socket;
                    let mut messages = 0;
                    while let Some(Ok(_)) = socket.next().await {
                        messages += 1;
                    }
                    messages
                });
            } else {
                audience.stuck.push(socket);
            }
        }
        Ok(audience)
    }

    /// Closes every client; returns the messages the readers got.
    fn close(mut self) -> u64 {
        self.stuck.clear();
        self.readers.abort_all();
        let mut total = 0;
        while let Some(done) = self.readers.try_join_next() {
            total += done.unwrap_or(0);
        }
        total
    }
}

/// What one watched run measured.
#[derive(Debug, Clone)]
struct Watched {
    figures: RunFigures,
    /// The runner's peak RSS during the run, bytes.
    rss_peak: f64,
    /// CPU seconds the runner used per wall second of the run.
    runner_cpu: f64,
}

/// One watched run: the clients connected before the start, closed at the
/// end.
async fn watched_run(runner: &Runner, clients: usize, options: &LoadOptions) -> Result<Watched> {
    let audience = Audience::connect(runner, clients).await?;
    let (figures, cost) = runner_run(runner, options).await?;
    audience.close();
    Ok(Watched {
        figures,
        rss_peak: cost.rss.min_max().map_or(f64::NAN, |(_, high)| high),
        runner_cpu: cost.cpu_seconds / cost.wall_seconds,
    })
}

/// Runs goal 6 and returns its markdown section.
pub async fn run(scratch: &Scratch, options: &LoadOptions) -> Result<String> {
    let runner = configured_runner_for(scratch, CHATTY, "watched-data", options).await?;
    let arms: Vec<Arm> = std::iter::once(Arm::Bare)
        .chain(AUDIENCES.iter().map(|&n| Arm::Watched(n)))
        .collect();
    let mut ratios: Vec<Sample> = AUDIENCES.iter().map(|_| Sample::new()).collect();
    let mut peaks: Vec<Sample> = AUDIENCES.iter().map(|_| Sample::new()).collect();
    let mut cpus: Vec<Sample> = AUDIENCES.iter().map(|_| Sample::new()).collect();
    let mut rows = String::new();
    for round in 0..options.pairs {
        // Rotating order: a load drifting during the benchmark favours no arm.
        let order: Vec<Arm> = (0..arms.len())
            .map(|i| arms[(round + i) % arms.len()])
            .collect();
        let mut bare = None;
        let mut watched = vec![None; AUDIENCES.len()];
        for arm in &order {
            eprintln!(
                "bench: watched: round {}/{}: {arm:?}",
                round + 1,
                options.pairs
            );
            match *arm {
                Arm::Bare => bare = Some(bare_k6(scratch, CHATTY, options, round, false).await?),
                Arm::Watched(clients) => {
                    let column = AUDIENCES.iter().position(|&n| n == clients).unwrap_or(0);
                    watched[column] = Some(watched_run(&runner, clients, options).await?);
                }
            }
        }
        let Some(bare) = bare else {
            bail!("a round missed the bare run");
        };
        let mut cells = Vec::new();
        for (column, run) in watched.iter().enumerate() {
            let Some(run) = run else {
                bail!("a round missed a watched run");
            };
            let ratio = run.figures.iterations / bare.iterations;
            ratios[column].push(ratio);
            peaks[column].push(run.rss_peak);
            cpus[column].push(run.runner_cpu);
            cells.push(format!(
                "{} (**{ratio:.3}**, {}, {:.0} %)",
                si(run.figures.iterations),
                mib(run.rss_peak),
                run.runner_cpu * 100.0
            ));
        }
        rows.push_str(&format!(
            "| {} | {} | {} |\n",
            round + 1,
            si(bare.iterations),
            cells.join(" | ")
        ));
    }
    runner.shutdown();
    let summary: Vec<String> = AUDIENCES
        .iter()
        .zip(&ratios)
        .zip(&peaks)
        .zip(&cpus)
        .map(|(((clients, ratio), peak), cpu)| {
            let (low, high) = ratio.min_max().unwrap_or((f64::NAN, f64::NAN));
            format!(
                "{clients} clients: median {:.3} (min–max {low:.3}–{high:.3}), runner RSS peak {}, \
                 runner CPU median {:.0} % of a core",
                ratio.median().unwrap_or(f64::NAN),
                mib(peak.min_max().map_or(f64::NAN, |(_, high)| high)),
                cpu.median().unwrap_or(f64::NAN) * 100.0,
            )
        })
        .collect();
    Ok(format!(
        "k6's `experimental/csv-parse.js` example (verbatim from the corpus: one \
         `console.log` per iteration, no network), {} VUs × {} s under the global load, \
         {} rounds in rotating order: bare k6, then under the runner watched by 0, 10 and \
         200 WebSocket clients on `/ws` (half of them reading everything, half connected \
         and never reading). Iterations are k6's own (the summary export bare, the run \
         record under the runner); in brackets the ratio to the round's bare run, the \
         runner's peak RSS during the run and the CPU it used (of one core, from the start \
         to idle).\n\n\
         | round | bare iterations | 0 clients | 10 clients | 200 clients |\n\
         |---:|---:|---:|---:|---:|\n{rows}\n\
         **Iterations under the runner ÷ bare:** {}.\n",
        options.users,
        options.seconds,
        options.pairs,
        summary.join("; "),
    ))
}
