//! k6's `--log-format json` lines: one JSON object per line, keys sorted by
//! logrus (`{"level":"error","msg":"…","sig":2,"time":"…"}`).

use super::level::level_of;
use super::search::Needle;
use crate::types::LogRecord;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use std::fmt;

/// Reads one JSON log line, or `None` if it is not one: it must be a single
/// JSON object with a string `level` k6 uses. Non-string values (`"sig":2`,
/// objects) become their JSON text.
pub(crate) fn parse(line: &str) -> Option<LogRecord> {
    let trimmed = line.trim();
    // Cheap checks first: most stdout/stderr lines are not JSON at all, and a
    // JSON document without a level (say a summary printed by handleSummary,
    // or an `--out json` point) need not be parsed.
    static LEVEL_KEY: Needle = Needle::new("\"level\"");
    if !(trimmed.starts_with('{') && trimmed.ends_with('}') && LEVEL_KEY.is_in(trimmed)) {
        return None;
    }
    let Members(members) = serde_json::from_str(trimmed).ok()?;
    let mut level = None;
    let mut message = None;
    let mut time = None;
    let mut fields = Vec::with_capacity(members.len().saturating_sub(3));
    for (key, value) in members {
        match (key.as_str(), value) {
            ("level", Value::String(name)) if level.is_none() => level = Some(level_of(&name)?),
            ("msg", value) if message.is_none() => message = Some(text_of(value)),
            ("time", value) if time.is_none() => time = Some(text_of(value)),
            (_, value) => fields.push((key, text_of(value))),
        }
    }
    Some(LogRecord {
        level: level?,
        message: message.unwrap_or_default(),
        time,
        fields,
    })
}

/// The members of a JSON object in the order printed. `serde_json::Map`
/// would sort them (or not, depending on a crate feature another crate may
/// switch on), and `fields` must keep the printed order.
struct Members(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;

        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members;

            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, Value>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }

        deserializer.deserialize_map(MembersVisitor)
    }
}

/// A string as it is, anything else as its JSON text.
fn text_of(value: Value) -> String {
    match value {
        Value::String(text) => text,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::LogLevel;

    #[test]
    fn reads_a_stack_trace_line_with_sorted_fields() {
        let record = parse(
            r#"{"executor":"constant-vus","level":"error","msg":"Error: boom from iteration 1\n\tat default (file://<FIXTURE_DIR>/scripts/c_exception.js:11:11(20))\n","scenario":"default","source":"stacktrace","time":"2026-11-23T23:19:31Z"}"#,
        )
        .expect("a log line");
        assert_eq!(record.level, LogLevel::Error);
        assert_eq!(record.time.as_deref(), Some("2026-11-23T23:19:31Z"));
        assert!(
            record
                .message
                .starts_with("Error: boom from iteration 1\n\tat default")
        );
        assert_eq!(
            record.fields,
            [
                ("executor".to_owned(), "constant-vus".to_owned()),
                ("scenario".to_owned(), "default".to_owned()),
                ("source".to_owned(), "stacktrace".to_owned()),
            ]
        );
    }

    #[test]
    fn numeric_and_object_values_become_json_text() {
        let record = parse(
            r#"{"level":"error","msg":"Aborting k6 in response to signal","sig":2,"time":"2026-11-23T23:31:05Z"}"#,
        )
        .expect("a log line");
        assert_eq!(record.fields, [("sig".to_owned(), "2".to_owned())]);
        let record = parse(r#"{"level":"debug","moduleSpecifier":{"Scheme":"file","User":null},"msg":"Loading..."}"#)
            .expect("a log line");
        assert_eq!(record.level, LogLevel::Debug);
        assert_eq!(record.time, None);
        assert_eq!(
            record.fields,
            [(
                "moduleSpecifier".to_owned(),
                r#"{"Scheme":"file","User":null}"#.to_owned()
            )]
        );
    }

    #[test]
    fn fields_keep_the_printed_order() {
        let record = parse(r#"{"zeta":"1","level":"info","alpha":"2","msg":"m","mid":3}"#)
            .expect("a log line");
        assert_eq!(
            record.fields,
            [
                ("zeta".to_owned(), "1".to_owned()),
                ("alpha".to_owned(), "2".to_owned()),
                ("mid".to_owned(), "3".to_owned()),
            ]
        );
    }

    #[test]
    fn other_json_is_not_a_log_line() {
        for line in [
            "{}",
            r#"{"msg":"no level"}"#,
            r#"{"level":7,"msg":"level not a string"}"#,
            r#"{"level":"loud","msg":"unknown level"}"#,
            r#"{"level":"info","msg":"truncated"#,
            r#"["level","info"]"#,
            "time=\"x\" level=info msg=\"text format\"",
        ] {
            assert_eq!(parse(line), None, "{line:?}");
        }
    }
}
