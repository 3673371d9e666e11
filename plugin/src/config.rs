//! Config defaults, the default policy, validation and canonical JSON.
//!
//! [`validate`] is the one gate every operator-typed value passes. It never
//! stops at the first problem: it reads every field and reports each broken
//! rule as a [`FieldError`], in a stable order (the fields in the order of
//! the JSON form — `globalUserCount`, `testDuration`, `rampUpDuration`,
//! `maxDuration`, `enabledScripts`, `intervalBetweenTests` — then unknown
//! fields by name). Messages name the field, show the value (escaped and
//! shortened, so a hostile value cannot garble a log or a page) and state
//! the rule.
//!
//! Numbers: JSON has one number type, so a whole number written with a
//! fraction part or exponent (`5.0`, `5e2`) is accepted as that whole
//! number; `5.5` is refused as not whole. Negative, fractional and huge
//! values (`1e300`, `18446744073709551616`) are `out-of-range` with the
//! allowed range in the message. A number too large for any float (`1e400`)
//! is refused by the JSON reader itself, as `malformed-json`.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::duration::{self, DurationError};
use crate::json::{self, SyntaxError};
use crate::scripts::{self, NameError};
use crate::types::{CatalogueEntry, Config, ErrorCode, FieldError, Policy, ScriptKind};

/// Default `max-users`: enough for one machine's load generator; larger
/// runs belong on distributed k6.
const MAX_USERS: u32 = 1_000;
/// Default `max-test-duration-seconds`: 24 h, a full day of soak testing.
const MAX_TEST_DURATION_SECONDS: u32 = 86_400;
/// Default `max-step-seconds`: 25 h, a 24 h test plus an hour of slack for
/// k6's start-up and graceful stop.
const MAX_STEP_SECONDS: u32 = 90_000;
/// Default `max-interval-seconds`: 1 h between two scripts.
const MAX_INTERVAL_SECONDS: u32 = 3_600;
/// Default `max-enabled-scripts`: 50 scripts per suite.
const MAX_ENABLED_SCRIPTS: u32 = 50;
/// Default `max-script-name-bytes`: 255, the usual file-name limit.
const MAX_SCRIPT_NAME_BYTES: u32 = 255;
/// Default `allowed-suffixes`: every suffix the core can run.
const ALLOWED_SUFFIXES: [&str; 2] = [".js", ".sh"];

/// Default `globalUserCount` of a fresh install.
const DEFAULT_USERS: u32 = 5;
/// Default `testDuration` of a fresh install, in seconds.
const DEFAULT_TEST_SECONDS: u32 = 30;
/// Default `rampUpDuration` of a fresh install, in seconds.
const DEFAULT_RAMP_UP_SECONDS: u32 = 5;
/// Default `maxDuration` of a fresh install, in seconds.
const DEFAULT_MAX_DURATION_SECONDS: u32 = 120;
/// Default `intervalBetweenTests` of a fresh install, in seconds.
const DEFAULT_INTERVAL_SECONDS: u32 = 5;
/// Seconds `maxDuration` must leave after `testDuration`. k6 needs time to
/// start, to let the iterations in flight at the end finish and to write
/// its summary; a limit equal to the test's length stops (and fails) every
/// healthy script a moment before its end.
pub const MAX_DURATION_HEADROOM_SECONDS: u32 = 5;

/// JSON name of `global-user-count`.
const USERS: &str = "globalUserCount";
/// JSON name of `test-duration-seconds`.
const TEST_DURATION: &str = "testDuration";
/// JSON name of `ramp-up-seconds`.
const RAMP_UP: &str = "rampUpDuration";
/// JSON name of `max-duration-seconds`.
const MAX_DURATION: &str = "maxDuration";
/// JSON name of `enabled-scripts`.
const ENABLED_SCRIPTS: &str = "enabledScripts";
/// JSON name of `interval-seconds`.
const INTERVAL: &str = "intervalBetweenTests";
/// Every field, in the order of the JSON form and of error reports.
const FIELDS: [&str; 6] = [
    USERS,
    TEST_DURATION,
    RAMP_UP,
    MAX_DURATION,
    ENABLED_SCRIPTS,
    INTERVAL,
];

/// Unknown fields reported one by one; beyond this, one error counts the
/// rest, so a body of junk keys cannot produce a report far larger than
/// itself.
const MAX_REPORTED_UNKNOWN_FIELDS: usize = 20;
/// Characters of a value shown in a message before it is shortened.
const MAX_SHOWN_CHARS: usize = 48;
/// Catalogue names suggested when a script is not in the catalogue.
const MAX_SUGGESTED_SCRIPTS: usize = 5;

/// The limits used when the host sets none (see `config.default-policy` in the WIT).
pub fn default_policy() -> Policy {
    Policy {
        max_users: MAX_USERS,
        max_test_duration_seconds: MAX_TEST_DURATION_SECONDS,
        max_step_seconds: MAX_STEP_SECONDS,
        max_interval_seconds: MAX_INTERVAL_SECONDS,
        max_enabled_scripts: MAX_ENABLED_SCRIPTS,
        max_script_name_bytes: MAX_SCRIPT_NAME_BYTES,
        allowed_suffixes: ALLOWED_SUFFIXES.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// The config a fresh install starts with (see `config.default-config`):
/// every k6 script of `catalogue` enabled in catalogue order, legacy
/// wrappers left out, each value lowered where `policy` is tighter, so that
/// the defaults pass [`validate`] under the same policy.
pub fn default_config(catalogue: &[CatalogueEntry], policy: &Policy) -> Config {
    let test = DEFAULT_TEST_SECONDS
        .min(policy.max_test_duration_seconds)
        .min(
            policy
                .max_step_seconds
                .saturating_sub(MAX_DURATION_HEADROOM_SECONDS),
        )
        .max(1);
    Config {
        global_user_count: DEFAULT_USERS.min(policy.max_users).max(1),
        test_duration_seconds: test,
        ramp_up_seconds: DEFAULT_RAMP_UP_SECONDS.min(test - 1),
        max_duration_seconds: DEFAULT_MAX_DURATION_SECONDS
            .max(test.saturating_add(MAX_DURATION_HEADROOM_SECONDS))
            .min(policy.max_step_seconds),
        enabled_scripts: catalogue
            .iter()
            .filter(|entry| entry.kind == ScriptKind::K6Script)
            .map(|entry| entry.name.clone())
            .take(usize::try_from(policy.max_enabled_scripts).unwrap_or(usize::MAX))
            .collect(),
        interval_seconds: DEFAULT_INTERVAL_SECONDS.min(policy.max_interval_seconds),
    }
}

/// Reads and checks a config; reports every problem at once.
///
/// # Errors
///
/// One [`FieldError`] per broken rule (see the module docs for the order).
/// A body that is not JSON or not an object gets a single error, as there
/// are no fields to check.
pub fn validate(
    raw_json: &str,
    policy: &Policy,
    catalogue: &[CatalogueEntry],
) -> Result<Config, Vec<FieldError>> {
    let document = json::read(raw_json).map_err(|e| vec![malformed_json(&e)])?;
    let Value::Object(object) = &document.value else {
        return Err(vec![FieldError {
            field: String::new(),
            code: ErrorCode::NotAnObject,
            message: format!(
                "the config must be a JSON object of fields such as {{\"{USERS}\": 5, …}}, got {}",
                json_kind(&document.value)
            ),
        }]);
    };
    // Only top-level repeats matter here: a repeat deeper down sits in an
    // object, which no field accepts, so that field's own error covers it.
    let repeated: BTreeSet<&str> = document
        .duplicates
        .iter()
        .filter(|d| d.object.is_empty())
        .map(|d| d.key.as_str())
        .collect();
    let mut check = Checker {
        object,
        repeated,
        policy,
        errors: Vec::new(),
    };

    let users = check
        .field(USERS)
        .and_then(|v| check.whole(USERS, v, 1, policy.max_users, "users", ""));
    let test = check
        .field(TEST_DURATION)
        .and_then(|v| check.test_duration(v));
    let ramp_up_max = policy.max_test_duration_seconds.saturating_sub(1);
    let ramp_up = check
        .field(RAMP_UP)
        .and_then(|v| {
            check.whole(
                RAMP_UP,
                v,
                0,
                ramp_up_max,
                "seconds",
                " (shorter than testDuration)",
            )
        })
        .and_then(|ramp| check.related(test.and_then(|t| ramp_up_error(t, ramp)), ramp));
    let max = check
        .field(MAX_DURATION)
        .and_then(|v| check.whole(MAX_DURATION, v, 1, policy.max_step_seconds, "seconds", ""))
        .and_then(|max| check.related(test.and_then(|t| max_duration_error(t, max)), max));
    let scripts = check
        .field(ENABLED_SCRIPTS)
        .and_then(|v| check.enabled_scripts(v, catalogue));
    let interval = check
        .field(INTERVAL)
        .and_then(|v| check.whole(INTERVAL, v, 0, policy.max_interval_seconds, "seconds", ""));
    check.unknown_fields();

    match (users, test, ramp_up, max, scripts, interval) {
        (Some(users), Some(test), Some(ramp), Some(max), Some(scripts), Some(interval))
            if check.errors.is_empty() =>
        {
            Ok(Config {
                global_user_count: users,
                test_duration_seconds: test,
                ramp_up_seconds: ramp,
                max_duration_seconds: max,
                enabled_scripts: scripts,
                interval_seconds: interval,
            })
        }
        _ => Err(check.errors),
    }
}

/// Canonical JSON text of a config; `validate` reads it back unchanged.
///
/// The text is exactly what `serde_json::to_string_pretty` writes for the
/// fields in order (two-space indent, no trailing newline), with
/// `testDuration` as a duration string. It is written by hand because a
/// serializer returns a `Result` whose error cannot happen here, and this
/// function must not be able to fail or panic.
pub fn to_json(cfg: &Config) -> String {
    let scripts = if cfg.enabled_scripts.is_empty() {
        "[]".to_owned()
    } else {
        let items: Vec<String> = cfg
            .enabled_scripts
            .iter()
            .map(|name| format!("    {}", json_string(name)))
            .collect();
        format!("[\n{}\n  ]", items.join(",\n"))
    };
    format!(
        "{{\n  \"{USERS}\": {},\n  \"{TEST_DURATION}\": {},\n  \"{RAMP_UP}\": {},\n  \"{MAX_DURATION}\": {},\n  \"{ENABLED_SCRIPTS}\": {},\n  \"{INTERVAL}\": {}\n}}",
        cfg.global_user_count,
        json_string(&duration::format(cfg.test_duration_seconds)),
        cfg.ramp_up_seconds,
        cfg.max_duration_seconds,
        scripts,
        cfg.interval_seconds,
    )
}

/// A JSON string literal, escaped the way serde_json escapes.
fn json_string(text: &str) -> String {
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

/// `rampUpDuration` must leave time at full load.
pub(crate) fn ramp_up_error(test: u32, ramp_up: u32) -> Option<FieldError> {
    (ramp_up >= test).then(|| FieldError {
        field: RAMP_UP.to_owned(),
        code: ErrorCode::Inconsistent,
        message: format!(
            "{RAMP_UP} must be shorter than {TEST_DURATION} ({test} s), got {ramp_up} s; \
             the users would never all run"
        ),
    })
}

/// `maxDuration` must leave room for the whole test and
/// [`MAX_DURATION_HEADROOM_SECONDS`] more.
pub(crate) fn max_duration_error(test: u32, max: u32) -> Option<FieldError> {
    let least = test.saturating_add(MAX_DURATION_HEADROOM_SECONDS);
    (max < least).then(|| FieldError {
        field: MAX_DURATION.to_owned(),
        code: ErrorCode::Inconsistent,
        message: format!(
            "{MAX_DURATION} must be at least {TEST_DURATION} ({test} s) + \
             {MAX_DURATION_HEADROOM_SECONDS} s = {least} s, got {max} s; k6 needs that time to \
             start, finish its last iterations and write its summary, or every script would \
             be stopped and fail"
        ),
    })
}

/// Shows a value in a message: in double quotes, with quotes, backslashes,
/// control characters and invisible or look-alike characters escaped (only
/// ASCII and non-ASCII letters and digits appear as themselves), and cut
/// after [`MAX_SHOWN_CHARS`] characters with its full length in bytes.
pub(crate) fn quoted(text: &str) -> String {
    format!("\"{}\"", escaped(text))
}

/// [`quoted`] without the quotes (for a field name).
fn escaped(text: &str) -> String {
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
fn json_kind(value: &Value) -> String {
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

/// The one place a JSON syntax error becomes a [`FieldError`].
fn malformed_json(error: &SyntaxError) -> FieldError {
    FieldError {
        field: String::new(),
        code: ErrorCode::MalformedJson,
        message: format!("the body is not valid JSON: {error}"),
    }
}

/// The one place a duration error becomes a [`FieldError`].
fn bad_duration(text: &str, error: &DurationError) -> FieldError {
    FieldError {
        field: TEST_DURATION.to_owned(),
        code: ErrorCode::BadDuration,
        message: format!("{TEST_DURATION} {} {error}", quoted(text)),
    }
}

/// The one place a script-name error becomes a [`FieldError`].
fn bad_name(field: String, name: &str, error: &NameError) -> FieldError {
    let code = if error.is_suffix() {
        ErrorCode::SuffixNotAllowed
    } else {
        ErrorCode::BadScriptName
    };
    FieldError {
        message: format!("{field} {} {error}", quoted(name)),
        field,
        code,
    }
}

/// Reads the fields of one config object, collecting errors.
struct Checker<'a> {
    object: &'a Map<String, Value>,
    /// Top-level keys that appear more than once.
    repeated: BTreeSet<&'a str>,
    policy: &'a Policy,
    errors: Vec<FieldError>,
}

impl<'a> Checker<'a> {
    /// Records an error.
    fn fail(&mut self, field: impl Into<String>, code: ErrorCode, message: String) {
        self.errors.push(FieldError {
            field: field.into(),
            code,
            message,
        });
    }

    /// The value of a required field, unless it is missing or repeated
    /// (a repeated field is ambiguous, so neither value is checked).
    fn field(&mut self, name: &str) -> Option<&'a Value> {
        if self.repeated.contains(name) {
            self.fail(
                name,
                ErrorCode::DuplicateField,
                format!("{name} appears more than once; give each field once"),
            );
            return None;
        }
        let value = self.object.get(name);
        if value.is_none() {
            let rule = self.rule(name);
            self.fail(
                name,
                ErrorCode::MissingField,
                format!("{name} is missing; it is required: {rule}"),
            );
        }
        value
    }

    /// What a field must hold, for the message about its absence.
    fn rule(&self, name: &str) -> String {
        let policy = self.policy;
        match name {
            USERS => format!("a whole number of users from 1 to {}", policy.max_users),
            TEST_DURATION => format!(
                "a duration such as \"15m\" or \"1h30m\", from 1s to {}",
                duration::format(policy.max_test_duration_seconds)
            ),
            RAMP_UP => {
                format!("a whole number of seconds shorter than {TEST_DURATION} (0 for no ramp-up)")
            }
            MAX_DURATION => format!(
                "a whole number of seconds from {TEST_DURATION} to {}",
                policy.max_step_seconds
            ),
            ENABLED_SCRIPTS => "an array of script names such as [\"smoke.js\"]".to_owned(),
            // INTERVAL, the last of FIELDS.
            _ => format!(
                "a whole number of seconds from 0 to {}",
                policy.max_interval_seconds
            ),
        }
    }

    /// Records `error` if there is one; otherwise passes `value` on.
    fn related(&mut self, error: Option<FieldError>, value: u32) -> Option<u32> {
        match error {
            Some(error) => {
                self.errors.push(error);
                None
            }
            None => Some(value),
        }
    }

    /// A whole number in `min..=max`. `unit` and `note` complete the rule
    /// in the message.
    fn whole(
        &mut self,
        field: &str,
        value: &Value,
        min: u32,
        max: u32,
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

    /// `testDuration`: a duration string from 1 s to the policy's maximum.
    fn test_duration(&mut self, value: &Value) -> Option<u32> {
        let Value::String(text) = value else {
            let hint = value
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(|n| format!("; write \"{}\" for {n} seconds", duration::format(n)))
                .unwrap_or_default();
            self.fail(
                TEST_DURATION,
                ErrorCode::WrongType,
                format!(
                    "{TEST_DURATION} must be a duration string such as \"15m\" or \"1h30m\", got {}{hint}",
                    json_kind(value)
                ),
            );
            return None;
        };
        let seconds = match duration::parse(text) {
            Ok(seconds) => seconds,
            Err(error) => {
                self.errors.push(bad_duration(text, &error));
                return None;
            }
        };
        let max = self.policy.max_test_duration_seconds;
        if (1..=max).contains(&seconds) {
            return Some(seconds);
        }
        self.fail(
            TEST_DURATION,
            ErrorCode::OutOfRange,
            format!(
                "{TEST_DURATION} must be from 1s to {} ({max} s), got {} ({seconds} s)",
                duration::format(max),
                quoted(text)
            ),
        );
        None
    }

    /// `enabledScripts`: allowed, distinct names from the catalogue.
    fn enabled_scripts(
        &mut self,
        value: &Value,
        catalogue: &[CatalogueEntry],
    ) -> Option<Vec<String>> {
        let Value::Array(items) = value else {
            self.fail(
                ENABLED_SCRIPTS,
                ErrorCode::WrongType,
                format!(
                    "{ENABLED_SCRIPTS} must be an array of script names, got {}",
                    json_kind(value)
                ),
            );
            return None;
        };
        let errors_before = self.errors.len();
        let limit = usize::try_from(self.policy.max_enabled_scripts).unwrap_or(usize::MAX);
        if items.len() > limit {
            self.fail(
                ENABLED_SCRIPTS,
                ErrorCode::TooManyScripts,
                format!(
                    "{ENABLED_SCRIPTS} lists {} scripts; the policy allows at most {limit} \
                     (only the first {limit} were checked)",
                    items.len()
                ),
            );
        }
        // Past the limit a list cannot be accepted anyway; checking only
        // the first `limit` items keeps the report in proportion.
        // Every well-formed name with the position it was first listed at,
        // for the duplicate message.
        let mut names: Vec<(usize, String)> = Vec::new();
        for (index, item) in items.iter().enumerate().take(limit) {
            let field = format!("{ENABLED_SCRIPTS}[{index}]");
            let Value::String(name) = item else {
                let message = format!(
                    "{field} must be a script name (a string), got {}",
                    json_kind(item)
                );
                self.fail(field, ErrorCode::WrongType, message);
                continue;
            };
            if let Err(error) = scripts::check_name(name, self.policy) {
                self.errors.push(bad_name(field, name, &error));
                continue;
            }
            if let Some((first, _)) = names.iter().find(|(_, seen)| seen == name) {
                let message = format!(
                    "{field} {} is already enabled at {ENABLED_SCRIPTS}[{first}]; enable each script once",
                    quoted(name)
                );
                self.fail(field, ErrorCode::DuplicateScript, message);
            } else if !catalogue.iter().any(|entry| entry.name == *name) {
                let message = format!(
                    "{field} {} is not in the catalogue of allowlisted scripts; {}",
                    quoted(name),
                    known_scripts(catalogue)
                );
                self.fail(field, ErrorCode::UnknownScript, message);
            }
            names.push((index, name.clone()));
        }
        (self.errors.len() == errors_before)
            .then(|| names.into_iter().map(|(_, name)| name).collect())
    }

    /// Every key that is not a config field, by name, at most
    /// [`MAX_REPORTED_UNKNOWN_FIELDS`] of them one by one.
    fn unknown_fields(&mut self) {
        // Sorted explicitly: the map's own order depends on serde_json's
        // features, and the report order must not.
        let unknown: BTreeSet<&str> = self
            .object
            .keys()
            .map(String::as_str)
            .filter(|key| !FIELDS.contains(key))
            .collect();
        for key in unknown.iter().take(MAX_REPORTED_UNKNOWN_FIELDS) {
            let hint = FIELDS
                .iter()
                .find(|field| normalised(field) == normalised(key))
                .map(|field| format!(" (did you mean {field}?)"))
                .unwrap_or_default();
            self.fail(
                escaped(key),
                ErrorCode::UnknownField,
                format!(
                    "unknown field {}{hint}; the config has only the fields {}",
                    quoted(key),
                    field_list()
                ),
            );
        }
        let rest = unknown.len().saturating_sub(MAX_REPORTED_UNKNOWN_FIELDS);
        if rest > 0 {
            self.fail(
                "",
                ErrorCode::UnknownField,
                format!(
                    "{rest} more unknown fields; the config has only the fields {}",
                    field_list()
                ),
            );
        }
    }
}

/// A field name without case, `_` or `-`, to recognise `global_user_count`
/// or `GlobalUserCount` as `globalUserCount`.
fn normalised(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '_' | '-'))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// "globalUserCount, testDuration, …, and intervalBetweenTests".
fn field_list() -> String {
    let (last, rest) = FIELDS.split_last().unwrap_or((&"", &[]));
    format!("{} and {last}", rest.join(", "))
}

/// A few catalogue names, to help spot a typo.
fn known_scripts(catalogue: &[CatalogueEntry]) -> String {
    if catalogue.is_empty() {
        return "the catalogue is empty".to_owned();
    }
    let shown: Vec<String> = catalogue
        .iter()
        .take(MAX_SUGGESTED_SCRIPTS)
        .map(|entry| entry.name.clone())
        .collect();
    let more = catalogue.len().saturating_sub(MAX_SUGGESTED_SCRIPTS);
    if more > 0 {
        format!("known scripts: {} and {more} more", shown.join(", "))
    } else {
        format!("known scripts: {}", shown.join(", "))
    }
}
