//! The runner's JSON documents: what the REST API and WebSocket send and
//! what a run record on disk holds (camelCase, as the product brief names
//! the fields). Contract types from the core are converted here, once.

use serde::{Deserialize, Serialize};

use crate::contract::{self, LogLevel, Outcome, ScriptKind, SummarySource};

/// The live state of the runner (`GET /api/k6/status`, `/ws` `status`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// A suite run is in progress.
    pub is_running: bool,
    /// `idle`, `running` or `stopping`.
    pub state: RunState,
    /// The current (or last) run.
    pub run_id: Option<String>,
    /// The script running now.
    pub current_script: Option<String>,
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
    /// The last error: a failed step's reason, a refused start, a k6 problem.
    pub last_error: Option<String>,
    /// Where the run is.
    pub progress: Option<Progress>,
    /// The latest live metrics of the running step.
    pub metrics: Option<MetricsPoint>,
    /// The k6 version found at startup, if k6 was found.
    pub k6_version: Option<String>,
}

/// Whether a suite runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
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

/// Progress of the current run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
    /// Expected length of the run in seconds (test durations + intervals).
    pub expected_seconds: u64,
    /// Expected seconds left.
    pub eta_seconds: f64,
    /// Percent of the expected length done, 0–100.
    pub percent: f64,
    /// `running` while a script runs, `waiting` between scripts.
    pub phase: String,
}

/// One live reading of a running step (`/ws` `metrics`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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

/// One line of k6 output as the runner keeps it (`GET /api/k6/logs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogLine {
    /// Increasing number, for `?since=`.
    pub seq: u64,
    /// When the runner read the line (RFC 3339).
    pub time: String,
    /// The run.
    pub run_id: String,
    /// The script.
    pub script: String,
    /// `stdout`, `stderr` or `runner` (the runner's own notes).
    pub stream: String,
    /// `debug`, `info`, `warning` or `error`.
    pub level: String,
    /// The text (for k6 log lines: the message).
    pub message: String,
}

/// A log level as text.
pub fn level_name(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warning => "warning",
        LogLevel::Error => "error",
    }
}

/// A suite run as recorded in `runs/<id>/run.json` (`GET /api/k6/results`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    /// Run id (sortable by start time).
    pub id: String,
    /// Where the run is.
    pub state: RunRecordState,
    /// Start (RFC 3339).
    pub started_at: String,
    /// End (RFC 3339), once ended.
    pub ended_at: Option<String>,
    /// Why it ended the way it did (stop, interruption), if not by itself.
    pub reason: Option<String>,
    /// The config it ran with (canonical JSON).
    pub config: serde_json::Value,
    /// One entry per script.
    pub steps: Vec<StepRecord>,
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RunRecordState {
    /// In progress.
    Running,
    /// Every step ran (some may have failed).
    Finished,
    /// Stopped by an operator or a shutdown.
    Stopped,
    /// The runner died during the run; found so at the next start.
    Interrupted,
}

/// One script of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepRecord {
    /// Step number, from 1.
    pub step: u32,
    /// The script's catalogue name.
    pub script: String,
    /// `k6` or `legacy`.
    pub kind: String,
    /// Where the step is.
    pub state: StepState,
    /// Start (RFC 3339).
    pub started_at: Option<String>,
    /// End (RFC 3339).
    pub ended_at: Option<String>,
    /// Process exit code.
    pub exit_code: Option<i32>,
    /// Signal that killed the process.
    pub signal: Option<i32>,
    /// Why it ended so (the core's verdict, or the runner's refusal).
    pub reason: Option<String>,
    /// Results.
    pub summary: Option<Summary>,
    /// The process id while it runs.
    pub pid: Option<u32>,
    /// The step's log file (relative to the run folder).
    pub log_file: Option<String>,
}

/// Where a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StepState {
    /// Not started yet.
    Pending,
    /// Running.
    Running,
    /// Ran to the end, thresholds passed.
    Completed,
    /// Ended with an error or crossed thresholds.
    Failed,
    /// Stopped on purpose.
    Stopped,
    /// Never started (the run was stopped before).
    Skipped,
    /// The runner died while it ran.
    Interrupted,
}

impl From<Outcome> for StepState {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Completed => Self::Completed,
            Outcome::Failed => Self::Failed,
            Outcome::Stopped => Self::Stopped,
        }
    }
}

/// A script kind as text.
pub fn kind_name(kind: ScriptKind) -> &'static str {
    match kind {
        ScriptKind::K6Script => "k6",
        ScriptKind::LegacyWrapper => "legacy",
    }
}

/// Results of one script.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// `summaryExport`, `handleSummary`, `textSummary`, `liveMetrics` or `none`.
    pub source: String,
    /// HTTP requests.
    pub requests: Option<u64>,
    /// Requests per second.
    pub requests_per_second: Option<f64>,
    /// `http_req_duration` statistics, ms.
    pub latency_ms: Option<Latency>,
    /// Share of failed requests, 0–1.
    pub error_rate: Option<f64>,
    /// Passed checks.
    pub checks_passed: Option<u64>,
    /// Failed checks.
    pub checks_failed: Option<u64>,
    /// Iterations.
    pub iterations: Option<u64>,
    /// Highest VU count.
    pub max_vus: Option<u32>,
    /// Bytes received.
    pub data_received_bytes: Option<u64>,
    /// Bytes sent.
    pub data_sent_bytes: Option<u64>,
    /// Thresholds and whether each held.
    pub thresholds: Vec<Threshold>,
}

/// Latency statistics, ms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Latency {
    /// Mean.
    pub avg: Option<f64>,
    /// Minimum.
    pub min: Option<f64>,
    /// Median.
    pub med: Option<f64>,
    /// Maximum.
    pub max: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
}

/// One threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Threshold {
    /// Metric with tags.
    pub metric: String,
    /// Expression.
    pub expression: String,
    /// Held (true) or crossed (false).
    pub passed: bool,
}

impl From<contract::ScriptSummary> for Summary {
    fn from(s: contract::ScriptSummary) -> Self {
        let source = match s.source {
            SummarySource::SummaryExport => "summaryExport",
            SummarySource::HandleSummary => "handleSummary",
            SummarySource::TextSummary => "textSummary",
            SummarySource::LiveMetrics => "liveMetrics",
            SummarySource::None => "none",
        };
        Self {
            source: source.to_owned(),
            requests: s.requests,
            requests_per_second: s.request_rate,
            latency_ms: s.latency.map(|l| Latency {
                avg: l.avg,
                min: l.min,
                med: l.med,
                max: l.max,
                p90: l.p90,
                p95: l.p95,
                p99: l.p99,
            }),
            error_rate: s.failed_request_rate,
            checks_passed: s.checks.as_ref().map(|c| c.passes),
            checks_failed: s.checks.as_ref().map(|c| c.fails),
            iterations: s.iterations,
            max_vus: s.max_vus,
            data_received_bytes: s.data_received_bytes,
            data_sent_bytes: s.data_sent_bytes,
            thresholds: s
                .thresholds
                .into_iter()
                .map(|t| Threshold {
                    metric: t.metric,
                    expression: t.expression,
                    passed: t.passed,
                })
                .collect(),
        }
    }
}

/// A script of the catalogue (`GET /api/k6/scripts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScriptInfo {
    /// The name configs use.
    pub name: String,
    /// `k6` or `legacy`.
    pub kind: String,
    /// Size in bytes.
    pub size_bytes: u64,
}

/// A field error as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldErrorBody {
    /// The JSON field.
    pub field: String,
    /// The rule, kebab-case as in the WIT (`out-of-range`).
    pub code: String,
    /// The sentence for the operator.
    pub message: String,
}

impl From<contract::FieldError> for FieldErrorBody {
    fn from(e: contract::FieldError) -> Self {
        Self {
            field: e.field,
            code: error_code_name(e.code).to_owned(),
            message: e.message,
        }
    }
}

fn error_code_name(code: contract::ErrorCode) -> &'static str {
    use contract::ErrorCode as C;
    match code {
        C::MalformedJson => "malformed-json",
        C::NotAnObject => "not-an-object",
        C::UnknownField => "unknown-field",
        C::DuplicateField => "duplicate-field",
        C::MissingField => "missing-field",
        C::WrongType => "wrong-type",
        C::OutOfRange => "out-of-range",
        C::BadDuration => "bad-duration",
        C::BadScriptName => "bad-script-name",
        C::SuffixNotAllowed => "suffix-not-allowed",
        C::DuplicateScript => "duplicate-script",
        C::TooManyScripts => "too-many-scripts",
        C::UnknownScript => "unknown-script",
        C::Inconsistent => "inconsistent",
        C::NothingEnabled => "nothing-enabled",
    }
}

/// Now, as RFC 3339 with second precision.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}
