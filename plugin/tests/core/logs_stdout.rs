//! k6's stdout read through `Parser::feed`: progress blocks, scenario lines
//! and the end-of-test text summary, on real k6 1.1.0 output
//! (`tests/fixtures/k6-1.1.0`).

use crate::support::fixture;
use k6_core::logs::Parser;
use k6_core::types::{
    Checks, LineEvent, OutputStream, Progress, RunSummary, ScenarioProgress, ScenarioState,
    SummarySource,
};

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_owned).collect()
}

/// Feeds a stdout fixture in one batch; returns the parser and the events.
fn read_stdout(path: &str) -> (Parser, Vec<LineEvent>) {
    let mut parser = Parser::new();
    let lines = lines(&fixture(path));
    let events = parser.feed(OutputStream::Stdout, &lines);
    assert_eq!(events.len(), lines.len(), "one event per line of {path}");
    (parser, events)
}

fn summary_of(path: &str) -> RunSummary {
    read_stdout(path).0.summary().total
}

fn progress(events: &[LineEvent]) -> Vec<&Progress> {
    events
        .iter()
        .filter_map(|event| match event {
            LineEvent::Progress(progress) => Some(progress),
            _ => None,
        })
        .collect()
}

fn scenarios(events: &[LineEvent]) -> Vec<&ScenarioProgress> {
    events
        .iter()
        .filter_map(|event| match event {
            LineEvent::Scenario(scenario) => Some(scenario),
            _ => None,
        })
        .collect()
}

/// The lines of `path` whose event matches `which` (events carry no text:
/// the host has the line).
fn lines_where(
    path: &str,
    events: &[LineEvent],
    which: impl Fn(&LineEvent) -> bool,
) -> Vec<String> {
    lines(&fixture(path))
        .into_iter()
        .zip(events)
        .filter(|(_, event)| which(event))
        .map(|(line, _)| line)
        .collect()
}

/// The lines of `path` read as part of the end-of-test summary.
fn summary_lines(path: &str, events: &[LineEvent]) -> Vec<String> {
    lines_where(path, events, |event| *event == LineEvent::SummaryLine)
}

fn thresholds(summary: &RunSummary) -> Vec<(&str, &str, bool)> {
    summary
        .thresholds
        .iter()
        .map(|t| (t.metric.as_str(), t.expression.as_str(), t.passed))
        .collect()
}

#[test]
fn a_pass_text_summary_reads_every_number() {
    let summary = summary_of("a_pass/run_default.stdout");
    assert_eq!(summary.source, SummarySource::TextSummary);
    assert_eq!(summary.requests, Some(98));
    assert_eq!(summary.request_rate, Some(19.548983));
    let latency = summary.latency.expect("http_req_duration");
    assert_eq!(latency.avg, Some(1.11));
    assert_eq!(latency.min, Some(0.37873));
    assert_eq!(latency.med, Some(0.78573));
    assert_eq!(latency.max, Some(6.31));
    assert_eq!(latency.p90, Some(1.37));
    assert_eq!(latency.p95, Some(2.89));
    assert_eq!(latency.p99, None);
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
    assert_eq!(summary.data_received_bytes, Some(14_000));
    assert_eq!(summary.data_sent_bytes, Some(7_400));
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
fn a_pass_progress_blocks_become_progress_and_scenario_events() {
    let (_, events) = read_stdout("a_pass/run_default.stdout");
    let progress = progress(&events);
    assert_eq!(progress.len(), 6);
    assert_eq!(
        *progress[0],
        Progress {
            running: true,
            elapsed_seconds: 1.0,
            active_vus: 2,
            max_vus: 2,
            complete_iterations: 18,
            interrupted_iterations: 0,
        }
    );
    // The final block comes after the summary, with all VUs gone.
    let last = progress[5];
    assert_eq!(
        (
            last.elapsed_seconds,
            last.active_vus,
            last.complete_iterations
        ),
        (5.0, 0, 98)
    );
    let scenarios = scenarios(&events);
    assert_eq!(scenarios.len(), 6);
    assert_eq!(
        *scenarios[0],
        ScenarioProgress {
            name: "default".to_owned(),
            state: ScenarioState::Running,
            percent: 20.0,
            detail: "2 VUs  1.0s/5s".to_owned(),
        }
    );
    assert_eq!(scenarios[5].state, ScenarioState::Finished);
    assert_eq!(scenarios[5].detail, "2 VUs  5s");
}

#[test]
fn a_pass_summary_lines_span_thresholds_to_network() {
    let path = "a_pass/run_default.stdout";
    let (_, events) = read_stdout(path);
    let summary = summary_lines(path, &events);
    assert_eq!(summary.first().map(String::as_str), Some("  █ THRESHOLDS "));
    assert!(summary.iter().any(|l| l == "    data_sent...............................................................: 7.4 kB 1.5 kB/s"));
    assert!(summary.iter().any(|l| l == "    ✓ status is 200"));
    // The banner and the options header are text, not summary.
    let text = lines_where(path, &events, |event| *event == LineEvent::Text);
    assert!(text.iter().any(|l| l == "     execution: local"));
    assert!(!summary.iter().any(|line| line.contains("scenarios:")));
}

#[test]
fn b_fail_text_summary_shows_crossed_thresholds() {
    let summary = summary_of("b_fail/run_default.stdout");
    assert_eq!(
        thresholds(&summary),
        [
            ("checks{check:status is 200}", "rate>0.9", false),
            ("http_req_duration", "p(95)<100", false),
            ("http_req_failed", "rate<0.01", false),
        ]
    );
    assert_eq!(summary.requests, Some(56));
    assert_eq!(summary.failed_request_rate, Some(0.5));
    assert_eq!(
        summary.checks,
        Some(Checks {
            passes: 28,
            fails: 28
        })
    );
    assert_eq!(summary.latency.and_then(|l| l.p95), Some(201.47));
    assert_eq!(summary.iterations, Some(28));
    assert_eq!(summary.data_received_bytes, Some(8_800));
    assert_eq!(summary.data_sent_bytes, Some(4_200));
}

#[test]
fn abort_on_fail_summary_has_the_one_crossed_threshold() {
    let summary = summary_of("b_fail/run_abort_on_fail.stdout");
    assert_eq!(
        thresholds(&summary),
        [("http_req_failed", "rate<0.01", false)]
    );
    assert_eq!(summary.failed_request_rate, Some(1.0));
    assert_eq!(summary.checks, None);
}

#[test]
fn full_summary_mode_reads_totals_not_group_sections() {
    let (parser, events) = read_stdout("a_pass/run_summary_full.stdout");
    let summary = parser.summary().total;
    assert_eq!(summary.requests, Some(100));
    assert_eq!(summary.request_rate, Some(19.600673));
    assert_eq!(summary.latency.and_then(|l| l.avg), Some(0.99698));
    assert_eq!(
        summary.checks,
        Some(Checks {
            passes: 200,
            fails: 0
        })
    );
    assert!(
        summary_lines("a_pass/run_summary_full.stdout", &events)
            .iter()
            .any(|l| l == "  █ GROUP: fast page ")
    );
}

#[test]
fn legacy_summary_mode_reads_metrics_and_threshold_marks() {
    let (parser, events) = read_stdout("a_pass/run_summary_legacy.stdout");
    let summary = parser.summary().total;
    assert_eq!(summary.requests, Some(100));
    assert_eq!(summary.request_rate, Some(19.627569));
    assert_eq!(
        summary.checks,
        Some(Checks {
            passes: 200,
            fails: 0
        })
    );
    assert_eq!(summary.latency.and_then(|l| l.p95), Some(1.27));
    assert_eq!(summary.iterations, Some(100));
    assert_eq!(summary.max_vus, Some(2));
    assert_eq!(summary.data_sent_bytes, Some(7_500));
    // The legacy layout marks metrics only; their expressions are not printed.
    assert_eq!(
        thresholds(&summary),
        [
            ("checks", "", true),
            ("http_req_duration", "", true),
            ("http_req_failed", "", true),
        ]
    );
    assert_eq!(
        summary_lines("a_pass/run_summary_legacy.stdout", &events)
            .first()
            .map(String::as_str),
        Some("     █ fast page")
    );
}

#[test]
fn quiet_run_has_a_summary_and_no_progress() {
    let (parser, events) = read_stdout("a_pass/run_quiet.stdout");
    assert!(progress(&events).is_empty());
    assert!(scenarios(&events).is_empty());
    assert_eq!(parser.summary().total.requests, Some(98));
}

#[test]
fn e_stages_progress_follows_the_ramp() {
    let (parser, events) = read_stdout("e_stages/run_default.stdout");
    let vus: Vec<u32> = progress(&events).iter().map(|p| p.active_vus).collect();
    assert!(vus.contains(&5), "{vus:?}");
    assert!(progress(&events).iter().all(|p| p.max_vus == 5));
    let summary = parser.summary().total;
    assert_eq!(summary.requests, Some(143));
    assert_eq!(summary.max_vus, Some(5));
    assert_eq!(
        thresholds(&summary),
        [("http_req_duration", "p(99)<1000", true)]
    );
}

#[test]
fn executors_show_every_scenario_line_shape() {
    let (parser, events) = read_stdout("progress_formats/executors.stdout");
    let first_block: Vec<(&str, ScenarioState, f32)> = scenarios(&events)
        .iter()
        .take(7)
        .map(|s| (s.name.as_str(), s.state, s.percent))
        .collect();
    assert_eq!(
        first_block,
        [
            ("carr", ScenarioState::Running, 25.0),
            ("cvus", ScenarioState::Running, 25.0),
            ("pervu", ScenarioState::Running, 40.0),
            ("rarr", ScenarioState::Running, 25.0),
            ("rvus", ScenarioState::Running, 25.0),
            ("shared", ScenarioState::Running, 40.0),
            ("delayed", ScenarioState::Waiting, 0.0),
        ]
    );
    let shared = scenarios(&events)
        .into_iter()
        .find(|s| s.name == "shared" && s.state == ScenarioState::Finished)
        .expect("shared finishes");
    assert_eq!(shared.detail, "2 VUs    2.0s/5s  20/20 shared iters");
    assert_eq!(progress(&events)[0].max_vus, 15);
    assert_eq!(parser.summary().total.requests, Some(182));
}

#[test]
fn two_hour_test_uses_the_hours_clock() {
    let (_, events) = read_stdout("progress_formats/long_duration_2h.stdout");
    let elapsed: Vec<f64> = progress(&events)
        .iter()
        .map(|p| p.elapsed_seconds)
        .collect();
    assert_eq!(elapsed.first(), Some(&1.0));
    assert_eq!(elapsed.last(), Some(&2.5));
    let last = scenarios(&events).pop().expect("a scenario line");
    assert_eq!(last.state, ScenarioState::Interrupted);
    assert_eq!(last.detail, "1 VUs  0h00m02.5s/2h0m0s");
}

#[test]
fn iterations_run_uses_the_minutes_clock() {
    let (_, events) = read_stdout("options_cli/run_cli_iterations.stdout");
    let last = progress(&events).pop().expect("a progress line");
    assert!(last.elapsed_seconds > 0.0 && last.elapsed_seconds < 60.0);
    assert_eq!(last.complete_iterations, 10);
}

#[test]
fn graceful_stop_shows_stopping_scenarios_and_second_latencies() {
    let (parser, events) = read_stdout("progress_formats/graceful_stop_600vus.stdout");
    assert!(
        scenarios(&events)
            .iter()
            .any(|s| s.state == ScenarioState::Stopping)
    );
    let last = progress(&events).pop().expect("a progress line");
    assert_eq!(
        (
            last.active_vus,
            last.max_vus,
            last.complete_iterations,
            last.interrupted_iterations
        ),
        (0, 600, 640, 263)
    );
    let latency = parser.summary().total.latency.expect("latency");
    assert_eq!(latency.avg, Some(1_210.0));
    assert_eq!(latency.med, Some(5.29));
    assert_eq!(latency.max, Some(27_830.0));
    assert_eq!(latency.p95, Some(6_870.0));
}

#[test]
fn paused_before_start_reads_run_lines_and_an_empty_summary() {
    let (parser, events) = read_stdout("signals/sigint_while_paused_before_start.stdout");
    let run = scenarios(&events)[0];
    assert_eq!((run.name.as_str(), run.detail.as_str()), ("Run", "paused"));
    assert!(progress(&events).is_empty());
    let summary = parser.summary().total;
    assert_eq!(summary.requests, None);
    assert_eq!(
        summary.checks,
        Some(Checks {
            passes: 0,
            fails: 0
        })
    );
    assert_eq!(summary.failed_request_rate, Some(0.0));
    assert_eq!(summary.max_vus, Some(2));
    assert!(summary.thresholds.iter().all(|t| t.passed));
    // The final block after the summary is read as scenarios again.
    assert!(matches!(events.last(), Some(LineEvent::Scenario(s)) if s.name == "default"));
}

#[test]
fn setup_exception_summary_has_only_network_numbers() {
    let (parser, events) = read_stdout("c_errors/setup_exception_default.stdout");
    let summary = parser.summary().total;
    assert_eq!(summary.data_received_bytes, Some(0));
    assert_eq!(summary.data_sent_bytes, Some(0));
    assert_eq!((summary.requests, summary.latency), (None, None));
    let run = scenarios(&events)[0];
    assert_eq!((run.name.as_str(), run.detail.as_str()), ("Run", "setup()"));
}

#[test]
fn exception_run_summary_has_no_checks() {
    let summary = summary_of("c_errors/exception_default.stdout");
    assert_eq!(summary.requests, Some(22));
    assert_eq!(summary.request_rate, Some(7.294781));
    assert_eq!(summary.checks, None);
    assert!(summary.thresholds.is_empty());
}

#[test]
fn sigint_summary_counts_interrupted_iterations() {
    let (parser, events) = read_stdout("signals/sigint_once.stdout");
    let last = progress(&events).pop().expect("a progress line");
    assert_eq!(
        (last.complete_iterations, last.interrupted_iterations),
        (84, 3)
    );
    let summary = parser.summary().total;
    assert_eq!(summary.requests, Some(87));
    assert_eq!(summary.iterations, Some(84));
    assert_eq!(
        summary.checks,
        Some(Checks {
            passes: 87,
            fails: 0
        })
    );
}

#[test]
fn throughput_run_reads_megabytes() {
    let summary = summary_of("out_json/i_rps_with_out_json.stdout");
    assert_eq!(summary.requests, Some(24_395));
    assert_eq!(summary.request_rate, Some(4875.6486));
    assert_eq!(summary.data_received_bytes, Some(3_400_000));
    assert_eq!(summary.max_vus, Some(4));
}

#[test]
fn constant_vus_api_run_summary() {
    let summary = summary_of("h_constant_api/k6run.stdout");
    assert_eq!(summary.requests, Some(258));
    assert_eq!(summary.iterations, Some(255));
    assert_eq!(
        summary.checks,
        Some(Checks {
            passes: 258,
            fails: 0
        })
    );
    assert_eq!(
        thresholds(&summary),
        [("http_req_duration", "p(95)<500", true)]
    );
}

#[test]
fn external_executor_run_shows_paused_lines_and_raised_max_vus() {
    let (parser, events) = read_stdout("f_external_api/k6run.stdout");
    let progress = progress(&events);
    let paused: Vec<(f64, u32, u32)> = progress
        .iter()
        .filter(|p| !p.running)
        .map(|p| (p.elapsed_seconds, p.active_vus, p.max_vus))
        .collect();
    assert_eq!(paused, [(5.5, 0, 15), (5.5, 0, 15), (7.5, 0, 20)]);
    assert_eq!(progress.first().map(|p| p.max_vus), Some(10));
    assert!(
        scenarios(&events)
            .iter()
            .any(|s| s.name == "ext" && s.detail.starts_with("00/20 VUs"))
    );
    let stopped = scenarios(&events).pop().expect("a scenario line");
    assert_eq!(stopped.state, ScenarioState::Interrupted);
    assert_eq!(parser.summary().total.max_vus, Some(20));
}

#[test]
fn linger_notice_is_text_and_the_next_line_progress() {
    let path = "j_lifecycle_api/k6run.stdout";
    let (_, events) = read_stdout(path);
    let linger = lines(&fixture(path))
        .iter()
        .position(|line| line.starts_with("The test is done, but --linger"))
        .expect("the linger line");
    assert_eq!(events[linger], LineEvent::Text);
    assert!(matches!(
        events.get(linger + 1),
        Some(LineEvent::Progress(_))
    ));
    assert!(matches!(
        events.get(linger + 2),
        Some(LineEvent::Scenario(_))
    ));
}

#[test]
fn log_lines_on_stdout_are_logs_and_notices() {
    let (_, events) = read_stdout("logging/console_log_output_stdout.stdout");
    let logs = events
        .iter()
        .filter(|event| matches!(event, LineEvent::Log(_)))
        .count();
    let notices = events
        .iter()
        .filter(|event| matches!(event, LineEvent::Notice(_)))
        .count();
    assert_eq!((logs, notices), (8, 2));
}

#[test]
fn runs_without_a_text_summary_report_none() {
    for path in [
        "misc/no_summary_with_export.stdout",
        "g_handle_summary/run_default.stdout",
        "signals/sigkill.stdout",
        "signals/sigint_twice_during_run.stdout",
        "signals/sigint_during_end_of_test_processing.stdout",
        "d_syntax/syntax_default.stdout",
    ] {
        let (parser, events) = read_stdout(path);
        assert_eq!(parser.summary().total.source, SummarySource::None, "{path}");
        assert!(summary_lines(path, &events).is_empty(), "{path}");
    }
}

#[test]
fn version_and_inspect_output_is_text() {
    for path in ["misc/version.stdout", "options_cli/inspect_a_pass.stdout"] {
        let (_, events) = read_stdout(path);
        assert!(
            events.iter().all(|event| *event == LineEvent::Text),
            "{path}"
        );
    }
}

#[test]
fn batches_split_anywhere_give_the_same_events() {
    let all = lines(&fixture("b_fail/run_default.stdout"));
    let expected = Parser::new().feed(OutputStream::Stdout, &all);
    let expected_summary = {
        let mut parser = Parser::new();
        parser.feed(OutputStream::Stdout, &all);
        parser.summary().total
    };
    for batch in 1..=7 {
        let mut parser = Parser::new();
        let events: Vec<LineEvent> = all
            .chunks(batch)
            .flat_map(|chunk| parser.feed(OutputStream::Stdout, chunk))
            .collect();
        assert_eq!(events, expected, "batches of {batch}");
        assert_eq!(
            parser.summary().total,
            expected_summary,
            "batches of {batch}"
        );
    }
}

#[test]
fn stderr_batches_between_stdout_batches_change_nothing() {
    let stdout = lines(&fixture("b_fail/run_default.stdout"));
    let stderr = lines(&fixture("b_fail/run_default.stderr"));
    let expected = Parser::new().feed(OutputStream::Stdout, &stdout);
    let mut parser = Parser::new();
    let mut events = Vec::new();
    for chunk in stdout.chunks(3) {
        events.extend(parser.feed(OutputStream::Stdout, chunk));
        parser.feed(OutputStream::Stderr, &stderr);
    }
    assert_eq!(events, expected);
}
