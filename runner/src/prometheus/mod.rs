//! Prometheus: the runner's own metrics at `GET /metrics` (Prometheus text
//! format 0.0.4, from `prometheus-client`), and the option that sends k6's
//! metrics to a Prometheus remote-write endpoint ([`remote_write`]).
//!
//! Every name starts with `k6_runner_`; values are in base units (seconds,
//! bytes, ratios 0–1); counters end in `_total` and count since the runner
//! started. No label carries a run id, a script name or a raw path, so the
//! number of series is fixed whatever the runner does:
//!
//! | metric | type | labels | meaning |
//! |---|---|---|---|
//! | `k6_runner_build_info` | gauge (1) | `version`, `k6_version`, `core_sha256` | what runs |
//! | `k6_runner_runs_total` | counter | `outcome` (`passed`, `failed`, `stopped`, `interrupted`) | suite runs ended |
//! | `k6_runner_steps_total` | counter | `outcome` (`completed`, `failed`, `stopped`, `skipped`, `interrupted`) | steps ended |
//! | `k6_runner_run_in_progress` | gauge | | 1 while a run is in progress |
//! | `k6_runner_step_vus` | gauge | | active VUs of the running step |
//! | `k6_runner_step_requests_per_second` | gauge | | its HTTP request rate |
//! | `k6_runner_step_latency_p95_seconds` | gauge | | its p95 HTTP request duration so far |
//! | `k6_runner_step_error_ratio` | gauge | | its share of failed HTTP requests so far |
//! | `k6_runner_k6_process_cpu_ratio` | gauge | | CPU of its k6 process, in cores |
//! | `k6_runner_k6_process_resident_memory_bytes` | gauge | | resident memory of its k6 process |
//! | `k6_runner_sandbox_calls_total` | counter | | calls into the sandboxed core |
//! | `k6_runner_sandbox_traps_total` | counter | | of those, calls that failed inside it |
//! | `k6_runner_api_requests_total` | counter | `method`, `route` (the pattern: `/runs/{id}`), `status` | API requests answered |
//! | `k6_runner_webhook_deliveries_total` | counter | `event` (`run.started`, …), `outcome` (`delivered`, `failed`, `dropped`) | webhook deliveries ended |
//! | `k6_runner_schedule_fires_total` | counter | `outcome` (`started`, `skipped`, `failed`) | schedule fires (see [`crate::schedules`]) |
//!
//! The `step_*` and `k6_process_*` gauges exist only while a step runs
//! (the latency, error, CPU and memory ones once k6 has given a reading).
//!
//! What costs the load test nothing: the gauges and the sandbox counters
//! are read when Prometheus scrapes, from the status the hub keeps anyway
//! and from atomics; outcomes are counted once per step and run, where
//! they are decided; API requests once per request. The step's output
//! path does no work for the metrics.

mod labels;
mod live;
pub mod remote_write;

use std::sync::Arc;

use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use warp::filters::BoxedFilter;
use warp::http::{Method, StatusCode};
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::api::Auth;
use crate::api::access::{Needs, require};
use crate::api::error::ApiError;
use crate::auth::{Identity, Role};
use crate::hub::Hub;
use crate::model::{RunOutcome, StepState};
use crate::sandbox::{CallCounts, Sandbox};
use crate::schedules::FireOutcome;
use crate::service::Service;
use crate::webhooks::{DeliveryOutcome, EventKind};
use labels::{
    ApiRequestLabels, DELIVERY_OUTCOMES, FIRE_OUTCOMES, FireLabels, RUN_OUTCOMES, RunLabels,
    STEP_OUTCOMES, StepLabels, WebhookLabels,
};
pub use remote_write::{RemoteWrite, RemoteWriteError};

/// The prefix of every metric name.
pub const PREFIX: &str = "k6_runner";

/// The runner's metrics: its registry and the counters the runner
/// increments. Shared as `Arc<Metrics>`.
pub struct Metrics {
    registry: Registry,
    runs: Family<RunLabels, Counter>,
    steps: Family<StepLabels, Counter>,
    api_requests: Family<ApiRequestLabels, Counter>,
    webhook_deliveries: Family<WebhookLabels, Counter>,
    schedule_fires: Family<FireLabels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// The metrics of a runner whose live state is `hub` and whose core is
    /// `sandbox`.
    pub(crate) fn new(hub: Arc<Hub>, sandbox: &Sandbox) -> Self {
        Self::with_sources(
            hub,
            sandbox.call_counts().clone(),
            sandbox.info().sha256.clone(),
        )
    }

    fn with_sources(hub: Arc<Hub>, calls: Arc<CallCounts>, core_sha256: String) -> Self {
        let mut registry = Registry::with_prefix(PREFIX);
        let runs = Family::<RunLabels, Counter>::default();
        let steps = Family::<StepLabels, Counter>::default();
        let api_requests = Family::<ApiRequestLabels, Counter>::default();
        let webhook_deliveries = Family::<WebhookLabels, Counter>::default();
        let schedule_fires = Family::<FireLabels, Counter>::default();
        // Every outcome is there from the start, at 0, so that `increase()`
        // sees the first one (a series that appears at 1 shows no increase).
        for outcome in RUN_OUTCOMES {
            let _ = runs.get_or_create(&RunLabels { outcome });
        }
        for outcome in STEP_OUTCOMES {
            let _ = steps.get_or_create(&StepLabels { outcome });
        }
        for event in EventKind::ALL {
            for outcome in DELIVERY_OUTCOMES {
                let _ = webhook_deliveries.get_or_create(&WebhookLabels { event, outcome });
            }
        }
        registry.register("runs", "Suite runs ended, by outcome", runs.clone());
        registry.register("steps", "Steps ended, by outcome", steps.clone());
        registry.register(
            "api_requests",
            "API requests answered, by method, route pattern (relative to the API's mount point) and status",
            api_requests.clone(),
        );
        registry.register(
            "webhook_deliveries",
            "Webhook deliveries ended, by event type and outcome",
            webhook_deliveries.clone(),
        );
        for outcome in FIRE_OUTCOMES {
            let _ = schedule_fires.get_or_create(&FireLabels { outcome });
        }
        registry.register(
            "schedule_fires",
            "Schedule fires, by outcome (a run started, skipped because one was in progress, or the start failed)",
            schedule_fires.clone(),
        );
        registry.register_collector(Box::new(live::Live {
            hub,
            calls,
            core_sha256,
        }));
        Self {
            registry,
            runs,
            steps,
            api_requests,
            webhook_deliveries,
            schedule_fires,
        }
    }

    /// Counts a schedule's fire that went `outcome`.
    pub(crate) fn schedule_fire(&self, outcome: FireOutcome) {
        self.schedule_fires
            .get_or_create(&FireLabels { outcome })
            .inc();
    }

    /// Counts a run that ended with `outcome`.
    pub(crate) fn run_ended(&self, outcome: RunOutcome) {
        self.runs.get_or_create(&RunLabels { outcome }).inc();
    }

    /// Counts a step that ended in `state`.
    pub(crate) fn step_ended(&self, state: StepState) {
        self.steps
            .get_or_create(&StepLabels { outcome: state })
            .inc();
    }

    /// Counts a webhook delivery that ended with `outcome` (delivered,
    /// failed or dropped).
    pub(crate) fn webhook_delivery(&self, event: EventKind, outcome: DeliveryOutcome) {
        self.webhook_deliveries
            .get_or_create(&WebhookLabels { event, outcome })
            .inc();
    }

    /// Counts an answered API request (`path` relative to the API's mount
    /// point).
    pub(crate) fn api_request(&self, method: &Method, path: &str, status: StatusCode) {
        self.api_requests
            .get_or_create(&ApiRequestLabels::of(method, path, status))
            .inc();
    }

    /// Every metric, in the Prometheus text format.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// `GET /metrics`: the runner's metrics for Prometheus, for callers with
/// the viewer role (see [`Auth`]). The standalone server mounts it at
/// `/metrics`; a host mounts it where it likes:
///
/// ```no_run
/// # use k6_runner::{Service, api::Auth};
/// # use warp::Filter;
/// # fn mount(k6: std::sync::Arc<Service>) {
/// let routes = warp::path!("api" / "k6" / ..)
///     .and(k6_runner::api::routes(k6.clone(), Auth::Open))
///     .or(k6_runner::prometheus::route(k6, &Auth::Open));
/// # }
/// ```
pub fn route(service: Arc<Service>, auth: &Auth) -> BoxedFilter<(Response,)> {
    let viewer = Needs {
        role: Role::Viewer,
        action: None,
        query_token: false,
    };
    warp::path!("metrics")
        .and(warp::get())
        .and(require(service.clone(), auth, viewer))
        .map(move |_who: Identity| match service.metrics().encode() {
            Ok(text) => warp::reply::with_header(
                text,
                warp::http::header::CONTENT_TYPE,
                prometheus_text::CONTENT_TYPE,
            )
            .into_response(),
            Err(error) => ApiError::internal(&error).into_response(),
        })
        .recover(crate::api::error::recover)
        .unify()
        .boxed()
}

#[cfg(test)]
mod tests;
