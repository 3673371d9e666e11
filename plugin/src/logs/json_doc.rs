//! Reading the JSON documents k6 writes (summary export, handleSummary data,
//! REST API bodies): parsing with errors an operator can act on, and
//! lenient access to numbers.

use super::units;
use crate::types::ParseError;
use serde_json::{Map, Value};

/// How much of a bad document an error message quotes.
const EXCERPT_CHARS: usize = 80;

/// Parses `json` as a JSON object. `what` names the document in errors
/// (`summary export`, `/v1/status body`).
pub(crate) fn parse_object(json: &str, what: &str) -> Result<Map<String, Value>, ParseError> {
    let value: Value = serde_json::from_str(json).map_err(|error| {
        ParseError::InvalidJson(format!(
            "{what} is not valid JSON ({error}); it starts with {}",
            excerpt(json)
        ))
    })?;
    match value {
        Value::Object(object) => Ok(object),
        other => Err(ParseError::UnexpectedShape(format!(
            "{what} is JSON but not an object: {}",
            excerpt(&other.to_string())
        ))),
    }
}

/// The start of `text`, quoted, cut at a char boundary.
pub(crate) fn excerpt(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(EXCERPT_CHARS).collect();
    if chars.next().is_some() {
        format!("{head:?}…")
    } else {
        format!("{head:?}")
    }
}

/// The keys of an object, for "what was there instead" in errors.
pub(crate) fn keys_of(object: &Map<String, Value>) -> String {
    let keys: Vec<&str> = object.keys().map(String::as_str).take(10).collect();
    if keys.is_empty() {
        "no keys".to_owned()
    } else {
        format!("keys {}", keys.join(", "))
    }
}

/// A finite number, also from a numeric string (k6's CLI and some API
/// answers quote numbers: `"vus": "12"`).
pub(crate) fn number(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Number(number) => number.as_f64().filter(|value| value.is_finite()),
        Value::String(text) => units::decimal(text.trim()),
        _ => None,
    }
}

/// A whole non-negative number (a count, bytes), rounded if k6 wrote a
/// fraction.
pub(crate) fn whole(value: Option<&Value>) -> Option<u64> {
    match value? {
        Value::Number(number) => number
            .as_u64()
            .or_else(|| number.as_f64().and_then(units::whole)),
        other => number(Some(other)).and_then(units::whole),
    }
}

/// A `u32` (VU counts), saturating: a VU count beyond `u32` is not real.
pub(crate) fn whole_u32(value: Option<&Value>) -> Option<u32> {
    whole(value).map(|value| u32::try_from(value).unwrap_or(u32::MAX))
}

/// If `object` is k6's JSON:API error document (`{"errors":[{"status":"404",
/// "title":"Not Found","detail":"…"}]}`), its errors in one sentence.
pub(crate) fn api_errors(object: &Map<String, Value>) -> Option<String> {
    let errors = object.get("errors")?.as_array()?;
    let described: Vec<String> = errors
        .iter()
        .take(5)
        .map(|error| {
            let part = |key: &str| error.get(key).and_then(Value::as_str).unwrap_or_default();
            format!("{} {}: {}", part("status"), part("title"), part("detail"))
        })
        .collect();
    Some(described.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn invalid_json_error_quotes_the_input() {
        match parse_object("{\"data\":", "/v1/status body") {
            Err(ParseError::InvalidJson(message)) => {
                assert!(
                    message.starts_with("/v1/status body is not valid JSON"),
                    "{message}"
                );
                assert!(message.contains("{\\\"data\\\":"), "{message}");
            }
            other => panic!("expected invalid JSON, got {other:?}"),
        }
    }

    #[test]
    fn a_non_object_is_an_unexpected_shape() {
        assert!(matches!(
            parse_object("[1, 2]", "summary export"),
            Err(ParseError::UnexpectedShape(message)) if message.contains("not an object")
        ));
    }

    #[test]
    fn excerpts_are_cut_at_char_boundaries() {
        let long = "µ".repeat(200);
        let cut = excerpt(&long);
        assert!(cut.ends_with('…'));
        assert_eq!(cut.chars().filter(|c| *c == 'µ').count(), EXCERPT_CHARS);
    }

    #[test]
    fn numbers_read_leniently() {
        assert_eq!(number(Some(&json!(1.5))), Some(1.5));
        assert_eq!(number(Some(&json!("12"))), Some(12.0));
        assert_eq!(number(Some(&json!(null))), None);
        assert_eq!(whole(Some(&json!(98))), Some(98));
        assert_eq!(whole(Some(&json!(2.6))), Some(3));
        assert_eq!(whole(Some(&json!(-1))), None);
        assert_eq!(whole_u32(Some(&json!(10_000_000_000u64))), Some(u32::MAX));
    }

    #[test]
    fn api_errors_are_summarised() {
        let object = parse_object(
            r#"{"errors":[{"status":"404","title":"Not Found","detail":"No metric with that ID was found"}]}"#,
            "body",
        )
        .expect("an object");
        assert_eq!(
            api_errors(&object).as_deref(),
            Some("404 Not Found: No metric with that ID was found")
        );
    }
}
