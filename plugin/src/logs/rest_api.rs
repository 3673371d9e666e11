//! k6's REST API bodies: `/v1/metrics` (a JSON:API document, served as
//! `text/plain` but JSON).
//!
//! ```text
//! {"data":[{"type":"metrics","id":"http_reqs","attributes":{"type":"counter",
//!   "contains":"default","tainted":null,"sample":{"count":18,"rate":10.75}}}, …]}
//! ```

use super::json_doc::{self, number, whole, whole_u32};
use super::summary_json;
use crate::types::{LiveMetrics, ParseError, RunSummary, SummarySource};
use serde_json::{Map, Value};

/// The `sample` objects of the metrics a live reading uses.
#[derive(Default)]
struct Samples<'a> {
    /// How many items were metrics with a sample, used or not.
    metrics: usize,
    http_reqs: Option<&'a Map<String, Value>>,
    http_req_duration: Option<&'a Map<String, Value>>,
    http_req_failed: Option<&'a Map<String, Value>>,
    iterations: Option<&'a Map<String, Value>>,
    checks: Option<&'a Map<String, Value>>,
    vus: Option<&'a Map<String, Value>>,
    vus_max: Option<&'a Map<String, Value>>,
    data_received: Option<&'a Map<String, Value>>,
    data_sent: Option<&'a Map<String, Value>>,
}

impl<'a> Samples<'a> {
    /// Picks the samples out of the `data` items; items of another shape are
    /// skipped.
    fn of(items: &'a [Value]) -> Self {
        let mut samples = Self::default();
        for item in items {
            let Some(id) = item.get("id").and_then(Value::as_str) else {
                continue;
            };
            let Some(sample) = item
                .get("attributes")
                .and_then(|attributes| attributes.get("sample"))
                .and_then(Value::as_object)
            else {
                continue;
            };
            samples.metrics += 1;
            let slot = match id {
                "http_reqs" => &mut samples.http_reqs,
                "http_req_duration" => &mut samples.http_req_duration,
                "http_req_failed" => &mut samples.http_req_failed,
                "iterations" => &mut samples.iterations,
                "checks" => &mut samples.checks,
                "vus" => &mut samples.vus,
                "vus_max" => &mut samples.vus_max,
                "data_received" => &mut samples.data_received,
                "data_sent" => &mut samples.data_sent,
                _ => continue,
            };
            *slot = Some(sample);
        }
        samples
    }
}

/// Reads successive `/v1/metrics` bodies of one step and remembers what the
/// request rate and the fallback summary need.
#[derive(Debug, Default)]
pub(crate) struct LiveTracker {
    /// `(at_ms, requests)` of the last reading that knew the request count.
    previous: Option<(u64, u64)>,
    /// The last reading as a summary.
    latest: Option<RunSummary>,
}

impl LiveTracker {
    /// Reads a `/v1/metrics` body taken `at_ms` after the step started. Also
    /// takes a `/v1/metrics/<name>` body (one metric).
    pub(crate) fn read(&mut self, json: &str, at_ms: u64) -> Result<LiveMetrics, ParseError> {
        const WHAT: &str = "/v1/metrics body";
        let root = json_doc::parse_object(json, WHAT)?;
        if let Some(errors) = json_doc::api_errors(&root) {
            return Err(ParseError::UnexpectedShape(format!(
                "{WHAT} is an error answer from k6, not metrics: {errors}"
            )));
        }
        let data = root.get("data").ok_or_else(|| {
            ParseError::UnexpectedShape(format!(
                "{WHAT} has no \"data\" list (found {})",
                json_doc::keys_of(&root)
            ))
        })?;
        let (items, full_listing) = match data {
            Value::Array(items) => (items.as_slice(), true),
            Value::Object(_) => (std::slice::from_ref(data), false),
            other => {
                return Err(ParseError::UnexpectedShape(format!(
                    "{WHAT} has a \"data\" that is neither a list nor an object: {}",
                    json_doc::excerpt(&other.to_string())
                )));
            }
        };
        let samples = Samples::of(items);
        // An empty listing is a run without samples yet; items that are all
        // something else (a status document, say) are not metrics.
        if samples.metrics == 0 && !items.is_empty() {
            return Err(ParseError::UnexpectedShape(format!(
                "{WHAT} holds no metric with an \"attributes.sample\" object: {}",
                json_doc::excerpt(&data.to_string())
            )));
        }
        let stat = |sample: Option<&Map<String, Value>>, key: &str| {
            sample.and_then(|sample| number(sample.get(key)))
        };
        let count = |sample: Option<&Map<String, Value>>| {
            sample.and_then(|sample| whole(sample.get("count")))
        };

        let requests = count(samples.http_reqs);
        let k6_rate = stat(samples.http_reqs, "rate").filter(|rate| *rate >= 0.0);
        let request_rate = self.request_rate(at_ms, requests.unwrap_or(0), k6_rate);
        // A full listing without `http_reqs` means no request yet; a single
        // other metric says nothing about requests.
        if requests.is_some() || full_listing {
            self.previous = Some((at_ms, requests.unwrap_or(0)));
        }
        let latency = samples.http_req_duration.and_then(summary_json::latency);
        let failed_request_rate = stat(samples.http_req_failed, "rate");
        let iterations = count(samples.iterations);
        self.latest = Some(RunSummary {
            source: SummarySource::LiveMetrics,
            requests,
            request_rate: k6_rate,
            latency,
            failed_request_rate,
            // The API reports the checks' rate only, not their counts.
            checks: None,
            iterations,
            max_vus: samples
                .vus_max
                .and_then(|sample| whole_u32(sample.get("value"))),
            data_received_bytes: count(samples.data_received),
            data_sent_bytes: count(samples.data_sent),
            thresholds: Vec::new(),
            metrics: Vec::new(),
        });
        Ok(LiveMetrics {
            at_ms,
            vus: samples
                .vus
                .and_then(|sample| whole_u32(sample.get("value")))
                .unwrap_or(0),
            requests: requests.unwrap_or(0),
            request_rate,
            latency_p95_ms: latency.and_then(|latency| latency.p95),
            latency_avg_ms: latency.and_then(|latency| latency.avg),
            failed_request_rate,
            iterations: iterations.unwrap_or(0),
            checks_rate: stat(samples.checks, "rate"),
        })
    }

    /// Requests per second since the previous reading; k6's whole-test
    /// average on the first reading, when no time passed, or when the count
    /// went down (a different run's numbers).
    fn request_rate(&self, at_ms: u64, requests: u64, k6_rate: Option<f64>) -> f64 {
        match self.previous {
            Some((previous_at, previous_requests))
                if at_ms > previous_at && requests >= previous_requests =>
            {
                let seconds = (at_ms - previous_at) as f64 / 1_000.0;
                (requests - previous_requests) as f64 / seconds
            }
            _ => k6_rate.unwrap_or(0.0),
        }
    }

    /// The last reading as a summary (source `live-metrics`), if any.
    pub(crate) fn summary(&self) -> Option<RunSummary> {
        self.latest.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics_body(requests: u64, rate: f64) -> String {
        format!(
            r#"{{"data":[{{"type":"metrics","id":"http_reqs","attributes":{{"type":"counter","contains":"default","tainted":null,"sample":{{"count":{requests},"rate":{rate}}}}}}},{{"type":"metrics","id":"vus","attributes":{{"type":"gauge","sample":{{"value":3}}}}}}]}}"#
        )
    }

    #[test]
    fn first_reading_uses_k6_rate_then_deltas() {
        let mut tracker = LiveTracker::default();
        let first = tracker
            .read(&metrics_body(16, 10.5), 1_000)
            .expect("a reading");
        assert_eq!(
            (first.requests, first.request_rate, first.vus),
            (16, 10.5, 3)
        );
        let second = tracker
            .read(&metrics_body(36, 11.0), 3_000)
            .expect("a reading");
        assert_eq!(second.request_rate, 10.0);
        let same_time = tracker
            .read(&metrics_body(40, 11.5), 3_000)
            .expect("a reading");
        assert_eq!(same_time.request_rate, 11.5);
        let went_down = tracker
            .read(&metrics_body(2, 4.0), 4_000)
            .expect("a reading");
        assert_eq!(went_down.request_rate, 4.0);
    }

    #[test]
    fn a_single_metric_body_does_not_reset_the_request_count() {
        let mut tracker = LiveTracker::default();
        tracker
            .read(&metrics_body(10, 5.0), 1_000)
            .expect("a reading");
        let checks = r#"{"data":{"type":"metrics","id":"checks","attributes":{"type":"rate","sample":{"rate":1}}}}"#;
        let reading = tracker.read(checks, 1_500).expect("a reading");
        assert_eq!(reading.checks_rate, Some(1.0));
        let next = tracker
            .read(&metrics_body(20, 5.0), 2_000)
            .expect("a reading");
        assert_eq!(next.request_rate, 10.0);
    }

    #[test]
    fn an_empty_listing_is_zero() {
        let mut tracker = LiveTracker::default();
        let reading = tracker.read(r#"{"data":[]}"#, 0).expect("a reading");
        assert_eq!(
            reading,
            LiveMetrics {
                at_ms: 0,
                vus: 0,
                requests: 0,
                request_rate: 0.0,
                latency_p95_ms: None,
                latency_avg_ms: None,
                failed_request_rate: None,
                iterations: 0,
                checks_rate: None,
            }
        );
    }

    #[test]
    fn metrics_errors_say_what_is_wrong() {
        let mut tracker = LiveTracker::default();
        let shape = |result: Result<LiveMetrics, ParseError>| match result {
            Err(ParseError::UnexpectedShape(message)) => message,
            other => panic!("expected an unexpected shape, got {other:?}"),
        };
        assert!(shape(tracker.read(r#"{"metrics":[]}"#, 0)).contains("no \"data\" list"));
        assert!(shape(tracker.read(r#"{"data":7}"#, 0)).contains("neither a list nor an object"));
        assert!(
            shape(tracker.read(
                r#"{"errors":[{"status":"404","title":"Not Found","detail":"No metric with that ID was found"}]}"#,
                0
            ))
            .contains("404 Not Found")
        );
        let status = r#"{"data":{"type":"status","id":"default","attributes":{"status":7}}}"#;
        assert!(shape(tracker.read(status, 0)).contains("no metric with an \"attributes.sample\""));
        assert!(shape(tracker.read(r#"{"data":[1,{"id":"x"}]}"#, 0)).contains("no metric"));
        assert_eq!(tracker.summary(), None);
    }
}
