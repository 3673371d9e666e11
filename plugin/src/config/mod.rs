//! Config defaults, the default policy, validation and canonical JSON.
//!
//! [`validate`] is the one gate every operator-typed value passes. It never
//! stops at the first problem: it reads every field and reports each broken
//! rule as a [`FieldError`], in a stable order (the fields in the order of
//! the JSON form — `globalUserCount`, `testDuration`, `rampUpDuration`,
//! `maxDuration`, `enabledScripts` with each entry's own fields in their
//! order, `intervalBetweenTests`, `regressionBudgets` — then unknown fields
//! by name). Messages
//! name the field (`enabledScripts[2].users`), show the value (escaped and
//! shortened, so a hostile value cannot garble a log or a page) and state
//! the rule.
//!
//! # Layout
//!
//! - `budgets`: the regression budgets;
//! - `checker`: reading an object's fields and collecting errors;
//! - `entry`: the entries of `enabledScripts` and the settings a step
//!   inherits from the global fields;
//! - `text`: how values appear in messages.
//!
//! Numbers: JSON has one number type, so a whole number written with a
//! fraction part or exponent (`5.0`, `5e2`) is accepted as that whole
//! number; `5.5` is refused as not whole. Negative, fractional and huge
//! values (`1e300`, `18446744073709551616`) are `out-of-range` with the
//! allowed range in the message. A number too large for any float (`1e400`)
//! is refused by the JSON reader itself, as `malformed-json`.

mod budgets;
mod checker;
mod entry;
mod text;

use serde_json::Value;

use crate::duration;
use crate::json::{self, SyntaxError};
use crate::types::{CatalogueEntry, Config, Defaults, ErrorCode, FieldError, Policy, ScriptKind};
pub use budgets::{BUDGET_FIELDS, REGRESSION_BUDGETS, default_budgets};
use checker::{Checker, Fields};
pub(crate) use entry::ENABLED_SCRIPTS;
pub use entry::{
    DEFAULT_WRAPPER_ARGS, ENTRY_FIELDS, MAX_ARG_BYTES, MAX_ARGS, MAX_ENV_NAME_BYTES,
    MAX_ENV_VALUE_BYTES, MAX_ENV_VARS, is_plain, settings, wrapper_arg_text, wrapper_args,
};
pub(crate) use text::quoted;

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
const ALLOWED_SUFFIXES: [&str; 4] = [".js", ".mjs", ".ts", ".sh"];
/// Default `max-iterations`: a million shared iterations per entry.
const MAX_ITERATIONS: u32 = 1_000_000;

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
/// JSON name of `test-duration-seconds` (also an entry's field).
const TEST_DURATION: &str = "testDuration";
/// JSON name of `ramp-up-seconds` (also an entry's field).
const RAMP_UP: &str = "rampUpDuration";
/// JSON name of `max-duration-seconds`.
const MAX_DURATION: &str = "maxDuration";
/// JSON name of `interval-seconds`.
const INTERVAL: &str = "intervalBetweenTests";
/// Every field of the config, in the order of the JSON form and of error
/// reports.
pub const FIELDS: [&str; 7] = [
    USERS,
    TEST_DURATION,
    RAMP_UP,
    MAX_DURATION,
    ENABLED_SCRIPTS,
    INTERVAL,
    REGRESSION_BUDGETS,
];

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
        max_iterations: MAX_ITERATIONS,
    }
}

/// The config a fresh install starts with (see `config.default-config`):
/// every k6 script of `catalogue` that runs under the global load enabled
/// in catalogue order (legacy wrappers, helper modules and scripts of their
/// own scenarios left out), each value lowered where `policy` is tighter,
/// so that the defaults pass [`validate`] under the same policy.
pub fn default_config(catalogue: &[CatalogueEntry], policy: &Policy) -> Defaults {
    let test = DEFAULT_TEST_SECONDS
        .min(policy.max_test_duration_seconds)
        .min(
            policy
                .max_step_seconds
                .saturating_sub(MAX_DURATION_HEADROOM_SECONDS),
        )
        .max(1);
    let limit = usize::try_from(policy.max_enabled_scripts).unwrap_or(usize::MAX);
    let runnable: Vec<&CatalogueEntry> = catalogue
        .iter()
        .filter(|entry| {
            entry.kind == ScriptKind::K6Script
                && entry
                    .test
                    .as_ref()
                    .is_none_or(|facts| facts.global_load.is_ok())
        })
        .collect();
    let (enabled, left_out) = runnable.split_at(runnable.len().min(limit));
    Defaults {
        config: Config {
            global_user_count: DEFAULT_USERS.min(policy.max_users).max(1),
            test_duration_seconds: test,
            ramp_up_seconds: DEFAULT_RAMP_UP_SECONDS.min(test - 1),
            max_duration_seconds: DEFAULT_MAX_DURATION_SECONDS
                .max(test.saturating_add(MAX_DURATION_HEADROOM_SECONDS))
                .min(policy.max_step_seconds),
            enabled_scripts: enabled
                .iter()
                .map(|entry| crate::types::SuiteEntry {
                    script: entry.name.clone(),
                    users: None,
                    test_duration_seconds: None,
                    ramp_up_seconds: None,
                    max_duration_seconds: None,
                    iterations: None,
                    load: None,
                    env: Vec::new(),
                    args: None,
                })
                .collect(),
            interval_seconds: DEFAULT_INTERVAL_SECONDS.min(policy.max_interval_seconds),
            regression_budgets: None,
        },
        left_out: left_out.iter().map(|entry| entry.name.clone()).collect(),
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
                text::json_kind(&document.value)
            ),
        }]);
    };
    let fields = Fields::new(object, String::new(), &document.duplicates);
    let mut check = Checker::new(policy);

    let users = check
        .required(&fields, USERS, rule(USERS))
        .and_then(|v| check.whole(USERS, v, (1, policy.max_users), "users", ""));
    let test = check
        .required(&fields, TEST_DURATION, rule(TEST_DURATION))
        .and_then(|v| check.duration(TEST_DURATION, v, policy.max_test_duration_seconds));
    let ramp_up_max = policy.max_test_duration_seconds.saturating_sub(1);
    let ramp_up = check
        .required(&fields, RAMP_UP, rule(RAMP_UP))
        .and_then(|v| {
            check.whole(
                RAMP_UP,
                v,
                (0, ramp_up_max),
                "seconds",
                " (shorter than testDuration)",
            )
        })
        .and_then(|ramp| check.related(test.and_then(|t| ramp_up_error(t, ramp)), ramp));
    let max = check
        .required(&fields, MAX_DURATION, rule(MAX_DURATION))
        .and_then(|v| check.whole(MAX_DURATION, v, (1, policy.max_step_seconds), "seconds", ""))
        .and_then(|max| check.related(test.and_then(|t| max_duration_error(t, max)), max));
    let globals = entry::Globals { test, ramp_up, max };
    let scripts = check
        .required(&fields, ENABLED_SCRIPTS, rule(ENABLED_SCRIPTS))
        .and_then(|v| {
            entry::enabled_scripts(&mut check, v, catalogue, &document.duplicates, globals)
        });
    let interval = check
        .required(&fields, INTERVAL, rule(INTERVAL))
        .and_then(|v| check.whole(INTERVAL, v, (0, policy.max_interval_seconds), "seconds", ""));
    // Optional: absent means the defaults; `Some(None)` marks a bad one.
    let budgets = check
        .optional(&fields, REGRESSION_BUDGETS)
        .map(|v| budgets::budgets(&mut check, v, &document.duplicates));
    check.unknown_fields(&fields, &FIELDS, "the config");

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
                regression_budgets: budgets.flatten(),
            })
        }
        _ => Err(check.errors),
    }
}

/// What a required field must hold, for the message about its absence.
fn rule(name: &'static str) -> impl FnOnce(&Policy) -> String {
    move |policy| {
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
            "a whole number of seconds from {TEST_DURATION} + {MAX_DURATION_HEADROOM_SECONDS} to {}",
            policy.max_step_seconds
        ),
        ENABLED_SCRIPTS => {
            "an array of script names or entries, such as [\"smoke.js\", {\"script\": \"smoke.js\", \"users\": 50}]"
                .to_owned()
        }
        // INTERVAL, the last of FIELDS.
        _ => format!(
            "a whole number of seconds from 0 to {}",
            policy.max_interval_seconds
        ),
    }
    }
}

/// Canonical JSON text of a config; `validate` reads it back unchanged.
///
/// Two-space indent, fields in the order of [`FIELDS`], no trailing
/// newline, `testDuration` as a duration string, one entry of
/// `enabledScripts` per line: its name when it has no settings, otherwise
/// an object on one line with its fields in the order of [`ENTRY_FIELDS`];
/// `regressionBudgets` only when the config has them, on one line.
/// It is written by hand because a serializer returns a `Result` whose
/// error cannot happen here, and this function must not be able to fail
/// or panic.
pub fn to_json(cfg: &Config) -> String {
    let scripts = if cfg.enabled_scripts.is_empty() {
        "[]".to_owned()
    } else {
        let items: Vec<String> = cfg
            .enabled_scripts
            .iter()
            .map(|entry| format!("    {}", entry::to_json(entry)))
            .collect();
        format!("[\n{}\n  ]", items.join(",\n"))
    };
    let budgets = cfg
        .regression_budgets
        .as_ref()
        .map(|b| format!(",\n  \"{REGRESSION_BUDGETS}\": {}", budgets::to_json(b)))
        .unwrap_or_default();
    format!(
        "{{\n  \"{USERS}\": {},\n  \"{TEST_DURATION}\": {},\n  \"{RAMP_UP}\": {},\n  \"{MAX_DURATION}\": {},\n  \"{ENABLED_SCRIPTS}\": {},\n  \"{INTERVAL}\": {}{budgets}\n}}",
        cfg.global_user_count,
        text::json_string(&duration::format(cfg.test_duration_seconds)),
        cfg.ramp_up_seconds,
        cfg.max_duration_seconds,
        scripts,
        cfg.interval_seconds,
    )
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

/// The one place a JSON syntax error becomes a [`FieldError`].
fn malformed_json(error: &SyntaxError) -> FieldError {
    FieldError {
        field: String::new(),
        code: ErrorCode::MalformedJson,
        message: format!("the body is not valid JSON: {error}"),
    }
}
