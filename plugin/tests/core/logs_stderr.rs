//! k6's stderr read through `Parser::feed`: log records in the text and JSON
//! formats, and the notices among them, on real k6 1.1.0 output
//! (`tests/fixtures/k6-1.1.0`).

use crate::support::fixture;
use k6_core::logs::Parser;
use k6_core::types::{LineEvent, LogLevel, LogRecord, NoticeKind, OutputStream};

fn read_stderr(path: &str) -> Vec<LineEvent> {
    let lines: Vec<String> = fixture(path).lines().map(str::to_owned).collect();
    let events = Parser::new().feed(OutputStream::Stderr, &lines);
    assert_eq!(events.len(), lines.len(), "one event per line of {path}");
    events
}

fn notices(events: &[LineEvent]) -> Vec<(NoticeKind, &LogRecord)> {
    events
        .iter()
        .filter_map(|event| match event {
            LineEvent::Notice((kind, record)) => Some((*kind, record)),
            _ => None,
        })
        .collect()
}

/// The one notice a fixture holds, with its record.
fn only_notice(path: &str) -> (NoticeKind, LogRecord) {
    let events = read_stderr(path);
    match notices(&events).as_slice() {
        [(kind, record)] => (*kind, (*record).clone()),
        other => panic!("{path}: expected one notice, got {other:?}"),
    }
}

fn field<'a>(record: &'a LogRecord, key: &str) -> Option<&'a str> {
    record
        .fields
        .iter()
        .find(|(name, _)| name == key)
        .map(|(_, value)| value.as_str())
}

#[test]
fn crossed_thresholds_are_a_notice_in_both_formats() {
    for path in ["b_fail/run_default.stderr", "b_fail/run_logjson.stderr"] {
        let (kind, record) = only_notice(path);
        assert_eq!(kind, NoticeKind::ThresholdsCrossed, "{path}");
        assert_eq!(record.level, LogLevel::Error);
        assert_eq!(
            record.message,
            "thresholds on metrics 'checks{check:status is 200}, http_req_duration, http_req_failed' have been crossed"
        );
        assert!(record.fields.is_empty(), "{path}: {:?}", record.fields);
    }
    let (_, record) = only_notice("b_fail/run_default.stderr");
    assert_eq!(record.time.as_deref(), Some("2026-11-23T23:27:49Z"));
}

#[test]
fn abort_on_fail_is_thresholds_crossed() {
    for path in [
        "b_fail/run_abort_on_fail.stderr",
        "b_fail/run_abort_on_fail_logjson.stderr",
    ] {
        let (kind, record) = only_notice(path);
        assert_eq!(kind, NoticeKind::ThresholdsCrossed, "{path}");
        assert!(
            record.message.ends_with("stopping test prematurely"),
            "{path}"
        );
    }
}

#[test]
fn one_signal_is_interrupted_by_signal() {
    for (path, signal) in [
        ("signals/sigint_once.stderr", "'interrupt'"),
        ("signals/sigterm_once.stderr", "'terminated'"),
        ("signals/sigint_during_setup.stderr", "'interrupt'"),
        (
            "signals/sigint_while_paused_before_start.stderr",
            "'interrupt'",
        ),
        (
            "signals/sigint_with_failing_threshold.stderr",
            "'interrupt'",
        ),
        ("f_external/run_logjson_sigint.stderr", "'interrupt'"),
    ] {
        let (kind, record) = only_notice(path);
        assert_eq!(kind, NoticeKind::InterruptedBySignal, "{path}");
        assert_eq!(
            record.message,
            format!("test run was aborted because k6 received a {signal} signal"),
            "{path}"
        );
    }
}

#[test]
fn a_second_signal_is_interrupted_by_signal_with_its_sig_field() {
    for (path, sig) in [
        ("signals/sigint_twice_during_teardown.stderr", "interrupt"),
        ("signals/sigterm_twice_during_teardown.stderr", "terminated"),
        // JSON logs write the signal number.
        ("signals/sigint_twice_during_teardown_logjson.stderr", "2"),
    ] {
        let events = read_stderr(path);
        let found = notices(&events);
        let (kind, record) = found.last().expect("a notice");
        assert_eq!(*kind, NoticeKind::InterruptedBySignal, "{path}");
        assert_eq!(
            record.message, "Aborting k6 in response to signal",
            "{path}"
        );
        assert_eq!(field(record, "sig"), Some(sig), "{path}");
    }
}

#[test]
fn a_rest_api_stop_is_stopped_by_api() {
    for path in ["f_external_api/k6run.stderr", "h_constant_api/k6run.stderr"] {
        let (kind, record) = only_notice(path);
        assert_eq!(kind, NoticeKind::StoppedByApi, "{path}");
        assert_eq!(record.message, "test run stopped from REST API");
    }
}

#[test]
fn iteration_exceptions_are_script_errors_with_unescaped_traces() {
    for path in [
        "c_errors/exception_default.stderr",
        "c_errors/exception_logjson.stderr",
    ] {
        let events = read_stderr(path);
        let found = notices(&events);
        assert_eq!(found.len(), 10, "{path}");
        assert!(
            found
                .iter()
                .all(|(kind, _)| *kind == NoticeKind::ScriptError),
            "{path}"
        );
        let (_, first) = found[0];
        assert_eq!(
            first.message,
            "Error: boom from iteration 1\n\tat default (file://<FIXTURE_DIR>/scripts/c_exception.js:11:11(20))\n"
        );
        let fields: Vec<(&str, &str)> = first
            .fields
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("executor", "constant-vus"),
                ("scenario", "default"),
                ("source", "stacktrace")
            ],
            "{path}"
        );
    }
}

#[test]
fn init_setup_and_syntax_exceptions_are_script_errors() {
    for (path, start) in [
        (
            "c_errors/init_exception_default.stderr",
            "Error: boom in init context\n\tat file://",
        ),
        (
            "c_errors/init_exception_logjson.stderr",
            "Error: boom in init context\n\tat file://",
        ),
        (
            "c_errors/setup_exception_default.stderr",
            "Error: boom in setup\n\tat setup (",
        ),
        (
            "c_errors/setup_exception_logjson.stderr",
            "Error: boom in setup\n\tat setup (",
        ),
        (
            "d_syntax/syntax_default.stderr",
            "GoError: file://<FIXTURE_DIR>/scripts/d_syntax.js: Line 5:13",
        ),
        (
            "d_syntax/syntax_logjson.stderr",
            "GoError: file://<FIXTURE_DIR>/scripts/d_syntax.js: Line 5:13",
        ),
    ] {
        let (kind, record) = only_notice(path);
        assert_eq!(kind, NoticeKind::ScriptError, "{path}");
        assert!(
            record.message.starts_with(start),
            "{path}: {:?}",
            record.message
        );
        assert_eq!(field(&record, "hint"), Some("script exception"), "{path}");
    }
}

#[test]
fn test_abort_is_test_aborted() {
    for path in [
        "c_errors/test_abort_default.stderr",
        "c_errors/test_abort_logjson.stderr",
    ] {
        let (kind, record) = only_notice(path);
        assert_eq!(kind, NoticeKind::TestAborted, "{path}");
        assert!(
            record
                .message
                .starts_with("test aborted: aborting on purpose at default")
        );
    }
}

#[test]
fn test_fail_is_marked_failed_twice() {
    for path in [
        "c_errors/test_fail_default.stderr",
        "c_errors/test_fail_logjson.stderr",
    ] {
        let events = read_stderr(path);
        let found: Vec<(NoticeKind, &str)> = notices(&events)
            .into_iter()
            .map(|(kind, record)| (kind, record.message.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    NoticeKind::MarkedFailed,
                    "test marked as failed: marking test as failed on purpose"
                ),
                (NoticeKind::MarkedFailed, "test run was marked as failed"),
            ],
            "{path}"
        );
    }
}

#[test]
fn refused_options_and_scripts_are_setup_failures() {
    for path in [
        "options_cli/run_invalid_option_combo.stderr",
        "options_cli/run_bad_flag.stderr",
        "options_cli/run_bad_duration.stderr",
        "options_cli/run_unknown_flag.stderr",
        "options_cli/run_cli_stages_plural_flag.stderr",
        "options_cli/run_cli_stage_and_duration.stderr",
        "options_cli/run_cli_stage_no_target.stderr",
        "options_cli/run_cli_stage_bad_duration.stderr",
        "options_cli/run_cli_stage_bad_target.stderr",
        "options_cli/run_missing_file.stderr",
        "options_cli/run_missing_file_logjson.stderr",
        "d_syntax/no_default_export.stderr",
        "c_errors/setup_timeout.stderr",
        "c_errors/teardown_timeout.stderr",
        "api_port/second_same_address.stderr",
        "out_csv/timefmt_invalid.stderr",
    ] {
        let (kind, record) = only_notice(path);
        assert_eq!(
            kind,
            NoticeKind::SetupFailed,
            "{path}: {:?}",
            record.message
        );
        assert_eq!(record.level, LogLevel::Error, "{path}");
    }
    let (_, record) = only_notice("c_errors/setup_timeout.stderr");
    assert_eq!(
        field(&record, "hint"),
        Some("You can increase the time limit via the setupTimeout option")
    );
}

#[test]
fn api_server_warning_with_default_address_is_a_plain_log() {
    let events = read_stderr("api_port/second_default_address.stderr");
    match events.as_slice() {
        [LineEvent::Log(record)] => {
            assert_eq!(record.level, LogLevel::Warning);
            assert_eq!(record.message, "Error from API server");
            assert_eq!(
                field(record, "error"),
                Some("listen tcp 127.0.0.1:6565: bind: address already in use")
            );
        }
        other => panic!("expected one log, got {other:?}"),
    }
}

#[test]
fn console_output_is_logs_and_failed_requests_are_notices() {
    for path in [
        "logging/console_default.stderr",
        "logging/console_logjson.stderr",
        "logging/console_bad_log_format.stderr",
    ] {
        let events = read_stderr(path);
        let levels: Vec<LogLevel> = events
            .iter()
            .take(5)
            .map(|event| match event {
                LineEvent::Log(record) | LineEvent::Notice((_, record)) => record.level,
                other => panic!("{path}: expected a log, got {other:?}"),
            })
            .collect();
        assert_eq!(
            levels,
            [
                LogLevel::Info,
                LogLevel::Info,
                LogLevel::Warning,
                LogLevel::Error,
                LogLevel::Warning
            ],
            "{path}"
        );
        match &events[0] {
            LineEvent::Log(record) => {
                assert_eq!(record.message, "console.log message {\"iter\":0}");
                assert_eq!(field(record, "source"), Some("console"));
            }
            other => panic!("{path}: expected a log, got {other:?}"),
        }
        match &events[4] {
            LineEvent::Notice((NoticeKind::RequestFailed, record)) => assert_eq!(
                field(record, "error"),
                Some(
                    "Get \"http://127.0.0.1:1/closed-port\": dial tcp 127.0.0.1:1: connect: connection refused"
                )
            ),
            other => panic!("{path}: expected Request Failed, got {other:?}"),
        }
        // console.error at error level stays a log, whatever it says.
        assert!(matches!(&events[3], LineEvent::Log(record) if record.level == LogLevel::Error));
    }
}

#[test]
fn verbose_json_starts_with_one_text_line() {
    let events = read_stderr("logging/console_verbose_logjson.stderr");
    match &events[0] {
        LineEvent::Log(record) => {
            assert_eq!(record.level, LogLevel::Debug);
            assert_eq!(record.message, "Binary Provisioning feature is disabled.");
        }
        other => panic!("expected the text log, got {other:?}"),
    }
    assert!(
        events
            .iter()
            .all(|event| matches!(event, LineEvent::Log(_) | LineEvent::Notice(_)))
    );
    let module = events
        .iter()
        .find_map(|event| match event {
            LineEvent::Log(record) if record.message == "Loading..." => Some(record),
            _ => None,
        })
        .expect("the Loading... line");
    // A JSON object value is kept as its JSON text.
    let specifier = field(module, "moduleSpecifier").expect("moduleSpecifier");
    assert!(specifier.starts_with("{\"") && specifier.contains("\"Scheme\":\"file\""));
    assert_eq!(
        field(module, "originalModuleSpecifier"),
        Some("scripts/n_console.js")
    );
}

#[test]
fn verbose_text_logs_are_debug_logs() {
    let events = read_stderr("logging/console_verbose.stderr");
    assert!(
        events.iter().any(
            |event| matches!(event, LineEvent::Log(record) if record.level == LogLevel::Debug)
        )
    );
    assert!(events.iter().all(|event| *event != LineEvent::Text));
}

#[test]
fn raw_log_format_is_text() {
    let events = read_stderr("logging/console_lograw.stderr");
    assert_eq!(events.len(), 10);
    assert!(events.iter().all(|event| *event == LineEvent::Text));
    assert_eq!(events[4], LineEvent::Text);
}

#[test]
fn ordinary_warnings_are_logs() {
    for (path, message) in [
        (
            "options_cli/run_cli_vus_duration_vs_scenarios.stderr",
            "\"cli\" level configuration overrode scenarios configuration entirely",
        ),
        (
            "web_dashboard/run_5s_default_period.stderr",
            "The test run was short, report generation was skipped (not enough data)",
        ),
    ] {
        let events = read_stderr(path);
        assert!(
            events.iter().any(|event| matches!(
                event,
                LineEvent::Log(record) if record.level == LogLevel::Warning && record.message == message
            )),
            "{path}: {events:?}"
        );
    }
}

#[test]
fn teardown_console_log_during_a_signal_stays_a_log() {
    let events = read_stderr("signals/sigint_slow_iter.stderr");
    assert!(
        events.iter().any(
            |event| matches!(event, LineEvent::Log(record) if record.message == "teardown ran")
        )
    );
    assert_eq!(notices(&events).len(), 1);
}
