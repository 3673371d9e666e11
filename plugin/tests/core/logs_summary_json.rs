//! The end-of-test JSON documents (`--summary-export`, handleSummary data)
//! and the choice of summary source, on real k6 1.1.0 output
//! (`tests/fixtures/k6-1.1.0`). Where a run left both a text summary and an
//! export, the two readings are checked against each other.

use crate::support::fixture;
use k6_core::logs::Parser;
use k6_core::types::{Checks, OutputStream, ParseError, RunSummary, SummarySource};

fn export(path: &str) -> RunSummary {
    let mut parser = Parser::new();
    parser
        .feed_summary_export(&fixture(path))
        .unwrap_or_else(|error| panic!("{path}: {error:?}"));
    parser.summary().total
}

fn handle_summary(path: &str) -> RunSummary {
    let mut parser = Parser::new();
    parser
        .feed_handle_summary(&fixture(path))
        .unwrap_or_else(|error| panic!("{path}: {error:?}"));
    parser.summary().total
}

fn text_summary(path: &str) -> RunSummary {
    let mut parser = Parser::new();
    let lines: Vec<String> = fixture(path).lines().map(str::to_owned).collect();
    parser.feed(OutputStream::Stdout, &lines);
    parser.summary().total
}

fn thresholds(summary: &RunSummary) -> Vec<(&str, &str, bool)> {
    summary
        .thresholds
        .iter()
        .map(|t| (t.metric.as_str(), t.expression.as_str(), t.passed))
        .collect()
}

#[test]
fn a_pass_export_reads_every_number_at_full_precision() {
    let summary = export("a_pass/summary-export.json");
    assert_eq!(summary.source, SummarySource::SummaryExport);
    assert_eq!(summary.requests, Some(98));
    assert_eq!(summary.request_rate, Some(19.54898251596434));
    let latency = summary.latency.expect("http_req_duration");
    assert_eq!(latency.avg, Some(1.111528632653061));
    assert_eq!(latency.min, Some(0.37873));
    assert_eq!(latency.p95, Some(2.8996342499999903));
    assert_eq!(latency.p99, None);
    // `http_req_failed` has passes 0 and fails 98: `passes` counts failed
    // requests, so the rate is 0, not 1.
    assert_eq!(summary.failed_request_rate, Some(0.0));
    assert_eq!(
        summary.checks,
        Some(Checks {
            passes: 196,
            fails: 0
        })
    );
    assert_eq!(summary.iterations, Some(98));
    assert_eq!(summary.max_vus, Some(2));
    assert_eq!(summary.data_received_bytes, Some(13_622));
    assert_eq!(summary.data_sent_bytes, Some(7_350));
    assert_eq!(
        thresholds(&summary),
        [
            ("checks", "rate>0.99", true),
            ("http_req_duration", "p(95)<500", true),
            ("http_req_failed", "rate<0.01", true),
        ]
    );
}

#[test]
fn b_fail_export_true_thresholds_are_crossed() {
    let summary = export("b_fail/summary-export.json");
    assert_eq!(
        thresholds(&summary),
        [
            ("checks{check:status is 200}", "rate>0.9", false),
            ("http_req_duration", "p(95)<100", false),
            ("http_req_failed", "rate<0.01", false),
        ]
    );
    assert_eq!(summary.failed_request_rate, Some(0.5));
    assert_eq!(
        summary.checks,
        Some(Checks {
            passes: 28,
            fails: 28
        })
    );
}

#[test]
fn abort_on_fail_export_has_every_request_failed() {
    let summary = export("b_fail/summary-export_abort_on_fail.json");
    assert_eq!(summary.failed_request_rate, Some(1.0));
    assert_eq!(
        thresholds(&summary),
        [("http_req_failed", "rate<0.01", false)]
    );
    assert_eq!(summary.checks, None);
}

#[test]
fn sigint_with_failing_threshold_export_marks_it_crossed() {
    let summary = export("signals/sigint_with_failing_threshold_summary-export.json");
    assert!(summary.thresholds.iter().any(|t| !t.passed));
    assert_eq!(summary.requests, Some(24));
}

#[test]
fn exports_of_runs_that_made_no_requests_leave_them_absent() {
    let setup = export("c_errors/setup_exception_summary-export.json");
    assert_eq!(
        (setup.requests, setup.latency, setup.checks),
        (None, None, None)
    );
    assert_eq!(setup.data_received_bytes, Some(0));
    let paused = export("signals/sigint_while_paused_before_start_summary-export.json");
    assert_eq!(paused.requests, None);
    assert_eq!(
        paused.checks,
        Some(Checks {
            passes: 0,
            fails: 0
        })
    );
    assert_eq!(paused.max_vus, Some(2));
    assert!(paused.thresholds.iter().all(|t| t.passed));
}

#[test]
fn e_stages_and_throughput_exports() {
    let stages = export("e_stages/summary-export.json");
    assert_eq!(stages.requests, Some(143));
    assert_eq!(stages.max_vus, Some(5));
    assert_eq!(
        thresholds(&stages),
        [("http_req_duration", "p(99)<1000", true)]
    );
    let throughput = export("out_json/i_rps_summary-export.json");
    assert_eq!(throughput.requests, Some(24_395));
    assert_eq!(throughput.request_rate, Some(4_875.648600068398));
}

#[test]
fn handle_summary_data_ok_true_is_passed() {
    for path in [
        "g_handle_summary/handle_summary_data.json",
        "g_handle_summary/handle_summary_data_full_mode.json",
        "g_handle_summary/handle_summary_data_legacy_mode.json",
    ] {
        let summary = handle_summary(path);
        assert_eq!(summary.source, SummarySource::HandleSummary, "{path}");
        assert_eq!(summary.requests, Some(60), "{path}");
        assert_eq!(
            summary.checks,
            Some(Checks {
                passes: 60,
                fails: 0
            }),
            "{path}"
        );
        assert_eq!(summary.failed_request_rate, Some(0.0), "{path}");
        assert_eq!(
            thresholds(&summary),
            [
                ("checks", "rate>0.99", true),
                ("http_req_duration", "p(95)<500", true),
            ],
            "{path}"
        );
    }
}

#[test]
fn handle_summary_data_and_export_of_one_run_agree() {
    let handle = handle_summary("g_handle_summary/handle_summary_data.json");
    let exported = export("g_handle_summary/summary-export.json");
    assert_eq!(
        RunSummary {
            source: SummarySource::SummaryExport,
            ..handle
        },
        exported
    );
}

/// Asserts `actual` is within `relative` of `expected` (or both absent).
fn assert_near(what: &str, actual: Option<f64>, expected: Option<f64>, relative: f64) {
    match (actual, expected) {
        (Some(actual), Some(expected)) => assert!(
            (actual - expected).abs() <= relative * expected.abs() + 0.006,
            "{what}: text {actual} vs export {expected}"
        ),
        (actual, expected) => assert_eq!(actual, expected, "{what}"),
    }
}

#[test]
fn text_summary_agrees_with_the_export_of_the_same_run() {
    let runs = [
        ("a_pass/run_default.stdout", "a_pass/summary-export.json"),
        ("b_fail/run_default.stdout", "b_fail/summary-export.json"),
        (
            "b_fail/run_abort_on_fail.stdout",
            "b_fail/summary-export_abort_on_fail.json",
        ),
        (
            "c_errors/exception_default.stdout",
            "c_errors/exception_summary-export.json",
        ),
        (
            "c_errors/test_abort_default.stdout",
            "c_errors/test_abort_summary-export.json",
        ),
        (
            "c_errors/teardown_timeout.stdout",
            "c_errors/teardown_timeout_summary-export.json",
        ),
        (
            "e_stages/run_default.stdout",
            "e_stages/summary-export.json",
        ),
        (
            "f_external/run_logjson_sigint.stdout",
            "f_external/summary-export.json",
        ),
        (
            "f_external_api/k6run.stdout",
            "f_external_api/summary-export.json",
        ),
        (
            "h_constant_api/k6run.stdout",
            "h_constant_api/summary-export.json",
        ),
        (
            "j_lifecycle_api/k6run.stdout",
            "j_lifecycle_api/summary-export.json",
        ),
        (
            "signals/sigint_once.stdout",
            "signals/sigint_once_summary-export.json",
        ),
        (
            "signals/sigterm_once.stdout",
            "signals/sigterm_once_summary-export.json",
        ),
        (
            "signals/sigint_slow_iter.stdout",
            "signals/sigint_slow_iter_summary-export.json",
        ),
        (
            "signals/sigint_with_failing_threshold.stdout",
            "signals/sigint_with_failing_threshold_summary-export.json",
        ),
        (
            "signals/sigint_while_paused_before_start.stdout",
            "signals/sigint_while_paused_before_start_summary-export.json",
        ),
        (
            "out_json/i_rps_with_out_json.stdout",
            "out_json/i_rps_summary-export.json",
        ),
        (
            "out_csv/a_pass_csv.stdout",
            "out_csv/a_pass_summary-export.json",
        ),
        (
            "options_cli/run_cli_stage_5s10_10s10.stdout",
            "options_cli/run_cli_stage_5s10_10s10_summary-export.json",
        ),
    ];
    for (stdout, exported) in runs {
        let text = text_summary(stdout);
        let json = export(exported);
        assert_eq!(text.source, SummarySource::TextSummary, "{stdout}");
        assert_eq!(text.requests, json.requests, "{stdout}");
        assert_eq!(text.iterations, json.iterations, "{stdout}");
        assert_eq!(text.checks, json.checks, "{stdout}");
        assert_eq!(text.max_vus, json.max_vus, "{stdout}");
        assert_eq!(thresholds(&text), thresholds(&json), "{stdout}");
        // The text rounds: rates to 6 decimals (and k6 takes the duration a
        // moment apart), durations to 2 decimals of their unit, sizes to 2
        // significant digits.
        assert_near(stdout, text.request_rate, json.request_rate, 0.001);
        assert_near(
            stdout,
            text.failed_request_rate,
            json.failed_request_rate,
            0.0,
        );
        let (text_latency, json_latency) = (text.latency, json.latency);
        assert_eq!(text_latency.is_some(), json_latency.is_some(), "{stdout}");
        if let (Some(t), Some(j)) = (text_latency, json_latency) {
            for (stat, t, j) in [
                ("avg", t.avg, j.avg),
                ("min", t.min, j.min),
                ("med", t.med, j.med),
                ("max", t.max, j.max),
                ("p90", t.p90, j.p90),
                ("p95", t.p95, j.p95),
            ] {
                assert_near(&format!("{stdout} {stat}"), t, j, 0.01);
            }
        }
        for (what, t, j) in [
            (
                "received",
                text.data_received_bytes,
                json.data_received_bytes,
            ),
            ("sent", text.data_sent_bytes, json.data_sent_bytes),
        ] {
            assert_near(
                &format!("{stdout} {what}"),
                t.map(|b| b as f64),
                j.map(|b| b as f64),
                0.051,
            );
        }
    }
}

#[test]
fn summary_prefers_export_then_handle_summary_then_text() {
    let mut parser = Parser::new();
    assert_eq!(parser.summary().total.source, SummarySource::None);
    let lines: Vec<String> = fixture("a_pass/run_default.stdout")
        .lines()
        .map(str::to_owned)
        .collect();
    parser.feed(OutputStream::Stdout, &lines);
    assert_eq!(parser.summary().total.source, SummarySource::TextSummary);
    assert_eq!(parser.summary().total.request_rate, Some(19.548983));
    parser
        .feed_handle_summary(&fixture("g_handle_summary/handle_summary_data.json"))
        .expect("handleSummary data");
    assert_eq!(parser.summary().total.source, SummarySource::HandleSummary);
    assert_eq!(parser.summary().total.requests, Some(60));
    parser
        .feed_summary_export(&fixture("a_pass/summary-export.json"))
        .expect("an export");
    assert_eq!(parser.summary().total.source, SummarySource::SummaryExport);
    assert_eq!(parser.summary().total.request_rate, Some(19.54898251596434));
    // A later handleSummary does not displace the export.
    parser
        .feed_handle_summary(&fixture("g_handle_summary/handle_summary_data.json"))
        .expect("handleSummary data");
    assert_eq!(parser.summary().total.source, SummarySource::SummaryExport);
}

#[test]
fn non_summary_documents_are_refused_with_a_reason() {
    let mut parser = Parser::new();
    match parser.feed_summary_export("") {
        Err(ParseError::InvalidJson(message)) => {
            assert!(
                message.starts_with("summary export is not valid JSON"),
                "{message}"
            )
        }
        other => panic!("expected invalid JSON, got {other:?}"),
    }
    match parser.feed_summary_export(&fixture("options_cli/inspect_a_pass.stdout")) {
        Err(ParseError::UnexpectedShape(message)) => {
            assert!(message.contains("no \"metrics\" object"), "{message}")
        }
        other => panic!("expected an unexpected shape, got {other:?}"),
    }
    match parser.feed_handle_summary(r#"{"metrics":[]}"#) {
        Err(ParseError::UnexpectedShape(message)) => {
            assert!(
                message.starts_with("handleSummary data has no"),
                "{message}"
            )
        }
        other => panic!("expected an unexpected shape, got {other:?}"),
    }
    assert_eq!(parser.summary().total.source, SummarySource::None);
}

/// Thresholds on a metric and on one of its sub-metrics: the text summary
/// prints the sub-metric under its parent with only its tags, and the
/// parser names it in full, as the export of the same run does.
#[test]
fn sub_metric_thresholds_are_named_in_full_as_in_the_export() {
    for mode in ["compact", "full"] {
        let text = text_summary(&format!("submetric_thresholds/run_{mode}.stdout"));
        let export = export(&format!("submetric_thresholds/summary-export_{mode}.json"));
        let mut from_text = thresholds(&text);
        let mut from_export = thresholds(&export);
        from_text.sort();
        from_export.sort();
        assert_eq!(from_text, from_export, "{mode}");
        assert!(
            from_text.contains(&("checks{check:is 200}", "rate>0.99", false)),
            "{mode}: {from_text:?}"
        );
        assert!(
            from_text.contains(&("http_req_duration{name:slow}", "max<100", false)),
            "{mode}: {from_text:?}"
        );
    }
}

/// The legacy layout marks each metric (sub-metrics included) without its
/// expressions: a metric is marked passed only if all of its held. A check
/// whose name contains `..:` is not taken for a metric.
#[test]
fn legacy_sub_metric_marks_agree_with_the_export() {
    let text = text_summary("submetric_thresholds/run_legacy.stdout");
    let export = export("submetric_thresholds/summary-export_legacy.json");
    let mut from_text: Vec<(&str, bool)> = text
        .thresholds
        .iter()
        .map(|t| (t.metric.as_str(), t.passed))
        .collect();
    let mut from_export: Vec<(&str, bool)> = Vec::new();
    for t in &export.thresholds {
        match from_export
            .iter_mut()
            .find(|(metric, _)| *metric == t.metric)
        {
            Some((_, passed)) => *passed &= t.passed,
            None => from_export.push((&t.metric, t.passed)),
        }
    }
    from_text.sort();
    from_export.sort();
    assert_eq!(from_text, from_export);
    assert!(text.thresholds.iter().all(|t| t.expression.is_empty()));
}
