//! The comparison and its budgets on hand-made records.

use super::*;
use crate::model::MetricKind;
use crate::model::{
    Latency, MetricRecord, RunRecordState, ScriptKind, StepState, SummarySource, Threshold,
};

fn summary(rps: f64, p95: f64, errors: f64) -> Summary {
    Summary {
        source: SummarySource::SummaryExport,
        requests: Some(1000),
        requests_per_second: Some(rps),
        latency_ms: Some(Latency {
            avg: Some(p95 / 2.0),
            min: None,
            med: Some(p95 / 3.0),
            max: None,
            p90: None,
            p95: Some(p95),
            p99: Some(p95 * 1.5),
        }),
        error_rate: Some(errors),
        checks_passed: Some(10),
        checks_failed: Some(0),
        iterations: Some(100),
        max_vus: Some(5),
        data_received_bytes: None,
        data_sent_bytes: None,
        thresholds: vec![Threshold {
            metric: "http_req_duration".into(),
            expression: "p(95)<100".into(),
            passed: p95 < 100.0,
        }],
        metrics: vec![MetricRecord {
            name: "my_trend".into(),
            kind: MetricKind::Trend,
            contains: None,
            values: [("avg".to_owned(), p95)].into_iter().collect(),
        }],
        runs: Vec::new(),
    }
}

fn step(n: u32, script: &str, summary: Option<Summary>) -> StepRecord {
    StepRecord {
        step: n,
        script: script.into(),
        kind: ScriptKind::K6Script,
        settings: None,
        state: StepState::Completed,
        started_at: None,
        ended_at: None,
        exit_code: Some(0),
        signal: None,
        reason: None,
        summary,
        pid: None,
        dir: None,
        log_file: None,
        snapshot: None,
        files: Vec::new(),
        notes: Vec::new(),
    }
}

fn run(id: &str, steps: Vec<StepRecord>) -> RunRecord {
    RunRecord {
        id: id.into(),
        state: RunRecordState::Finished,
        outcome: None,
        started_at: "2026-12-01T00:00:00Z".into(),
        ended_at: None,
        reason: None,
        config: serde_json::Value::Null,
        k6_version: None,
        runner_version: None,
        regression: None,
        started_by: None,
        steps,
    }
}

fn headline<'a>(entry: &'a EntryComparison, name: &str) -> &'a Delta {
    entry.headline.iter().find(|d| d.name == name).unwrap()
}

/// Within every budget: ok, with absolute and relative deltas.
#[test]
fn a_run_within_its_budgets_is_ok() {
    let base = run("a", vec![step(1, "s.js", Some(summary(100.0, 50.0, 0.01)))]);
    let now = run("b", vec![step(1, "s.js", Some(summary(95.0, 54.0, 0.014)))]);
    let c = compare(&base, &now, &Budgets::default(), None);
    assert_eq!(c.verdict, Verdict::Ok);
    let p95 = headline(&c.entries[0], "latencyP95Ms");
    assert_eq!(p95.absolute, Some(4.0));
    assert!((p95.relative_percent.unwrap() - 8.0).abs() < 1e-9);
    assert_eq!(p95.budget, Some(10.0));
    assert_eq!(c.entries[0].metrics[0].name, "my_trend avg");
}

/// Each budget alone makes the run regressed: p95 up more than 10 %,
/// errors up more than half a point, requests/s down more than 10 %.
#[test]
fn each_crossed_budget_regresses_the_run() {
    let base = run("a", vec![step(1, "s.js", Some(summary(100.0, 50.0, 0.01)))]);
    for (rps, p95, errors, figure) in [
        (100.0, 55.1, 0.01, "latencyP95Ms"),
        (100.0, 50.0, 0.0151, "errorRate"),
        (89.9, 50.0, 0.01, "requestsPerSecond"),
    ] {
        let now = run("b", vec![step(1, "s.js", Some(summary(rps, p95, errors)))]);
        let c = compare(&base, &now, &Budgets::default(), None);
        assert_eq!(c.verdict, Verdict::Regressed, "{figure}");
        assert_eq!(headline(&c.entries[0], figure).verdict, Verdict::Regressed);
    }
    let loose = Budgets {
        latency_p95_percent: 20.0,
        ..Budgets::default()
    };
    let now = run("b", vec![step(1, "s.js", Some(summary(100.0, 55.1, 0.01)))]);
    assert_eq!(compare(&base, &now, &loose, None).verdict, Verdict::Ok);
}

/// The same script twice is two entries, each compared with its own; an
/// entry only one run has cannot be judged; a threshold's change is told.
#[test]
fn entries_match_by_script_and_occurrence() {
    let base = run(
        "a",
        vec![
            step(1, "s.js", Some(summary(100.0, 50.0, 0.0))),
            step(2, "s.js", Some(summary(200.0, 90.0, 0.0))),
            step(3, "gone.js", Some(summary(1.0, 1.0, 0.0))),
        ],
    );
    let now = run(
        "b",
        vec![
            step(1, "s.js", Some(summary(100.0, 50.0, 0.0))),
            step(2, "s.js", Some(summary(200.0, 120.0, 0.0))),
        ],
    );
    let c = compare(&base, &now, &Budgets::default(), None);
    let keys: Vec<&str> = c.entries.iter().map(|e| e.entry.as_str()).collect();
    assert_eq!(keys, ["s.js#1", "s.js#2", "gone.js#1"]);
    let verdicts: Vec<Verdict> = c.entries.iter().map(|e| e.verdict).collect();
    assert_eq!(
        verdicts,
        [Verdict::Ok, Verdict::Regressed, Verdict::Incomparable]
    );
    assert_eq!(
        c.entries[1].thresholds[0].change,
        ThresholdChange::NewlyCrossed
    );
    assert_eq!(c.entries[2].thresholds[0].change, ThresholdChange::Removed);
    let only = compare(
        &base,
        &now,
        &Budgets::default(),
        Some(&["s.js#1".to_owned()]),
    );
    assert_eq!(only.verdict, Verdict::Ok);
    assert_eq!(only.entries.len(), 1);
}

/// A step without numbers (it failed to start) is incomparable, not a
/// regression, and a zero base p95 is not divided by.
#[test]
fn missing_numbers_are_incomparable() {
    let base = run("a", vec![step(1, "s.js", Some(summary(100.0, 0.0, 0.0)))]);
    let now = run("b", vec![step(1, "s.js", None)]);
    let c = compare(&base, &now, &Budgets::default(), None);
    assert_eq!(c.verdict, Verdict::Incomparable);
    let same = compare(&base, &base, &Budgets::default(), None);
    assert_eq!(
        headline(&same.entries[0], "latencyP95Ms").verdict,
        Verdict::Incomparable
    );
    assert_eq!(same.verdict, Verdict::Ok);
}
