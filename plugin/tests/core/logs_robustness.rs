//! The parser never panics and stays bounded, whatever it is fed: every file
//! of the k6 1.1.0 fixture tree on both streams, property tests with
//! arbitrary text, k6-like fragments, damaged real lines and JSON-shaped
//! documents at every entry point, and a few pathological inputs.

use crate::support::{fixture, fixture_root};
use k6_core::logs::Parser;
use k6_core::types::{LineEvent, OutputStream, RunSummary};
use proptest::prelude::*;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

const MAX_THRESHOLDS: usize = 1_000;
const MAX_NAME_BYTES: usize = 512;

fn all_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display()));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
            .path();
        if path.is_dir() {
            all_files(&path, found);
        } else {
            found.push(path);
        }
    }
}

/// What every summary must satisfy, whatever was fed.
fn assert_sane(summary: &RunSummary) {
    assert!(summary.thresholds.len() <= MAX_THRESHOLDS);
    for threshold in &summary.thresholds {
        assert!(threshold.metric.len() <= MAX_NAME_BYTES);
        assert!(threshold.expression.len() <= MAX_NAME_BYTES);
    }
    for rate in [summary.request_rate, summary.failed_request_rate]
        .into_iter()
        .flatten()
    {
        assert!(rate.is_finite(), "{summary:?}");
    }
}

/// Feeds `lines` to a fresh parser on `stream`, one call per line, and
/// checks it against one call with all lines.
fn feed_line_by_line(stream: OutputStream, lines: &[String], what: &str) -> Parser {
    let mut parser = Parser::new();
    let mut events = Vec::with_capacity(lines.len());
    for line in lines {
        let one = parser.feed(stream, std::slice::from_ref(line));
        assert_eq!(one.len(), 1, "{what}: one event for {line:?}");
        events.extend(one);
    }
    let mut batch_parser = Parser::new();
    assert_eq!(batch_parser.feed(stream, lines), events, "{what}");
    assert_eq!(
        batch_parser.summary().total,
        parser.summary().total,
        "{what}"
    );
    assert_sane(&parser.summary().total);
    parser
}

#[test]
fn every_fixture_file_reads_line_by_line_on_both_streams() {
    let mut files = Vec::new();
    all_files(&fixture_root(), &mut files);
    files.sort();
    assert!(files.len() > 600, "the whole fixture tree: {}", files.len());
    let mut lines_read = 0usize;
    for path in &files {
        let bytes =
            std::fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        // Binary files (a .csv.gz, a TTY capture) are read as lossy text;
        // splitting on `\n` only keeps any `\r` in the lines.
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
        let what = path.display().to_string();
        for stream in [OutputStream::Stdout, OutputStream::Stderr] {
            feed_line_by_line(stream, &lines, &what);
        }
        lines_read += lines.len();
        // Every JSON entry point takes any file without panicking.
        let mut parser = Parser::new();
        let _ = parser.feed_summary_export(&text);
        let _ = parser.feed_handle_summary(&text);
        let _ = parser.feed_metrics(&text, 0);
        assert_sane(&parser.summary().total);
    }
    assert!(lines_read > 10_000, "{lines_read} lines");
}

#[test]
fn stdout_and_stderr_fixtures_read_the_same_interleaved() {
    // A run's two streams fed alternately in small batches, as the host
    // would, give the same events as each stream alone.
    for run in [
        "b_fail/run_default",
        "c_errors/exception_default",
        "signals/sigint_twice_during_teardown",
        "logging/console_verbose_logjson",
    ] {
        let stdout: Vec<String> = fixture(&format!("{run}.stdout"))
            .lines()
            .map(str::to_owned)
            .collect();
        let stderr: Vec<String> = fixture(&format!("{run}.stderr"))
            .lines()
            .map(str::to_owned)
            .collect();
        let alone_out = Parser::new().feed(OutputStream::Stdout, &stdout);
        let alone_err = Parser::new().feed(OutputStream::Stderr, &stderr);
        let mut parser = Parser::new();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut stderr_chunks = stderr.chunks(2);
        for chunk in stdout.chunks(3) {
            out.extend(parser.feed(OutputStream::Stdout, chunk));
            if let Some(errors) = stderr_chunks.next() {
                err.extend(parser.feed(OutputStream::Stderr, errors));
            }
        }
        for errors in stderr_chunks {
            err.extend(parser.feed(OutputStream::Stderr, errors));
        }
        assert_eq!(out, alone_out, "{run} stdout");
        assert_eq!(err, alone_err, "{run} stderr");
    }
}

#[test]
fn pathological_lines_are_text_or_logs_without_panicking() {
    let deep_json = format!("{{\"level\":\"info\",\"msg\":{}}}", "[".repeat(100_000));
    let lines = vec![
        "µ".repeat(1 << 18),
        "\\".repeat(1 << 18),
        format!("time=\"{}", "\\\"".repeat(1 << 16)),
        format!(
            "level=info msg=\"{}\"",
            "\\U0010FFFF\\xff\\377\\u12".repeat(1 << 12)
        ),
        deep_json,
        format!("{}{}", " ".repeat(1 << 16), "█"),
        format!("    {}..: {}", "✓".repeat(1 << 12), "9".repeat(1 << 12)),
        format!(
            "running ({}s), 1/1 VUs, 1 complete and 0 interrupted iterations",
            "9".repeat(400)
        ),
        "\u{0}\u{7f}\u{feff}\r".to_owned(),
    ];
    for stream in [OutputStream::Stdout, OutputStream::Stderr] {
        let events = Parser::new().feed(stream, &lines);
        assert_eq!(events.len(), lines.len());
    }
    let mut parser = Parser::new();
    assert!(parser.feed_summary_export(&"[".repeat(100_000)).is_err());
    assert!(
        parser
            .feed_metrics(&"{\"data\":".repeat(50_000), 1)
            .is_err()
    );
}

#[test]
fn a_flood_of_thresholds_stays_capped() {
    let mut parser = Parser::new();
    parser.feed(
        OutputStream::Stdout,
        &["".to_owned(), "  █ THRESHOLDS ".to_owned()],
    );
    let long_metric = format!("    {}", "m".repeat(10 * MAX_NAME_BYTES));
    let long_threshold = format!("    ✗ '{}' p(95)=1ms", "µ".repeat(10 * MAX_NAME_BYTES));
    for _ in 0..50 {
        let batch: Vec<String> = std::iter::once(long_metric.clone())
            .chain(std::iter::repeat_n(long_threshold.clone(), 100))
            .collect();
        parser.feed(OutputStream::Stdout, &batch);
    }
    let summary = parser.summary().total;
    assert_eq!(summary.thresholds.len(), MAX_THRESHOLDS);
    assert_sane(&summary);
}

/// Pieces of k6 output, so random lines come close to the real shapes.
const FRAGMENTS: &[&str] = &[
    "running (",
    "paused (",
    "01.0s",
    "0h00m01.0s",
    "00m00.5s",
    "), ",
    "2/2",
    "000/600",
    " VUs, ",
    "18",
    " complete and ",
    " interrupted iterations",
    "default",
    "Run",
    "Init",
    " ",
    "   ",
    "[ ",
    "100",
    "% ]",
    "✓",
    "✗",
    "↓",
    "•",
    "  █ THRESHOLDS ",
    "  █ TOTAL RESULTS ",
    "█ GROUP: g",
    "    ",
    "http_reqs",
    "http_req_duration",
    "http_req_failed",
    "checks",
    "checks_succeeded",
    "checks_failed",
    "vus_max",
    "data_received",
    ".......",
    "..:",
    ": ",
    "avg=",
    "p(95)=",
    "max=",
    "1.11ms",
    "378.73µs",
    "1m2.5s",
    "14 kB",
    " MB",
    "50.00%",
    "NaN%",
    " out of ",
    "19.5/s",
    "'",
    "'p(95)<500'",
    "time=\"",
    "level=",
    "error",
    "warning",
    " msg=\"",
    "\"",
    "\\",
    "\\x",
    "\\u00",
    "\\U0001F600",
    "\\n",
    "=",
    "{",
    "}",
    "\"level\":\"error\"",
    ",\"msg\":",
    " source=console",
    " source=stacktrace",
    " hint=\"script exception\"",
    "thresholds on metrics ",
    "test aborted: ",
    "Request Failed",
    "Error from API server",
    "\r",
    "\t",
    "é",
    "‾",
];

fn k6_like_line() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..16).prop_map(|parts| parts.concat())
}

/// Real lines of several runs, to be damaged by the property tests.
fn corpus() -> Vec<String> {
    [
        "a_pass/run_default.stdout",
        "a_pass/run_summary_legacy.stdout",
        "a_pass/run_summary_full.stdout",
        "b_fail/run_default.stdout",
        "progress_formats/executors.stdout",
        "c_errors/exception_default.stderr",
        "logging/console_verbose_logjson.stderr",
        "signals/sigint_twice_during_teardown.stderr",
    ]
    .iter()
    .flat_map(|path| fixture(path).lines().map(str::to_owned).collect::<Vec<_>>())
    .collect()
}

/// A real line cut at a byte offset (moved back to a char boundary) with a
/// random string spliced in there.
fn damaged_line(corpus: Vec<String>) -> impl Strategy<Value = String> {
    (
        prop::sample::select(corpus),
        any::<usize>(),
        any::<bool>(),
        ".{0,8}",
    )
        .prop_map(|(line, cut, keep_tail, insert)| {
            let mut at = if line.is_empty() {
                0
            } else {
                cut % (line.len() + 1)
            };
            while !line.is_char_boundary(at) {
                at -= 1;
            }
            let (head, tail) = line.split_at(at);
            if keep_tail {
                format!("{head}{insert}{tail}")
            } else {
                format!("{head}{insert}")
            }
        })
}

fn stream() -> impl Strategy<Value = OutputStream> {
    prop_oneof![Just(OutputStream::Stdout), Just(OutputStream::Stderr)]
}

/// Keys k6 documents use, so random JSON reaches the readers' inner paths.
const KEYS: &[&str] = &[
    "metrics",
    "values",
    "thresholds",
    "ok",
    "data",
    "attributes",
    "sample",
    "errors",
    "id",
    "type",
    "status",
    "paused",
    "vus",
    "vus-max",
    "stopped",
    "running",
    "tainted",
    "http_reqs",
    "http_req_duration",
    "http_req_failed",
    "checks",
    "iterations",
    "vus_max",
    "data_received",
    "data_sent",
    "count",
    "rate",
    "value",
    "passes",
    "fails",
    "avg",
    "min",
    "med",
    "max",
    "p(90)",
    "p(95)",
    "p(99)",
    "p(95)<500",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(KEYS).prop_map(str::to_owned),
        1 => ".{0,6}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |number| {
            serde_json::Number::from_f64(number).map(Value::Number)
        }),
        key().prop_map(Value::String),
        "[0-9.]{0,6}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Documents shaped like the real ones (`metrics`, `data`, `attributes`)
/// with random contents below.
fn k6_document() -> impl Strategy<Value = String> {
    let object = || prop::collection::vec((key(), json_value()), 0..8);
    prop_oneof![
        json_value().prop_map(|value| value.to_string()),
        object().prop_map(|metrics| {
            let metrics: Map<_, _> = metrics.into_iter().collect();
            serde_json::json!({ "metrics": metrics }).to_string()
        }),
        prop::collection::vec((key(), object()), 0..6).prop_map(|items| {
            let data: Vec<Value> = items
                .into_iter()
                .map(|(id, sample)| {
                    let sample: Map<_, _> = sample.into_iter().collect();
                    serde_json::json!({ "id": id, "attributes": { "sample": sample } })
                })
                .collect();
            serde_json::json!({ "data": data }).to_string()
        }),
        object().prop_map(|attributes| {
            let attributes: Map<_, _> = attributes.into_iter().collect();
            serde_json::json!({ "data": { "attributes": attributes } }).to_string()
        }),
    ]
}

/// Feeds one document to every JSON entry point.
fn feed_everywhere(parser: &mut Parser, document: &str, at_ms: u64) {
    let _ = parser.feed_summary_export(document);
    let _ = parser.feed_handle_summary(document);
    if let Ok(live) = parser.feed_metrics(document, at_ms) {
        assert!(live.request_rate.is_finite() && live.request_rate >= 0.0);
        assert_eq!(live.at_ms, at_ms);
    }
    assert_sane(&parser.summary().total);
}

proptest! {
    #[test]
    fn arbitrary_lines_give_one_event_each(
        source in stream(),
        lines in prop::collection::vec(any::<String>(), 0..24),
    ) {
        let events = Parser::new().feed(source, &lines);
        prop_assert_eq!(events.len(), lines.len());
    }

    #[test]
    fn k6_like_lines_give_one_event_each_in_any_batches(
        source in stream(),
        lines in prop::collection::vec(k6_like_line(), 0..40),
        batch in 1usize..8,
    ) {
        let mut parser = Parser::new();
        let events: Vec<LineEvent> = lines
            .chunks(batch)
            .flat_map(|chunk| parser.feed(source, chunk))
            .collect();
        prop_assert_eq!(&events, &Parser::new().feed(source, &lines));
        prop_assert_eq!(events.len(), lines.len());
        assert_sane(&parser.summary().total);
    }

    #[test]
    fn damaged_real_lines_give_one_event_each(
        source in stream(),
        lines in prop::collection::vec(damaged_line(corpus()), 0..40),
    ) {
        let mut parser = Parser::new();
        let events = parser.feed(source, &lines);
        prop_assert_eq!(events.len(), lines.len());
        assert_sane(&parser.summary().total);
    }

    #[test]
    fn arbitrary_text_at_json_entry_points_never_panics(
        text in any::<String>(),
        at_ms in any::<u64>(),
    ) {
        feed_everywhere(&mut Parser::new(), &text, at_ms);
    }

    #[test]
    fn k6_shaped_documents_never_panic(
        documents in prop::collection::vec((k6_document(), any::<u64>()), 1..6),
    ) {
        let mut parser = Parser::new();
        for (document, at_ms) in &documents {
            feed_everywhere(&mut parser, document, *at_ms);
        }
    }

    #[test]
    fn metric_readings_in_any_order_keep_a_finite_rate(
        readings in prop::collection::vec((any::<u64>(), any::<u64>(), any::<f64>()), 1..12),
    ) {
        let mut parser = Parser::new();
        for (at_ms, count, rate) in readings {
            let rate = serde_json::Number::from_f64(rate).map_or(Value::Null, Value::Number);
            let body = serde_json::json!({"data": [{"id": "http_reqs", "attributes":
                {"sample": {"count": count, "rate": rate}}}]});
            let live = parser.feed_metrics(&body.to_string(), at_ms);
            prop_assert!(live.is_ok(), "{:?}", live);
            if let Ok(live) = live {
                prop_assert!(live.request_rate.is_finite(), "{:?}", live);
                prop_assert_eq!(live.requests, count);
            }
        }
    }
}
