//! Goal 4: `wrk` against `GET /api/k6/status` while a k6 run is active,
//! and the same k6 run without wrk, interleaved, to show what the API load
//! does to the load test.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};

use crate::overhead::{LoadOptions, configured_runner, runner_run};
use testkit::process::ProcessGroup;

use crate::procs;
use crate::runner::Runner;
use crate::setup::Scratch;
use crate::stats::{Sample, si, time};

/// wrk threads: one, so wrk takes at most one of the two cores.
const WRK_THREADS: u32 = 1;
/// wrk connections: a handful of dashboards polling flat out.
const WRK_CONNECTIONS: u32 = 4;

/// What one wrk run reported.
#[derive(Debug, Clone, Default)]
struct WrkFigures {
    requests_per_second: f64,
    p50_seconds: f64,
    p99_seconds: f64,
    requests: f64,
    /// Socket errors plus non-2xx/3xx answers.
    errors: f64,
    /// CPU seconds wrk used.
    cpu_seconds: f64,
}

/// `1.23ms` → 0.00123.
fn wrk_duration(text: &str) -> Option<f64> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else {
        return None;
    };
    number.parse::<f64>().ok().map(|n| n * scale)
}

/// Reads wrk's `--latency` report.
fn parse_wrk(report: &str) -> Result<WrkFigures> {
    let mut figures = WrkFigures::default();
    for line in report.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", value] => figures.p50_seconds = wrk_duration(value).unwrap_or(f64::NAN),
            ["99%", value] => figures.p99_seconds = wrk_duration(value).unwrap_or(f64::NAN),
            ["Requests/sec:", value] => figures.requests_per_second = value.parse()?,
            [count, "requests", "in", ..] => figures.requests = count.parse()?,
            ["Non-2xx", "or", "3xx", "responses:", count] => {
                figures.errors += count.parse::<f64>()?
            }
            ["Socket", "errors:", rest @ ..] => {
                // connect N, read N, write N, timeout N
                figures.errors += rest
                    .iter()
                    .filter_map(|word| word.trim_end_matches(',').parse::<f64>().ok())
                    .sum::<f64>();
            }
            _ => {}
        }
    }
    if figures.requests_per_second == 0.0 {
        bail!("wrk reported no throughput:\n{report}");
    }
    Ok(figures)
}

/// Starts wrk against the runner's `/status` for `seconds`.
fn start_wrk(wrk: &Path, runner: &Runner, seconds: u32) -> Result<ProcessGroup> {
    let mut command = Command::new(wrk);
    command
        .arg(format!("-t{WRK_THREADS}"))
        .arg(format!("-c{WRK_CONNECTIONS}"))
        .arg(format!("-d{seconds}s"))
        .args(["--latency", "--timeout", "2s"])
        .arg(format!("{}/status", runner.api()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    Ok(ProcessGroup::spawn("wrk", &mut command)?)
}

/// Waits for wrk to finish and reads its report and its CPU time.
fn finish_wrk(mut wrk: ProcessGroup, seconds: u32) -> Result<WrkFigures> {
    // wrk is the only child reaped while this waits, so the growth of the
    // reaped children's CPU time is wrk's.
    let before = procs::reaped_children_cpu_seconds().context("reading /proc/self/stat")?;
    let limit = Duration::from_secs(seconds.into()) + Duration::from_secs(30);
    wrk.wait_for(limit)
        .ok_or_else(|| anyhow!("wrk ran past {limit:?}"))?;
    let after = procs::reaped_children_cpu_seconds().context("reading /proc/self/stat")?;
    let report = wrk.remaining_lines(Duration::from_secs(5)).join("\n");
    let mut figures = parse_wrk(&report)?;
    figures.cpu_seconds = after - before;
    Ok(figures)
}

/// `/status` requests per second of the paced client: a hundred dashboards
/// each reading the status once a second.
const PACED_RATE: u32 = 100;

/// What the paced client saw.
#[derive(Debug, Default)]
struct PacedFigures {
    latencies: Sample,
    errors: u64,
}

/// Reads `/status` at [`PACED_RATE`] per second until aborted, recording
/// each answer's latency (a failed or non-2xx answer counts as an error).
async fn paced_status(url: String, figures: std::sync::Arc<std::sync::Mutex<PacedFigures>>) {
    let Ok(client) = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(2))
        .build()
    else {
        return;
    };
    let mut tick = tokio::time::interval(Duration::from_secs(1) / PACED_RATE);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let sent = std::time::Instant::now();
        let ok = match client.get(&url).send().await {
            Ok(response) => response.status().is_success() && response.bytes().await.is_ok(),
            Err(_) => false,
        };
        let mut figures = figures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if ok {
            figures.latencies.push(sent.elapsed().as_secs_f64());
        } else {
            figures.errors += 1;
        }
    }
}

/// The arms of one round.
#[derive(Debug, Clone, Copy)]
enum Arm {
    /// k6 alone.
    Alone,
    /// k6 with `/status` read at [`PACED_RATE`] per second.
    Paced,
    /// k6 with wrk on `/status`, flat out.
    Wrk,
}

/// Runs goal 4 and returns its markdown section.
pub async fn run(scratch: &Scratch, wrk: &Path, options: &LoadOptions) -> Result<String> {
    let runner = configured_runner(scratch, "api-data", options).await?;
    let status_url = format!("{}/status", runner.api());

    eprintln!("bench: api: wrk against an idle runner");
    let idle = finish_wrk(start_wrk(wrk, &runner, options.seconds)?, options.seconds)?;

    let mut paced_ratios = Sample::new();
    let mut wrk_ratios = Sample::new();
    let mut paced_latency = Sample::new();
    let mut paced_errors = 0;
    let mut paced_requests = 0;
    let mut busy = Vec::new();
    let mut rows = String::new();
    let arms = [Arm::Alone, Arm::Paced, Arm::Wrk];
    for round in 0..options.pairs {
        // Rotating order, as in goal 1.
        let order: Vec<Arm> = (0..arms.len())
            .map(|i| arms[(round + i) % arms.len()])
            .collect();
        let (mut alone, mut paced, mut loaded) = (None, None, None);
        for arm in order {
            eprintln!(
                "bench: api: round {}/{}: k6 {}",
                round + 1,
                options.pairs,
                match arm {
                    Arm::Alone => "alone".to_owned(),
                    Arm::Paced => format!("with /status at {PACED_RATE} req/s"),
                    Arm::Wrk => "with wrk on /status".to_owned(),
                }
            );
            match arm {
                Arm::Alone => alone = Some(runner_run(&runner, options).await?.0),
                Arm::Paced => {
                    let figures =
                        std::sync::Arc::new(std::sync::Mutex::new(PacedFigures::default()));
                    let client = tokio::spawn(paced_status(status_url.clone(), figures.clone()));
                    let run = runner_run(&runner, options).await;
                    client.abort();
                    let _ = client.await;
                    let figures = std::mem::take(
                        &mut *figures
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner),
                    );
                    paced = Some((run?.0, figures));
                }
                Arm::Wrk => {
                    let runner_cpu = procs::cpu_seconds(runner.pid()).unwrap_or(f64::NAN);
                    let wrk_run = start_wrk(wrk, &runner, options.seconds)?;
                    let run = runner_run(&runner, options).await;
                    let figures = finish_wrk(wrk_run, options.seconds)?;
                    let runner_cpu =
                        procs::cpu_seconds(runner.pid()).unwrap_or(f64::NAN) - runner_cpu;
                    loaded = Some((run?.0, figures, runner_cpu));
                }
            }
        }
        let (Some(a), Some((p, paced)), Some((w, figures, runner_cpu))) = (alone, paced, loaded)
        else {
            bail!("a round missed an arm");
        };
        paced_ratios.push(p.rps / a.rps);
        wrk_ratios.push(w.rps / a.rps);
        paced_requests += paced.latencies.len() + usize::try_from(paced.errors).unwrap_or(0);
        paced_errors += paced.errors;
        for value in paced.latencies.values() {
            paced_latency.push(*value);
        }
        rows.push_str(&format!(
            "| {} | {} | {} | {} | {:.3} | {:.3} | {:.1} s / {:.1} s / {:.1} s | {} | {} | {} | {:.2} s | {:.2} s |\n",
            round + 1,
            si(a.rps),
            si(p.rps),
            si(w.rps),
            p.rps / a.rps,
            w.rps / a.rps,
            a.k6_cpu_seconds,
            p.k6_cpu_seconds,
            w.k6_cpu_seconds,
            si(figures.requests_per_second),
            time(figures.p99_seconds),
            figures.errors,
            figures.cpu_seconds,
            runner_cpu,
        ));
        busy.push((figures, runner_cpu));
    }
    runner.shutdown();

    let mut wrk_rps = Sample::new();
    let mut wrk_p99 = Sample::new();
    let mut per_request = Sample::new();
    let mut errors = 0.0;
    let mut requests = 0.0;
    for (figures, runner_cpu) in &busy {
        wrk_rps.push(figures.requests_per_second);
        wrk_p99.push(figures.p99_seconds);
        per_request.push(runner_cpu / figures.requests);
        errors += figures.errors;
        requests += figures.requests;
    }
    let spread = |sample: &Sample| {
        let (low, high) = sample.min_max().unwrap_or((f64::NAN, f64::NAN));
        format!(
            "median {:.3} (min–max {low:.3}–{high:.3})",
            sample.median().unwrap_or(f64::NAN)
        )
    };
    Ok(format!(
        "k6 runs {u} VUs × {s} s as in goal 1, under the runner. {p} rounds of three runs, the \
         order rotating: k6 alone (A); k6 while a client reads `GET /api/k6/status` at \
         {PACED_RATE} req/s (P, a hundred dashboards polling once a second); k6 while \
         `wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{s}s --latency` reads it flat out (W, a \
         stress test). k6 CPU is the k6 process's user + system time.\n\n\
         | round | k6 req/s A | k6 req/s P | k6 req/s W | P ÷ A | W ÷ A | k6 CPU A / P / W | wrk req/s | wrk p99 | wrk errors | wrk CPU | runner CPU during W |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n{rows}\n\
         **Flat out (wrk): median {} req/s, p99 {}, {errors} errors in {requests} requests; \
         k6's requests/s ÷ alone: {}.** **At {PACED_RATE} req/s: p50 {}, p99 {}, \
         {paced_errors} errors in {paced_requests} requests; k6's requests/s ÷ alone: {}.** \
         Against an idle runner the same wrk gets {} req/s (p50 {}, p99 {}). Each `/status` \
         answer cost the runner a median {} of CPU (runner CPU during W ÷ wrk requests, so \
         it includes the supervision of k6).\n",
        si(wrk_rps.median().unwrap_or(f64::NAN)),
        time(wrk_p99.median().unwrap_or(f64::NAN)),
        spread(&wrk_ratios),
        time(paced_latency.quantile(0.5).unwrap_or(f64::NAN)),
        time(paced_latency.quantile(0.99).unwrap_or(f64::NAN)),
        spread(&paced_ratios),
        si(idle.requests_per_second),
        time(idle.p50_seconds),
        time(idle.p99_seconds),
        time(per_request.median().unwrap_or(f64::NAN)),
        s = options.seconds,
        u = options.users,
        p = options.pairs,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_wrk_report() {
        let report = "Running 10s test @ http://127.0.0.1:1/api/k6/status
  1 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   201.00us  100.00us   5.00ms   90.00%
  Latency Distribution
     50%  180.00us
     75%  220.00us
     90%  300.00us
     99%    1.20ms
  123456 requests in 10.00s, 100.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  12345.60
Transfer/sec:     10.00MB
";
        let figures = parse_wrk(report).expect("a report");
        assert_eq!(figures.requests_per_second, 12345.6);
        assert_eq!(figures.requests, 123456.0);
        assert!((figures.p99_seconds - 0.0012).abs() < 1e-12);
        assert!((figures.p50_seconds - 0.000_18).abs() < 1e-12);
        assert_eq!(figures.errors, 7.0);
    }
}
