//! The parser of k6's output.
use crate::types::{ApiStatus, LineEvent, LiveMetrics, OutputStream, ParseError, ScriptSummary};

/// Reads one script's output (see the `parser` resource in `logs.wit`).
#[derive(Debug, Default)]
pub struct Parser {}

impl Parser {
    /// A parser with nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// One event per line, in order.
    pub fn feed(&mut self, source: OutputStream, lines: &[String]) -> Vec<LineEvent> {
        let _ = (source, lines);
        todo!()
    }

    /// Reads a `--summary-export` JSON document.
    pub fn feed_summary_export(&mut self, json: &str) -> Result<(), ParseError> {
        let _ = json;
        todo!()
    }

    /// Reads `handleSummary()` data JSON.
    pub fn feed_handle_summary(&mut self, json: &str) -> Result<(), ParseError> {
        let _ = json;
        todo!()
    }

    /// Reads a `/v1/metrics` body taken `at_ms` after the step started.
    pub fn feed_metrics(&mut self, json: &str, at_ms: u64) -> Result<LiveMetrics, ParseError> {
        let _ = (json, at_ms);
        todo!()
    }

    /// The summary from the best source seen so far.
    pub fn summary(&self) -> ScriptSummary {
        todo!()
    }
}

/// Reads a `/v1/status` body.
pub fn parse_status(json: &str) -> Result<ApiStatus, ParseError> {
    let _ = json;
    todo!()
}
