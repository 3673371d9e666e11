//! Every metric k6 reports, custom ones included, read from real k6 1.1.0
//! output (`tests/fixtures/k6-1.1.0/custom_metrics`): the summary export,
//! handleSummary data and the text summary in its three modes give the same
//! metrics with the same types; a wrapper that runs k6 twice keeps both
//! summaries and only exact totals.

use std::collections::BTreeMap;

use crate::support::fixture;
use k6_core::logs::Parser;
use k6_core::types::{Metric, MetricKind, OutputStream, RunSummary, SummarySource, ValueKind};

const CUSTOM: [(&str, MetricKind); 6] = [
    ("my_counter", MetricKind::Counter),
    ("my_gauge", MetricKind::Gauge),
    ("my_rate", MetricKind::Rate),
    ("my_trend", MetricKind::Trend),
    ("my_trend_time", MetricKind::Trend),
    ("my_trend_time{tag:a}", MetricKind::Trend),
];

fn from_stdout(path: &str) -> Parser {
    let mut parser = Parser::new();
    parser.feed_batch(OutputStream::Stdout, &fixture(path));
    parser
}

fn from_export(path: &str) -> RunSummary {
    let mut parser = Parser::new();
    parser
        .feed_summary_export(&fixture(path))
        .expect("an export");
    parser.summary().total
}

fn by_name(summary: &RunSummary) -> BTreeMap<&str, &Metric> {
    summary
        .metrics
        .iter()
        .map(|metric| (metric.name.as_str(), metric))
        .collect()
}

fn value(metric: &Metric, stat: &str) -> f64 {
    metric
        .values
        .iter()
        .find(|(key, _)| key == stat)
        .map(|(_, value)| *value)
        .unwrap_or_else(|| panic!("{} has no {stat}: {:?}", metric.name, metric.values))
}

/// The export holds every metric of the run, each custom one with its
/// type and k6's statistics; a rate's share is `rate` (the export's
/// `value`).
#[test]
fn the_summary_export_gives_every_metric_with_its_type() {
    let summary = from_export("custom_metrics/summary-export_compact.json");
    let metrics = by_name(&summary);
    for (name, kind) in CUSTOM {
        assert_eq!(metrics[name].kind, kind, "{name}");
    }
    assert_eq!(value(metrics["my_counter"], "count"), 180.0);
    assert_eq!(value(metrics["my_rate"], "passes"), 44.0);
    assert_eq!(value(metrics["my_rate"], "fails"), 16.0);
    assert!((value(metrics["my_rate"], "rate") - 44.0 / 60.0).abs() < 1e-9);
    assert_eq!(value(metrics["my_trend"], "min"), 100.0);
    assert_eq!(metrics["my_trend_time{tag:a}"].contains, None);
    assert_eq!(metrics["http_req_duration"].contains, Some(ValueKind::Time));
    // Built-in metrics are there too: the page and history see them all.
    assert_eq!(summary.metrics.len(), 23);
}

/// handleSummary data says what a trend holds: times for the `isTime`
/// trend, plain numbers for the other.
#[test]
fn handle_summary_data_says_what_trends_hold() {
    let mut parser = Parser::new();
    parser
        .feed_handle_summary(&fixture("custom_metrics/handle_summary_data.json"))
        .expect("handleSummary data");
    let summary = parser.summary().total;
    assert_eq!(summary.source, SummarySource::HandleSummary);
    let metrics = by_name(&summary);
    assert_eq!(metrics["my_trend_time"].contains, Some(ValueKind::Time));
    assert_eq!(metrics["my_trend"].contains, Some(ValueKind::Plain));
    for (name, kind) in CUSTOM {
        assert_eq!(metrics[name].kind, kind, "{name}");
    }
}

/// Each text mode (compact, full, legacy) gives the custom metrics of its
/// own run with the same types and, rounded as printed, the same numbers
/// as that run's export.
#[test]
fn the_text_summary_in_every_mode_gives_the_custom_metrics() {
    for mode in ["compact", "full", "legacy"] {
        let parser = from_stdout(&format!("custom_metrics/run_{mode}.stdout"));
        let text = parser.summary().total;
        assert_eq!(text.source, SummarySource::TextSummary, "{mode}");
        let export = from_export(&format!("custom_metrics/summary-export_{mode}.json"));
        let (text_metrics, export_metrics) = (by_name(&text), by_name(&export));
        for (name, kind) in CUSTOM {
            let (printed, exact) = (text_metrics[name], export_metrics[name]);
            assert_eq!(printed.kind, kind, "{mode} {name}");
            for (stat, exact_value) in &exact.values {
                let printed_value = value(printed, stat);
                let tolerance = exact_value.abs() * 0.01 + 0.01;
                assert!(
                    (printed_value - exact_value).abs() <= tolerance,
                    "{mode} {name} {stat}: text {printed_value}, export {exact_value}"
                );
            }
        }
        assert_eq!(
            text_metrics["my_trend_time"].contains,
            Some(ValueKind::Time),
            "{mode}"
        );
        assert_eq!(
            text_metrics["my_trend"].contains,
            Some(ValueKind::Plain),
            "{mode}"
        );
    }
}

/// A wrapper that runs k6 twice: both summaries are kept in order, and
/// the step's totals are the sums of what adds up exactly, with no invented
/// rate or latency.
#[test]
fn a_wrapper_running_k6_twice_keeps_both_summaries() {
    for path in [
        "custom_metrics/two_runs.stdout",
        "custom_metrics/two_runs_legacy.stdout",
    ] {
        let summary = from_stdout(path).summary();
        assert_eq!(summary.runs.len(), 2, "{path}");
        let (first, second) = (&summary.runs[0], &summary.runs[1]);
        assert_eq!(
            (first.requests, second.requests),
            (Some(10), Some(5)),
            "{path}"
        );
        assert!(by_name(second).contains_key("b_counter"), "{path}");
        assert!(!by_name(first).contains_key("b_counter"), "{path}");
        let total = &summary.total;
        assert_eq!(total.requests, Some(15), "{path}");
        assert_eq!(total.iterations, Some(15), "{path}");
        assert_eq!(total.request_rate, None, "{path}");
        assert_eq!(total.latency, None, "{path}");
        assert!(total.metrics.is_empty(), "{path}");
        assert_eq!(
            total.thresholds.len(),
            first.thresholds.len() + second.thresholds.len()
        );
    }
    // One k6 run is one summary: no `runs`.
    assert!(
        from_stdout("custom_metrics/run_compact.stdout")
            .summary()
            .runs
            .is_empty()
    );
}
