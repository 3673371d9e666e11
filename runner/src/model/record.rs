//! A suite run as recorded in `runs/<id>/run.json` (`GET /api/k6/results`).

use serde::{Deserialize, Serialize};

use super::summary::Summary;
use super::vocabulary::{LoadMode, ScriptKind};
use crate::contract;

/// A suite run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    /// Run id (sortable by start time).
    pub id: String,
    /// Where the run is.
    pub state: RunRecordState,
    /// How it ended, once it has.
    #[serde(default)]
    pub outcome: Option<RunOutcome>,
    /// Start (RFC 3339).
    pub started_at: String,
    /// End (RFC 3339), once ended.
    pub ended_at: Option<String>,
    /// Why it ended the way it did (stop, interruption), if not by itself.
    pub reason: Option<String>,
    /// The config it ran with (canonical JSON).
    #[schema(value_type = super::ConfigDocument)]
    pub config: serde_json::Value,
    /// The k6 that ran it (`v1.1.0`).
    #[serde(default)]
    pub k6_version: Option<String>,
    /// The runner that ran it.
    #[serde(default)]
    pub runner_version: Option<String>,
    /// How it compares with its baselines, once it has ended and some
    /// entry of it has a baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regression: Option<Regression>,
    /// Who started it; absent for runs started from the CLI, by an
    /// embedding host, or by a runner from before this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<StartedBy>,
    /// One entry per step, in order.
    pub steps: Vec<StepRecord>,
}

#[cfg(test)]
impl RunRecord {
    /// A record of run `id` in `state` with `steps` and nothing else, for
    /// tests.
    pub(crate) fn for_test(id: &str, state: RunRecordState, steps: Vec<StepRecord>) -> Self {
        Self {
            id: id.to_owned(),
            state,
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
}

/// Who started a run (`startedBy` in its record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum StartedBy {
    /// An operator, through `POST /start`.
    Operator {
        /// The caller's name (as in the audit log).
        name: String,
    },
    /// A schedule that fired (see [`crate::schedules`]).
    Schedule {
        /// The schedule's id.
        schedule: u64,
    },
}

impl StartedBy {
    /// The audit log's actor for this starter (`alice`, `schedule:3`).
    pub fn actor(&self) -> String {
        match self {
            Self::Operator { name } => name.clone(),
            Self::Schedule { schedule } => format!("schedule:{schedule}"),
        }
    }
}

/// A run judged against its baselines' budgets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Regression {
    /// Some entry crossed a budget.
    pub regressed: bool,
    /// Each entry that had a baseline.
    pub entries: Vec<RegressionEntry>,
}

/// One suite entry judged against its baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegressionEntry {
    /// `script#occurrence` (the second step of `a.js` is `a.js#2`).
    pub entry: String,
    /// The baseline run.
    pub baseline: String,
    /// The figures whose budget it crossed (`latencyP95Ms`), if any.
    pub crossed: Vec<String>,
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum RunRecordState {
    /// In progress.
    Running,
    /// Every step ran (some may have failed: see the outcome).
    Finished,
    /// Stopped by an operator or a shutdown.
    Stopped,
    /// The runner died during the run; found so at the next start.
    Interrupted,
}

/// How a run ended, in one word for badges, webhooks and history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum RunOutcome {
    /// Every step completed.
    Passed,
    /// Every step ran and at least one failed ("finished with failures").
    Failed,
    /// An operator or a shutdown stopped it.
    Stopped,
    /// The runner died during it.
    Interrupted,
}

impl RunOutcome {
    /// The outcome of a run that ended in `state` with `steps`.
    pub fn of(state: RunRecordState, steps: &[StepRecord]) -> Option<Self> {
        match state {
            RunRecordState::Running => None,
            RunRecordState::Stopped => Some(Self::Stopped),
            RunRecordState::Interrupted => Some(Self::Interrupted),
            RunRecordState::Finished => Some(
                if steps.iter().all(|step| step.state == StepState::Completed) {
                    Self::Passed
                } else {
                    Self::Failed
                },
            ),
        }
    }
}

/// One step of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepRecord {
    /// Step number, from 1.
    pub step: u32,
    /// The script's catalogue name.
    pub script: String,
    /// How it runs.
    pub kind: ScriptKind,
    /// The settings it ran with.
    #[serde(default)]
    pub settings: Option<StepSettings>,
    /// Where the step is.
    pub state: StepState,
    /// Start (RFC 3339).
    pub started_at: Option<String>,
    /// End (RFC 3339).
    pub ended_at: Option<String>,
    /// Process exit code.
    pub exit_code: Option<i32>,
    /// Signal that killed the process.
    pub signal: Option<i32>,
    /// Why it ended so (the core's verdict, or the runner's refusal).
    pub reason: Option<String>,
    /// Results.
    pub summary: Option<Summary>,
    /// The process id while it runs.
    pub pid: Option<u32>,
    /// The step's folder, relative to the run folder (`01-smoke.js`).
    #[serde(default)]
    pub dir: Option<String>,
    /// The step's log file (relative to the run folder).
    pub log_file: Option<String>,
    /// Exactly what ran: the snapshot and its digest.
    #[serde(default)]
    pub snapshot: Option<SnapshotRecord>,
    /// The files the step left in its folder (relative to the run
    /// folder), besides its snapshot and log: summary export,
    /// `handleSummary()` outputs, a wrapper's `tee` files.
    #[serde(default)]
    pub files: Vec<FileRecord>,
    /// What the operator should know about how the step ran (its own
    /// scenarios replaced, a summary export k6 did not write).
    #[serde(default)]
    pub notes: Vec<String>,
}

/// Where a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum StepState {
    /// Not started yet.
    Pending,
    /// Running.
    Running,
    /// Ran to the end, thresholds passed.
    Completed,
    /// Ended with an error or crossed thresholds.
    Failed,
    /// Stopped on purpose.
    Stopped,
    /// Never started (the run was stopped before).
    Skipped,
    /// The runner died while it ran.
    Interrupted,
}

impl From<contract::Outcome> for StepState {
    fn from(outcome: contract::Outcome) -> Self {
        match outcome {
            contract::Outcome::Completed => Self::Completed,
            contract::Outcome::Failed => Self::Failed,
            contract::Outcome::Stopped => Self::Stopped,
        }
    }
}

/// The settings a step ran with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepSettings {
    /// Whose load options applied.
    pub load: LoadMode,
    /// Virtual users (none for `load: script`).
    pub users: Option<u32>,
    /// Test duration, seconds.
    pub test_duration_seconds: Option<u32>,
    /// Ramp-up, seconds.
    pub ramp_up_seconds: Option<u32>,
    /// Shared iterations.
    pub iterations: Option<u32>,
    /// Wall-clock limit, seconds.
    pub max_duration_seconds: u32,
    /// Variables given to the script.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<(String, String)>,
}

impl From<&contract::StepSettings> for StepSettings {
    fn from(settings: &contract::StepSettings) -> Self {
        Self {
            load: settings.load.into(),
            users: settings.users,
            test_duration_seconds: settings.test_duration_seconds,
            ramp_up_seconds: settings.ramp_up_seconds,
            iterations: settings.iterations,
            max_duration_seconds: settings.max_duration_seconds,
            env: settings.env.clone(),
        }
    }
}

/// The copy a step ran from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotRecord {
    /// The archive (k6 scripts) or the folder of the copied script
    /// directory (wrappers), relative to the run folder.
    pub path: String,
    /// sha256 (hex) of the archive, or of the copied files (each file's
    /// path and digest, in path order).
    pub sha256: String,
    /// sha256 (hex) of the script itself as checked before it ran.
    pub script_sha256: String,
    /// The files the snapshot holds, with their digests.
    pub files: Vec<FileRecord>,
}

/// A file of a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileRecord {
    /// Relative path (`/`-separated).
    pub path: String,
    /// Size in bytes.
    pub size_bytes: u64,
    /// sha256 (hex), where the runner computed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}
