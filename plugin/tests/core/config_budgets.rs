//! `regressionBudgets`, as a policy reviewer reads them: optional, each
//! budget a number in its range, defaults for what is left out, every
//! mistake named by its field.

use k6_core::config::{default_budgets, to_json, validate};
use k6_core::types::{Budgets, CatalogueEntry, ErrorCode};

use crate::support::catalogue_of;

fn catalogue() -> Vec<CatalogueEntry> {
    catalogue_of(&["smoke.js"])
}

fn config_with(budgets: &str) -> String {
    format!(
        r#"{{"globalUserCount": 2, "testDuration": "30s", "rampUpDuration": 0, "maxDuration": 60,
            "enabledScripts": ["smoke.js"], "intervalBetweenTests": 0{budgets}}}"#
    )
}

fn policy() -> k6_core::types::Policy {
    k6_core::config::default_policy()
}

/// No budgets: none in the config (the host applies the defaults), and
/// none written back.
#[test]
fn budgets_are_optional() {
    let config = validate(&config_with(""), &policy(), &catalogue()).unwrap();
    assert_eq!(config.regression_budgets, None);
    assert!(!to_json(&config).contains("regressionBudgets"));
    assert_eq!(
        default_budgets(),
        Budgets {
            latency_p95_percent: 10.0,
            error_rate_points: 0.5,
            request_rate_percent: 10.0
        }
    );
}

/// Given budgets keep their values, absent ones take the defaults, and the
/// canonical JSON reads back the same.
#[test]
fn given_budgets_are_kept_and_round_trip() {
    let json =
        config_with(r#", "regressionBudgets": {"latencyP95Percent": 25, "errorRatePoints": 1.5}"#);
    let config = validate(&json, &policy(), &catalogue()).unwrap();
    assert_eq!(
        config.regression_budgets,
        Some(Budgets {
            latency_p95_percent: 25.0,
            error_rate_points: 1.5,
            request_rate_percent: 10.0
        })
    );
    let canonical = to_json(&config);
    assert!(
        canonical.contains(r#""regressionBudgets": {"latencyP95Percent": 25, "errorRatePoints": 1.5, "requestRatePercent": 10}"#),
        "{canonical}"
    );
    assert_eq!(
        validate(&canonical, &policy(), &catalogue()).unwrap(),
        config
    );
}

/// Each mistake is one error naming its field: a negative, a too large
/// value, a string, an unknown budget, a repeated one, not an object.
#[test]
fn bad_budgets_are_refused_field_by_field() {
    let cases = [
        (
            r#"{"latencyP95Percent": -1}"#,
            "regressionBudgets.latencyP95Percent",
            ErrorCode::OutOfRange,
        ),
        (
            r#"{"errorRatePoints": 101}"#,
            "regressionBudgets.errorRatePoints",
            ErrorCode::OutOfRange,
        ),
        (
            r#"{"requestRatePercent": "10%"}"#,
            "regressionBudgets.requestRatePercent",
            ErrorCode::WrongType,
        ),
        (
            r#"{"p99": 5}"#,
            "regressionBudgets.p99",
            ErrorCode::UnknownField,
        ),
        (
            r#"{"errorRatePoints": 1, "errorRatePoints": 2}"#,
            "regressionBudgets.errorRatePoints",
            ErrorCode::DuplicateField,
        ),
        (r#"[10]"#, "regressionBudgets", ErrorCode::WrongType),
    ];
    for (budgets, field, code) in cases {
        let json = config_with(&format!(r#", "regressionBudgets": {budgets}"#));
        let errors = validate(&json, &policy(), &catalogue()).unwrap_err();
        assert_eq!(errors.len(), 1, "{budgets}: {errors:?}");
        assert_eq!(errors[0].field, field, "{budgets}");
        assert_eq!(errors[0].code, code, "{budgets}");
        let name = field.rsplit('.').next().unwrap();
        assert!(errors[0].message.contains(name), "{}", errors[0].message);
    }
}
