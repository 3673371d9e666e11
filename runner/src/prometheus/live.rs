//! What a scrape reads as it is, rather than counting it: the live status
//! the hub already keeps (one copy per scrape, the same read as
//! `GET /status`), the sandbox's call counters and the build. Nothing on
//! the step's output path does any work for the metrics.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeGaugeValue, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::info::Info;

use crate::hub::Hub;
use crate::sandbox::CallCounts;

/// The collector registered with the runner's registry.
pub(super) struct Live {
    pub(super) hub: Arc<Hub>,
    pub(super) calls: Arc<CallCounts>,
    pub(super) core_sha256: String,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("core_sha256", &self.core_sha256)
            .finish_non_exhaustive()
    }
}

impl Collector for Live {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let status = self.hub.status();
        let build = [
            ("version", env!("CARGO_PKG_VERSION")),
            ("k6_version", status.k6_version.as_deref().unwrap_or("")),
            ("core_sha256", self.core_sha256.as_str()),
        ];
        Info::new(build).encode(encoder.encode_descriptor(
            "build",
            "The runner's version, the k6 it found (empty if none) and the sha256 of the core component it runs; always 1.",
            None,
            MetricType::Info,
        )?)?;
        ConstCounter::new(self.calls.calls()).encode(encoder.encode_descriptor(
            "sandbox_calls",
            "Calls into the sandboxed core (config checks, plans, verdicts, output parsing).",
            None,
            MetricType::Counter,
        )?)?;
        ConstCounter::new(self.calls.traps()).encode(encoder.encode_descriptor(
            "sandbox_traps",
            "Core calls that failed inside the sandbox (a trap, fuel or memory exhausted); each instance is rebuilt.",
            None,
            MetricType::Counter,
        )?)?;
        gauge(
            &mut encoder,
            "run_in_progress",
            "1 while a suite run is in progress, else 0.",
            i64::from(status.is_running),
        )?;
        // The step's readings only while a step runs: between steps and
        // runs the series are absent (a gap in a graph), not a stale value.
        if status.current_step.is_none() {
            return Ok(());
        }
        // The status's count also follows a legacy wrapper's progress lines.
        gauge(
            &mut encoder,
            "step_vus",
            "Active virtual users of the running step.",
            i64::from(status.current_user_count),
        )?;
        let Some(reading) = status.metrics else {
            return Ok(());
        };
        gauge(
            &mut encoder,
            "step_requests_per_second",
            "HTTP requests per second of the running step, over its last reading (about 1 s).",
            reading.request_rate,
        )?;
        let ratios = [
            (
                "step_latency_p95_seconds",
                "95th percentile of the running step's HTTP request duration so far.",
                reading.latency_p95_ms.map(|ms| ms / 1_000.0),
            ),
            (
                "step_error_ratio",
                "Share of the running step's HTTP requests that failed so far, 0 to 1.",
                reading.failed_request_rate,
            ),
            (
                "k6_process_cpu_ratio",
                "CPU used by the running step's k6 process over its last reading, in cores (1 = one core busy).",
                reading.cpu_percent.map(|percent| percent / 100.0),
            ),
        ];
        for (name, help, value) in ratios {
            if let Some(value) = value {
                gauge(&mut encoder, name, help, value)?;
            }
        }
        if let Some(bytes) = reading.rss_bytes {
            gauge(
                &mut encoder,
                "k6_process_resident_memory_bytes",
                "Resident memory of the running step's k6 process.",
                i64::try_from(bytes).unwrap_or(i64::MAX),
            )?;
        }
        Ok(())
    }
}

/// One gauge sample; whole numbers as `i64`, so that they read `7`, not
/// `7.0`.
fn gauge<N: EncodeGaugeValue>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: N,
) -> Result<(), std::fmt::Error> {
    ConstGauge::new(value).encode(encoder.encode_descriptor(name, help, None, MetricType::Gauge)?)
}
