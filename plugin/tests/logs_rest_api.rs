//! k6's REST API bodies: `parse_status` on `/v1/status` (GET and PATCH
//! answers, errors) and `Parser::feed_metrics` on `/v1/metrics`, on real
//! k6 1.1.0 captures (`tests/fixtures/k6-1.1.0/*_api`).

use k6_core::logs::{Parser, parse_status};
use k6_core::types::{ApiStatus, ParseError, RunStatus, SummarySource};
use std::path::Path;

fn fixture(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/k6-1.1.0")
        .join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|error| panic!("{}: {error}", full.display()))
}

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
fn running_status_reads_every_attribute() {
    assert_eq!(
        parse_status(&http_body("f_external_api/01_get_status.http.txt")),
        Ok(ApiStatus {
            status: RunStatus::Running,
            paused: false,
            vus: 2,
            vus_max: 10,
            stopped: false,
            running: true,
            tainted: false,
        })
    );
}

#[test]
fn lifecycle_statuses_map_to_their_run_status() {
    let paused = parse_status(&http_body(
        "j_lifecycle_api/01_get_status_paused_before_start.http.txt",
    ))
    .expect("a status");
    assert_eq!(paused.status, RunStatus::PausedBeforeRun);
    assert!(paused.paused && !paused.running);
    let lingering = parse_status(&http_body(
        "j_lifecycle_api/03_get_status_lingering.http.txt",
    ))
    .expect("a status");
    assert_eq!(lingering.status, RunStatus::Ended);
    assert!(!lingering.running);
    let paused_running =
        parse_status(&http_body("f_external_api/12_get_status_paused.http.txt")).expect("a status");
    assert_eq!(
        (
            paused_running.status,
            paused_running.paused,
            paused_running.vus
        ),
        (RunStatus::Running, true, 0)
    );
}

#[test]
fn patch_answers_are_the_new_status() {
    let scaled =
        parse_status(&http_body("f_external_api/06_patch_vus_5.http.txt")).expect("a status");
    assert_eq!((scaled.vus, scaled.vus_max), (5, 10));
    let stopped = parse_status(&http_body("f_external_api/24_patch_stopped_true.http.txt"))
        .expect("a status");
    assert!(stopped.stopped);
}

#[test]
fn status_poll_shows_the_whole_lifecycle() {
    let mut seen = Vec::new();
    let mut last = None;
    for line in fixture("j_lifecycle_api/status_poll.txt").lines() {
        let (_, json) = line
            .split_once(' ')
            .unwrap_or_else(|| panic!("no body in {line:?}"));
        let status = parse_status(json).unwrap_or_else(|error| panic!("{line}: {error:?}"));
        if seen.last() != Some(&status.status) {
            seen.push(status.status);
        }
        last = Some(status);
    }
    assert_eq!(
        seen,
        [
            RunStatus::PausedBeforeRun,
            RunStatus::Setup,
            RunStatus::Running,
            RunStatus::Teardown,
            RunStatus::Ended
        ]
    );
    assert!(last.is_some_and(|status| status.stopped));
}

#[test]
fn error_answers_are_unexpected_shapes_with_k6s_words() {
    for (path, detail) in [
        (
            "f_external_api/08_patch_vus_20_over_max.http.txt",
            "400 Config update error: invalid configuration supplied",
        ),
        (
            "f_external_api/05c_patch_malformed_body.http.txt",
            "400 Invalid data: unexpected end of JSON input",
        ),
        (
            "h_constant_api/03_patch_vus_5.http.txt",
            "500 Execution config error: an externally-controlled executor",
        ),
    ] {
        match parse_status(&http_body(path)) {
            Err(ParseError::UnexpectedShape(message)) => {
                assert!(message.contains(detail), "{path}: {message}")
            }
            other => panic!("{path}: expected an unexpected shape, got {other:?}"),
        }
    }
}

#[test]
fn a_refused_connection_is_invalid_json() {
    // After the process exits, curl prints its own error instead of a body.
    let capture = fixture("f_external_api/25_get_status_after_stop.http.txt");
    let body = capture.lines().nth(1).expect("curl's error line");
    assert!(matches!(
        parse_status(body),
        Err(ParseError::InvalidJson(_))
    ));
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
    let summary = parser.summary();
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
    assert_eq!(parser.summary().source, SummarySource::SummaryExport);
    assert_eq!(parser.summary().requests, Some(268));
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
    assert_eq!(parser.summary().source, SummarySource::None);
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
    assert_eq!(parser.summary().source, SummarySource::None);
}
