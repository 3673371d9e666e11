//! A YAML writer for the manifests, small enough to audit: block
//! mappings for non-empty objects, and everything else (strings, numbers,
//! booleans, arrays, empty objects) in JSON's notation, which YAML reads
//! as the same value. Every string is double-quoted, so no value is ever
//! read as something else (`on`, `1.10`, `null`).

use serde_json::Value;

/// `value` as a YAML document body, ending with a newline.
pub fn document(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => mapping(&mut out, map, 0),
        other => {
            out.push_str(&flow(other));
            out.push('\n');
        }
    }
    out
}

fn mapping(out: &mut String, map: &serde_json::Map<String, Value>, indent: usize) {
    for (key, value) in map {
        out.push_str(&" ".repeat(indent));
        out.push_str(&key_text(key));
        out.push(':');
        match value {
            Value::Object(inner) if !inner.is_empty() => {
                out.push('\n');
                mapping(out, inner, indent + 2);
            }
            other => {
                out.push(' ');
                out.push_str(&flow(other));
                out.push('\n');
            }
        }
    }
}

/// JSON's text of a value. The manifests' strings are ASCII, so none holds
/// the Unicode line separators that YAML would fold inside quotes.
fn flow(value: &Value) -> String {
    value.to_string()
}

/// A key plain when it is made of characters YAML never reads otherwise
/// (`app.kubernetes.io/name`), else quoted.
fn key_text(key: &str) -> String {
    let plain = key.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._/-".contains(&b));
    if plain {
        key.to_owned()
    } else {
        Value::String(key.to_owned()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nests_objects_and_quotes_every_string() {
        let text = document(&json!({
            "kind": "TestRun",
            "metadata": {"labels": {"app.kubernetes.io/name": "k6", "x y": "on"}},
            "spec": {"parallelism": 3, "list": ["a", 1], "empty": {}, "quote": "a\"b\\c"}
        }));
        assert_eq!(
            text,
            "kind: \"TestRun\"\nmetadata:\n  labels:\n    app.kubernetes.io/name: \"k6\"\n    \
             \"x y\": \"on\"\nspec:\n  empty: {}\n  list: [\"a\",1]\n  parallelism: 3\n  \
             quote: \"a\\\"b\\\\c\"\n"
        );
    }
}
