//! Which k6 log messages say something about the run (`notice-kind`).
//!
//! The messages are k6's own wording (k6 1.1.0, see the fixtures'
//! `*.stderr`). A message is matched by its start, so the variable tail
//! (metric names, paths, signal names) does not matter. Lines from the
//! script's `console.*` (`source=console`) are never notices: a script may
//! print anything, including k6's phrases.

use crate::types::{LogLevel, LogRecord, NoticeKind};

/// Message starts that tell how the run ended or failed, in the order they
/// are tried.
const BY_START: [(&str, NoticeKind); 24] = [
    // `… have been crossed` at the end; `… were crossed; at least one has
    // abortOnFail enabled, stopping test prematurely` with abortOnFail.
    ("thresholds on metrics ", NoticeKind::ThresholdsCrossed),
    // k6 before 0.50 said this instead.
    ("some thresholds have failed", NoticeKind::ThresholdsCrossed),
    ("test run stopped from REST API", NoticeKind::StoppedByApi),
    (
        "test run was aborted because k6 received a ",
        NoticeKind::InterruptedBySignal,
    ),
    // A second SIGINT/SIGTERM while the first is handled (`sig=interrupt`).
    (
        "Aborting k6 in response to signal",
        NoticeKind::InterruptedBySignal,
    ),
    ("test aborted: ", NoticeKind::TestAborted),
    ("test run was marked as failed", NoticeKind::MarkedFailed),
    ("test marked as failed", NoticeKind::MarkedFailed),
    // Exit 104: invalid options.
    (
        "There were problems with the specified script configuration",
        NoticeKind::SetupFailed,
    ),
    (
        "using `duration` and `stages` options simultaneously",
        NoticeKind::SetupFailed,
    ),
    // Exit 255: bad command line, bad script path, bad output.
    ("invalid argument ", NoticeKind::SetupFailed),
    ("unknown flag: ", NoticeKind::SetupFailed),
    ("unknown shorthand flag: ", NoticeKind::SetupFailed),
    ("flag needs an argument: ", NoticeKind::SetupFailed),
    ("error for stage ", NoticeKind::SetupFailed),
    ("The moduleSpecifier ", NoticeKind::SetupFailed),
    ("could not initialize ", NoticeKind::SetupFailed),
    ("could not create the ", NoticeKind::SetupFailed),
    // Exit 104: a threshold that cannot be parsed or names no metric.
    ("failed parsing threshold ", NoticeKind::SetupFailed),
    ("invalid threshold defined on ", NoticeKind::SetupFailed),
    // Exit 100 / 101.
    ("setup() execution timed out", NoticeKind::SetupFailed),
    ("teardown() execution timed out", NoticeKind::SetupFailed),
    ("Request Failed", NoticeKind::RequestFailed),
    // Exit 106 when `--address` was given; see `classify` for the warning.
    ("Error from API server", NoticeKind::SetupFailed),
];

/// The notice a log record carries, if any.
pub(crate) fn classify(record: &LogRecord) -> Option<NoticeKind> {
    if field(record, "source") == Some("console") {
        return None;
    }
    // A JS exception: in an iteration (`source=stacktrace`), or in the init
    // context, `setup()` or a syntax error (`hint="script exception"`).
    if field(record, "source") == Some("stacktrace")
        || field(record, "hint") == Some("script exception")
    {
        return Some(NoticeKind::ScriptError);
    }
    let message = record.message.as_str();
    let (prefix, kind) = BY_START
        .iter()
        .find(|(prefix, _)| message.starts_with(prefix))?;
    // With the default address taken, k6 only warns and runs on without its
    // REST API; only the error (explicit `--address`, exit 106) is fatal.
    if *prefix == "Error from API server" && record.level != LogLevel::Error {
        return None;
    }
    Some(*kind)
}

/// The value of the first field named `key`.
fn field<'a>(record: &'a LogRecord, key: &str) -> Option<&'a str> {
    record
        .fields
        .iter()
        .find(|(name, _)| name == key)
        .map(|(_, value)| value.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(level: LogLevel, message: &str, fields: &[(&str, &str)]) -> LogRecord {
        LogRecord {
            level,
            message: message.to_owned(),
            time: None,
            fields: fields
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect(),
        }
    }

    fn error(message: &str) -> Option<NoticeKind> {
        classify(&record(LogLevel::Error, message, &[]))
    }

    #[test]
    fn threshold_messages_are_thresholds_crossed() {
        assert_eq!(
            error(
                "thresholds on metrics 'checks{check:status is 200}, http_req_duration, http_req_failed' have been crossed"
            ),
            Some(NoticeKind::ThresholdsCrossed)
        );
        assert_eq!(
            error(
                "thresholds on metrics 'http_req_failed' were crossed; at least one has abortOnFail enabled, stopping test prematurely"
            ),
            Some(NoticeKind::ThresholdsCrossed)
        );
    }

    #[test]
    fn stop_and_signal_messages_are_recognised() {
        assert_eq!(
            error("test run stopped from REST API"),
            Some(NoticeKind::StoppedByApi)
        );
        assert_eq!(
            error("test run was aborted because k6 received a 'terminated' signal"),
            Some(NoticeKind::InterruptedBySignal)
        );
        assert_eq!(
            classify(&record(
                LogLevel::Error,
                "Aborting k6 in response to signal",
                &[("sig", "interrupt")]
            )),
            Some(NoticeKind::InterruptedBySignal)
        );
    }

    #[test]
    fn abort_and_fail_messages_are_recognised() {
        assert_eq!(
            error("test aborted: aborting on purpose at default (file://x.js:11:20(17))"),
            Some(NoticeKind::TestAborted)
        );
        assert_eq!(
            error("test run was marked as failed"),
            Some(NoticeKind::MarkedFailed)
        );
        assert_eq!(
            error("test marked as failed: marking test as failed on purpose"),
            Some(NoticeKind::MarkedFailed)
        );
    }

    #[test]
    fn exceptions_are_script_errors_by_their_fields() {
        assert_eq!(
            classify(&record(
                LogLevel::Error,
                "Error: boom",
                &[("source", "stacktrace")]
            )),
            Some(NoticeKind::ScriptError)
        );
        assert_eq!(
            classify(&record(
                LogLevel::Error,
                "GoError: file://x.js: Line 5:13 Unexpected token ;",
                &[("hint", "script exception")]
            )),
            Some(NoticeKind::ScriptError)
        );
    }

    #[test]
    fn refused_options_are_setup_failures() {
        for message in [
            "There were problems with the specified script configuration:\n\t- scenario default has configuration errors: the number of VUs must be more than 0",
            "invalid argument \"abc\" for \"-u, --vus\" flag: strconv.ParseInt: parsing \"abc\": invalid syntax",
            "unknown flag: --bogus",
            "The moduleSpecifier \"scripts/no_such_file.js\" couldn't be found on local disk.",
            "could not initialize 'scripts/r_no_default.js': could not load JS test 'file://x': no exported functions in script",
            "setup() execution timed out after 1 seconds",
            "teardown() execution timed out after 1 seconds",
            "Error from API server",
            "error for stage 0: time: invalid duration \"abc\"",
            "could not create the 'csv' output: bogus does not belong to TimeFormat values",
            "using `duration` and `stages` options simultaneously is not allowed",
            "failed parsing threshold expresion's \"p(95)<<100\" right hand side; reason: strconv.ParseFloat: parsing \"<100\": invalid syntax",
            "invalid threshold defined on no_such_metric; reason: no metric name \"no_such_metric\" found",
        ] {
            assert_eq!(error(message), Some(NoticeKind::SetupFailed), "{message:?}");
        }
    }

    #[test]
    fn api_server_warning_is_not_a_setup_failure() {
        assert_eq!(
            classify(&record(
                LogLevel::Warning,
                "Error from API server",
                &[(
                    "error",
                    "listen tcp 127.0.0.1:6565: bind: address already in use"
                )]
            )),
            None
        );
    }

    #[test]
    fn request_failed_is_recognised_at_warning_level() {
        assert_eq!(
            classify(&record(
                LogLevel::Warning,
                "Request Failed",
                &[("error", "dial tcp")]
            )),
            Some(NoticeKind::RequestFailed)
        );
    }

    #[test]
    fn console_output_is_never_a_notice() {
        assert_eq!(
            classify(&record(
                LogLevel::Error,
                "test aborted: fake",
                &[("source", "console")]
            )),
            None
        );
        assert_eq!(
            classify(&record(
                LogLevel::Info,
                "console.log message",
                &[("source", "console")]
            )),
            None
        );
    }

    #[test]
    fn ordinary_messages_are_not_notices() {
        assert_eq!(
            classify(&record(
                LogLevel::Warning,
                "\"cli\" level configuration overrode scenarios configuration entirely",
                &[]
            )),
            None
        );
        assert_eq!(error(""), None);
    }
}
