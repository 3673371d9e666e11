//! The end-of-test JSON documents: the legacy `--summary-export` file and
//! the data `handleSummary()` receives.
//!
//! Both have a `metrics` object keyed by metric name (submetrics as
//! `http_req_duration{expected_response:true}`), and differ in two ways
//! that a reader can tell apart without knowing which document it has:
//!
//! * values sit on the metric itself in the export, under `values` in
//!   handleSummary data;
//! * a threshold is `"p(95)<500": true` in the export, where **`true` means
//!   crossed**, and `"p(95)<500": {"ok": true}` in handleSummary data, where
//!   **`ok: true` means held**.
//!
//! Rates are `value` in the export and `rate` in handleSummary data. For
//! `http_req_failed`, `passes` counts the *failed* requests, so only the rate
//! is used.

use super::json_doc::{self, number, whole, whole_u32};
use super::metrics::{self, MAX_METRICS};
use super::{MAX_NAME_BYTES, MAX_THRESHOLDS, units};
use crate::types::{Checks, Latency, ParseError, RunSummary, SummarySource, ThresholdResult};
use serde_json::{Map, Value};

/// Reads a summary document of either kind; `source` says which one the
/// caller was given, and labels the result.
pub(crate) fn read(json: &str, source: SummarySource) -> Result<RunSummary, ParseError> {
    let what = match source {
        SummarySource::HandleSummary => "handleSummary data",
        _ => "summary export",
    };
    let root = json_doc::parse_object(json, what)?;
    let metrics = root
        .get("metrics")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            ParseError::UnexpectedShape(format!(
                "{what} has no \"metrics\" object (found {})",
                json_doc::keys_of(&root)
            ))
        })?;
    let values = |name: &str| metrics.get(name).and_then(values_of);
    let counter = |name: &str, key: &str| values(name).and_then(|v| whole(v.get(key)));

    let checks = values("checks").and_then(|checks| {
        Some(Checks {
            passes: whole(checks.get("passes"))?,
            fails: whole(checks.get("fails"))?,
        })
    });
    Ok(RunSummary {
        source,
        requests: counter("http_reqs", "count"),
        request_rate: values("http_reqs").and_then(|v| number(v.get("rate"))),
        latency: values("http_req_duration").and_then(latency),
        failed_request_rate: values("http_req_failed")
            .and_then(|v| number(v.get("rate")).or_else(|| number(v.get("value")))),
        checks,
        iterations: counter("iterations", "count"),
        max_vus: values("vus_max")
            .and_then(|v| whole_u32(v.get("max")).or_else(|| whole_u32(v.get("value")))),
        data_received_bytes: counter("data_received", "count"),
        data_sent_bytes: counter("data_sent", "count"),
        thresholds: thresholds(metrics),
        metrics: metrics
            .iter()
            .filter_map(|(name, metric)| metrics::from_document(name, metric.as_object()?))
            .take(MAX_METRICS)
            .collect(),
    })
}

/// The statistics of a metric: its `values` object if it has one
/// (handleSummary), else the metric itself (summary export).
fn values_of(metric: &Value) -> Option<&Map<String, Value>> {
    let object = metric.as_object()?;
    Some(
        object
            .get("values")
            .and_then(Value::as_object)
            .unwrap_or(object),
    )
}

/// Trend statistics in milliseconds (k6 writes time trends in ms); `None`
/// if the metric has none of them.
pub(crate) fn latency(values: &Map<String, Value>) -> Option<Latency> {
    let stat = |key: &str| number(values.get(key));
    let latency = Latency {
        avg: stat("avg"),
        min: stat("min"),
        med: stat("med"),
        max: stat("max"),
        p90: stat("p(90)"),
        p95: stat("p(95)"),
        p99: stat("p(99)"),
    };
    let any = [
        latency.avg,
        latency.min,
        latency.med,
        latency.max,
        latency.p90,
        latency.p95,
        latency.p99,
    ]
    .iter()
    .any(Option::is_some);
    any.then_some(latency)
}

/// Every threshold of every metric, sorted by metric and expression (the
/// export's key order is random), at most `MAX_THRESHOLDS`.
fn thresholds(metrics: &Map<String, Value>) -> Vec<ThresholdResult> {
    let mut results = Vec::new();
    for (metric, value) in metrics {
        let Some(thresholds) = value.get("thresholds").and_then(Value::as_object) else {
            continue;
        };
        for (expression, verdict) in thresholds {
            let passed = match verdict {
                // Summary export: true means the threshold was crossed.
                Value::Bool(crossed) => !crossed,
                // handleSummary data: ok true means it held.
                Value::Object(outcome) => match outcome.get("ok") {
                    Some(Value::Bool(ok)) => *ok,
                    _ => continue,
                },
                _ => continue,
            };
            results.push(ThresholdResult {
                metric: units::capped(metric, MAX_NAME_BYTES),
                expression: units::capped(expression, MAX_NAME_BYTES),
                passed,
            });
            if results.len() == MAX_THRESHOLDS {
                break;
            }
        }
        if results.len() == MAX_THRESHOLDS {
            break;
        }
    }
    results.sort_by(|a, b| (&a.metric, &a.expression).cmp(&(&b.metric, &b.expression)));
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_values_sit_on_the_metric_and_true_means_crossed() {
        let summary = read(
            r#"{"metrics":{
                "http_reqs":{"count":56,"rate":13.2},
                "http_req_duration":{"avg":100.8,"min":0.37,"med":100.7,"max":202.6,"p(90)":201.3,"p(95)":201.4,"p(99)":202.0,"thresholds":{"p(95)<100":true}},
                "http_req_failed":{"passes":28,"fails":28,"value":0.5,"thresholds":{"rate<0.01":true}},
                "checks":{"passes":28,"fails":28,"value":0.5},
                "checks{check:status is 200}":{"passes":28,"fails":28,"value":0.5,"thresholds":{"rate>0.9":false}},
                "iterations":{"count":28,"rate":6.6},
                "vus_max":{"value":2,"min":2,"max":2},
                "data_received":{"count":8820,"rate":2079.4},
                "data_sent":{"count":4172,"rate":983.6}
            },"root_group":{}}"#,
            SummarySource::SummaryExport,
        )
        .expect("a summary");
        assert_eq!(summary.source, SummarySource::SummaryExport);
        assert_eq!(summary.requests, Some(56));
        assert_eq!(summary.request_rate, Some(13.2));
        assert_eq!(summary.latency.and_then(|l| l.p99), Some(202.0));
        assert_eq!(summary.failed_request_rate, Some(0.5));
        assert_eq!(
            summary.checks,
            Some(Checks {
                passes: 28,
                fails: 28
            })
        );
        assert_eq!(summary.iterations, Some(28));
        assert_eq!(summary.max_vus, Some(2));
        assert_eq!(summary.data_received_bytes, Some(8820));
        assert_eq!(summary.data_sent_bytes, Some(4172));
        let thresholds: Vec<_> = summary
            .thresholds
            .iter()
            .map(|t| (t.metric.as_str(), t.expression.as_str(), t.passed))
            .collect();
        assert_eq!(
            thresholds,
            [
                ("checks{check:status is 200}", "rate>0.9", true),
                ("http_req_duration", "p(95)<100", false),
                ("http_req_failed", "rate<0.01", false),
            ]
        );
    }

    #[test]
    fn handle_summary_values_are_nested_and_ok_means_held() {
        let summary = read(
            r#"{"metrics":{
                "http_reqs":{"type":"counter","values":{"count":60,"rate":19.6}},
                "http_req_failed":{"type":"rate","values":{"rate":0,"passes":0,"fails":60}},
                "http_req_duration":{"type":"trend","values":{"p(95)":1.004},"thresholds":{"p(95)<500":{"ok":true}}},
                "checks":{"type":"rate","values":{"rate":0.9,"passes":54,"fails":6},"thresholds":{"rate>0.99":{"ok":false}}}
            }}"#,
            SummarySource::HandleSummary,
        )
        .expect("a summary");
        assert_eq!(summary.source, SummarySource::HandleSummary);
        assert_eq!(summary.requests, Some(60));
        assert_eq!(summary.failed_request_rate, Some(0.0));
        assert_eq!(
            summary.checks,
            Some(Checks {
                passes: 54,
                fails: 6
            })
        );
        let latency = summary.latency.expect("latency");
        assert_eq!((latency.p95, latency.avg), (Some(1.004), None));
        let verdicts: Vec<_> = summary.thresholds.iter().map(|t| t.passed).collect();
        assert_eq!(verdicts, [false, true]);
    }

    #[test]
    fn missing_metrics_object_says_what_was_there() {
        match read(
            r#"{"root_group":{},"state":{}}"#,
            SummarySource::SummaryExport,
        ) {
            Err(ParseError::UnexpectedShape(message)) => {
                assert!(message.contains("no \"metrics\" object"), "{message}");
                assert!(message.contains("root_group"), "{message}");
            }
            other => panic!("expected an unexpected shape, got {other:?}"),
        }
    }

    #[test]
    fn odd_metric_values_are_skipped_not_fatal() {
        let summary = read(
            r#"{"metrics":{"http_reqs":"many","checks":{"passes":"x"},"vus_max":[1],
                "http_req_duration":{"thresholds":{"p(95)<1":"maybe","p(99)<1":{"ok":"yes"}}}}}"#,
            SummarySource::SummaryExport,
        )
        .expect("a summary");
        assert_eq!(summary.requests, None);
        assert_eq!(summary.checks, None);
        assert_eq!(summary.max_vus, None);
        assert_eq!(summary.latency, None);
        assert!(summary.thresholds.is_empty());
    }

    #[test]
    fn thresholds_are_capped() {
        let many: Vec<String> = (0..MAX_THRESHOLDS + 5)
            .map(|index| format!("\"p(95)<{index}\":false"))
            .collect();
        let json = format!(
            r#"{{"metrics":{{"http_req_duration":{{"thresholds":{{{}}}}}}}}}"#,
            many.join(",")
        );
        let summary = read(&json, SummarySource::SummaryExport).expect("a summary");
        assert_eq!(summary.thresholds.len(), MAX_THRESHOLDS);
    }
}
