//! k6's stderr, which carries only log lines: text (logrus) or
//! `--log-format json`, whichever each line is. Both can mix in one run:
//! with `--verbose --log-format json` the first line is still text, written
//! before the logger is switched to JSON.

use super::{json_log, logfmt, notice};
use crate::types::LineEvent;

/// Reads one stderr line (without its line ending). Stderr needs no state:
/// logrus escapes line breaks, so every log is one line.
pub(crate) fn read(raw: &str) -> LineEvent {
    let line = raw.strip_suffix('\r').unwrap_or(raw);
    log_event(line).unwrap_or(LineEvent::Text)
}

/// The log or notice event for a log line in either format, or `None` if the
/// line is not a log line (`--log-format raw`, a Go panic, usage text).
pub(crate) fn log_event(line: &str) -> Option<LineEvent> {
    let record = if line.starts_with('{') {
        json_log::parse(line)?
    } else {
        logfmt::parse(line)?
    };
    Some(match notice::classify(&record) {
        Some(kind) => LineEvent::Notice((kind, record)),
        None => LineEvent::Log(record),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{LogLevel, NoticeKind};

    #[test]
    fn text_and_json_lines_both_read() {
        match read(
            r#"time="2026-11-23T23:30:17Z" level=debug msg="Binary Provisioning feature is disabled.""#,
        ) {
            LineEvent::Log(record) => assert_eq!(record.level, LogLevel::Debug),
            other => panic!("expected a log, got {other:?}"),
        }
        match read(r#"{"level":"debug","msg":"Logger format: JSON","time":"2026-11-23T23:30:17Z"}"#)
        {
            LineEvent::Log(record) => assert_eq!(record.message, "Logger format: JSON"),
            other => panic!("expected a log, got {other:?}"),
        }
    }

    #[test]
    fn notices_carry_their_record() {
        match read(
            r#"{"level":"error","msg":"Aborting k6 in response to signal","sig":2,"time":"2026-11-23T23:31:05Z"}"#,
        ) {
            LineEvent::Notice((kind, record)) => {
                assert_eq!(kind, NoticeKind::InterruptedBySignal);
                assert_eq!(record.fields, [("sig".to_owned(), "2".to_owned())]);
            }
            other => panic!("expected a notice, got {other:?}"),
        }
    }

    #[test]
    fn raw_format_and_other_lines_are_text() {
        assert_eq!(read("Request Failed"), LineEvent::Text);
        assert_eq!(read("{not json"), LineEvent::Text);
        assert_eq!(read(""), LineEvent::Text);
    }
}
