//! Comparing a run with a base run, entry by entry, and judging it against
//! the regression budgets. Pure: two records in, one comparison out.
//!
//! Entries are matched by script and occurrence: the second step running
//! `login.js` in one run is compared with the second step running
//! `login.js` in the other (key `login.js#2`), so a suite that runs one
//! script at 5, 10, 25 and 50 users compares each load with its own.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{RunRecord, StepRecord, Summary};

/// How much worse than its baseline a run may be before it is
/// `regressed`. Each budget is checked for every entry of the suite.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Budgets {
    /// Largest rise of p95 latency, percent of the base's (default 10).
    pub latency_p95_percent: f64,
    /// Largest rise of the error rate, in percentage points (default 0.5).
    pub error_rate_points: f64,
    /// Largest fall of requests per second, percent of the base's
    /// (default 10).
    pub request_rate_percent: f64,
}

impl Default for Budgets {
    fn default() -> Self {
        Self {
            latency_p95_percent: 10.0,
            error_rate_points: 0.5,
            request_rate_percent: 10.0,
        }
    }
}

/// A verdict on one figure, one entry or a whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    /// Within the budget (or no budget applies).
    Ok,
    /// One side has no number to compare.
    Incomparable,
    /// A budget is crossed.
    Regressed,
}

/// Two values of one figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Delta {
    /// The figure (`requestsPerSecond`, `http_req_duration p(95)`).
    pub name: String,
    /// The base run's value.
    pub base: Option<f64>,
    /// The compared run's value.
    pub run: Option<f64>,
    /// `run - base`.
    pub absolute: Option<f64>,
    /// `(run - base) / base`, percent (none when the base is 0).
    pub relative_percent: Option<f64>,
    /// The budget that applies to it, in its own unit, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<f64>,
    /// Against the budget.
    pub verdict: Verdict,
}

/// How a threshold changed between the two runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ThresholdChange {
    /// Held in both.
    StillHeld,
    /// Crossed in both.
    StillCrossed,
    /// Held in the base, crossed now.
    NewlyCrossed,
    /// Crossed in the base, held now.
    NowHeld,
    /// Only in the compared run.
    Added,
    /// Only in the base run.
    Removed,
}

/// One threshold in both runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThresholdDelta {
    /// Metric with tags.
    pub metric: String,
    /// Expression.
    pub expression: String,
    /// Held in the base run.
    pub base: Option<bool>,
    /// Held in the compared run.
    pub run: Option<bool>,
    /// The change.
    pub change: ThresholdChange,
}

/// One suite entry in both runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EntryComparison {
    /// `script#occurrence`.
    pub entry: String,
    /// The script.
    pub script: String,
    /// Its step in the base run.
    pub base_step: Option<u32>,
    /// Its step in the compared run.
    pub run_step: Option<u32>,
    /// Requests/s, p50/p95/p99, error rate, checks, iterations.
    pub headline: Vec<Delta>,
    /// Every other statistic of every metric, custom ones included.
    pub metrics: Vec<Delta>,
    /// Every threshold of either run.
    pub thresholds: Vec<ThresholdDelta>,
    /// The worst verdict of its budgeted figures.
    pub verdict: Verdict,
}

/// Two runs compared (`GET /compare`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    /// The base run.
    pub base: String,
    /// The compared run.
    pub run: String,
    /// The budgets applied (the compared run's).
    pub budgets: Budgets,
    /// Regressed if any entry is; incomparable if no entry could be
    /// compared.
    pub verdict: Verdict,
    /// Every entry of either run.
    pub entries: Vec<EntryComparison>,
}

/// A run's verdict against its baselines, as the WebSocket's `regression`
/// event carries it when the run ends: the verdict, each entry's crossed
/// budgets and, per baseline, each entry's headline figures. Every other
/// metric stays in `GET /compare`: a watcher needs the verdict, not a
/// report.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegressionNotice {
    /// The run that ended.
    pub run_id: String,
    /// Some entry crossed a budget.
    pub regressed: bool,
    /// Each entry that had a baseline, and the figures that crossed.
    pub entries: Vec<crate::model::RegressionEntry>,
    /// The comparison with each baseline, headline figures only.
    pub comparisons: Vec<ComparisonVerdicts>,
}

/// One comparison's verdicts: [`Comparison`] without the per-metric
/// deltas and thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComparisonVerdicts {
    /// The baseline run.
    pub base: String,
    /// The budgets applied.
    pub budgets: Budgets,
    /// The worst verdict of its entries.
    pub verdict: Verdict,
    /// Each entry compared: its key, script, verdict and headline figures.
    pub entries: Vec<EntryVerdict>,
}

/// One entry's verdict and headline figures.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EntryVerdict {
    /// `script#occurrence`.
    pub entry: String,
    /// The script.
    pub script: String,
    /// The worst verdict of its budgeted figures.
    pub verdict: Verdict,
    /// Requests/s, p50/p95/p99, error rate, checks, iterations.
    pub headline: Vec<Delta>,
}

impl From<&Comparison> for ComparisonVerdicts {
    fn from(comparison: &Comparison) -> Self {
        Self {
            base: comparison.base.clone(),
            budgets: comparison.budgets,
            verdict: comparison.verdict,
            entries: comparison
                .entries
                .iter()
                .map(|entry| EntryVerdict {
                    entry: entry.entry.clone(),
                    script: entry.script.clone(),
                    verdict: entry.verdict,
                    headline: entry.headline.clone(),
                })
                .collect(),
        }
    }
}

/// Each step of `record` under its entry key (`script#n`).
pub fn entry_keys(record: &RunRecord) -> Vec<(String, &StepRecord)> {
    let mut seen: BTreeMap<&str, u32> = BTreeMap::new();
    record
        .steps
        .iter()
        .map(|step| {
            let n = seen.entry(&step.script).or_default();
            *n += 1;
            (format!("{}#{n}", step.script), step)
        })
        .collect()
}

/// Compares `run` with `base` under `budgets`, only over the entries
/// `only` names (all when `None`).
pub fn compare(
    base: &RunRecord,
    run: &RunRecord,
    budgets: &Budgets,
    only: Option<&[String]>,
) -> Comparison {
    let base_steps: BTreeMap<String, &StepRecord> = entry_keys(base).into_iter().collect();
    let run_steps = entry_keys(run);
    let wanted = |key: &str| only.is_none_or(|keys| keys.iter().any(|k| k == key));
    let mut entries: Vec<EntryComparison> = run_steps
        .iter()
        .filter(|(key, _)| wanted(key))
        .map(|(key, step)| entry(key, base_steps.get(key).copied(), Some(step), budgets))
        .collect();
    for (key, step) in &base_steps {
        if wanted(key) && !run_steps.iter().any(|(k, _)| k == key) {
            entries.push(entry(key, Some(step), None, budgets));
        }
    }
    let verdict = if entries.iter().any(|e| e.verdict == Verdict::Regressed) {
        Verdict::Regressed
    } else if entries.iter().any(|e| e.verdict == Verdict::Ok) {
        Verdict::Ok
    } else {
        Verdict::Incomparable
    };
    Comparison {
        base: base.id.clone(),
        run: run.id.clone(),
        budgets: *budgets,
        verdict,
        entries,
    }
}

/// Which way a budget points.
#[derive(Clone, Copy)]
enum Budget {
    /// Relative rise, percent.
    RisePercent(f64),
    /// Absolute rise of a 0–1 rate, in percentage points.
    RisePoints(f64),
    /// Relative fall, percent.
    FallPercent(f64),
}

/// A headline figure: its name, both values, and its budget if any.
type Figure<'a> = (&'a str, (Option<f64>, Option<f64>), Option<Budget>);

fn entry(
    key: &str,
    base: Option<&StepRecord>,
    run: Option<&StepRecord>,
    budgets: &Budgets,
) -> EntryComparison {
    let (bs, rs) = (
        base.and_then(|s| s.summary.as_ref()),
        run.and_then(|s| s.summary.as_ref()),
    );
    let pick = |f: &dyn Fn(&Summary) -> Option<f64>| (bs.and_then(f), rs.and_then(f));
    let latency = |f: fn(&crate::model::Latency) -> Option<f64>| {
        move |s: &Summary| s.latency_ms.as_ref().and_then(f)
    };
    let figures: [Figure; 8] = [
        (
            "requestsPerSecond",
            pick(&|s| s.requests_per_second),
            Some(Budget::FallPercent(budgets.request_rate_percent)),
        ),
        ("latencyP50Ms", pick(&latency(|l| l.med)), None),
        (
            "latencyP95Ms",
            pick(&latency(|l| l.p95)),
            Some(Budget::RisePercent(budgets.latency_p95_percent)),
        ),
        ("latencyP99Ms", pick(&latency(|l| l.p99)), None),
        (
            "errorRate",
            pick(&|s| s.error_rate),
            Some(Budget::RisePoints(budgets.error_rate_points)),
        ),
        (
            "checksPassed",
            pick(&|s| s.checks_passed.map(|n| n as f64)),
            None,
        ),
        (
            "checksFailed",
            pick(&|s| s.checks_failed.map(|n| n as f64)),
            None,
        ),
        (
            "iterations",
            pick(&|s| s.iterations.map(|n| n as f64)),
            None,
        ),
    ];
    let headline: Vec<Delta> = figures
        .into_iter()
        .map(|(name, (b, r), budget)| delta(name.to_owned(), b, r, budget))
        .collect();
    let budgeted: Vec<Verdict> = headline
        .iter()
        .filter(|d| d.budget.is_some())
        .map(|d| d.verdict)
        .collect();
    // Regressed if any budget is crossed; else judged on what could be.
    let verdict = if budgeted.contains(&Verdict::Regressed) {
        Verdict::Regressed
    } else if budgeted.contains(&Verdict::Ok) {
        Verdict::Ok
    } else {
        Verdict::Incomparable
    };
    EntryComparison {
        entry: key.to_owned(),
        script: run.or(base).map(|s| s.script.clone()).unwrap_or_default(),
        base_step: base.map(|s| s.step),
        run_step: run.map(|s| s.step),
        metrics: metric_deltas(bs, rs),
        thresholds: threshold_deltas(bs, rs),
        headline,
        verdict,
    }
}

fn delta(name: String, base: Option<f64>, run: Option<f64>, budget: Option<Budget>) -> Delta {
    let absolute = base.zip(run).map(|(b, r)| r - b);
    let relative_percent = base
        .zip(run)
        .filter(|(b, _)| *b != 0.0)
        .map(|(b, r)| (r - b) / b.abs() * 100.0);
    let verdict = match (budget, absolute) {
        (None, _) => Verdict::Ok,
        (Some(_), None) => Verdict::Incomparable,
        (Some(Budget::RisePoints(points)), Some(rise)) => judge(rise * 100.0 > points),
        (Some(Budget::RisePercent(percent)), Some(_)) => match relative_percent {
            Some(rise) => judge(rise > percent),
            // From 0 ms: any rise is infinitely many percent; nothing to
            // judge fairly.
            None => Verdict::Incomparable,
        },
        (Some(Budget::FallPercent(percent)), Some(_)) => match relative_percent {
            Some(change) => judge(-change > percent),
            None => Verdict::Incomparable,
        },
    };
    Delta {
        name,
        base,
        run,
        absolute,
        relative_percent,
        budget: budget.map(|b| match b {
            Budget::RisePercent(v) | Budget::RisePoints(v) | Budget::FallPercent(v) => v,
        }),
        verdict,
    }
}

fn judge(crossed: bool) -> Verdict {
    if crossed {
        Verdict::Regressed
    } else {
        Verdict::Ok
    }
}

/// Every `metric stat` of either summary.
fn metric_deltas(base: Option<&Summary>, run: Option<&Summary>) -> Vec<Delta> {
    let values = |summary: Option<&Summary>| -> BTreeMap<String, f64> {
        summary
            .map(|s| {
                s.metrics
                    .iter()
                    .flat_map(|m| {
                        m.values
                            .iter()
                            .map(move |(stat, value)| (format!("{} {stat}", m.name), *value))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let (b, r) = (values(base), values(run));
    let mut names: Vec<&String> = b.keys().chain(r.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            delta(
                name.clone(),
                b.get(name).copied().filter(|v| v.is_finite()),
                r.get(name).copied().filter(|v| v.is_finite()),
                None,
            )
        })
        .collect()
}

/// Every threshold of either summary, with its change.
fn threshold_deltas(base: Option<&Summary>, run: Option<&Summary>) -> Vec<ThresholdDelta> {
    let held = |summary: Option<&Summary>| -> BTreeMap<(String, String), bool> {
        summary
            .map(|s| {
                s.thresholds
                    .iter()
                    .map(|t| ((t.metric.clone(), t.expression.clone()), t.passed))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (b, r) = (held(base), held(run));
    let mut keys: Vec<&(String, String)> = b.keys().chain(r.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|key| {
            let (before, now) = (b.get(key).copied(), r.get(key).copied());
            let change = match (before, now) {
                (Some(true), Some(true)) => ThresholdChange::StillHeld,
                (Some(false), Some(false)) => ThresholdChange::StillCrossed,
                (Some(true), Some(false)) => ThresholdChange::NewlyCrossed,
                (Some(false), Some(true)) => ThresholdChange::NowHeld,
                (None, _) => ThresholdChange::Added,
                (Some(_), None) => ThresholdChange::Removed,
            };
            ThresholdDelta {
                metric: key.0.clone(),
                expression: key.1.clone(),
                base: before,
                run: now,
                change,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
