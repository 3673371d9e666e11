//! `k6-runner run FILE`: a suite run without a server, for CI pipelines.
//! Progress goes to stderr, the run record (JSON) to stdout.

use std::io::Write;
use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;

use crate::history::compare::{Comparison, Verdict};
use crate::hub::Event;
use crate::model::{LogLevel, LogStream, RunRecord, StepState};
use crate::service::{ControlError, Service};

/// Seconds of a step between two progress lines.
const PROGRESS_EVERY_SECONDS: u64 = 5;

/// Starts a run with the service's current config, reports progress to
/// `progress` until it ends, and returns its record.
pub async fn run(
    service: Arc<Service>,
    progress: &mut (dyn Write + Send),
) -> Result<RunRecord, ControlError> {
    let mut events = service.subscribe();
    let started = service.start_run().await?;
    let _ = writeln!(
        progress,
        "run {}: {} step(s), about {} s",
        started.run_id,
        started.scripts.len(),
        started.expected_seconds
    );
    let mut current_step = None;
    // The step second of the last progress line: each step starts afresh.
    let mut last_line = None::<u64>;
    loop {
        let event = match events.recv().await {
            Ok(published) => published,
            Err(RecvError::Lagged(_)) => {
                if !service.status().is_running {
                    break;
                }
                continue;
            }
            Err(RecvError::Closed) => break,
        };
        match event.event() {
            Event::Status(status) => {
                if status.current_step != current_step {
                    if let (Some(step), Some(script)) =
                        (status.current_step, &status.current_script)
                    {
                        let _ = writeln!(progress, "[{step}/{}] {script}", started.scripts.len());
                        last_line = None;
                    }
                    current_step = status.current_step;
                }
                // Ended: this run's status, no longer running.
                if !status.is_running && status.run_id.as_deref() == Some(&started.run_id) {
                    break;
                }
            }
            Event::Metrics(point) => {
                let second = point.at_ms / 1000;
                let due = last_line.is_none_or(|last| second >= last + PROGRESS_EVERY_SECONDS);
                if due && second > 0 {
                    last_line = Some(second);
                    let _ = writeln!(
                        progress,
                        "  {:>4}s  {} VUs  {:.1} req/s  p95 {}",
                        second,
                        point.vus,
                        point.request_rate,
                        point
                            .latency_p95_ms
                            .map_or("-".to_owned(), |p| format!("{p:.1} ms"))
                    );
                }
            }
            Event::Logs(lines) => {
                for line in lines
                    .iter()
                    .filter(|l| l.level == LogLevel::Error || l.stream == LogStream::Runner)
                {
                    let _ = writeln!(progress, "  {}: {}", line.level.name(), line.message);
                }
            }
            // The verdict is printed from the record once the run has ended.
            Event::Config(_) | Event::Regression(_) => {}
        }
    }
    service.shutdown().await;
    let record = service.results()?;
    for step in &record.steps {
        let _ = writeln!(
            progress,
            "{:>10}  {}. {}  {}",
            format!("{:?}", step.state).to_lowercase(),
            step.step,
            step.script,
            step.reason.as_deref().unwrap_or("")
        );
    }
    Ok(record)
}

/// True when every script of the run completed (exit code 0 of `run`).
pub fn all_passed(record: &RunRecord) -> bool {
    !record.steps.is_empty()
        && record
            .steps
            .iter()
            .all(|step| step.state == StepState::Completed)
}

/// Exit code of `k6-runner run --baseline` when every script passed but
/// the run regressed against the baseline (1 stays "a script failed").
pub const EXIT_REGRESSED: u8 = 3;

/// Writes `comparison` as a table: one block per entry, one line per
/// headline figure with both values, the change and the verdict.
pub fn print_comparison(out: &mut dyn Write, comparison: &Comparison) {
    let _ = writeln!(
        out,
        "compared with run {}: {}",
        comparison.base,
        verdict_word(comparison.verdict)
    );
    for entry in &comparison.entries {
        let _ = writeln!(out, "  {} ({})", entry.entry, verdict_word(entry.verdict));
        for delta in &entry.headline {
            let value = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.3}"));
            let change = delta
                .relative_percent
                .map_or(String::new(), |p| format!("{p:+.1}%"));
            let budget = delta
                .budget
                .map_or(String::new(), |b| format!("budget {b}"));
            let _ = writeln!(
                out,
                "    {:<18} {:>12} -> {:<12} {:>8}  {:<12} {}",
                delta.name,
                value(delta.base),
                value(delta.run),
                change,
                budget,
                if delta.verdict == Verdict::Regressed {
                    "REGRESSED"
                } else {
                    ""
                }
            );
        }
        for threshold in &entry.thresholds {
            let _ = writeln!(
                out,
                "    threshold {} {}: {:?}",
                threshold.metric, threshold.expression, threshold.change
            );
        }
    }
}

fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Ok => "within budgets",
        Verdict::Incomparable => "nothing to compare",
        Verdict::Regressed => "REGRESSED",
    }
}
