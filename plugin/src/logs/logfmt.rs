//! k6's default log lines (logrus text format):
//! `time="2026-11-23T23:19:27Z" level=error msg="…" key=value key="quoted"`.
//!
//! logrus quotes a value with Go's `strconv.Quote` when it holds anything
//! but `[A-Za-z0-9-._/@^+]`, so quoted values may carry every Go escape
//! (`\"`, `\\`, `\n`, `\t`, `\xNN`, `\uNNNN`, …). Keys are never quoted.

use super::level::level_of;
use crate::types::LogRecord;

/// Reads one text log line, or `None` if the line is not one: it must start
/// with `time=` or `level=`, consist of `key=value` pairs only, and name a
/// known level.
pub(crate) fn parse(line: &str) -> Option<LogRecord> {
    if !(line.starts_with("time=") || line.starts_with("level=")) {
        return None;
    }
    let mut time = None;
    let mut level = None;
    let mut message = None;
    let mut fields = Vec::new();
    let mut rest = line;
    loop {
        rest = rest.trim_start_matches(' ');
        if rest.is_empty() {
            break;
        }
        let (key, value, after) = next_pair(rest)?;
        match key {
            "time" if time.is_none() => time = Some(value),
            "level" if level.is_none() => level = Some(level_of(&value)?),
            "msg" if message.is_none() => message = Some(value),
            _ => fields.push((key.to_owned(), value)),
        }
        rest = after;
    }
    Some(LogRecord {
        level: level?,
        message: message.unwrap_or_default(),
        time,
        fields,
    })
}

/// Splits `key=value` off the front of `text`; returns the key, the
/// unescaped value and what follows the pair.
fn next_pair(text: &str) -> Option<(&str, String, &str)> {
    let key_end = text.find(['=', ' ', '"'])?;
    let (key, after_key) = text.split_at(key_end);
    let after_eq = after_key.strip_prefix('=')?;
    if key.is_empty() {
        return None;
    }
    if let Some(quoted) = after_eq.strip_prefix('"') {
        let close = closing_quote(quoted)?;
        let (inner, after) = quoted.split_at(close);
        let after = after.strip_prefix('"')?;
        // A quoted value must be followed by a separator or the line end.
        if !(after.is_empty() || after.starts_with(' ')) {
            return None;
        }
        Some((key, unescape(inner), after))
    } else {
        let end = after_eq.find(' ').unwrap_or(after_eq.len());
        let (value, after) = after_eq.split_at(end);
        if value.contains('"') {
            return None;
        }
        Some((key, value.to_owned(), after))
    }
}

/// Byte offset of the `"` that closes a quoted value (`text` starts just
/// after the opening quote). Scanning bytes is safe: `"` and `\` never occur
/// inside a multi-byte UTF-8 sequence.
fn closing_quote(text: &str) -> Option<usize> {
    let mut escaped = false;
    for (index, byte) in text.bytes().enumerate() {
        match byte {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'"' => return Some(index),
            _ => {}
        }
    }
    None
}

/// Undoes Go's `strconv.Quote`. A byte escape (`\xNN`, `\NNN`) above 0x7F
/// stood for invalid UTF-8 and becomes U+FFFD; an unknown escape is kept as
/// written.
pub(crate) fn unescape(text: &str) -> String {
    if !text.contains('\\') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(kind) = chars.next() else {
            out.push('\\');
            break;
        };
        let simple = match kind {
            'n' => Some('\n'),
            't' => Some('\t'),
            'r' => Some('\r'),
            '"' => Some('"'),
            '\\' => Some('\\'),
            '\'' => Some('\''),
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'v' => Some('\u{b}'),
            _ => None,
        };
        if let Some(unescaped) = simple {
            out.push(unescaped);
            continue;
        }
        let numeric = match kind {
            'x' => take_code(&mut chars, 2, 16).map(byte_char),
            'u' => take_code(&mut chars, 4, 16).map(unicode_char),
            'U' => take_code(&mut chars, 8, 16).map(unicode_char),
            '0'..='7' => {
                let first = kind.to_digit(8).unwrap_or_default();
                take_code(&mut chars, 2, 8).map(|rest| byte_char(first * 64 + rest))
            }
            _ => None,
        };
        match numeric {
            Some(unescaped) => out.push(unescaped),
            None => {
                out.push('\\');
                out.push(kind);
            }
        }
    }
    out
}

/// Reads exactly `digits` digits in `radix` from `chars`, consuming them only
/// if all are there.
fn take_code(chars: &mut std::str::Chars<'_>, digits: usize, radix: u32) -> Option<u32> {
    let mut lookahead = chars.clone();
    let mut value: u32 = 0;
    for _ in 0..digits {
        let digit = lookahead.next()?.to_digit(radix)?;
        value = value.checked_mul(radix)?.checked_add(digit)?;
    }
    *chars = lookahead;
    Some(value)
}

/// The char a `\xNN` byte escape stands for.
fn byte_char(byte: u32) -> char {
    if byte < 0x80 {
        char::from_u32(byte).unwrap_or(char::REPLACEMENT_CHARACTER)
    } else {
        char::REPLACEMENT_CHARACTER
    }
}

/// The char a `\uNNNN` / `\UNNNNNNNN` escape stands for.
fn unicode_char(code: u32) -> char {
    char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::LogLevel;

    fn fields(record: &LogRecord) -> Vec<(&str, &str)> {
        record
            .fields
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect()
    }

    #[test]
    fn reads_time_level_message_and_fields_in_order() {
        let record = parse(
            r#"time="2026-11-23T23:27:54Z" level=error msg="Error: boom from iteration 1\n\tat default (file://<FIXTURE_DIR>/scripts/c_exception.js:11:11(20))\n" executor=constant-vus scenario=default source=stacktrace"#,
        )
        .expect("a log line");
        assert_eq!(record.level, LogLevel::Error);
        assert_eq!(record.time.as_deref(), Some("2026-11-23T23:27:54Z"));
        assert_eq!(
            record.message,
            "Error: boom from iteration 1\n\tat default (file://<FIXTURE_DIR>/scripts/c_exception.js:11:11(20))\n"
        );
        assert_eq!(
            fields(&record),
            [
                ("executor", "constant-vus"),
                ("scenario", "default"),
                ("source", "stacktrace")
            ]
        );
    }

    #[test]
    fn unescapes_quoted_field_values() {
        let record = parse(
            r#"time="2026-11-23T23:30:15Z" level=warning msg="Request Failed" error="Get \"http://127.0.0.1:1/closed-port\": dial tcp 127.0.0.1:1: connect: connection refused""#,
        )
        .expect("a log line");
        assert_eq!(record.level, LogLevel::Warning);
        assert_eq!(
            fields(&record),
            [(
                "error",
                r#"Get "http://127.0.0.1:1/closed-port": dial tcp 127.0.0.1:1: connect: connection refused"#
            )]
        );
    }

    #[test]
    fn a_line_without_time_still_reads() {
        let record = parse(r#"level=info msg="hello""#).expect("a log line");
        assert_eq!(record.time, None);
        assert_eq!(record.message, "hello");
    }

    #[test]
    fn an_empty_unquoted_value_is_empty() {
        let record = parse("level=info msg= key=").expect("a log line");
        assert_eq!(record.message, "");
        assert_eq!(fields(&record), [("key", "")]);
    }

    #[test]
    fn lines_that_are_not_logfmt_are_refused() {
        for line in [
            "",
            "running (01.0s), 2/2 VUs, 18 complete and 0 interrupted iterations",
            "time=\"unterminated",
            "time=x level=nonsense msg=y",
            "time=x msg=no-level",
            "time=x level=info msg=\"a\"b",
            "time=x level=info stray words",
            "level=info msg=a\"b",
        ] {
            assert_eq!(parse(line), None, "{line:?}");
        }
    }

    #[test]
    fn go_escapes_are_undone() {
        assert_eq!(unescape(r#"a\"b\\c\nd\te"#), "a\"b\\c\nd\te");
        assert_eq!(unescape(r"\x41\u00b5\U0001F600"), "Aµ😀");
        assert_eq!(unescape(r"\101"), "A");
        assert_eq!(unescape(r"\xff"), "\u{FFFD}");
        assert_eq!(unescape(r"\q\x4"), r"\q\x4");
        assert_eq!(unescape("trailing\\"), "trailing\\");
        assert_eq!(unescape(r"\ud800"), "\u{FFFD}");
    }
}
