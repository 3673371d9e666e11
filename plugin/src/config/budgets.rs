//! `regressionBudgets`: how much worse than its baseline a run may be.
//! Each budget is a finite number in its range; an absent one keeps its
//! default; unknown fields are refused like everywhere else.

use serde_json::Value;

use super::checker::{Checker, Fields};
use super::text::json_kind;
use crate::json::DuplicateKey;
use crate::types::{Budgets, ErrorCode};

/// JSON name of the config's `regression-budgets`.
pub const REGRESSION_BUDGETS: &str = "regressionBudgets";
/// JSON name of `latency-p95-percent`.
const LATENCY_P95: &str = "latencyP95Percent";
/// JSON name of `error-rate-points`.
const ERROR_RATE: &str = "errorRatePoints";
/// JSON name of `request-rate-percent`.
const REQUEST_RATE: &str = "requestRatePercent";
/// The budgets' fields, in the order of the JSON form.
pub const BUDGET_FIELDS: [&str; 3] = [LATENCY_P95, ERROR_RATE, REQUEST_RATE];

/// Each budget's default and range: p95 +10 % (up to +1000 %), error
/// rate +0.5 points (up to 100), requests/s −10 % (up to −100 %).
const RULES: [(&str, f64, f64); 3] = [
    (LATENCY_P95, 10.0, 1_000.0),
    (ERROR_RATE, 0.5, 100.0),
    (REQUEST_RATE, 10.0, 100.0),
];

/// The budgets every entry gets when the config sets none.
pub fn default_budgets() -> Budgets {
    Budgets {
        latency_p95_percent: RULES[0].1,
        error_rate_points: RULES[1].1,
        request_rate_percent: RULES[2].1,
    }
}

/// Reads `regressionBudgets`; `None` after reporting what is wrong.
pub(crate) fn budgets(
    check: &mut Checker<'_>,
    value: &Value,
    duplicates: &[DuplicateKey],
) -> Option<Budgets> {
    let Value::Object(object) = value else {
        check.fail(
            REGRESSION_BUDGETS,
            ErrorCode::WrongType,
            format!(
                "{REGRESSION_BUDGETS} must be an object such as {{\"{LATENCY_P95}\": 10, \
                 \"{ERROR_RATE}\": 0.5, \"{REQUEST_RATE}\": 10}}, got {}",
                json_kind(value)
            ),
        );
        return None;
    };
    let fields = Fields::new(object, REGRESSION_BUDGETS.to_owned(), duplicates);
    let mut values = [None; 3];
    let mut ok = true;
    for (slot, (name, default, max)) in values.iter_mut().zip(RULES) {
        *slot = match check.optional(&fields, name) {
            None if fields.has(name) => None,
            None => Some(default),
            Some(value) => number(check, &fields.path(name), value, max),
        };
        ok &= slot.is_some();
    }
    check.unknown_fields(&fields, &BUDGET_FIELDS, REGRESSION_BUDGETS);
    let [Some(p95), Some(errors), Some(rate)] = values else {
        return None;
    };
    ok.then_some(Budgets {
        latency_p95_percent: p95,
        error_rate_points: errors,
        request_rate_percent: rate,
    })
}

/// A finite number from 0 to `max`.
fn number(check: &mut Checker<'_>, field: &str, value: &Value, max: f64) -> Option<f64> {
    let Some(number) = value.as_f64() else {
        check.fail(
            field,
            ErrorCode::WrongType,
            format!("{field} must be a number, got {}", json_kind(value)),
        );
        return None;
    };
    if (0.0..=max).contains(&number) {
        Some(number)
    } else {
        check.fail(
            field,
            ErrorCode::OutOfRange,
            format!("{field} must be a number from 0 to {max}, got {number}"),
        );
        None
    }
}

/// The JSON object of `budgets`, on one line, fields in their order.
pub(crate) fn to_json(budgets: &Budgets) -> String {
    format!(
        "{{\"{LATENCY_P95}\": {}, \"{ERROR_RATE}\": {}, \"{REQUEST_RATE}\": {}}}",
        budgets.latency_p95_percent, budgets.error_rate_points, budgets.request_rate_percent
    )
}
