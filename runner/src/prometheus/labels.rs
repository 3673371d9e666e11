//! The labels of the runner's metrics. Each is a closed set, so that no
//! request and no run can add a series: no run ids, no raw paths, no
//! method a client made up.

use std::fmt::Write;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use warp::http::{Method, StatusCode};

use crate::model::{RunOutcome, StepState};
use crate::schedules::FireOutcome;
use crate::webhooks::{DeliveryOutcome, EventKind};

/// `outcome` of `k6_runner_runs_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RunLabels {
    pub(crate) outcome: RunOutcome,
}

/// `outcome` of `k6_runner_steps_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct StepLabels {
    pub(crate) outcome: StepState,
}

/// `event` and `outcome` of `k6_runner_webhook_deliveries_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct WebhookLabels {
    pub(crate) event: EventKind,
    pub(crate) outcome: DeliveryOutcome,
}

/// `outcome` of `k6_runner_schedule_fires_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct FireLabels {
    pub(crate) outcome: FireOutcome,
}

/// The outcomes a schedule's fire ends with, every one counted from 0.
pub(crate) const FIRE_OUTCOMES: [FireOutcome; 3] = [
    FireOutcome::Started,
    FireOutcome::Skipped,
    FireOutcome::Failed,
];

impl EncodeLabelValue for FireOutcome {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.as_str())
    }
}

/// The outcomes a delivery ends with, every one of which is counted from 0.
pub(crate) const DELIVERY_OUTCOMES: [DeliveryOutcome; 3] = [
    DeliveryOutcome::Delivered,
    DeliveryOutcome::Failed,
    DeliveryOutcome::Dropped,
];

impl EncodeLabelValue for EventKind {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.name())
    }
}

impl EncodeLabelValue for DeliveryOutcome {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(match self {
            DeliveryOutcome::Pending => "pending",
            DeliveryOutcome::Delivered => "delivered",
            DeliveryOutcome::Failed => "failed",
            DeliveryOutcome::Dropped => "dropped",
        })
    }
}

/// `method`, `route` and `status` of `k6_runner_api_requests_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ApiRequestLabels {
    pub(crate) method: HttpMethod,
    pub(crate) route: ApiRoute,
    pub(crate) status: u16,
}

impl ApiRequestLabels {
    /// The labels of one answered request to the API, `path` relative to
    /// where the API is mounted.
    pub(crate) fn of(method: &Method, path: &str, status: StatusCode) -> Self {
        Self {
            method: HttpMethod::of(method),
            route: ApiRoute::of(path),
            status: status.as_u16(),
        }
    }
}

/// The outcomes a run ends with, every one of which is counted from 0.
pub(crate) const RUN_OUTCOMES: [RunOutcome; 4] = [
    RunOutcome::Passed,
    RunOutcome::Failed,
    RunOutcome::Stopped,
    RunOutcome::Interrupted,
];

/// The states a step ends in, every one of which is counted from 0.
pub(crate) const STEP_OUTCOMES: [StepState; 5] = [
    StepState::Completed,
    StepState::Failed,
    StepState::Stopped,
    StepState::Skipped,
    StepState::Interrupted,
];

/// The JSON name of a run outcome, as the API writes it.
fn run_outcome_name(outcome: RunOutcome) -> &'static str {
    match outcome {
        RunOutcome::Passed => "passed",
        RunOutcome::Failed => "failed",
        RunOutcome::Stopped => "stopped",
        RunOutcome::Interrupted => "interrupted",
    }
}

/// The JSON name of a step state, as the API writes it.
fn step_state_name(state: StepState) -> &'static str {
    match state {
        StepState::Pending => "pending",
        StepState::Running => "running",
        StepState::Completed => "completed",
        StepState::Failed => "failed",
        StepState::Stopped => "stopped",
        StepState::Skipped => "skipped",
        StepState::Interrupted => "interrupted",
    }
}

impl EncodeLabelValue for RunOutcome {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(run_outcome_name(*self))
    }
}

impl EncodeLabelValue for StepState {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(step_state_name(*self))
    }
}

/// A request's method: the ones the API answers, and `other` for the rest.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub(crate) enum HttpMethod {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Other,
}

impl HttpMethod {
    fn of(method: &Method) -> Self {
        match *method {
            Method::GET => Self::Get,
            Method::HEAD => Self::Head,
            Method::POST => Self::Post,
            Method::PUT => Self::Put,
            Method::DELETE => Self::Delete,
            _ => Self::Other,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
            Self::Other => "other",
        }
    }
}

impl EncodeLabelValue for HttpMethod {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.name())
    }
}

/// An API route, by its pattern relative to where the API is mounted
/// (`/runs/{id}`, not `/runs/20261203T101500Z`): one series per route
/// however many runs there are.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub(crate) enum ApiRoute {
    Config,
    ConfigReset,
    Start,
    Stop,
    Status,
    Whoami,
    Logs,
    Metrics,
    Results,
    Runs,
    Run,
    RunFile,
    RunMetrics,
    RunBaseline,
    RunReport,
    RunJunit,
    Compare,
    CompareReport,
    Trend,
    Script,
    Scripts,
    ExportK6Operator,
    Ws,
    Audit,
    WebhookDeliveries,
    Schedules,
    Schedule,
    ScheduleFires,
    Health,
    OpenApi,
    /// A path none of the above matches. The API answers only its own
    /// routes, so this stays at 0 unless a route is added without its
    /// pattern here.
    Other,
}

impl ApiRoute {
    /// Every route the API serves, `Other` left out.
    #[cfg(test)]
    pub(crate) const SERVED: [ApiRoute; 30] = [
        Self::Config,
        Self::ConfigReset,
        Self::Start,
        Self::Stop,
        Self::Status,
        Self::Whoami,
        Self::Logs,
        Self::Metrics,
        Self::Results,
        Self::Runs,
        Self::Run,
        Self::RunFile,
        Self::RunMetrics,
        Self::RunBaseline,
        Self::RunReport,
        Self::RunJunit,
        Self::Compare,
        Self::CompareReport,
        Self::Trend,
        Self::Script,
        Self::Scripts,
        Self::ExportK6Operator,
        Self::Ws,
        Self::Audit,
        Self::WebhookDeliveries,
        Self::Schedules,
        Self::Schedule,
        Self::ScheduleFires,
        Self::Health,
        Self::OpenApi,
    ];

    /// The route of `path` (relative to the API's mount point, with or
    /// without its leading `/`).
    pub(crate) fn of(path: &str) -> Self {
        let segments: Vec<&str> = path
            .trim_start_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        match segments.as_slice() {
            ["config"] => Self::Config,
            ["config", "reset"] => Self::ConfigReset,
            ["start"] => Self::Start,
            ["stop"] => Self::Stop,
            ["status"] => Self::Status,
            ["whoami"] => Self::Whoami,
            ["logs"] => Self::Logs,
            ["metrics"] => Self::Metrics,
            ["results"] => Self::Results,
            ["runs"] => Self::Runs,
            ["runs", _] => Self::Run,
            ["runs", _, "files", ..] => Self::RunFile,
            ["runs", _, "metrics"] => Self::RunMetrics,
            ["runs", _, "baseline"] => Self::RunBaseline,
            ["runs", _, "report.html"] => Self::RunReport,
            ["runs", _, "junit.xml"] => Self::RunJunit,
            ["compare"] => Self::Compare,
            ["compare", "report.html"] => Self::CompareReport,
            ["trend"] => Self::Trend,
            ["script"] => Self::Script,
            ["scripts"] => Self::Scripts,
            ["export", "k6-operator"] => Self::ExportK6Operator,
            ["ws"] => Self::Ws,
            ["audit"] => Self::Audit,
            ["webhooks", "deliveries"] => Self::WebhookDeliveries,
            ["schedules"] => Self::Schedules,
            ["schedules", _] => Self::Schedule,
            ["schedules", _, "fires"] => Self::ScheduleFires,
            ["health"] => Self::Health,
            ["openapi.json"] => Self::OpenApi,
            _ => Self::Other,
        }
    }

    /// The route's pattern, as the `route` label shows it.
    pub(crate) fn pattern(self) -> &'static str {
        match self {
            Self::Config => "/config",
            Self::ConfigReset => "/config/reset",
            Self::Start => "/start",
            Self::Stop => "/stop",
            Self::Status => "/status",
            Self::Whoami => "/whoami",
            Self::Logs => "/logs",
            Self::Metrics => "/metrics",
            Self::Results => "/results",
            Self::Runs => "/runs",
            Self::Run => "/runs/{id}",
            Self::RunFile => "/runs/{id}/files/{path}",
            Self::RunMetrics => "/runs/{id}/metrics",
            Self::RunBaseline => "/runs/{id}/baseline",
            Self::RunReport => "/runs/{id}/report.html",
            Self::RunJunit => "/runs/{id}/junit.xml",
            Self::Compare => "/compare",
            Self::CompareReport => "/compare/report.html",
            Self::Trend => "/trend",
            Self::Script => "/script",
            Self::Scripts => "/scripts",
            Self::ExportK6Operator => "/export/k6-operator",
            Self::Ws => "/ws",
            Self::Audit => "/audit",
            Self::WebhookDeliveries => "/webhooks/deliveries",
            Self::Schedules => "/schedules",
            Self::Schedule => "/schedules/{id}",
            Self::ScheduleFires => "/schedules/{id}/fires",
            Self::Health => "/health",
            Self::OpenApi => "/openapi.json",
            Self::Other => "other",
        }
    }
}

impl EncodeLabelValue for ApiRoute {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.pattern())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_their_route_patterns() {
        for (path, route) in [
            ("/config", ApiRoute::Config),
            ("config", ApiRoute::Config),
            ("/config/reset", ApiRoute::ConfigReset),
            ("/runs", ApiRoute::Runs),
            ("/runs/20261203T101500Z", ApiRoute::Run),
            (
                "/runs/20261203T101500Z-2/files/01-a.js/out/x.txt",
                ApiRoute::RunFile,
            ),
            ("/runs/x/metrics", ApiRoute::RunMetrics),
            ("/runs/x/report.html", ApiRoute::RunReport),
            ("/compare/report.html", ApiRoute::CompareReport),
            ("/export/k6-operator", ApiRoute::ExportK6Operator),
            ("/webhooks/deliveries", ApiRoute::WebhookDeliveries),
            ("/schedules", ApiRoute::Schedules),
            ("/schedules/3", ApiRoute::Schedule),
            ("/schedules/3/fires", ApiRoute::ScheduleFires),
            ("/runs/x/files", ApiRoute::RunFile),
            ("/runs/x/y", ApiRoute::Other),
            ("/nothing/here", ApiRoute::Other),
            ("/", ApiRoute::Other),
        ] {
            assert_eq!(ApiRoute::of(path), route, "{path}");
        }
        for route in ApiRoute::SERVED {
            assert_ne!(route.pattern(), ApiRoute::Other.pattern());
        }
    }

    /// The route patterns are the OpenAPI document's paths, one for one,
    /// and each path is counted under itself: a route documented but not
    /// labelled here (or the other way round) fails.
    #[test]
    fn route_patterns_are_the_documents_paths() {
        let document: serde_json::Value =
            serde_json::from_str(crate::api::openapi::document()).unwrap();
        let documented: std::collections::BTreeSet<&str> = document["paths"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let patterns = ApiRoute::SERVED
            .iter()
            .map(|route| route.pattern())
            .collect();
        assert_eq!(documented, patterns);
        for path in documented {
            assert_eq!(ApiRoute::of(path).pattern(), path);
        }
    }

    /// The `outcome` labels are the names the API's JSON uses.
    #[test]
    fn outcome_labels_are_the_json_names() {
        for outcome in RUN_OUTCOMES {
            assert_eq!(
                serde_json::to_value(outcome).unwrap(),
                run_outcome_name(outcome)
            );
        }
        for state in STEP_OUTCOMES
            .into_iter()
            .chain([StepState::Pending, StepState::Running])
        {
            assert_eq!(serde_json::to_value(state).unwrap(), step_state_name(state));
        }
    }

    #[test]
    fn made_up_methods_share_one_label() {
        let custom = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(HttpMethod::of(&custom), HttpMethod::Other);
        assert_eq!(HttpMethod::of(&Method::PUT).name(), "PUT");
    }
}
