//! The JSON bodies of the API's own answers, the ones that are not a
//! document of [`crate::model`] or [`crate::history`]: typed, so that the
//! OpenAPI document is derived from what the handlers send.

use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Role;
use crate::history::{RunSummary, TrendPoint};
use crate::model::{LogLine, MetricsPoint};

/// `GET /whoami`: who the caller is.
#[derive(Debug, Serialize, ToSchema)]
pub struct WhoAmI {
    /// The token's name (`anonymous` without auth).
    pub name: String,
    /// What the caller may do.
    pub role: Role,
}

/// `POST /stop`: whether a run is stopping.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Stopping {
    /// A run was in progress and is being stopped.
    pub stopping: bool,
    /// The run being stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Why nothing is stopping.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `GET /logs`: log lines and where to go on from.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogPage {
    /// The lines, oldest first.
    pub lines: Vec<LogLine>,
    /// The `since` of the next poll: the last line's `seq`.
    pub next: u64,
}

/// `GET /metrics`: the live readings of the current (or last) run.
#[derive(Debug, Serialize, ToSchema)]
pub struct LiveReadings {
    /// The readings, oldest first.
    pub points: Vec<MetricsPoint>,
}

/// `GET /runs`: a page of the history.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunPage {
    /// The runs, newest first.
    pub runs: Vec<RunSummary>,
    /// The `before` of the next page, if there may be one.
    pub next_before: Option<String>,
}

/// `DELETE /runs/{id}`: the run deleted.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deleted {
    /// Its id.
    pub deleted: String,
}

/// `DELETE /schedules/{id}`: the schedule deleted.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleDeleted {
    /// Its id.
    pub deleted: u64,
}

/// `PUT /runs/{id}/baseline`: the run is the baseline of these entries.
#[derive(Debug, Serialize, ToSchema)]
pub struct BaselineSet {
    /// The run.
    pub baseline: String,
    /// Its suite entries (`script#occurrence`).
    pub entries: Vec<String>,
}

/// `DELETE /runs/{id}/baseline`: the run is no longer the baseline of
/// these entries.
#[derive(Debug, Serialize, ToSchema)]
pub struct BaselineCleared {
    /// The run.
    pub run: String,
    /// The suite entries it was the baseline of.
    pub entries: Vec<String>,
}

/// `GET /trend`: one statistic of one metric of one script, run by run.
#[derive(Debug, Serialize, ToSchema)]
pub struct Trend {
    /// The script.
    pub script: String,
    /// The metric.
    pub metric: String,
    /// The statistic (empty when none was found).
    pub stat: String,
    /// Oldest first.
    pub points: Vec<TrendPoint>,
}
