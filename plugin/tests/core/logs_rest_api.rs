//! k6's REST API bodies: `Parser::feed_metrics` on `/v1/metrics`, on real
//! k6 1.1.0 captures (`tests/fixtures/k6-1.1.0/*_api`).

use crate::support::fixture;
use k6_core::logs::Parser;
use k6_core::types::{ParseError, SummarySource};

/// The body of a captured exchange: after the blank line that ends the
/// response headers, up to the `### curl exit` trailer.
fn http_body(path: &str) -> String {
    let capture = fixture(path);
    let (_, after_headers) = capture
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("{path}: no end of headers"));
    let body = after_headers
        .split_once("\n### curl exit")
        .map_or(after_headers, |(body, _)| body);
    body.trim().to_owned()
}

#[test]
fn metrics_listing_reads_the_live_numbers() {
    let mut parser = Parser::new();
    let live = parser
        .feed_metrics(&http_body("f_external_api/02_get_metrics.http.txt"), 1_735)
        .expect("a reading");
    assert_eq!(live.at_ms, 1_735);
    assert_eq!(live.vus, 2);
    assert_eq!(live.requests, 16);
    // The first reading has nothing to compare with: k6's own rate.
    assert_eq!(live.request_rate, 10.006008858469732);
    assert_eq!(live.latency_p95_ms, Some(2.93074075));
    assert_eq!(live.latency_avg_ms, Some(1.066724625));
    assert_eq!(live.failed_request_rate, Some(0.0));
    assert_eq!(live.iterations, 14);
    assert_eq!(live.checks_rate, None);
}

#[test]
fn second_reading_rate_is_requests_over_time_since_the_first() {
    let mut parser = Parser::new();
    parser
        .feed_metrics(&http_body("f_external_api/02_get_metrics.http.txt"), 1_735)
        .expect("a reading");
    let later = parser
        .feed_metrics(
            &http_body("f_external_api/03_get_metric_http_reqs.http.txt"),
            1_863,
        )
        .expect("a reading");
    assert_eq!(later.requests, 18);
    assert_eq!(later.request_rate, 2.0 / 0.128);
}

#[test]
fn single_metric_bodies_read() {
    let mut parser = Parser::new();
    let checks = parser
        .feed_metrics(
            &http_body("h_constant_api/11_get_metric_checks.http.txt"),
            8_393,
        )
        .expect("a reading");
    assert_eq!(checks.checks_rate, Some(1.0));
    let duration = parser
        .feed_metrics(
            &http_body("h_constant_api/12_get_metric_http_req_duration.http.txt"),
            8_544,
        )
        .expect("a reading");
    assert_eq!(duration.latency_p95_ms, Some(1.50541075));
    let lingering = parser
        .feed_metrics(
            &http_body("j_lifecycle_api/04_get_metrics_lingering.http.txt"),
            12_003,
        )
        .expect("a reading");
    assert_eq!(lingering.requests, 30);
    assert_eq!(lingering.request_rate, 4.263907375088924);
}

#[test]
fn the_last_reading_is_the_summary_of_last_resort() {
    let mut parser = Parser::new();
    parser
        .feed_metrics(&http_body("f_external_api/02_get_metrics.http.txt"), 1_735)
        .expect("a reading");
    let summary = parser.summary().total;
    assert_eq!(summary.source, SummarySource::LiveMetrics);
    assert_eq!(summary.requests, Some(16));
    assert_eq!(summary.request_rate, Some(10.006008858469732));
    assert_eq!(summary.latency.and_then(|l| l.med), Some(0.613205));
    assert_eq!(summary.iterations, Some(14));
    assert_eq!(summary.max_vus, Some(10));
    assert_eq!(summary.data_received_bytes, Some(1_946));
    assert_eq!(summary.data_sent_bytes, Some(1_050));
    assert_eq!(summary.checks, None);
    parser
        .feed_summary_export(&fixture("f_external_api/summary-export.json"))
        .expect("an export");
    assert_eq!(parser.summary().total.source, SummarySource::SummaryExport);
    assert_eq!(parser.summary().total.requests, Some(268));
}

#[test]
fn unknown_metric_answer_is_an_unexpected_shape_and_changes_nothing() {
    let mut parser = Parser::new();
    match parser.feed_metrics(
        &http_body("f_external_api/05b_get_metric_unknown.http.txt"),
        2_241,
    ) {
        Err(ParseError::UnexpectedShape(message)) => assert!(
            message.contains("No metric with that ID was found"),
            "{message}"
        ),
        other => panic!("expected an unexpected shape, got {other:?}"),
    }
    assert_eq!(parser.summary().total.source, SummarySource::None);
}

#[test]
fn a_status_body_or_curl_error_is_not_metrics() {
    let mut parser = Parser::new();
    match parser.feed_metrics(&http_body("f_external_api/01_get_status.http.txt"), 0) {
        Err(ParseError::UnexpectedShape(message)) => {
            assert!(message.contains("holds no metric"), "{message}")
        }
        other => panic!("expected an unexpected shape, got {other:?}"),
    }
    assert!(matches!(
        parser.feed_metrics("curl: (7) Failed to connect to 127.0.0.1 port 6565", 0),
        Err(ParseError::InvalidJson(_))
    ));
    assert_eq!(parser.summary().total.source, SummarySource::None);
}
