//! The live status of the runner and the metrics readings of a step.

use serde::{Deserialize, Serialize};

use super::record::{RunOutcome, StepState};
use crate::contract;

/// The live state of the runner (`GET /api/k6/status`, `/ws` `status`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// A suite run is in progress.
    pub is_running: bool,
    /// `idle`, `running` or `stopping`.
    pub state: RunState,
    /// The current (or last) run.
    pub run_id: Option<String>,
    /// How the last run ended, once it has (`passed`, `failed`, `stopped`,
    /// `interrupted`); none while one runs.
    pub outcome: Option<RunOutcome>,
    /// Whether the last run crossed a regression budget against its
    /// baselines; none while one runs, or when no entry had a baseline.
    #[serde(default)]
    pub regressed: Option<bool>,
    /// The script running now (none between steps).
    pub current_script: Option<String>,
    /// The step running now, from 1 (none between steps).
    pub current_step: Option<u32>,
    /// When the current run started (RFC 3339).
    pub start_time: Option<String>,
    /// Virtual users active now (from k6's live metrics).
    pub current_user_count: u32,
    /// Scripts of the current run that completed.
    pub completed_scripts: Vec<String>,
    /// Scripts of the current run that failed.
    pub failed_scripts: Vec<String>,
    /// Scripts of the current run that were stopped.
    pub stopped_scripts: Vec<String>,
    /// Scripts of the last run that the runner's death interrupted.
    pub interrupted_scripts: Vec<String>,
    /// Every step of the current (or last) run, by position.
    pub steps: Vec<StepStatus>,
    /// The last error: a failed step's reason, a refused start, a k6 problem.
    /// An operator's stop is not an error.
    pub last_error: Option<String>,
    /// Where the run is.
    pub progress: Option<Progress>,
    /// The latest live metrics of the running step.
    pub metrics: Option<MetricsPoint>,
    /// The k6 version found at startup, if k6 was found.
    pub k6_version: Option<String>,
}

/// One step of the run as the status shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepStatus {
    /// Position, from 1.
    pub step: u32,
    /// The script.
    pub script: String,
    /// Its users (none when the script's own options decide).
    pub users: Option<u32>,
    /// Whose load options apply (`global`, `script`); none for wrappers.
    pub load: Option<super::LoadMode>,
    /// Where it is.
    pub state: StepState,
}

/// Whether a suite runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum RunState {
    /// Nothing runs.
    #[default]
    Idle,
    /// A suite runs.
    Running,
    /// A stop was requested and the current step is ending.
    Stopping,
}

/// What the run is doing now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ProgressPhase {
    /// A step runs.
    #[default]
    Running,
    /// The pause between two steps.
    Waiting,
}

/// Progress of the current run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// Current step, from 1.
    pub step: u32,
    /// Number of steps.
    pub steps: u32,
    /// Seconds since the run started.
    pub elapsed_seconds: f64,
    /// Seconds since the current step started.
    pub step_elapsed_seconds: f64,
    /// Expected length of the run in seconds (steps + intervals).
    pub expected_seconds: u64,
    /// Expected seconds left.
    pub eta_seconds: f64,
    /// Percent of the expected length done, 0–100.
    pub percent: f64,
    /// A step runs, or the run waits between steps.
    pub phase: ProgressPhase,
}

/// One live reading of a running step (`/ws` `metrics`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricsPoint {
    /// The run.
    pub run_id: String,
    /// The script.
    pub script: String,
    /// Step number, from 1.
    pub step: u32,
    /// Wall-clock time of the reading (RFC 3339).
    pub time: String,
    /// Milliseconds since the step started.
    pub at_ms: u64,
    /// Active VUs.
    pub vus: u32,
    /// Requests so far.
    pub requests: u64,
    /// Requests per second since the previous reading.
    pub request_rate: f64,
    /// p95 latency so far, ms.
    pub latency_p95_ms: Option<f64>,
    /// Mean latency so far, ms.
    pub latency_avg_ms: Option<f64>,
    /// Share of failed requests so far, 0–1.
    pub failed_request_rate: Option<f64>,
    /// Iterations so far.
    pub iterations: u64,
    /// Share of passed checks so far, 0–1.
    pub checks_rate: Option<f64>,
    /// CPU used by the k6 process since the previous reading, percent of
    /// one core.
    pub cpu_percent: Option<f64>,
    /// Resident memory of the k6 process, bytes.
    pub rss_bytes: Option<u64>,
}

impl MetricsPoint {
    /// A reading from the core's live metrics plus the host's own facts.
    pub fn from_live(
        live: &contract::LiveMetrics,
        run_id: &str,
        script: &str,
        step: u32,
        time: String,
    ) -> Self {
        Self {
            run_id: run_id.to_owned(),
            script: script.to_owned(),
            step,
            time,
            at_ms: live.at_ms,
            vus: live.vus,
            requests: live.requests,
            request_rate: live.request_rate,
            latency_p95_ms: live.latency_p95_ms,
            latency_avg_ms: live.latency_avg_ms,
            failed_request_rate: live.failed_request_rate,
            iterations: live.iterations,
            checks_rate: live.checks_rate,
            cpu_percent: None,
            rss_bytes: None,
        }
    }
}
