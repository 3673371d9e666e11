//! What k6 itself says about a script, read from the answers to the
//! host's three calls (`config.k6-inspection` in the WIT):
//!
//! - `k6 archive`: k6 validates the script's options as `k6 run` does, so
//!   its success means the script runs as written (`load: script`); its
//!   `metadata.json` holds the options k6 resolved, scenarios included.
//! - `k6 inspect --execution-requirements`: the same options plus
//!   `totalDuration` and `maxVUs`. k6 1.1 refuses some scripts here that it
//!   runs (`iterations` without `vus`), so this call only adds numbers.
//! - the same with `K6_VUS=1 K6_DURATION=1s` in the environment: k6's
//!   environment level replaces the script's own load options the way the
//!   runner's `--vus`/`--duration` do, so its success means the script runs
//!   under the global load (it has a `default` function).
//!
//! A helper module fails all three (no `default` function, or no exported
//! function at all), so it is told apart from a test by k6's own rules,
//! not by a guess from its text.

use serde_json::{Map, Value};

use crate::types::{K6Inspection, K6Probe, OwnLoad, ScenarioFacts, TestFacts};

/// The load options that make k6 derive a `default` scenario; a script
/// that sets one of them defines no scenarios of its own.
const SHORTCUT_OPTIONS: [&str; 4] = ["vus", "duration", "iterations", "stages"];
/// Most scenarios read from one script.
const MAX_SCENARIOS: usize = 100;
/// Longest scenario or executor name kept, in bytes.
const MAX_NAME_BYTES: usize = 128;
/// Longest k6 message kept in a reason, in bytes.
const MAX_REASON_BYTES: usize = 1_024;

/// The facts the core reads from an inspection.
pub fn facts(inspection: &K6Inspection) -> TestFacts {
    TestFacts {
        global_load: outcome(&inspection.under_global_load).map(drop),
        own_load: outcome(&inspection.archive).map(|metadata| {
            let requirements = outcome(&inspection.requirements).ok();
            own_load(
                metadata.as_ref(),
                requirements.as_ref().and_then(Option::as_ref),
            )
        }),
    }
}

/// The probe's document as JSON if k6 succeeded; k6's reason otherwise.
fn outcome(probe: &K6Probe) -> Result<Option<Map<String, Value>>, String> {
    match probe.exit_code {
        Some(0) => Ok(match serde_json::from_str::<Value>(&probe.document) {
            Ok(Value::Object(object)) => Some(object),
            _ => None,
        }),
        code => Err(reason(code, &probe.error)),
    }
}

/// "k6 says: <message> (exit 104)": the message of k6's error line (the
/// host passes the line as k6 printed it), on one line.
fn reason(code: Option<i32>, error: &str) -> String {
    let line = error.trim();
    let message = crate::logs::log_message(line).unwrap_or_else(|| line.to_owned());
    let message = message
        .split(['\n', '\t'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let message = cut(message.trim(), MAX_REASON_BYTES);
    let exit = match code {
        Some(code) => format!("exit {code}"),
        None => "k6 was stopped before it answered".to_owned(),
    };
    if message.is_empty() {
        format!("k6 refused it ({exit})")
    } else {
        format!("k6 says: {message} ({exit})")
    }
}

/// The script's own load: its scenarios from the archive's options, its
/// VUs and duration from the execution requirements when k6 gave them.
fn own_load(
    metadata: Option<&Map<String, Value>>,
    requirements: Option<&Map<String, Value>>,
) -> OwnLoad {
    let options = metadata
        .and_then(|m| m.get("options"))
        .and_then(Value::as_object)
        .or(requirements);
    let scenarios = options.map(own_scenarios).unwrap_or_default();
    let max_vus = requirements
        .and_then(|r| r.get("maxVUs"))
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(0);
    let total_duration_seconds = requirements
        .and_then(|r| r.get("totalDuration"))
        .and_then(Value::as_str)
        .and_then(go_duration_seconds);
    OwnLoad {
        scenarios,
        max_vus,
        total_duration_seconds,
    }
}

/// The scenarios a script defines itself: none when it sets a shortcut
/// option (k6 derives `default` from it) or none at all.
fn own_scenarios(options: &Map<String, Value>) -> Vec<ScenarioFacts> {
    let shortcut = SHORTCUT_OPTIONS
        .iter()
        .any(|name| options.get(*name).is_some_and(|v| !v.is_null()));
    let Some(scenarios) = options.get("scenarios").and_then(Value::as_object) else {
        return Vec::new();
    };
    if shortcut {
        return Vec::new();
    }
    // serde_json's map is sorted by key, so the scenarios are too.
    scenarios
        .iter()
        .take(MAX_SCENARIOS)
        .map(|(name, scenario)| ScenarioFacts {
            name: cut(name, MAX_NAME_BYTES),
            executor: scenario
                .get("executor")
                .and_then(Value::as_str)
                .map_or_else(String::new, |e| cut(e, MAX_NAME_BYTES)),
            exec: scenario
                .get("exec")
                .and_then(Value::as_str)
                .filter(|exec| *exec != "default")
                .map(|exec| cut(exec, MAX_NAME_BYTES)),
        })
        .collect()
}

/// A Go duration (`41s`, `10m30s`, `1h0m0.5s`, `500ms`) in whole seconds,
/// rounded up; `None` if it is not one.
pub(crate) fn go_duration_seconds(text: &str) -> Option<u32> {
    const UNITS: [(&str, f64); 7] = [
        ("ns", 1e-9),
        ("us", 1e-6),
        ("µs", 1e-6),
        ("ms", 1e-3),
        ("h", 3_600.0),
        ("m", 60.0),
        ("s", 1.0),
    ];
    if text == "0" {
        return Some(0);
    }
    let mut rest = text;
    let mut total = 0.0_f64;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest.get(..digits)?.parse().ok()?;
        rest = &rest[digits..];
        let (unit, scale) = UNITS.iter().find(|(unit, _)| rest.starts_with(unit))?;
        total += number * scale;
        rest = &rest[unit.len()..];
    }
    let seconds = total.ceil();
    (seconds.is_finite() && seconds <= f64::from(u32::MAX)).then_some(seconds as u32)
}

/// `text` cut to at most `max` bytes at a character boundary.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(exit: i32, document: &str, error: &str) -> K6Probe {
        K6Probe {
            exit_code: Some(exit),
            document: document.to_owned(),
            error: error.to_owned(),
        }
    }

    #[test]
    fn go_durations_read_in_whole_seconds() {
        assert_eq!(go_duration_seconds("41s"), Some(41));
        assert_eq!(go_duration_seconds("10m30s"), Some(630));
        assert_eq!(go_duration_seconds("1h0m0.5s"), Some(3_601));
        assert_eq!(go_duration_seconds("500ms"), Some(1));
        assert_eq!(go_duration_seconds("0s"), Some(0));
        assert_eq!(go_duration_seconds("0"), Some(0));
        assert_eq!(go_duration_seconds("5x"), None);
        assert_eq!(go_duration_seconds("s"), None);
    }

    /// A helper module: k6 refuses it as written and under the global
    /// load, and says why, in the words of its own error line.
    #[test]
    fn a_helper_module_is_not_a_test() {
        let no_default = r#"time="2026-12-01T22:00:00Z" level=error msg="There were problems with the specified script configuration:\n\t- executor default: function 'default' not found in exports""#;
        let facts = facts(&K6Inspection {
            archive: probe(104, "", no_default),
            requirements: probe(104, "", no_default),
            under_global_load: probe(104, "", no_default),
        });
        let global = facts.global_load.unwrap_err();
        assert_eq!(
            global,
            "k6 says: There were problems with the specified script configuration: - executor \
             default: function 'default' not found in exports (exit 104)"
        );
        assert!(facts.own_load.is_err());
    }

    /// A scenario script without `default`: runs as written with its own
    /// scenarios, not under the global load.
    #[test]
    fn a_scenario_script_runs_only_as_written() {
        let metadata = r#"{"options": {"vus": null, "scenarios": {
            "rate": {"executor": "constant-arrival-rate", "exec": "browse"},
            "browse": {"executor": "constant-vus", "exec": "browse"},
            "plain": {"executor": "shared-iterations", "exec": null}}}}"#;
        let requirements = r#"{"totalDuration": "41s", "maxVUs": 9}"#;
        let facts = facts(&K6Inspection {
            archive: probe(0, metadata, ""),
            requirements: probe(0, requirements, ""),
            under_global_load: probe(104, "", "function 'default' not found in exports"),
        });
        assert!(facts.global_load.is_err());
        let own = facts.own_load.unwrap();
        let names: Vec<_> = own.scenarios.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["browse", "plain", "rate"]);
        assert_eq!(own.scenarios[0].exec.as_deref(), Some("browse"));
        assert_eq!(own.scenarios[1].exec, None);
        assert_eq!((own.max_vus, own.total_duration_seconds), (9, Some(41)));
    }

    /// `iterations` without `vus`: k6 1.1's inspect refuses what its archive
    /// (and `k6 run`) accept; the script still runs as written, with an
    /// unknown duration, and defines no scenarios of its own.
    #[test]
    fn a_refused_requirements_call_only_loses_the_numbers() {
        let metadata = r#"{"options": {"iterations": 10, "scenarios": null}}"#;
        let facts = facts(&K6Inspection {
            archive: probe(0, metadata, ""),
            requirements: probe(104, "", "the number of VUs must be more than 0"),
            under_global_load: probe(0, "{}", ""),
        });
        assert!(facts.global_load.is_ok());
        let own = facts.own_load.unwrap();
        assert!(own.scenarios.is_empty());
        assert_eq!(own.total_duration_seconds, None);
    }
}
