//! The runner's JSON documents: what the REST API and WebSocket send and
//! what a run record on disk holds (camelCase, as the product brief names
//! the fields). Every closed set is an enum; types from the core's contract
//! are converted here, once, by `From`.
//!
//! - [`status`]: the live status and metrics readings.
//! - [`record`]: run and step records.
//! - [`summary`]: a step's results, every metric included.
//! - [`log`]: log lines.
//! - [`vocabulary`]: the enums shared with the contract (kinds, load modes,
//!   error codes) and field errors.
//! - [`catalogue`]: the scripts the runner offers.
//! - [`config`]: the schema of the config document, which the core writes.

pub mod catalogue;
pub mod config;
pub mod log;
pub mod record;
pub mod status;
pub mod summary;
pub mod vocabulary;

pub use catalogue::{ScriptInfo, TestInfo};
pub use config::ConfigDocument;
pub use log::{LogLevel, LogLine, LogStream};
pub use record::{
    FileRecord, Regression, RegressionEntry, RunOutcome, RunRecord, RunRecordState, SnapshotRecord,
    StartedBy, StepRecord, StepSettings, StepState,
};
pub use status::{MetricsPoint, Progress, ProgressPhase, RunState, Status, StepStatus};
pub use summary::{Latency, MetricRecord, Summary, SummarySource, Threshold};
pub use vocabulary::{ErrorCode, FieldErrorBody, LoadMode, MetricKind, ScriptKind, ValueKind};

/// Now, as RFC 3339 with second precision.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}
