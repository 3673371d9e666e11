//! The figures of a step whose legacy wrapper ran k6 several times: only
//! what adds up exactly. Counts and sums add (requests, iterations, checks,
//! bytes), the highest VU count is the highest of all, and the share of
//! failed requests follows from the summed counts; rates per second,
//! latencies and percentiles of separate runs cannot be merged, so none is
//! invented.

use crate::types::{Checks, RunSummary, SummarySource};

/// `(failed, all)` requests of one run, from its `http_req_failed` metric
/// (whose passes are the failed requests).
fn failed_request_counts(run: &RunSummary) -> Option<(u64, u64)> {
    let metric = run.metrics.iter().find(|m| m.name == "http_req_failed")?;
    let stat = |name: &str| {
        metric
            .values
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| *value as u64)
    };
    let (failed, passed) = (stat("passes")?, stat("fails")?);
    Some((failed, failed.saturating_add(passed)))
}

/// The exact totals of `runs` (at least one), as one summary.
pub(crate) fn combine(runs: &[RunSummary]) -> RunSummary {
    let sum = |field: fn(&RunSummary) -> Option<u64>| -> Option<u64> {
        runs.iter().filter_map(field).reduce(u64::saturating_add)
    };
    let checks = runs.iter().filter_map(|run| run.checks.as_ref()).fold(
        None,
        |total: Option<Checks>, checks| {
            let total = total.unwrap_or(Checks {
                passes: 0,
                fails: 0,
            });
            Some(Checks {
                passes: total.passes.saturating_add(checks.passes),
                fails: total.fails.saturating_add(checks.fails),
            })
        },
    );
    let (failed, all) = runs
        .iter()
        .filter_map(failed_request_counts)
        .fold((0u64, 0u64), |(failed, all), (f, a)| {
            (failed.saturating_add(f), all.saturating_add(a))
        });
    RunSummary {
        source: runs
            .first()
            .map_or(SummarySource::TextSummary, |run| run.source),
        requests: sum(|run| run.requests),
        request_rate: None,
        latency: None,
        failed_request_rate: (all > 0).then(|| failed as f64 / all as f64),
        checks,
        iterations: sum(|run| run.iterations),
        max_vus: runs.iter().filter_map(|run| run.max_vus).max(),
        data_received_bytes: sum(|run| run.data_received_bytes),
        data_sent_bytes: sum(|run| run.data_sent_bytes),
        thresholds: runs
            .iter()
            .flat_map(|run| run.thresholds.iter().cloned())
            .collect(),
        metrics: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Metric, MetricKind, ThresholdResult};

    fn run(requests: u64, failed: u64, vus: u32, threshold: &str) -> RunSummary {
        RunSummary {
            requests: Some(requests),
            request_rate: Some(10.0),
            checks: Some(Checks {
                passes: requests,
                fails: 1,
            }),
            max_vus: Some(vus),
            thresholds: vec![ThresholdResult {
                metric: threshold.to_owned(),
                expression: String::new(),
                passed: true,
            }],
            metrics: vec![Metric {
                name: "http_req_failed".to_owned(),
                kind: MetricKind::Rate,
                contains: None,
                values: vec![
                    ("passes".to_owned(), failed as f64),
                    ("fails".to_owned(), (requests - failed) as f64),
                ],
            }],
            ..super::super::empty_summary()
        }
    }

    /// Sums and the highest VU count carry over; rates and latencies do not.
    #[test]
    fn only_exact_figures_add_up() {
        let total = combine(&[run(10, 1, 5, "a"), run(30, 3, 2, "b")]);
        assert_eq!(total.requests, Some(40));
        assert_eq!(total.failed_request_rate, Some(0.1));
        assert_eq!(
            total.checks,
            Some(Checks {
                passes: 40,
                fails: 2
            })
        );
        assert_eq!(total.max_vus, Some(5));
        assert_eq!(total.request_rate, None);
        assert_eq!(total.latency, None);
        assert!(total.metrics.is_empty());
        let names: Vec<_> = total.thresholds.iter().map(|t| t.metric.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
    }
}
