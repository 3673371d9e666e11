//! Reading the fields of a JSON object while collecting every broken rule:
//! the shared machinery of the config's top level and of each entry of
//! `enabledScripts`.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::text::{and_list, escaped, json_kind, normalised, quoted};
use crate::duration;
use crate::json::DuplicateKey;
use crate::types::{ErrorCode, FieldError, Policy};

/// Unknown fields reported one by one per object; beyond this, one error
/// counts the rest, so a body of junk keys cannot produce a report far
/// larger than itself.
const MAX_REPORTED_UNKNOWN_FIELDS: usize = 20;

/// One JSON object being read.
pub(crate) struct Fields<'a> {
    object: &'a Map<String, Value>,
    /// Its keys that appear more than once (ambiguous: neither value is read).
    repeated: BTreeSet<&'a str>,
    /// Where it is, written like a field of an error report
    /// (`enabledScripts[2]`); empty for the top level.
    prefix: String,
}

impl<'a> Fields<'a> {
    /// The object at `prefix`, with the repeated keys of `duplicates` that
    /// belong to it.
    pub(crate) fn new(
        object: &'a Map<String, Value>,
        prefix: String,
        duplicates: &'a [DuplicateKey],
    ) -> Self {
        let repeated = duplicates
            .iter()
            .filter(|d| d.object == prefix)
            .map(|d| d.key.as_str())
            .collect();
        Self {
            object,
            repeated,
            prefix,
        }
    }

    /// The report name of field `name` of this object.
    pub(crate) fn path(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    /// Whether the object has field `name` (repeated or not).
    pub(crate) fn has(&self, name: &str) -> bool {
        self.object.contains_key(name)
    }

    /// Where this object is (`enabledScripts[2]`).
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }
}

/// Collects the errors of one config.
pub(crate) struct Checker<'a> {
    pub(crate) policy: &'a Policy,
    pub(crate) errors: Vec<FieldError>,
}

impl<'a> Checker<'a> {
    /// A checker with no error yet.
    pub(crate) fn new(policy: &'a Policy) -> Self {
        Self {
            policy,
            errors: Vec::new(),
        }
    }

    /// Records an error.
    pub(crate) fn fail(&mut self, field: impl Into<String>, code: ErrorCode, message: String) {
        self.errors.push(FieldError {
            field: field.into(),
            code,
            message,
        });
    }

    /// Records `error` if there is one; passes `value` on otherwise.
    pub(crate) fn related<T>(&mut self, error: Option<FieldError>, value: T) -> Option<T> {
        match error {
            Some(error) => {
                self.errors.push(error);
                None
            }
            None => Some(value),
        }
    }

    /// The value of a field that may be absent, unless it is repeated.
    pub(crate) fn optional<'v>(&mut self, fields: &Fields<'v>, name: &str) -> Option<&'v Value> {
        if fields.repeated.contains(name) {
            let field = fields.path(name);
            self.fail(
                &field,
                ErrorCode::DuplicateField,
                format!("{field} appears more than once; give each field once"),
            );
            return None;
        }
        fields.object.get(name)
    }

    /// The value of a required field; `rule` says what it must hold, for
    /// the message about its absence.
    pub(crate) fn required<'v>(
        &mut self,
        fields: &Fields<'v>,
        name: &str,
        rule: impl FnOnce(&Policy) -> String,
    ) -> Option<&'v Value> {
        if fields.repeated.contains(name) {
            return self.optional(fields, name);
        }
        let value = fields.object.get(name);
        if value.is_none() {
            let field = fields.path(name);
            let rule = rule(self.policy);
            self.fail(
                &field,
                ErrorCode::MissingField,
                format!("{field} is missing; it is required: {rule}"),
            );
        }
        value
    }

    /// A whole number in `min..=max`. `unit` and `note` complete the rule
    /// in the message.
    pub(crate) fn whole(
        &mut self,
        field: &str,
        value: &Value,
        (min, max): (u32, u32),
        unit: &str,
        note: &str,
    ) -> Option<u32> {
        let Value::Number(number) = value else {
            self.fail(
                field,
                ErrorCode::WrongType,
                format!("{field} must be a whole number, got {}", json_kind(value)),
            );
            return None;
        };
        let whole = if let Some(n) = number.as_u64() {
            u32::try_from(n).ok()
        } else if number.is_i64() {
            None
        } else {
            // A float: accepted when whole and within u32. The range is
            // checked before the cast, so the cast is exact.
            number
                .as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= f64::from(u32::MAX))
                .map(|f| f as u32)
        };
        match whole.filter(|n| (min..=max).contains(n)) {
            Some(n) => Some(n),
            None => {
                let rule = if min > max {
                    format!(
                        "{field} cannot be set: the policy's maximum {max} is below the minimum {min}"
                    )
                } else {
                    format!("{field} must be a whole number of {unit} from {min} to {max}{note}")
                };
                self.fail(
                    field,
                    ErrorCode::OutOfRange,
                    format!("{rule}, got {number}"),
                );
                None
            }
        }
    }

    /// A duration string from 1 s to `max` seconds.
    pub(crate) fn duration(&mut self, field: &str, value: &Value, max: u32) -> Option<u32> {
        let Value::String(text) = value else {
            let hint = value
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(|n| format!("; write \"{}\" for {n} seconds", duration::format(n)))
                .unwrap_or_default();
            self.fail(
                field,
                ErrorCode::WrongType,
                format!(
                    "{field} must be a duration string such as \"15m\" or \"1h30m\", got {}{hint}",
                    json_kind(value)
                ),
            );
            return None;
        };
        let seconds = match duration::parse(text) {
            Ok(seconds) => seconds,
            Err(error) => {
                self.fail(
                    field,
                    ErrorCode::BadDuration,
                    format!("{field} {} {error}", quoted(text)),
                );
                return None;
            }
        };
        if (1..=max).contains(&seconds) {
            return Some(seconds);
        }
        self.fail(
            field,
            ErrorCode::OutOfRange,
            format!(
                "{field} must be from 1s to {} ({max} s), got {} ({seconds} s)",
                duration::format(max),
                quoted(text)
            ),
        );
        None
    }

    /// Every key of `fields` that is not in `known`, by name, at most
    /// [`MAX_REPORTED_UNKNOWN_FIELDS`] of them one by one. `what` names the
    /// object in the message (`the config`, `an entry`).
    pub(crate) fn unknown_fields(&mut self, fields: &Fields<'_>, known: &[&str], what: &str) {
        // Sorted explicitly: the map's own order depends on serde_json's
        // features, and the report order must not.
        let unknown: BTreeSet<&str> = fields
            .object
            .keys()
            .map(String::as_str)
            .filter(|key| !known.contains(key))
            .collect();
        let list = and_list(known);
        for key in unknown.iter().take(MAX_REPORTED_UNKNOWN_FIELDS) {
            let hint = known
                .iter()
                .find(|field| normalised(field) == normalised(key))
                .map(|field| format!(" (did you mean {field}?)"))
                .unwrap_or_default();
            self.fail(
                fields.path(&escaped(key)),
                ErrorCode::UnknownField,
                format!(
                    "unknown field {}{hint}; {what} has only the fields {list}",
                    quoted(key)
                ),
            );
        }
        let rest = unknown.len().saturating_sub(MAX_REPORTED_UNKNOWN_FIELDS);
        if rest > 0 {
            self.fail(
                fields.prefix().to_owned(),
                ErrorCode::UnknownField,
                format!("{rest} more unknown fields; {what} has only the fields {list}"),
            );
        }
    }
}
