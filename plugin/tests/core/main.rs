//! The core's tests, told from the side of whoever relies on each part: a
//! policy reviewer (names, configs, hostile bodies), the host (the plan,
//! the verdicts, rendering) and anyone reading k6's output (the parsers on
//! real k6 1.1.0 output). One test binary, so the suite links once.

mod config_budgets;
mod config_entries;
mod config_hostile;
mod config_validate;
mod logs_custom_metrics;
mod logs_rest_api;
mod logs_robustness;
mod logs_stderr;
mod logs_stdout;
mod logs_summary_json;
mod operator_export;
mod plan_build;
mod render_script;
mod scripts_rules;
mod support;
