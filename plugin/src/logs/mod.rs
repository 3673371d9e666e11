//! The parser of k6's output (the `logs` interface of `wit/v0.2.0/logs.wit`).
//!
//! Written against real k6 1.1.0 output (`tests/fixtures/k6-1.1.0`). It never
//! panics and never fails on odd lines: a line it does not recognise is
//! `text`. It keeps only what the summary needs, never the lines themselves.
//!
//! # Layout
//!
//! - [`Parser`]: one script's reader; routes each line by stream and keeps
//!   the best summary seen (every one, when a wrapper ran k6 several times).
//! - `stdout`: the stdout state machine (progress blocks, the summary, other
//!   text), built on
//!   - `progress`: `running (…)` / `paused (…)` lines and scenario lines;
//!   - `text_summary`: the end-of-test text summary (k6 1.x sections and
//!     `--summary-mode=legacy`) and the numbers read from it.
//! - `stderr`: log lines in either format, built on
//!   - `logfmt`: the default logrus text format;
//!   - `json_log`: `--log-format json`;
//!   - `level`: logrus level names;
//!   - `notice`: which log messages tell how the run goes.
//! - `summary_json`: `--summary-export` files and `handleSummary()` data.
//! - `metrics`: every metric of a summary, in either form.
//! - `totals`: the figures of several k6 runs that add up exactly.
//! - `rest_api`: `/v1/metrics` bodies, and the request rate between
//!   readings.
//! - `json_doc`: JSON parsing with operator-readable errors, lenient numbers.
//! - `units`: `1.11ms`, `378.73µs`, `0h00m01.0s`, `14 kB`, `50.00%`, `19.5/s`.
//! - `search`: substring search for per-line hot paths, fast on wasm32 too.

mod json_doc;
mod json_log;
mod level;
mod logfmt;
mod metrics;
mod notice;
mod progress;
mod rest_api;
mod search;
mod stderr;
mod stdout;
mod summary_json;
mod text_summary;
mod totals;
mod units;

use crate::types::{
    LineEvent, LiveMetrics, NumberedEvent, OutputStream, ParseError, RunSummary, ScriptSummary,
    SummarySource,
};

/// Most thresholds kept from one summary. No real script has this many; the
/// cap bounds memory whatever a stdout or a JSON document holds.
const MAX_THRESHOLDS: usize = 1_000;
/// Longest metric name or threshold expression kept, in bytes.
const MAX_NAME_BYTES: usize = 512;

/// Reads one script's output (see the `parser` resource in `logs.wit`).
///
/// Stdout and stderr are separate streams with separate state; lines of one
/// stream must be fed in order, and batches may split a progress block or
/// the summary anywhere.
#[derive(Debug, Default)]
pub struct Parser {
    stdout: stdout::StdoutReader,
    /// The last `--summary-export` document read.
    summary_export: Option<RunSummary>,
    /// The last `handleSummary()` data read.
    handle_summary: Option<RunSummary>,
    live: rest_api::LiveTracker,
}

impl Parser {
    /// A parser with nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a batch of complete lines (without their line ending) from one
    /// stream and returns one event per line, in order.
    pub fn feed(&mut self, source: OutputStream, lines: &[String]) -> Vec<LineEvent> {
        lines
            .iter()
            .map(|line| self.read_line(source, line))
            .collect()
    }

    /// Reads a batch as the component receives it: lines each ended by
    /// `\n` (the last may omit it; a `\r` before it is dropped). `""` is no
    /// line, `"\n"` one empty line. Returns the events of the lines that are
    /// not [`LineEvent::Text`], in order, with their positions.
    pub fn feed_batch(&mut self, source: OutputStream, batch: &str) -> Vec<NumberedEvent> {
        search::lines(batch)
            .zip(0..)
            .filter_map(|(line, index)| {
                match self.read_line(source, line.strip_suffix('\r').unwrap_or(line)) {
                    LineEvent::Text => None,
                    event => Some(NumberedEvent { line: index, event }),
                }
            })
            .collect()
    }

    fn read_line(&mut self, source: OutputStream, line: &str) -> LineEvent {
        match source {
            OutputStream::Stdout => self.stdout.read(line),
            OutputStream::Stderr => stderr::read(line),
        }
    }

    /// Reads a `--summary-export` JSON document; it becomes the summary's
    /// source. On error the parser keeps what it had.
    pub fn feed_summary_export(&mut self, json: &str) -> Result<(), ParseError> {
        self.summary_export = Some(summary_json::read(json, SummarySource::SummaryExport)?);
        Ok(())
    }

    /// Reads `handleSummary()` data JSON; it is the summary's source unless a
    /// summary export was read. On error the parser keeps what it had.
    pub fn feed_handle_summary(&mut self, json: &str) -> Result<(), ParseError> {
        self.handle_summary = Some(summary_json::read(json, SummarySource::HandleSummary)?);
        Ok(())
    }

    /// Reads a `/v1/metrics` body taken `at_ms` milliseconds after the step
    /// started. The request rate is measured since the previous reading
    /// (k6's whole-test average on the first one). The reading is kept as
    /// the summary of last resort.
    pub fn feed_metrics(&mut self, json: &str, at_ms: u64) -> Result<LiveMetrics, ParseError> {
        self.live.read(json, at_ms)
    }

    /// The summary from the best source seen so far: summary export, then
    /// handleSummary data, then the text summaries (every one, in order,
    /// with their exact totals when there are several), then the last live
    /// reading; with none of them, source `none` and no numbers.
    pub fn summary(&self) -> ScriptSummary {
        let document = self
            .summary_export
            .clone()
            .or_else(|| self.handle_summary.clone());
        if let Some(total) = document {
            return ScriptSummary {
                total,
                runs: Vec::new(),
            };
        }
        let mut texts = self.stdout.summaries();
        match texts.len() {
            0 => ScriptSummary {
                total: self.live.summary().unwrap_or_else(empty_summary),
                runs: Vec::new(),
            },
            1 => ScriptSummary {
                total: texts.remove(0),
                runs: Vec::new(),
            },
            _ => ScriptSummary {
                total: totals::combine(&texts),
                runs: texts,
            },
        }
    }
}

/// The summary when nothing was seen.
pub(crate) fn empty_summary() -> RunSummary {
    RunSummary {
        source: SummarySource::None,
        requests: None,
        request_rate: None,
        latency: None,
        failed_request_rate: None,
        checks: None,
        iterations: None,
        max_vus: None,
        data_received_bytes: None,
        data_sent_bytes: None,
        thresholds: Vec::new(),
        metrics: Vec::new(),
    }
}

/// The message of a k6 log line in either format (`time=… level=error
/// msg="…"` or `--log-format json`), if the line is one.
pub(crate) fn log_message(line: &str) -> Option<String> {
    match stderr::log_event(line)? {
        LineEvent::Log(record) | LineEvent::Notice((_, record)) => Some(record.message),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_parser_has_no_summary() {
        let summary = Parser::new().summary();
        assert_eq!(summary.total, empty_summary());
        assert!(summary.runs.is_empty());
    }

    /// The component's batch form: lines ended by `\n`, the last one may
    /// omit it, a `\r` before it is dropped; `""` is no line; plain text
    /// lines have no entry, the others their position.
    #[test]
    fn batches_split_into_the_lines_they_hold() {
        let mut parser = Parser::new();
        assert!(parser.feed_batch(OutputStream::Stderr, "").is_empty());
        assert!(parser.feed_batch(OutputStream::Stderr, "\n").is_empty());
        let events = parser.feed_batch(
            OutputStream::Stderr,
            "plain\ntime=\"2026-11-23T23:19:27Z\" level=info msg=\"hi\"\r\nplain",
        );
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].line, 1);
        assert!(matches!(&events[0].event, LineEvent::Log(record) if record.message == "hi"));
    }

    /// A batch gives the same events as the same lines one by one.
    #[test]
    fn a_batch_reads_like_its_lines() {
        let stdout = include_str!("../../tests/fixtures/k6-1.1.0/b_fail/run_default.stdout");
        let lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
        let (mut one, mut other) = (Parser::new(), Parser::new());
        let dense = one.feed(OutputStream::Stdout, &lines);
        let sparse = other.feed_batch(OutputStream::Stdout, stdout);
        assert!(sparse.len() < dense.len(), "some lines are plain text");
        assert_eq!(expand(&sparse, lines.len()), dense);
        assert_eq!(one.summary(), other.summary());
    }

    /// The batch form's events as one event per line.
    fn expand(sparse: &[NumberedEvent], lines: usize) -> Vec<LineEvent> {
        let mut dense = vec![LineEvent::Text; lines];
        for numbered in sparse {
            dense[numbered.line as usize] = numbered.event.clone();
        }
        dense
    }

    #[test]
    fn summary_sources_rank_export_handle_text_live() {
        let mut parser = Parser::new();
        parser
            .feed_metrics(r#"{"data":[]}"#, 1_000)
            .expect("a reading");
        assert_eq!(parser.summary().total.source, SummarySource::LiveMetrics);
        parser.feed(
            OutputStream::Stdout,
            &["".to_owned(), "  █ TOTAL RESULTS ".to_owned()],
        );
        assert_eq!(parser.summary().total.source, SummarySource::TextSummary);
        parser
            .feed_handle_summary(r#"{"metrics":{}}"#)
            .expect("handleSummary data");
        assert_eq!(parser.summary().total.source, SummarySource::HandleSummary);
        parser
            .feed_summary_export(r#"{"metrics":{}}"#)
            .expect("a summary export");
        assert_eq!(parser.summary().total.source, SummarySource::SummaryExport);
    }

    #[test]
    fn a_bad_document_keeps_the_previous_summary() {
        let mut parser = Parser::new();
        parser
            .feed_summary_export(r#"{"metrics":{"http_reqs":{"count":3}}}"#)
            .expect("a summary export");
        assert!(parser.feed_summary_export("{").is_err());
        assert_eq!(parser.summary().total.requests, Some(3));
    }

    #[test]
    fn streams_keep_separate_state() {
        let mut parser = Parser::new();
        let progress = "running (01.0s), 2/2 VUs, 18 complete and 0 interrupted iterations";
        let scenario = "default   [  20% ] 2 VUs  1.0s/5s";
        let first = parser.feed(OutputStream::Stdout, &[progress.to_owned()]);
        // A stderr line between does not end the stdout progress block.
        parser.feed(OutputStream::Stderr, &["some text".to_owned()]);
        let second = parser.feed(OutputStream::Stdout, &[scenario.to_owned()]);
        assert!(matches!(first.as_slice(), [LineEvent::Progress(_)]));
        assert!(matches!(second.as_slice(), [LineEvent::Scenario(_)]));
        // Progress lines are not recognised on stderr.
        let on_stderr = parser.feed(OutputStream::Stderr, &[progress.to_owned()]);
        assert_eq!(on_stderr, [LineEvent::Text]);
    }
}
