//! Which changes become webhook events, and what each event says.
//!
//! The watcher follows the hub's status: a run it sees start is
//! `run.started`; a step of it that turns `failed` is `step.failed`; its
//! end is `run.finished` when it passed and `run.failed` otherwise
//! (failed steps, or stopped by an operator or a shutdown: `outcome`
//! tells which); and, after that end, `run.regressed` when the hub's
//! [`Event::Regression`] said it crossed a budget. A run interrupted by
//! the runner's death is found at the next start, before anyone watches,
//! and sends nothing. Only runs seen starting are reported, so the last
//! run's status shown at start-up is not mistaken for a new end.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::hub::Event;
use crate::model::{Regression, RunOutcome, RunRecord, Status, StepState};

/// A webhook event's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum EventKind {
    /// A run started.
    #[serde(rename = "run.started")]
    RunStarted,
    /// A run ended and every step passed.
    #[serde(rename = "run.finished")]
    RunFinished,
    /// A run ended otherwise: a step failed, or it was stopped.
    #[serde(rename = "run.failed")]
    RunFailed,
    /// An ended run crossed a regression budget against its baseline.
    #[serde(rename = "run.regressed")]
    RunRegressed,
    /// A step failed (its error, or crossed thresholds).
    #[serde(rename = "step.failed")]
    StepFailed,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [Self; 5] = [
        Self::RunStarted,
        Self::RunFinished,
        Self::RunFailed,
        Self::RunRegressed,
        Self::StepFailed,
    ];

    /// The `type` as the JSON writes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::RunStarted => "run.started",
            Self::RunFinished => "run.finished",
            Self::RunFailed => "run.failed",
            Self::RunRegressed => "run.regressed",
            Self::StepFailed => "step.failed",
        }
    }
}

impl std::str::FromStr for EventKind {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|k| k.name()).collect();
                format!(
                    "unknown webhook event {name:?} (one of {})",
                    names.join(", ")
                )
            })
    }
}

/// The JSON body of a delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payload {
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// This delivery's id (unique per event and target): a receiver that
    /// gets it twice has the same event twice.
    pub id: String,
    /// When it happened (RFC 3339).
    pub time: String,
    /// The run.
    pub run_id: String,
    /// How the run ended; none while it runs.
    pub outcome: Option<RunOutcome>,
    /// The step that failed (`step.failed` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u32>,
    /// Every step of the run as it stands.
    pub steps: Vec<StepSummary>,
    /// The verdict against the baselines (`run.regressed` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regression: Option<Regression>,
    /// The run's record in the API, when the runner knows its address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// One step in a payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepSummary {
    /// Position, from 1.
    pub step: u32,
    /// The script.
    pub script: String,
    /// Where it is.
    pub state: StepState,
    /// Its process's exit code, once it ended.
    pub exit_code: Option<i32>,
    /// HTTP requests made.
    pub requests: Option<u64>,
    /// p95 of `http_req_duration`, ms.
    pub latency_p95_ms: Option<f64>,
    /// Share of failed requests, 0–1.
    pub error_rate: Option<f64>,
    /// Whether every threshold held; none without thresholds or summary.
    pub thresholds_passed: Option<bool>,
}

impl StepSummary {
    fn of_record(record: &RunRecord) -> Vec<Self> {
        record
            .steps
            .iter()
            .map(|step| {
                let summary = step.summary.as_ref();
                Self {
                    step: step.step,
                    script: step.script.clone(),
                    state: step.state,
                    exit_code: step.exit_code,
                    requests: summary.and_then(|s| s.requests),
                    latency_p95_ms: summary.and_then(|s| s.latency_ms.as_ref()?.p95),
                    error_rate: summary.and_then(|s| s.error_rate),
                    thresholds_passed: summary
                        .filter(|s| !s.thresholds.is_empty())
                        .map(|s| s.thresholds.iter().all(|t| t.passed)),
                }
            })
            .collect()
    }

    fn of_status(status: &Status) -> Vec<Self> {
        status
            .steps
            .iter()
            .map(|step| Self {
                step: step.step,
                script: step.script.clone(),
                state: step.state,
                exit_code: None,
                requests: None,
                latency_p95_ms: None,
                error_rate: None,
                thresholds_passed: None,
            })
            .collect()
    }
}

/// Something to tell the targets: the event and what its payload needs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Happened {
    pub(crate) kind: EventKind,
    pub(crate) run_id: String,
    pub(crate) outcome: Option<RunOutcome>,
    pub(crate) step: Option<u32>,
    /// The steps as the status showed them, for when the record cannot
    /// be read.
    pub(crate) steps: Vec<StepSummary>,
}

impl Happened {
    /// The payload, with the record's figures when there is a record.
    pub(crate) fn payload(
        self,
        id: String,
        record: Option<&RunRecord>,
        link_base: Option<&str>,
    ) -> Payload {
        let regression = record
            .filter(|_| self.kind == EventKind::RunRegressed)
            .and_then(|r| r.regression.clone());
        Payload {
            kind: self.kind,
            id,
            time: crate::model::now_rfc3339(),
            link: link_base
                .map(|base| format!("{}/api/k6/runs/{}", base.trim_end_matches('/'), self.run_id)),
            steps: record.map(StepSummary::of_record).unwrap_or(self.steps),
            run_id: self.run_id,
            outcome: self.outcome,
            step: self.step,
            regression,
        }
    }
}

/// Follows the hub's events and says which webhook events they are.
#[derive(Debug, Default)]
pub(crate) struct Watcher {
    /// The run seen starting, not yet seen ending.
    running: Option<String>,
    /// Its steps already reported failed.
    failed_steps: BTreeSet<u32>,
    /// It regressed (the verdict comes just before the end).
    regressed: bool,
}

impl Watcher {
    /// The webhook events `event` is, in order.
    pub(crate) fn observe(&mut self, event: &Event) -> Vec<Happened> {
        match event {
            Event::Status(status) => self.status(status),
            Event::Regression(notice) => {
                if self.running.as_deref() == Some(notice.run_id.as_str()) && notice.regressed {
                    self.regressed = true;
                }
                Vec::new()
            }
            Event::Metrics(_) | Event::Logs(_) | Event::Config(_) => Vec::new(),
        }
    }

    fn status(&mut self, status: &Status) -> Vec<Happened> {
        let mut happened = Vec::new();
        let Some(run_id) = status.run_id.as_deref() else {
            return happened;
        };
        let happen = |kind, step| Happened {
            kind,
            run_id: run_id.to_owned(),
            outcome: status.outcome,
            step,
            steps: StepSummary::of_status(status),
        };
        if status.is_running && self.running.as_deref() != Some(run_id) {
            *self = Self {
                running: Some(run_id.to_owned()),
                ..Self::default()
            };
            happened.push(happen(EventKind::RunStarted, None));
        }
        if self.running.as_deref() != Some(run_id) {
            return happened;
        }
        for step in &status.steps {
            if step.state == StepState::Failed && self.failed_steps.insert(step.step) {
                happened.push(happen(EventKind::StepFailed, Some(step.step)));
            }
        }
        if let (false, Some(outcome)) = (status.is_running, status.outcome) {
            let kind = if outcome == RunOutcome::Passed {
                EventKind::RunFinished
            } else {
                EventKind::RunFailed
            };
            happened.push(happen(kind, None));
            if self.regressed {
                happened.push(happen(EventKind::RunRegressed, None));
            }
            *self = Self::default();
        }
        happened
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::compare::RegressionNotice;
    use crate::model::StepStatus;

    fn status(running: bool, outcome: Option<RunOutcome>, steps: &[StepState]) -> Event {
        Event::Status(Box::new(Status {
            is_running: running,
            run_id: Some("20261203T101500Z".into()),
            outcome,
            steps: steps
                .iter()
                .enumerate()
                .map(|(i, state)| StepStatus {
                    step: i as u32 + 1,
                    script: format!("s{i}.js"),
                    users: None,
                    load: None,
                    state: *state,
                })
                .collect(),
            ..Status::default()
        }))
    }

    fn kinds(watcher: &mut Watcher, event: &Event) -> Vec<EventKind> {
        watcher.observe(event).into_iter().map(|h| h.kind).collect()
    }

    #[test]
    fn a_failing_run_is_started_step_failed_then_failed_each_once() {
        let mut w = Watcher::default();
        use StepState::*;
        assert_eq!(
            kinds(&mut w, &status(true, None, &[Running, Pending])),
            [EventKind::RunStarted]
        );
        assert!(kinds(&mut w, &status(true, None, &[Running, Pending])).is_empty());
        let failed = w.observe(&status(true, None, &[Failed, Running]));
        assert_eq!(failed.len(), 1);
        assert_eq!(
            (failed[0].kind, failed[0].step),
            (EventKind::StepFailed, Some(1))
        );
        assert!(kinds(&mut w, &status(true, None, &[Failed, Completed])).is_empty());
        assert_eq!(
            kinds(
                &mut w,
                &status(false, Some(RunOutcome::Failed), &[Failed, Completed])
            ),
            [EventKind::RunFailed]
        );
        // The same ended status again (another field changed) says nothing.
        assert!(
            kinds(
                &mut w,
                &status(false, Some(RunOutcome::Failed), &[Failed, Completed])
            )
            .is_empty()
        );
    }

    #[test]
    fn a_passing_run_that_regressed_is_finished_then_regressed() {
        let mut w = Watcher::default();
        assert_eq!(
            kinds(&mut w, &status(true, None, &[StepState::Running])),
            [EventKind::RunStarted]
        );
        let notice = Event::Regression(Box::new(RegressionNotice {
            run_id: "20261203T101500Z".into(),
            regressed: true,
            entries: Vec::new(),
            comparisons: Vec::new(),
        }));
        assert!(kinds(&mut w, &notice).is_empty());
        assert_eq!(
            kinds(
                &mut w,
                &status(false, Some(RunOutcome::Passed), &[StepState::Completed])
            ),
            [EventKind::RunFinished, EventKind::RunRegressed]
        );
    }

    /// At start-up the status shows the last run's end; that is not news.
    #[test]
    fn an_end_without_its_start_says_nothing() {
        let mut w = Watcher::default();
        assert!(
            kinds(
                &mut w,
                &status(false, Some(RunOutcome::Stopped), &[StepState::Stopped])
            )
            .is_empty()
        );
    }

    #[test]
    fn kinds_parse_from_their_names() {
        for kind in EventKind::ALL {
            assert_eq!(kind.name().parse::<EventKind>(), Ok(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.name());
        }
        assert!("run.done".parse::<EventKind>().is_err());
    }
}
