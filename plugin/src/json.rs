//! Strict JSON reading.
//!
//! `serde_json` keeps the last of two equal keys in an object, so
//! `{"globalUserCount": 5, "globalUserCount": 5000}` would quietly mean
//! 5000. A reviewer reading the first line would be misled; here a repeated
//! key is an error, at any depth, reported with the key and where it is.
//!
//! [`read`] returns the document together with every repeated key (keeping
//! the first value of each), so a caller can report them alongside other
//! problems; [`parse`] is the strict form that refuses such a document.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use thiserror::Error;

/// A key that appears more than once in one object.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("the key {} appears more than once{}", quoted_key(.key), place(.object))]
pub struct DuplicateKey {
    /// The object holding the key, written like a field of an error report
    /// (`enabledScripts[0]`, `a["odd key"]`); empty for the top level.
    pub object: String,
    /// The key itself.
    pub key: String,
}

impl DuplicateKey {
    /// Where the repeated key is: `globalUserCount`, `enabledScripts[0].name`.
    pub fn path(&self) -> String {
        member_path(&self.object, &self.key)
    }
}

/// The key as JSON writes it, so quotes and control characters show.
fn quoted_key(key: &str) -> String {
    Value::String(key.to_owned()).to_string()
}

/// " in `object`", or nothing for the top level.
fn place(object: &str) -> String {
    if object.is_empty() {
        String::new()
    } else {
        format!(" in {object}")
    }
}

/// Text that is not JSON.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message} at line {line}, column {column}")]
pub struct SyntaxError {
    /// What the reader expected or found (`EOF while parsing an object`).
    pub message: String,
    /// Line of the problem, from 1.
    pub line: usize,
    /// Column of the problem, from 1 (0 when the text ended early).
    pub column: usize,
}

/// Why [`parse`] refused a text.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JsonError {
    /// The text is not JSON.
    #[error("not valid JSON: {0}")]
    Syntax(#[from] SyntaxError),
    /// The text is JSON but repeats a key; the first repeat found is named.
    #[error("ambiguous JSON: {0}")]
    DuplicateKey(DuplicateKey),
}

/// A document read by [`read`].
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The value, keeping the first occurrence of a repeated key.
    pub value: Value,
    /// Every repeated key, in document order (a key seen three times is
    /// listed twice).
    pub duplicates: Vec<DuplicateKey>,
}

/// Reads `text` as one JSON value, noting repeated keys instead of
/// overwriting.
///
/// # Errors
///
/// [`SyntaxError`] if the text is not exactly one JSON value (with optional
/// whitespace around it); nesting deeper than 128 levels also counts, so
/// no input can exhaust the stack.
pub fn read(text: &str) -> Result<Document, SyntaxError> {
    let mut duplicates = Vec::new();
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = ValueSeed {
        path: String::new(),
        duplicates: &mut duplicates,
    }
    .deserialize(&mut deserializer)
    .and_then(|value| deserializer.end().map(|()| value))
    .map_err(syntax_error)?;
    Ok(Document { value, duplicates })
}

/// Reads `text` as one JSON value and refuses repeated keys.
///
/// # Errors
///
/// [`JsonError::Syntax`] for text that is not JSON, and
/// [`JsonError::DuplicateKey`] naming the first key that repeats.
pub fn parse(text: &str) -> Result<Value, JsonError> {
    let document = read(text)?;
    match document.duplicates.into_iter().next() {
        Some(duplicate) => Err(JsonError::DuplicateKey(duplicate)),
        None => Ok(document.value),
    }
}

/// Splits serde_json's message from its position suffix so the position
/// can be reported in its own words.
fn syntax_error(error: serde_json::Error) -> SyntaxError {
    let text = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let message = text.strip_suffix(&suffix).unwrap_or(&text).to_owned();
    SyntaxError {
        message,
        line: error.line(),
        column: error.column(),
    }
}

/// Path of a member `key` of the object at `parent`.
fn member_path(parent: &str, key: &str) -> String {
    let simple = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (parent.is_empty(), simple) {
        (true, true) => key.to_owned(),
        (false, true) => format!("{parent}.{key}"),
        (_, false) => format!("{parent}[{}]", quoted_key(key)),
    }
}

/// Reads one value whose place in the document is `path`.
struct ValueSeed<'a> {
    path: String,
    duplicates: &'a mut Vec<DuplicateKey>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Value, E> {
        // serde_json never yields a non-finite number (it refuses 1e400),
        // but a Value cannot hold one, so say so rather than assume.
        Number::from_f64(value)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            let seed = ValueSeed {
                path: format!("{}[{}]", self.path, items.len()),
                duplicates: &mut *self.duplicates,
            };
            match seq.next_element_seed(seed)? {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            // The value is read either way: its syntax must be checked, and
            // keys it repeats are worth reporting too.
            let value = map.next_value_seed(ValueSeed {
                path: member_path(&self.path, &key),
                duplicates: &mut *self.duplicates,
            })?;
            if object.contains_key(&key) {
                self.duplicates.push(DuplicateKey {
                    object: self.path.clone(),
                    key,
                });
            } else {
                object.insert(key, value);
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn reads_plain_json_like_serde_json() {
        let text = r#"{"a": [1, -2, 3.5, "x", null, true, {"b": {}}], "c": "\u00e9"}"#;
        assert_eq!(
            parse(text),
            Ok(serde_json::from_str::<Value>(text).unwrap())
        );
    }

    #[test]
    fn reports_repeated_keys_at_any_depth() {
        let doc = read(
            r#"{"a": 1, "b": [{"c": 1, "c": 2}], "a": 3, "a": 4, "odd key": {"x y": 1, "x y": 2}}"#,
        )
        .unwrap();
        assert_eq!(doc.value["a"], json!(1), "the first value is kept");
        let found: Vec<(String, &str)> = doc
            .duplicates
            .iter()
            .map(|d| (d.path(), d.key.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("b[0].c".to_owned(), "c"),
                ("a".to_owned(), "a"),
                ("a".to_owned(), "a"),
                (r#"["odd key"]["x y"]"#.to_owned(), "x y")
            ]
        );
    }

    #[test]
    fn duplicate_messages_name_key_and_place() {
        let top = parse(r#"{"globalUserCount": 5, "globalUserCount": 6}"#).unwrap_err();
        assert_eq!(
            top.to_string(),
            r#"ambiguous JSON: the key "globalUserCount" appears more than once"#
        );
        let nested = parse(r#"{"x": [{"a.b\n": 1, "a.b\n": 2}]}"#).unwrap_err();
        assert_eq!(
            nested.to_string(),
            r#"ambiguous JSON: the key "a.b\n" appears more than once in x[0]"#
        );
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let error = parse("{\n  \"a\": 1,\n  \"b\": }").unwrap_err();
        assert_eq!(
            error,
            JsonError::Syntax(SyntaxError {
                message: "expected value".into(),
                line: 3,
                column: 8
            })
        );
        assert_eq!(
            error.to_string(),
            "not valid JSON: expected value at line 3, column 8"
        );
        for bad in [
            "", "{", "{} {}", "[1,]", "{'a': 1}", "NaN", "1e400", "\"\\x\"",
        ] {
            assert!(matches!(parse(bad), Err(JsonError::Syntax(_))), "{bad:?}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        let error = parse(&deep).unwrap_err();
        assert!(error.to_string().contains("recursion limit"), "{error}");
        let fine = "[".repeat(100) + &"]".repeat(100);
        assert!(parse(&fine).is_ok());
    }

    proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,64}") {
            let _ = read(&text);
        }

        #[test]
        fn agrees_with_serde_json_without_duplicates(value in arbitrary_json()) {
            let text = value.to_string();
            prop_assert_eq!(parse(&text), Ok(value));
        }
    }

    /// Arbitrary JSON values (serde_json's maps cannot hold a repeated key).
    fn arbitrary_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            // Quarters survive text and back exactly; arbitrary floats may
            // not without serde_json's `float_roundtrip` feature.
            (-1_000_000i32..1_000_000).prop_map(|q| Value::from(f64::from(q) / 4.0)),
            "\\PC{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map("\\PC{0,6}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
