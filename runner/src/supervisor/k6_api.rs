//! The client for one k6 process's REST API on its 127.0.0.1 port: live
//! metrics and the one polite stop request.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::Value;
use tokio::time::Instant;

/// How long a call to k6's API may take; k6 answers in milliseconds, and a
/// slow answer must not delay the once-a-second sampling or a stop.
pub const API_TIMEOUT: Duration = Duration::from_millis(800);

/// The REST API of one k6 process.
#[derive(Debug, Clone)]
pub struct K6Api {
    client: reqwest::Client,
    base: String,
}

impl K6Api {
    /// The API on `127.0.0.1:<port>`.
    pub fn new(port: u16) -> Self {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(API_TIMEOUT)
            .build()
            .unwrap_or_default();
        Self {
            client,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// `GET /v1/metrics/<name>` body: one metric (k6 serves it as
    /// text/plain JSON; a metric with no sample yet is a 404).
    pub async fn metric(&self, name: &str) -> reqwest::Result<String> {
        self.get(&format!("/v1/metrics/{name}")).await
    }

    async fn get(&self, path: &str) -> reqwest::Result<String> {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await
    }

    /// `PATCH /v1/status {"stopped": true}`: k6 ends the test, writes its
    /// summary and export, and exits with 103.
    pub async fn stop(&self) -> reqwest::Result<()> {
        let body = serde_json::json!({"data": {"type": "status", "id": "default", "attributes": {"stopped": true}}});
        self.client
            .patch(format!("{}/v1/status", self.base))
            .json(&body)
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }
}

/// The metrics a live reading shows, except the latency trend. Counters,
/// rates and gauges cost k6 nothing to report.
const CHEAP_METRICS: &[&str] = &[
    "http_reqs",
    "http_req_failed",
    "iterations",
    "checks",
    "vus",
    "vus_max",
    "data_received",
    "data_sent",
];

/// The latency trend. k6 sorts every sample it has kept to report a trend's
/// percentiles, so one answer grows with the run's length (measured: 29 ms
/// for all nine trends of `GET /v1/metrics` one second in, 139 ms ten
/// seconds in) and steals CPU from the load test.
const TREND_METRIC: &str = "http_req_duration";

/// The trend is read again only after this many times its last answer's
/// duration, so k6 spends at most about 2 % of its time answering it.
const TREND_BACKOFF: u32 = 50;

/// Takes live readings of one k6 process: the cheap metrics every time,
/// the latency trend on a schedule that backs off as it gets expensive
/// (between two trend reads, a reading repeats the last one).
#[derive(Debug)]
pub struct LiveSampler {
    api: K6Api,
    last_trend: Option<Value>,
    next_trend_at: Instant,
}

impl LiveSampler {
    /// A sampler of `api`; the first reading includes the trend.
    pub fn new(api: K6Api) -> Self {
        Self {
            api,
            last_trend: None,
            next_trend_at: Instant::now(),
        }
    }

    /// One reading as a `/v1/metrics`-shaped listing (`{"data":[...]}`) of
    /// the metrics k6 has, or `None` when k6 answered nothing (not up yet,
    /// or gone).
    pub async fn reading(&mut self, period: Duration) -> Option<String> {
        let started = Instant::now();
        let wants_trend = started >= self.next_trend_at;
        let trend = async {
            if wants_trend {
                Some(self.api.metric(TREND_METRIC).await)
            } else {
                None
            }
        };
        let cheap = join_all(CHEAP_METRICS.iter().map(|name| self.api.metric(name)));
        let (cheap, trend) = tokio::join!(cheap, trend);
        if let Some(trend) = trend {
            self.next_trend_at = started + period.max(started.elapsed() * TREND_BACKOFF);
            if let Some(item) = trend.ok().as_deref().and_then(metric_item) {
                self.last_trend = Some(item);
            }
        }
        let answered = cheap.iter().any(Result::is_ok);
        let items: Vec<Value> = cheap
            .iter()
            .filter_map(|body| body.as_deref().ok().and_then(metric_item))
            .chain(self.last_trend.clone())
            .collect();
        answered.then(|| serde_json::json!({ "data": items }).to_string())
    }
}

/// The `data` object of a `/v1/metrics/<name>` body.
fn metric_item(body: &str) -> Option<Value> {
    let mut document: Value = serde_json::from_str(body).ok()?;
    Some(document.get_mut("data")?.take()).filter(Value::is_object)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use warp::Filter;

    use super::*;

    /// Serves `/v1/metrics/<name>` the way k6 does: `http_reqs` and the
    /// trend (which answers slowly, as a long run's trend does) exist, any
    /// other name is a 404. Counts the trend requests.
    async fn fake_metrics_api(trend_delay: Duration) -> (u16, Arc<AtomicUsize>) {
        let trend_reads = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&trend_reads);
        let route = warp::path!("v1" / "metrics" / String).then(move |name: String| {
            let counter = Arc::clone(&counter);
            async move {
                let sample = match name.as_str() {
                    "http_reqs" => r#"{"count":12,"rate":6}"#,
                    TREND_METRIC => {
                        counter.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(trend_delay).await;
                        r#"{"avg":2,"max":9,"med":1,"min":1,"p(90)":4,"p(95)":5}"#
                    }
                    _ => return warp::http::Response::builder().status(404).body(String::new()),
                };
                let body = format!(
                    r#"{{"data":{{"type":"metrics","id":"{name}","attributes":{{"sample":{sample}}}}}}}"#
                );
                warp::http::Response::builder().status(200).body(body)
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(warp::serve(route).incoming(listener).run());
        (port, trend_reads)
    }

    fn ids(listing: &str) -> Vec<String> {
        let listing: Value = serde_json::from_str(listing).unwrap();
        listing["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["id"].as_str().unwrap().to_owned())
            .collect()
    }

    /// A reading lists the metrics k6 has; after a slow trend answer the
    /// trend is not asked again for 50 times as long, and the readings in
    /// between repeat its last value.
    #[tokio::test]
    async fn a_slow_trend_is_read_less_often_and_repeated() {
        let (port, trend_reads) = fake_metrics_api(Duration::from_millis(40)).await;
        let mut sampler = LiveSampler::new(K6Api::new(port));

        let first = sampler.reading(Duration::from_millis(100)).await.unwrap();
        assert_eq!(ids(&first), ["http_reqs", TREND_METRIC]);
        assert_eq!(trend_reads.load(Ordering::SeqCst), 1);

        let second = sampler.reading(Duration::from_millis(100)).await.unwrap();
        assert_eq!(ids(&second), ["http_reqs", TREND_METRIC]);
        assert_eq!(
            trend_reads.load(Ordering::SeqCst),
            1,
            "asked again before 50 × 40 ms"
        );
    }

    /// Once its wait is over, the trend is read again; a fast trend waits
    /// one period.
    #[tokio::test]
    async fn the_trend_is_read_again_after_its_wait() {
        let (port, trend_reads) = fake_metrics_api(Duration::ZERO).await;
        let mut sampler = LiveSampler::new(K6Api::new(port));
        let period = Duration::from_millis(300);
        let before = Instant::now();
        sampler.reading(period).await.unwrap();
        assert!(sampler.next_trend_at >= before + period);
        tokio::time::sleep_until(sampler.next_trend_at).await;
        sampler.reading(period).await.unwrap();
        assert_eq!(trend_reads.load(Ordering::SeqCst), 2);
    }

    /// Nothing listening: no reading at all, rather than an empty one.
    #[tokio::test]
    async fn no_answer_is_no_reading() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let mut sampler = LiveSampler::new(K6Api::new(port));
        assert_eq!(sampler.reading(Duration::from_secs(1)).await, None);
    }
}
