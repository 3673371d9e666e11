//! The entries of `enabledScripts`: a script's name, or an object with the
//! script and the settings it runs with. Each entry is checked on its own
//! (types, ranges, names, `env`, `args`) and against the global fields it
//! inherits from, so that what a step will run is decided here, never found
//! wrong at run time.

use serde_json::Value;

use super::checker::{Checker, Fields};
use super::text::{and_list, json_kind, quoted};
use super::{MAX_DURATION_HEADROOM_SECONDS, RAMP_UP, TEST_DURATION};
use crate::duration;
use crate::json::DuplicateKey;
use crate::scripts::{self, NameError};
use crate::types::{
    CatalogueEntry, Config, ErrorCode, FieldError, LoadMode, ScriptKind, StepSettings, SuiteEntry,
    TestFacts, WrapperArg,
};

/// JSON name of `enabled-scripts`.
pub(crate) const ENABLED_SCRIPTS: &str = "enabledScripts";
/// Every field of an entry object, in the order of the JSON form.
pub const ENTRY_FIELDS: [&str; 9] = [
    "script",
    "users",
    "testDuration",
    "rampUpDuration",
    "maxDuration",
    "iterations",
    "load",
    "env",
    "args",
];
/// Most variables in one entry's `env`.
pub const MAX_ENV_VARS: usize = 64;
/// Longest `env` name, in bytes.
pub const MAX_ENV_NAME_BYTES: usize = 128;
/// Longest `env` value, in bytes.
pub const MAX_ENV_VALUE_BYTES: usize = 4_096;
/// Most positional arguments of a wrapper.
pub const MAX_ARGS: usize = 32;
/// Longest literal wrapper argument, in bytes.
pub const MAX_ARG_BYTES: usize = 256;
/// Catalogue names suggested when a script is not in the catalogue.
const MAX_SUGGESTED_SCRIPTS: usize = 5;

/// Names no entry may set: the runner's own variables (tokens, the run
/// marker), and those that change how the shell, the dynamic linker or
/// k6's usage report behave for everything the step starts.
const RESERVED_ENV_NAMES: [&str; 8] = [
    "PATH",
    "HOME",
    "IFS",
    "ENV",
    "BASH_ENV",
    "SHELLOPTS",
    "BASHOPTS",
    "K6_NO_USAGE_REPORT",
];
/// Prefixes no entry's variable may start with (see [`RESERVED_ENV_NAMES`]).
const RESERVED_ENV_PREFIXES: [&str; 3] = ["K6_RUNNER_", "LD_", "BASH_FUNC_"];

/// The placeholders of a wrapper's arguments, with what they stand for.
const PLACEHOLDERS: [(&str, WrapperArg); 5] = [
    ("{duration}", WrapperArg::Duration),
    ("{users}", WrapperArg::Users),
    ("{rampUp}", WrapperArg::RampUp),
    ("{maxDuration}", WrapperArg::MaxDuration),
    ("{iterations}", WrapperArg::Iterations),
];

/// The arguments of a wrapper whose entry gives none: the positional
/// contract of the original `k6_all.sh`.
pub const DEFAULT_WRAPPER_ARGS: [WrapperArg; 4] = [
    WrapperArg::Duration,
    WrapperArg::Users,
    WrapperArg::RampUp,
    WrapperArg::MaxDuration,
];

/// The global fields an entry inherits from, each `None` if it was itself
/// invalid (then no rule that depends on it is checked, so one mistake is
/// reported once).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Globals {
    pub(crate) test: Option<u32>,
    pub(crate) ramp_up: Option<u32>,
    pub(crate) max: Option<u32>,
}

/// The settings a step of `entry` runs with: the entry's own, the global
/// ones where it has none, and nothing its load mode ignores.
pub fn settings(cfg: &Config, entry: &SuiteEntry, kind: ScriptKind) -> StepSettings {
    let load = match kind {
        ScriptKind::K6Script => entry.load.unwrap_or(LoadMode::Global),
        ScriptKind::LegacyWrapper => LoadMode::Global,
    };
    let max_duration_seconds = entry
        .max_duration_seconds
        .unwrap_or(cfg.max_duration_seconds);
    let env = entry.env.clone();
    if load == LoadMode::Script {
        return StepSettings {
            load,
            users: None,
            test_duration_seconds: None,
            ramp_up_seconds: None,
            iterations: None,
            max_duration_seconds,
            env,
        };
    }
    let shared_iterations = kind == ScriptKind::K6Script && entry.iterations.is_some();
    StepSettings {
        load,
        users: Some(entry.users.unwrap_or(cfg.global_user_count)),
        test_duration_seconds: Some(
            entry
                .test_duration_seconds
                .unwrap_or(cfg.test_duration_seconds),
        ),
        ramp_up_seconds: (!shared_iterations)
            .then(|| entry.ramp_up_seconds.unwrap_or(cfg.ramp_up_seconds)),
        iterations: entry.iterations,
        max_duration_seconds,
        env,
    }
}

/// An entry's wrapper arguments, or the default contract.
pub fn wrapper_args(entry: &SuiteEntry) -> Vec<WrapperArg> {
    entry
        .args
        .clone()
        .unwrap_or_else(|| DEFAULT_WRAPPER_ARGS.to_vec())
}

/// A wrapper argument as written in JSON (`{users}`, or the literal).
pub fn wrapper_arg_text(arg: &WrapperArg) -> &str {
    match arg {
        WrapperArg::Literal(text) => text,
        other => PLACEHOLDERS
            .iter()
            .find(|(_, placeholder)| placeholder == other)
            .map_or("", |(text, _)| text),
    }
}

/// Reads `enabledScripts`: every entry, each checked.
pub(crate) fn enabled_scripts(
    check: &mut Checker<'_>,
    value: &Value,
    catalogue: &[CatalogueEntry],
    duplicates: &[DuplicateKey],
    globals: Globals,
) -> Option<Vec<SuiteEntry>> {
    let Value::Array(items) = value else {
        check.fail(
            ENABLED_SCRIPTS,
            ErrorCode::WrongType,
            format!(
                "{ENABLED_SCRIPTS} must be an array of script names or entries such as \
                 {{\"script\": \"smoke.js\", \"users\": 10}}, got {}",
                json_kind(value)
            ),
        );
        return None;
    };
    let errors_before = check.errors.len();
    let limit = usize::try_from(check.policy.max_enabled_scripts).unwrap_or(usize::MAX);
    if items.len() > limit {
        check.fail(
            ENABLED_SCRIPTS,
            ErrorCode::TooManyScripts,
            format!(
                "{ENABLED_SCRIPTS} lists {} entries; the policy allows at most {limit} \
                 (only the first {limit} were checked)",
                items.len()
            ),
        );
    }
    // Past the limit a list cannot be accepted anyway; checking only the
    // first `limit` items keeps the report in proportion.
    let entries: Vec<Option<SuiteEntry>> = items
        .iter()
        .take(limit)
        .enumerate()
        .map(|(index, item)| {
            let mut reader = EntryReader {
                check: &mut *check,
                catalogue,
                globals,
                prefix: format!("{ENABLED_SCRIPTS}[{index}]"),
            };
            reader.entry(item, duplicates)
        })
        .collect();
    (check.errors.len() == errors_before).then(|| entries.into_iter().flatten().collect())
}

/// Reads one entry at `prefix`.
struct EntryReader<'c, 'p> {
    check: &'c mut Checker<'p>,
    catalogue: &'c [CatalogueEntry],
    globals: Globals,
    prefix: String,
}

impl<'c> EntryReader<'c, '_> {
    fn entry(&mut self, item: &Value, duplicates: &[DuplicateKey]) -> Option<SuiteEntry> {
        match item {
            Value::String(name) => {
                let script = self.script(&self.prefix.clone(), name)?;
                let entry = SuiteEntry {
                    script: name.clone(),
                    users: None,
                    test_duration_seconds: None,
                    ramp_up_seconds: None,
                    max_duration_seconds: None,
                    iterations: None,
                    load: None,
                    env: Vec::new(),
                    args: None,
                };
                let before = self.check.errors.len();
                self.runnable(script, &entry, &entry_fields_absent());
                (self.check.errors.len() == before).then_some(entry)
            }
            Value::Object(object) => {
                let fields = Fields::new(object, self.prefix.clone(), duplicates);
                self.object(&fields)
            }
            other => {
                let field = self.prefix.clone();
                self.check.fail(
                    &field,
                    ErrorCode::WrongType,
                    format!(
                        "{field} must be a script name (a string) or an entry object such as \
                         {{\"script\": \"smoke.js\", \"users\": 10}}, got {}",
                        json_kind(other)
                    ),
                );
                None
            }
        }
    }

    /// The name, checked by the name rules and against the catalogue.
    fn script(&mut self, field: &str, name: &str) -> Option<&'c CatalogueEntry> {
        let catalogue = self.catalogue;
        if let Err(error) = scripts::check_name(name, self.check.policy) {
            self.check
                .errors
                .push(bad_name(field.to_owned(), name, &error));
            return None;
        }
        let found = catalogue.iter().find(|entry| entry.name == *name);
        if found.is_none() {
            self.check.fail(
                field,
                ErrorCode::UnknownScript,
                format!(
                    "{field} {} is not in the catalogue of allowlisted scripts; {}",
                    quoted(name),
                    known_scripts(catalogue)
                ),
            );
        }
        found
    }

    fn object(&mut self, fields: &Fields<'_>) -> Option<SuiteEntry> {
        let before = self.check.errors.len();
        let policy = self.check.policy;
        let (max_users, max_test, max_step, max_iterations) = (
            policy.max_users,
            policy.max_test_duration_seconds,
            policy.max_step_seconds,
            policy.max_iterations,
        );
        let name = self
            .check
            .required(fields, "script", |_| {
                "the script's name, such as \"smoke.js\"".to_owned()
            })
            .and_then(|value| match value {
                Value::String(name) => Some(name.clone()),
                other => {
                    let field = fields.path("script");
                    self.check.fail(
                        &field,
                        ErrorCode::WrongType,
                        format!(
                            "{field} must be a script name (a string), got {}",
                            json_kind(other)
                        ),
                    );
                    None
                }
            });
        let catalogued = name
            .as_deref()
            .and_then(|name| self.script(&fields.path("script"), name));
        let users = self.optional_whole(fields, "users", (1, max_users), "users");
        let test = self.check.optional(fields, TEST_DURATION).map(|v| {
            self.check
                .duration(&fields.path(TEST_DURATION), v, max_test)
        });
        let ramp_up =
            self.optional_whole(fields, RAMP_UP, (0, max_test.saturating_sub(1)), "seconds");
        let max = self.optional_whole(fields, "maxDuration", (1, max_step), "seconds");
        let iterations =
            self.optional_whole(fields, "iterations", (1, max_iterations), "iterations");
        let load = self
            .check
            .optional(fields, "load")
            .map(|value| self.load(&fields.path("load"), value));
        let env = self
            .check
            .optional(fields, "env")
            .map(|value| self.env(&fields.path("env"), value));
        let args = self
            .check
            .optional(fields, "args")
            .map(|value| self.args(&fields.path("args"), value));
        self.check
            .unknown_fields(fields, &ENTRY_FIELDS, "an entry of enabledScripts");
        if self.check.errors.len() != before {
            return None;
        }
        // Every field read; `None` inside means absent, an invalid one
        // returned early above.
        let entry = SuiteEntry {
            script: name?,
            users: users.flatten(),
            test_duration_seconds: test.flatten(),
            ramp_up_seconds: ramp_up.flatten(),
            max_duration_seconds: max.flatten(),
            iterations: iterations.flatten(),
            load: load.flatten(),
            env: env.flatten().unwrap_or_default(),
            args: args.flatten(),
        };
        let catalogued = catalogued?;
        self.consistent(fields, catalogued, &entry);
        if self.check.errors.len() == before {
            self.runnable(catalogued, &entry, fields);
        }
        (self.check.errors.len() == before).then_some(entry)
    }

    /// `Some(None)` when absent, `Some(Some(n))` when valid, `None` when
    /// invalid (the error is recorded).
    fn optional_whole(
        &mut self,
        fields: &Fields<'_>,
        name: &str,
        range: (u32, u32),
        unit: &str,
    ) -> Option<Option<u32>> {
        match self.check.optional(fields, name) {
            None => Some(None),
            Some(value) => self
                .check
                .whole(&fields.path(name), value, range, unit, "")
                .map(Some),
        }
    }

    fn load(&mut self, field: &str, value: &Value) -> Option<LoadMode> {
        match value {
            Value::String(mode) if mode == "global" => Some(LoadMode::Global),
            Value::String(mode) if mode == "script" => Some(LoadMode::Script),
            other => {
                self.check.fail(
                    field,
                    if other.is_string() {
                        ErrorCode::OutOfRange
                    } else {
                        ErrorCode::WrongType
                    },
                    format!(
                        "{field} must be \"global\" (the entry's users and duration) or \
                         \"script\" (the script's own options), got {}",
                        json_kind(other)
                    ),
                );
                None
            }
        }
    }

    fn env(&mut self, field: &str, value: &Value) -> Option<Vec<(String, String)>> {
        let Value::Object(vars) = value else {
            self.check.fail(
                field,
                ErrorCode::WrongType,
                format!(
                    "{field} must be an object of names and string values such as \
                     {{\"TIME_FROM\": \"now-6h\"}}, got {}",
                    json_kind(value)
                ),
            );
            return None;
        };
        let before = self.check.errors.len();
        if vars.len() > MAX_ENV_VARS {
            self.check.fail(
                field,
                ErrorCode::BadEnv,
                format!(
                    "{field} holds {} variables; at most {MAX_ENV_VARS} are allowed",
                    vars.len()
                ),
            );
            return None;
        }
        let mut env = Vec::with_capacity(vars.len());
        for (name, value) in vars {
            let var = format!("{field}.{}", super::text::escaped(name));
            if let Some(problem) = env_name_problem(name) {
                self.check.fail(
                    &var,
                    ErrorCode::BadEnv,
                    format!("{field} name {} {problem}", quoted(name)),
                );
                continue;
            }
            let Value::String(text) = value else {
                self.check.fail(
                    &var,
                    ErrorCode::WrongType,
                    format!("{var} must be a string, got {}", json_kind(value)),
                );
                continue;
            };
            if let Some(problem) = env_value_problem(text) {
                self.check
                    .fail(&var, ErrorCode::BadEnv, format!("{var} {problem}"));
                continue;
            }
            env.push((name.clone(), text.clone()));
        }
        (self.check.errors.len() == before).then_some(env)
    }

    fn args(&mut self, field: &str, value: &Value) -> Option<Vec<WrapperArg>> {
        let Value::Array(items) = value else {
            self.check.fail(
                field,
                ErrorCode::WrongType,
                format!(
                    "{field} must be an array of arguments such as [\"6h\", \"{{users}}\", \
                     \"{{iterations}}\", \"10\"], got {}",
                    json_kind(value)
                ),
            );
            return None;
        };
        if items.len() > MAX_ARGS {
            self.check.fail(
                field,
                ErrorCode::BadArgument,
                format!(
                    "{field} holds {} arguments; at most {MAX_ARGS} are allowed",
                    items.len()
                ),
            );
            return None;
        }
        let before = self.check.errors.len();
        let args: Vec<WrapperArg> = items
            .iter()
            .enumerate()
            .filter_map(|(index, item)| {
                let place = format!("{field}[{index}]");
                let Value::String(text) = item else {
                    self.check.fail(
                        &place,
                        ErrorCode::WrongType,
                        format!("{place} must be a string, got {}", json_kind(item)),
                    );
                    return None;
                };
                match wrapper_arg(text) {
                    Ok(arg) => Some(arg),
                    Err(problem) => {
                        self.check.fail(
                            &place,
                            ErrorCode::BadArgument,
                            format!("{place} {} {problem}", quoted(text)),
                        );
                        None
                    }
                }
            })
            .collect();
        (self.check.errors.len() == before).then_some(args)
    }

    /// The rules between an entry's own fields, its kind and the globals.
    fn consistent(&mut self, fields: &Fields<'_>, script: &CatalogueEntry, entry: &SuiteEntry) {
        let given = |name: &str| fields.has(name);
        let kind = script.kind;
        if kind == ScriptKind::LegacyWrapper && entry.load.is_some() {
            let field = fields.path("load");
            self.check.fail(
                &field,
                ErrorCode::Inconsistent,
                format!(
                    "{field} applies to k6 scripts; a legacy wrapper chooses its own k6 options \
                     (give it its arguments in args)"
                ),
            );
        }
        if kind == ScriptKind::K6Script && entry.args.is_some() {
            let field = fields.path("args");
            self.check.fail(
                &field,
                ErrorCode::BadArgument,
                format!(
                    "{field} applies to legacy wrappers; a k6 script gets its settings from the \
                     entry's fields and variables from env"
                ),
            );
        }
        let script_load = kind == ScriptKind::K6Script && entry.load == Some(LoadMode::Script);
        if script_load {
            for name in ["users", TEST_DURATION, RAMP_UP, "iterations"] {
                if given(name) {
                    let field = fields.path(name);
                    self.check.fail(
                        &field,
                        ErrorCode::Inconsistent,
                        format!(
                            "{field} has no effect with load \"script\": the script's own \
                             options decide its load; remove it, or use load \"global\""
                        ),
                    );
                }
            }
            return;
        }
        let shared_iterations = kind == ScriptKind::K6Script && entry.iterations.is_some();
        if shared_iterations && entry.ramp_up_seconds.is_some_and(|ramp| ramp > 0) {
            let field = fields.path(RAMP_UP);
            self.check.fail(
                &field,
                ErrorCode::Inconsistent,
                format!(
                    "{field} cannot be used with iterations: k6 shares the iterations among all \
                     users from the start and cannot ramp them up"
                ),
            );
        }
        let test = entry.test_duration_seconds.or(self.globals.test);
        let ramp_up = entry.ramp_up_seconds.or(self.globals.ramp_up);
        if !shared_iterations
            && (given(RAMP_UP) || given(TEST_DURATION))
            && let (Some(test), Some(ramp_up)) = (test, ramp_up)
            && ramp_up >= test
        {
            let (field, whose) = if given(RAMP_UP) {
                (fields.path(RAMP_UP), "its")
            } else {
                (fields.path(TEST_DURATION), "the global")
            };
            self.check.fail(
                &field,
                ErrorCode::Inconsistent,
                format!(
                    "{field}: {whose} {RAMP_UP} ({ramp_up} s) must be shorter than the entry's \
                     {TEST_DURATION} ({test} s); the users would never all run (give the entry \
                     its own {RAMP_UP})"
                ),
            );
        }
        let max = entry.max_duration_seconds.or(self.globals.max);
        let least = test.map(|test| test.saturating_add(MAX_DURATION_HEADROOM_SECONDS));
        if (given("maxDuration") || given(TEST_DURATION))
            && let (Some(test), Some(max), Some(least)) = (test, max, least)
            && max < least
        {
            let field = if given("maxDuration") {
                fields.path("maxDuration")
            } else {
                fields.path(TEST_DURATION)
            };
            self.check.fail(
                &field,
                ErrorCode::Inconsistent,
                format!(
                    "{field}: the entry's maxDuration ({max} s) must be at least its \
                     {TEST_DURATION} ({test} s) + {MAX_DURATION_HEADROOM_SECONDS} s = {least} s \
                     (give the entry its own maxDuration)"
                ),
            );
        }
        if kind == ScriptKind::LegacyWrapper {
            self.wrapper_placeholders(fields, entry);
        }
    }

    /// `{iterations}` needs `iterations`, and `iterations` needs a place.
    fn wrapper_placeholders(&mut self, fields: &Fields<'_>, entry: &SuiteEntry) {
        let args = wrapper_args(entry);
        let uses_iterations = args.contains(&WrapperArg::Iterations);
        if uses_iterations && entry.iterations.is_none() {
            let index = args
                .iter()
                .position(|arg| *arg == WrapperArg::Iterations)
                .unwrap_or(0);
            let field = format!("{}[{index}]", fields.path("args"));
            self.check.fail(
                &field,
                ErrorCode::BadArgument,
                format!("{field} is {{iterations}}, but the entry sets no iterations"),
            );
        }
        if entry.iterations.is_some() && !uses_iterations {
            let field = fields.path("iterations");
            self.check.fail(
                &field,
                ErrorCode::Inconsistent,
                format!(
                    "{field} is not used: the wrapper's arguments ({}) have no {{iterations}}",
                    args.iter()
                        .map(wrapper_arg_text)
                        .collect::<Vec<_>>()
                        .join(" ")
                ),
            );
        }
    }

    /// Whether k6 can run the script the way the entry asks, from what it
    /// said when the host inspected it.
    fn runnable(&mut self, script: &CatalogueEntry, entry: &SuiteEntry, fields: &Fields<'_>) {
        let Some(facts) = &script.test else { return };
        let name = quoted(&script.name);
        match entry.load.unwrap_or(LoadMode::Global) {
            LoadMode::Global => {
                let Err(reason) = &facts.global_load else {
                    return;
                };
                let field = self.prefix.clone();
                let advice = global_load_advice(facts);
                self.check.fail(
                    &field,
                    ErrorCode::NotRunnable,
                    format!("{field} {name} cannot run under the global load: {reason}; {advice}"),
                );
            }
            LoadMode::Script => {
                let Err(reason) = &facts.own_load else { return };
                let field = fields.path("load");
                self.check.fail(
                    &field,
                    ErrorCode::NotRunnable,
                    format!("{field}: {name} cannot run with its own options: {reason}"),
                );
            }
        }
    }
}

/// What to do about a script that cannot run under the global load.
fn global_load_advice(facts: &TestFacts) -> String {
    match &facts.own_load {
        Ok(own) if !own.scenarios.is_empty() => {
            let names: Vec<&str> = own.scenarios.iter().map(|s| s.name.as_str()).collect();
            format!(
                "it runs its own scenarios ({}); enable it as {{\"script\": …, \"load\": \"script\"}}",
                and_list(&names)
            )
        }
        Ok(_) => "enable it with \"load\": \"script\" to run its own options".to_owned(),
        Err(_) => "it is not a test k6 can run (a helper module imported by tests?)".to_owned(),
    }
}

/// An empty set of fields, for a name-only entry (no field was given).
fn entry_fields_absent() -> Fields<'static> {
    static EMPTY: std::sync::OnceLock<serde_json::Map<String, Value>> = std::sync::OnceLock::new();
    Fields::new(EMPTY.get_or_init(serde_json::Map::new), String::new(), &[])
}

/// Why `name` cannot be an `env` name, if it cannot.
fn env_name_problem(name: &str) -> Option<String> {
    let valid = name
        .bytes()
        .enumerate()
        .all(|(i, b)| b == b'_' || b.is_ascii_alphabetic() || (i > 0 && b.is_ascii_digit()));
    if name.is_empty() || !valid {
        return Some(
            "is not a variable name: it must match [A-Za-z_][A-Za-z0-9_]* (k6 refuses others)"
                .to_owned(),
        );
    }
    if name.len() > MAX_ENV_NAME_BYTES {
        return Some(format!(
            "is {} bytes long; at most {MAX_ENV_NAME_BYTES} are allowed",
            name.len()
        ));
    }
    if RESERVED_ENV_NAMES.contains(&name) {
        return Some("is reserved: the runner sets it for every step".to_owned());
    }
    if let Some(prefix) = RESERVED_ENV_PREFIXES.iter().find(|p| name.starts_with(*p)) {
        return Some(format!(
            "is reserved: names starting with {prefix} belong to the runner, the shell or the \
             dynamic linker"
        ));
    }
    None
}

/// Why `value` cannot be an `env` value, if it cannot.
fn env_value_problem(value: &str) -> Option<String> {
    if value.len() > MAX_ENV_VALUE_BYTES {
        return Some(format!(
            "is {} bytes long; at most {MAX_ENV_VALUE_BYTES} are allowed",
            value.len()
        ));
    }
    value
        .chars()
        .find(|c| c.is_control() && *c != '\t')
        .map(|c| format!("contains a control character (U+{:04X})", u32::from(c)))
}

/// A wrapper argument from its JSON text.
fn wrapper_arg(text: &str) -> Result<WrapperArg, String> {
    if let Some((_, arg)) = PLACEHOLDERS.iter().find(|(name, _)| *name == text) {
        return Ok(arg.clone());
    }
    if text.starts_with('{') || text.ends_with('}') {
        let known: Vec<&str> = PLACEHOLDERS.iter().map(|(name, _)| *name).collect();
        return Err(format!(
            "is not a placeholder; the placeholders are {}",
            and_list(&known)
        ));
    }
    if text.is_empty() {
        return Err("is empty; an argument must have 1 to 256 characters".to_owned());
    }
    if text.len() > MAX_ARG_BYTES {
        return Err(format!(
            "is {} bytes long; at most {MAX_ARG_BYTES} are allowed",
            text.len()
        ));
    }
    match text
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._,:=+/@%-".contains(*c)))
    {
        Some(c) => Err(format!(
            "contains {}; a literal may hold only ASCII letters, digits and . _ , : = + / @ % -",
            quoted(&c.to_string())
        )),
        None => Ok(WrapperArg::Literal(text.to_owned())),
    }
}

/// The one place a script-name error becomes a [`FieldError`].
pub(crate) fn bad_name(field: String, name: &str, error: &NameError) -> FieldError {
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

/// Whether an entry says nothing but its script's name.
pub fn is_plain(entry: &SuiteEntry) -> bool {
    entry.users.is_none()
        && entry.test_duration_seconds.is_none()
        && entry.ramp_up_seconds.is_none()
        && entry.max_duration_seconds.is_none()
        && entry.iterations.is_none()
        && entry.load.is_none()
        && entry.env.is_empty()
        && entry.args.is_none()
}

/// The entry as canonical JSON (its name alone when it has no settings).
pub(crate) fn to_json(entry: &SuiteEntry) -> String {
    use super::text::json_string;
    if is_plain(entry) {
        return json_string(&entry.script);
    }
    let mut parts = vec![format!("\"script\": {}", json_string(&entry.script))];
    if let Some(users) = entry.users {
        parts.push(format!("\"users\": {users}"));
    }
    if let Some(test) = entry.test_duration_seconds {
        parts.push(format!(
            "\"{TEST_DURATION}\": {}",
            json_string(&duration::format(test))
        ));
    }
    if let Some(ramp) = entry.ramp_up_seconds {
        parts.push(format!("\"{RAMP_UP}\": {ramp}"));
    }
    if let Some(max) = entry.max_duration_seconds {
        parts.push(format!("\"maxDuration\": {max}"));
    }
    if let Some(iterations) = entry.iterations {
        parts.push(format!("\"iterations\": {iterations}"));
    }
    if let Some(load) = entry.load {
        let mode = match load {
            LoadMode::Global => "global",
            LoadMode::Script => "script",
        };
        parts.push(format!("\"load\": \"{mode}\""));
    }
    if !entry.env.is_empty() {
        let vars: Vec<String> = entry
            .env
            .iter()
            .map(|(name, value)| format!("{}: {}", json_string(name), json_string(value)))
            .collect();
        parts.push(format!("\"env\": {{{}}}", vars.join(", ")));
    }
    if let Some(args) = &entry.args {
        let args: Vec<String> = args
            .iter()
            .map(|arg| json_string(wrapper_arg_text(arg)))
            .collect();
        parts.push(format!("\"args\": [{}]", args.join(", ")));
    }
    format!("{{{}}}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_follow_k6_and_keep_off_reserved_ones() {
        for ok in ["TIME_FROM", "_x", "a1"] {
            assert_eq!(env_name_problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            "1A",
            "A-B",
            "A.B",
            "Ä",
            "PATH",
            "K6_RUNNER_TOKENS",
            "LD_PRELOAD",
        ] {
            assert!(env_name_problem(bad).is_some(), "{bad}");
        }
        assert!(env_value_problem("a b\tc=d").is_none());
        assert!(env_value_problem("line\nbreak").is_some());
    }

    #[test]
    fn wrapper_args_are_placeholders_or_safe_literals() {
        assert_eq!(wrapper_arg("{users}"), Ok(WrapperArg::Users));
        assert_eq!(wrapper_arg("6h"), Ok(WrapperArg::Literal("6h".into())));
        assert_eq!(
            wrapper_arg("now-6h"),
            Ok(WrapperArg::Literal("now-6h".into()))
        );
        for bad in ["{user}", "", "a b", "$(id)", "a;b", "`x`", "é"] {
            assert!(wrapper_arg(bad).is_err(), "{bad:?}");
        }
        for arg in DEFAULT_WRAPPER_ARGS {
            assert_eq!(wrapper_arg(wrapper_arg_text(&arg)), Ok(arg.clone()));
        }
    }
}
