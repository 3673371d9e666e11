//! `k6-runner run FILE`: a suite run without a server, for CI pipelines.
//! Progress goes to stderr, the run record (JSON) to stdout.

use std::io::Write;
use std::sync::Arc;

use crate::hub::Event;
use crate::model::{RunRecord, StepState};
use crate::service::{ControlError, Service};

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
        "run {}: {} script(s), about {} s",
        started.run_id,
        started.scripts.len(),
        started.expected_seconds
    );
    let mut last_script = None;
    let mut last_second = 0u64;
    loop {
        match events.recv().await {
            Ok(Event::Status(status)) => {
                if status.current_script != last_script {
                    if let Some(script) = &status.current_script {
                        let step = status.progress.as_ref().map_or(0, |p| p.step);
                        let _ = writeln!(progress, "[{step}/{}] {script}", started.scripts.len());
                    }
                    last_script = status.current_script.clone();
                }
                if !status.is_running {
                    break;
                }
            }
            Ok(Event::Metrics(point)) => {
                let second = point.at_ms / 1000;
                if second >= last_second + 5 {
                    last_second = second;
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
            Ok(Event::Log(line)) if line.level == "error" || line.stream == "runner" => {
                let _ = writeln!(progress, "  {}: {}", line.level, line.message);
            }
            Ok(Event::Log(_) | Event::Config(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                if !service.status().is_running {
                    break;
                }
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
        }
    }
    service.shutdown().await;
    let record = service.results()?;
    for step in &record.steps {
        let _ = writeln!(
            progress,
            "{:>10}  {}  {}",
            format!("{:?}", step.state).to_lowercase(),
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
