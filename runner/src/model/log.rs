//! One line of a step's output, or of the runner's own notes about a step.

use serde::{Deserialize, Serialize};

use crate::contract;

/// Where a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum LogStream {
    /// The step's stdout.
    Stdout,
    /// The step's stderr.
    Stderr,
    /// The runner's own note about the step.
    Runner,
}

impl From<contract::OutputStream> for LogStream {
    fn from(stream: contract::OutputStream) -> Self {
        match stream {
            contract::OutputStream::Stdout => Self::Stdout,
            contract::OutputStream::Stderr => Self::Stderr,
        }
    }
}

/// How serious a line is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum LogLevel {
    /// `debug` and `trace`.
    Debug,
    /// `info`, and plain output.
    Info,
    /// `warning`.
    Warning,
    /// `error`, `fatal`, `panic`.
    Error,
}

impl From<contract::LogLevel> for LogLevel {
    fn from(level: contract::LogLevel) -> Self {
        match level {
            contract::LogLevel::Debug => Self::Debug,
            contract::LogLevel::Info => Self::Info,
            contract::LogLevel::Warning => Self::Warning,
            contract::LogLevel::Error => Self::Error,
        }
    }
}

impl LogLevel {
    /// Every level, lowest first.
    pub const ALL: [LogLevel; 4] = [Self::Debug, Self::Info, Self::Warning, Self::Error];

    /// The level's JSON name (`warning`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }

    /// The level named `name` (any case), if there is one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|level| level.name().eq_ignore_ascii_case(name))
    }
}

/// One line of k6 output as the runner keeps it (`GET /api/k6/logs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// The step's position in the run, from 1.
    pub step: u32,
    /// Where the line came from.
    pub stream: LogStream,
    /// How serious it is.
    pub level: LogLevel,
    /// The text (for k6 log lines: the message and its fields).
    pub message: String,
}
