//! The reports on a hand-made record with hostile names.

use super::*;
use crate::history::compare::{Budgets, compare};
use crate::model::{MetricsPoint, RunRecord};

fn record(id: &str, p95: f64, threshold_held: bool) -> RunRecord {
    let summary = serde_json::json!({
        "source": "summaryExport", "requests": 10, "requestsPerSecond": 5.0,
        "latencyMs": {"avg": 1.0, "min": null, "med": 1.0, "max": null, "p90": null,
                      "p95": p95, "p99": null},
        "errorRate": 0.0, "checksPassed": 9, "checksFailed": 1, "iterations": 10,
        "maxVus": 1, "dataReceivedBytes": null, "dataSentBytes": null,
        "thresholds": [{"metric": "http_req_duration", "expression": "p(95)<\"5\"",
                        "passed": threshold_held}],
        "metrics": [{"name": "my_trend{tag:<b>}", "type": "trend", "contains": "time",
                     "values": {"avg": 2.5}}]
    });
    let step = serde_json::json!({
        "step": 1, "script": "<script>x</script>.js", "kind": "k6", "state": "failed",
        "startedAt": null, "endedAt": null, "exitCode": 99, "signal": null,
        "reason": "thresholds crossed & more", "pid": null, "logFile": null,
        "summary": summary
    });
    serde_json::from_value(serde_json::json!({
        "id": id, "state": "finished", "outcome": "failed",
        "startedAt": "2026-12-01T00:00:00Z", "endedAt": null, "reason": null,
        "config": {}, "steps": [step]
    }))
    .unwrap()
}

fn series() -> Vec<MetricsPoint> {
    (1..=3)
        .map(|s| MetricsPoint {
            step: 1,
            at_ms: s * 1000,
            request_rate: 5.0,
            latency_p95_ms: Some(s as f64),
            ..MetricsPoint::default()
        })
        .collect()
}

/// The page is whole and self-contained: no script, nothing fetched, and
/// every name from the run escaped.
#[test]
fn the_run_page_is_self_contained_and_escaped() {
    let page = run_page(&record("r1", 4.0, true), &series());
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("<svg"), "charts are inline");
    assert!(page.contains("&lt;script&gt;x&lt;/script&gt;.js"));
    assert!(page.contains("my_trend{tag:&lt;b&gt;}"));
    assert!(!page.contains("<script"), "no script at all");
    for fetch in ["src=", "href=", "url(", "@import"] {
        assert!(!page.contains(fetch), "{fetch}");
    }
}

/// The comparison page shows each figure with its verdict and overlays
/// both runs' series.
#[test]
fn the_comparison_page_shows_verdicts() {
    let (base, run) = (record("a", 4.0, true), record("b", 8.0, false));
    let comparison = compare(&base, &run, &Budgets::default(), None);
    let page = comparison_page(&comparison, &series(), &series());
    assert!(page.contains("verdict: regressed"));
    assert_eq!(page.matches("<polyline").count(), 6, "two lines per chart");
    assert!(!page.contains("<script"));
}

/// Thresholds, checks and the step itself are test cases; crossed ones
/// fail with a message; the XML escapes names.
#[test]
fn junit_counts_thresholds_and_checks() {
    let xml = junit_xml(&record("r1", 4.0, false));
    assert!(xml.starts_with("<?xml"));
    assert!(xml.contains("tests=\"3\" failures=\"3\""), "{xml}");
    assert!(xml.contains("name=\"threshold http_req_duration p(95)&lt;&quot;5&quot;\""));
    assert!(xml.contains("1 of 10 checks failed"));
    assert!(xml.contains("thresholds crossed &amp; more"));
    let held = junit_xml(&record("r2", 4.0, true));
    assert!(held.contains("failures=\"2\""), "{held}");
}
