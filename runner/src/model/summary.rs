//! A step's results: the headline figures, every threshold and every
//! metric k6 reported, and each k6 run's own summary when a wrapper ran k6
//! several times.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::vocabulary::{MetricKind, ValueKind};
use crate::contract;

/// Where a summary's numbers came from, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum SummarySource {
    /// k6's `--summary-export` JSON: every number, full precision.
    SummaryExport,
    /// `handleSummary()` data.
    HandleSummary,
    /// The text summary k6 printed (rounded numbers).
    TextSummary,
    /// The last live reading (the step ended without a summary).
    LiveMetrics,
    /// Nothing was seen.
    None,
}

impl From<contract::SummarySource> for SummarySource {
    fn from(source: contract::SummarySource) -> Self {
        match source {
            contract::SummarySource::SummaryExport => Self::SummaryExport,
            contract::SummarySource::HandleSummary => Self::HandleSummary,
            contract::SummarySource::TextSummary => Self::TextSummary,
            contract::SummarySource::LiveMetrics => Self::LiveMetrics,
            contract::SummarySource::None => Self::None,
        }
    }
}

/// Results of one step (or, inside `runs`, of one k6 run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Where the numbers came from.
    pub source: SummarySource,
    /// HTTP requests.
    pub requests: Option<u64>,
    /// Requests per second.
    pub requests_per_second: Option<f64>,
    /// `http_req_duration` statistics, ms.
    pub latency_ms: Option<Latency>,
    /// Share of failed requests, 0–1.
    pub error_rate: Option<f64>,
    /// Passed checks.
    pub checks_passed: Option<u64>,
    /// Failed checks.
    pub checks_failed: Option<u64>,
    /// Iterations.
    pub iterations: Option<u64>,
    /// Highest VU count.
    pub max_vus: Option<u32>,
    /// Bytes received.
    pub data_received_bytes: Option<u64>,
    /// Bytes sent.
    pub data_sent_bytes: Option<u64>,
    /// Thresholds and whether each held.
    pub thresholds: Vec<Threshold>,
    /// Every metric of the summary, built-in and custom.
    #[serde(default)]
    pub metrics: Vec<MetricRecord>,
    /// Each k6 run's summary, when a wrapper ran k6 more than once (the
    /// figures above are then only the exact sums).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(no_recursion)]
    pub runs: Vec<Summary>,
}

/// Latency statistics, ms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Latency {
    /// Mean.
    pub avg: Option<f64>,
    /// Minimum.
    pub min: Option<f64>,
    /// Median.
    pub med: Option<f64>,
    /// Maximum.
    pub max: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
}

/// One threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Threshold {
    /// Metric with tags.
    pub metric: String,
    /// Expression.
    pub expression: String,
    /// Held (true) or crossed (false).
    pub passed: bool,
}

/// One metric as k6 reported it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricRecord {
    /// Name, with tags for a sub-metric (`my_trend{tag:a}`).
    pub name: String,
    /// k6's type.
    #[serde(rename = "type")]
    pub kind: MetricKind,
    /// What its values measure, when known.
    pub contains: Option<ValueKind>,
    /// Its statistics by k6's names (`count`, `rate`, `avg`, `p(95)` …),
    /// times in ms, data in bytes.
    pub values: BTreeMap<String, f64>,
}

impl From<contract::Metric> for MetricRecord {
    fn from(metric: contract::Metric) -> Self {
        Self {
            name: metric.name,
            kind: metric.kind.into(),
            contains: metric.contains.map(ValueKind::from),
            values: metric.values.into_iter().collect(),
        }
    }
}

impl From<contract::RunSummary> for Summary {
    fn from(s: contract::RunSummary) -> Self {
        Self {
            source: s.source.into(),
            requests: s.requests,
            requests_per_second: s.request_rate,
            latency_ms: s.latency.map(|l| Latency {
                avg: l.avg,
                min: l.min,
                med: l.med,
                max: l.max,
                p90: l.p90,
                p95: l.p95,
                p99: l.p99,
            }),
            error_rate: s.failed_request_rate,
            checks_passed: s.checks.as_ref().map(|c| c.passes),
            checks_failed: s.checks.as_ref().map(|c| c.fails),
            iterations: s.iterations,
            max_vus: s.max_vus,
            data_received_bytes: s.data_received_bytes,
            data_sent_bytes: s.data_sent_bytes,
            thresholds: s
                .thresholds
                .into_iter()
                .map(|t| Threshold {
                    metric: t.metric,
                    expression: t.expression,
                    passed: t.passed,
                })
                .collect(),
            metrics: s.metrics.into_iter().map(MetricRecord::from).collect(),
            runs: Vec::new(),
        }
    }
}

impl From<contract::ScriptSummary> for Summary {
    fn from(s: contract::ScriptSummary) -> Self {
        Self {
            runs: s.runs.into_iter().map(Summary::from).collect(),
            ..Summary::from(s.total)
        }
    }
}
