//! Running a suite: the plan's steps in order with the interval between
//! them, one process group per step, stop requests honoured, every step's
//! end judged by the core and recorded.
//!
//! - [`process`]: spawning in a process group, env allowlist, signals,
//!   orphan cleanup.
//! - [`output`]: capped, always-draining line readers.
//! - [`k6_api`]: k6's REST API (metrics, status, stop).
//! - [`stats`]: CPU and RSS of the k6 process.
//! - [`progress`]: step n of m, elapsed and ETA.
//! - `step`: one step from spawn to verdict.

pub mod k6_api;
pub mod output;
pub mod process;
pub mod progress;
pub mod stats;
mod step;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::allowlist::ScriptDirs;
use crate::contract::{CatalogueEntry, Plan, StopCause};
use crate::hub::Hub;
use crate::model::{RunRecord, RunRecordState, RunState, StepRecord, StepState, now_rfc3339};
use crate::persistence::DataDir;
use crate::sandbox::SharedCore;
use progress::RunClock;
use step::StepTask;

/// The programs steps may start; resolved once, never named by the API.
#[derive(Debug, Clone)]
pub struct Programs {
    /// The k6 binary, if found.
    pub k6: Option<PathBuf>,
    /// Why k6 is missing, for the step's reason.
    pub k6_missing: String,
    /// `bash`, for legacy wrappers, if found.
    pub bash: Option<PathBuf>,
}

/// Everything a suite run needs from the runner.
pub struct Supervisor {
    /// The shared core instance (judge).
    pub core: SharedCore,
    /// Live state.
    pub hub: Arc<Hub>,
    /// Where run records go.
    pub data: DataDir,
    /// The script allowlist.
    pub dirs: ScriptDirs,
    /// Suffixes the policy allows.
    pub allowed_suffixes: Vec<String>,
    /// Programs.
    pub programs: Programs,
    /// Extra environment names passed to steps.
    pub pass_env: Vec<String>,
    /// Time between the stop request and SIGKILL.
    pub stop_grace: Duration,
    /// Size at which a step's log file is rotated.
    pub step_log_max_bytes: u64,
}

/// A planned run, ready to go.
pub struct SuiteRun {
    /// The record, already written with every step pending.
    pub record: RunRecord,
    /// The plan.
    pub plan: Plan,
    /// The catalogue the plan was made from.
    pub catalogue: Vec<CatalogueEntry>,
    /// The run's folder.
    pub run_dir: PathBuf,
}

impl Supervisor {
    /// Runs every step in order until the end or a stop request, keeping
    /// the record on disk and the status current.
    pub async fn run(&self, run: SuiteRun, mut stop: watch::Receiver<Option<StopCause>>) {
        let SuiteRun {
            mut record,
            plan,
            catalogue,
            run_dir,
        } = run;
        let steps = u32::try_from(plan.steps.len()).unwrap_or(u32::MAX);
        let clock = RunClock::start(
            steps,
            plan.config.test_duration_seconds,
            plan.interval_seconds,
            plan.expected_seconds,
        );
        let mut stopped_by: Option<StopCause> = None;

        for (position, step) in plan.steps.iter().enumerate() {
            if let Some(cause) = *stop.borrow() {
                stopped_by = Some(cause);
                break;
            }
            let number = step.index + 1;
            self.hub.update_status(|s| {
                s.current_script = Some(step.script.clone());
                s.progress = Some(clock.progress(number, 0.0, false));
                s.current_user_count = 0;
                s.metrics = None;
            });
            record.steps[position].state = StepState::Running;
            record.steps[position].started_at = Some(now_rfc3339());
            self.save(&record);

            let task = StepTask {
                run_id: &record.id.clone(),
                run_dir: &run_dir,
                step,
                entry: catalogue.iter().find(|entry| entry.name == step.script),
                clock: &clock,
            };
            let mut spawned_pid = None;
            let end = self
                .run_step(&task, &mut stop, |pid| spawned_pid = Some(pid))
                .await;
            let entry = &mut record.steps[position];
            entry.pid = spawned_pid;
            entry.ended_at = Some(now_rfc3339());
            entry.state = StepState::from(end.verdict.outcome);
            entry.exit_code = end.exit.as_ref().and_then(|e| e.code);
            entry.signal = end.exit.as_ref().and_then(|e| e.signal);
            entry.reason = Some(end.verdict.reason.clone());
            entry.summary = end.summary;
            entry.log_file = end.log_file;
            let state = entry.state;
            self.save(&record);
            self.hub.update_status(|s| {
                let list = match state {
                    StepState::Completed => &mut s.completed_scripts,
                    StepState::Stopped => &mut s.stopped_scripts,
                    _ => &mut s.failed_scripts,
                };
                list.push(step.script.clone());
                if state == StepState::Failed {
                    s.last_error = Some(format!("{}: {}", step.script, end.verdict.reason));
                }
            });

            let last = position + 1 == plan.steps.len();
            if !last && stop.borrow().is_none() && plan.interval_seconds > 0 {
                self.wait_interval(&clock, number, plan.interval_seconds, &mut stop)
                    .await;
            }
        }
        if stopped_by.is_none() {
            stopped_by = *stop.borrow();
        }

        for entry in record
            .steps
            .iter_mut()
            .filter(|s| s.state == StepState::Pending)
        {
            entry.state = StepState::Skipped;
            entry.reason = Some("not started: the run was stopped".into());
        }
        record.ended_at = Some(now_rfc3339());
        record.state = match stopped_by {
            Some(StopCause::Operator) | Some(StopCause::Shutdown) => RunRecordState::Stopped,
            _ => RunRecordState::Finished,
        };
        record.reason = match stopped_by {
            Some(StopCause::Operator) => Some("stopped by an operator".into()),
            Some(StopCause::Shutdown) => Some("stopped because the runner shut down".into()),
            _ => None,
        };
        self.save(&record);
        if let Err(error) = self.data.clear_active_run() {
            tracing::error!(%error, "cannot clear the active-run marker");
        }
        self.hub.update_status(|s| {
            s.is_running = false;
            s.state = RunState::Idle;
            s.current_script = None;
            s.current_user_count = 0;
            s.progress = None;
        });
        tracing::info!(run = %record.id, state = ?record.state, "suite run ended");
    }

    /// Sleeps the interval between steps, waking early for a stop.
    async fn wait_interval(
        &self,
        clock: &RunClock,
        after_step: u32,
        seconds: u32,
        stop: &mut watch::Receiver<Option<StopCause>>,
    ) {
        let started = tokio::time::Instant::now();
        let until = started + Duration::from_secs(u64::from(seconds));
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => return,
                changed = stop.changed() => if changed.is_err() || stop.borrow().is_some() { return },
                _ = tick.tick() => {
                    let progress = clock.progress(after_step, started.elapsed().as_secs_f64(), true);
                    self.hub.update_status(|s| {
                        s.progress = Some(progress);
                        s.current_user_count = 0;
                    });
                }
            }
        }
    }

    fn save(&self, record: &RunRecord) {
        if let Err(error) = self.data.write_run(record) {
            tracing::error!(%error, run = %record.id, "cannot write the run record");
            self.hub.update_status(|s| {
                s.last_error = Some(format!("cannot write the run record: {error}"))
            });
        }
    }
}

/// A fresh record for `plan`: every step pending.
pub fn new_record(id: String, plan: &Plan, config_json: serde_json::Value) -> RunRecord {
    RunRecord {
        id,
        state: RunRecordState::Running,
        started_at: now_rfc3339(),
        ended_at: None,
        reason: None,
        config: config_json,
        steps: plan
            .steps
            .iter()
            .map(|step| StepRecord {
                step: step.index + 1,
                script: step.script.clone(),
                kind: crate::model::kind_name(step.kind).to_owned(),
                state: StepState::Pending,
                started_at: None,
                ended_at: None,
                exit_code: None,
                signal: None,
                reason: None,
                summary: None,
                pid: None,
                log_file: None,
            })
            .collect(),
    }
}
