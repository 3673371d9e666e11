//! The closed sets the runner shares with the core's contract, as serde
//! enums with their JSON names, each converted from the generated contract
//! type by one `From`. A test walks every case of the WIT, so a case added
//! there cannot be missed here.

use serde::{Deserialize, Serialize};

use crate::contract;

/// How a script runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum ScriptKind {
    /// A k6 script (`.js`, `.mjs`, `.ts`), run with `k6 run`.
    #[serde(rename = "k6")]
    K6Script,
    /// A legacy wrapper (`.sh`), run with `bash`.
    #[serde(rename = "legacy")]
    LegacyWrapper,
}

impl From<contract::ScriptKind> for ScriptKind {
    fn from(kind: contract::ScriptKind) -> Self {
        match kind {
            contract::ScriptKind::K6Script => Self::K6Script,
            contract::ScriptKind::LegacyWrapper => Self::LegacyWrapper,
        }
    }
}

/// Whose load options a k6 step runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum LoadMode {
    /// The entry's users and duration replace the script's own options.
    Global,
    /// The script's own options (stages, scenarios) apply.
    Script,
}

impl From<contract::LoadMode> for LoadMode {
    fn from(mode: contract::LoadMode) -> Self {
        match mode {
            contract::LoadMode::Global => Self::Global,
            contract::LoadMode::Script => Self::Script,
        }
    }
}

/// k6's metric types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum MetricKind {
    /// A sum.
    Counter,
    /// A last value.
    Gauge,
    /// A share of true samples.
    Rate,
    /// Statistics of samples.
    Trend,
}

impl From<contract::MetricKind> for MetricKind {
    fn from(kind: contract::MetricKind) -> Self {
        match kind {
            contract::MetricKind::Counter => Self::Counter,
            contract::MetricKind::Gauge => Self::Gauge,
            contract::MetricKind::Rate => Self::Rate,
            contract::MetricKind::Trend => Self::Trend,
        }
    }
}

/// What a metric's values measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ValueKind {
    /// Milliseconds.
    Time,
    /// Bytes.
    Data,
    /// Plain numbers.
    Plain,
}

impl From<contract::ValueKind> for ValueKind {
    fn from(kind: contract::ValueKind) -> Self {
        match kind {
            contract::ValueKind::Time => Self::Time,
            contract::ValueKind::Data => Self::Data,
            contract::ValueKind::Plain => Self::Plain,
        }
    }
}

/// Why a config was refused: the WIT's `error-code`, kebab-case as there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorCode {
    /// Not JSON.
    MalformedJson,
    /// Not an object.
    NotAnObject,
    /// A field the config does not have.
    UnknownField,
    /// A field given twice.
    DuplicateField,
    /// A required field is absent.
    MissingField,
    /// The wrong JSON type.
    WrongType,
    /// Out of range or not whole.
    OutOfRange,
    /// Not a duration string.
    BadDuration,
    /// A refused script name.
    BadScriptName,
    /// A suffix the policy does not allow.
    SuffixNotAllowed,
    /// More entries than the policy allows.
    TooManyScripts,
    /// Not in the catalogue.
    UnknownScript,
    /// Fields that contradict each other.
    Inconsistent,
    /// Nothing enabled.
    NothingEnabled,
    /// k6 cannot run the script the way the entry asks.
    NotRunnable,
    /// A bad `env` name or value.
    BadEnv,
    /// A bad wrapper argument (or export setting).
    BadArgument,
    /// The entry cannot run on k6-operator (a legacy wrapper).
    NotExportable,
    /// Larger than its target holds (a ConfigMap's 1 MiB).
    TooLarge,
    /// Not a cron pattern (a schedule's `cron`; the runner's own, not the
    /// core's).
    BadCron,
    /// Not an IANA time zone name (a schedule's `timezone`; the runner's
    /// own).
    UnknownTimeZone,
}

impl From<contract::ErrorCode> for ErrorCode {
    fn from(code: contract::ErrorCode) -> Self {
        use contract::ErrorCode as C;
        match code {
            C::MalformedJson => Self::MalformedJson,
            C::NotAnObject => Self::NotAnObject,
            C::UnknownField => Self::UnknownField,
            C::DuplicateField => Self::DuplicateField,
            C::MissingField => Self::MissingField,
            C::WrongType => Self::WrongType,
            C::OutOfRange => Self::OutOfRange,
            C::BadDuration => Self::BadDuration,
            C::BadScriptName => Self::BadScriptName,
            C::SuffixNotAllowed => Self::SuffixNotAllowed,
            C::TooManyScripts => Self::TooManyScripts,
            C::UnknownScript => Self::UnknownScript,
            C::Inconsistent => Self::Inconsistent,
            C::NothingEnabled => Self::NothingEnabled,
            C::NotRunnable => Self::NotRunnable,
            C::BadEnv => Self::BadEnv,
            C::BadArgument => Self::BadArgument,
            C::NotExportable => Self::NotExportable,
            C::TooLarge => Self::TooLarge,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    /// The code's JSON name (`out-of-range`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(name)) => f.write_str(&name),
            _ => write!(f, "{self:?}"),
        }
    }
}

/// A field error as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FieldErrorBody {
    /// The JSON field (`enabledScripts[2].users`).
    pub field: String,
    /// The rule.
    pub code: ErrorCode,
    /// The sentence for the operator.
    pub message: String,
}

impl From<contract::FieldError> for FieldErrorBody {
    fn from(e: contract::FieldError) -> Self {
        Self {
            field: e.field,
            code: e.code.into(),
            message: e.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cases of a WIT `enum`, in order, read from the contract file.
    fn wit_cases(name: &str) -> Vec<String> {
        let text = include_str!("../../../wit/v0.2.0/types.wit");
        let start = text
            .find(&format!("enum {name} {{"))
            .unwrap_or_else(|| panic!("enum {name} in types.wit"));
        text[start..]
            .lines()
            .skip(1)
            .map(str::trim)
            .take_while(|line| *line != "}")
            .filter(|line| !line.is_empty() && !line.starts_with("///"))
            .map(|line| line.trim_end_matches(',').to_owned())
            .collect()
    }

    /// Every WIT case has its model case, under the WIT's own name where
    /// the API uses it (error codes), and no two share a JSON name.
    #[test]
    fn every_wit_case_converts() {
        use contract::ErrorCode as C;
        let codes = [
            C::MalformedJson,
            C::NotAnObject,
            C::UnknownField,
            C::DuplicateField,
            C::MissingField,
            C::WrongType,
            C::OutOfRange,
            C::BadDuration,
            C::BadScriptName,
            C::SuffixNotAllowed,
            C::TooManyScripts,
            C::UnknownScript,
            C::Inconsistent,
            C::NothingEnabled,
            C::NotRunnable,
            C::BadEnv,
            C::BadArgument,
            C::NotExportable,
            C::TooLarge,
        ];
        let names: Vec<String> = codes
            .into_iter()
            .map(|code| {
                serde_json::to_value(ErrorCode::from(code))
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(names, wit_cases("error-code"));

        let kinds = [
            contract::ScriptKind::K6Script,
            contract::ScriptKind::LegacyWrapper,
        ];
        assert_eq!(kinds.len(), wit_cases("script-kind").len());
        let kind_names: Vec<_> = kinds
            .into_iter()
            .map(|k| serde_json::to_value(ScriptKind::from(k)).unwrap())
            .collect();
        assert_eq!(
            kind_names,
            [serde_json::json!("k6"), serde_json::json!("legacy")]
        );

        let loads = [contract::LoadMode::Global, contract::LoadMode::Script];
        let load_names: Vec<String> = loads
            .into_iter()
            .map(|l| {
                serde_json::to_value(LoadMode::from(l))
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(load_names, wit_cases("load-mode"));

        let metric_kinds = [
            contract::MetricKind::Counter,
            contract::MetricKind::Gauge,
            contract::MetricKind::Rate,
            contract::MetricKind::Trend,
        ];
        let metric_names: Vec<String> = metric_kinds
            .into_iter()
            .map(|k| {
                serde_json::to_value(MetricKind::from(k))
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(metric_names, wit_cases("metric-kind"));

        let values = [
            contract::ValueKind::Time,
            contract::ValueKind::Data,
            contract::ValueKind::Plain,
        ];
        let value_names: Vec<String> = values
            .into_iter()
            .map(|k| {
                serde_json::to_value(ValueKind::from(k))
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(value_names, wit_cases("value-kind"));
    }
}
