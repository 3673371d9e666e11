//! How values appear in messages: quoted, escaped and shortened, so that a
//! hostile value cannot garble a log line or a page.

use serde_json::Value;

/// Characters of a value shown in a message before it is shortened.
const MAX_SHOWN_CHARS: usize = 48;

/// Shows a value in a message: in double quotes, with quotes, backslashes,
/// control characters and invisible or look-alike characters escaped (only
/// ASCII and non-ASCII letters and digits appear as themselves), and cut
/// after [`MAX_SHOWN_CHARS`] characters with its full length in bytes.
pub(crate) fn quoted(text: &str) -> String {
    format!("\"{}\"", escaped(text))
}

/// [`quoted`] without the quotes (for a field name).
pub(crate) fn escaped(text: &str) -> String {
    let mut out = String::new();
    for (count, c) in text.chars().enumerate() {
        if count == MAX_SHOWN_CHARS {
            out.push_str(&format!("…({} bytes)", text.len()));
            break;
        }
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_ascii_graphic() || c == ' ' || (!c.is_ascii() && c.is_alphanumeric()) => {
                out.push(c)
            }
            c => out.push_str(&format!("\\u{{{:04X}}}", u32::from(c))),
        }
    }
    out
}

/// The JSON type of a value, with the value where it is short enough to help.
pub(crate) fn json_kind(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {}", quoted(s)),
        Value::Array(items) if items.len() == 1 => "an array of 1 item".to_owned(),
        Value::Array(items) => format!("an array of {} items", items.len()),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// A field name without case, `_` or `-`, to recognise `global_user_count`
/// or `GlobalUserCount` as `globalUserCount`.
pub(crate) fn normalised(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '_' | '-'))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// "a, b and c".
pub(crate) fn and_list(items: &[&str]) -> String {
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// A JSON string literal, escaped the way serde_json escapes.
pub(crate) fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_as_english() {
        assert_eq!(and_list(&[]), "");
        assert_eq!(and_list(&["a"]), "a");
        assert_eq!(and_list(&["a", "b", "c"]), "a, b and c");
    }

    #[test]
    fn json_strings_escape_like_serde_json() {
        for text in ["plain", "q\"b\\", "\n\t\u{1}\u{7f}é"] {
            assert_eq!(json_string(text), serde_json::to_string(text).unwrap());
        }
    }
}
