//! Running a suite: the plan's steps in order with the interval between
//! them, one process group per step, stop requests honoured, every step's
//! end judged by the core and recorded.
//!
//! - [`process`]: spawning in a process group, env allowlist, signals,
//!   orphan cleanup.
//! - `k6_api`: k6's REST API (metrics, stop).
//! - `stats`: CPU and RSS of the k6 process.
//! - `progress`: step n of m, elapsed and ETA.
//! - `step`: one step from its snapshot to its verdict.
//! - `export`: the archives of an export to k6-operator.

mod export;
pub mod k6_api;
pub mod process;
mod progress;
mod stats;
mod step;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::allowlist::ScriptDirs;
use crate::contract::{Plan, StopCause};
use crate::hub::Hub;
use crate::model::{
    LogLevel, LogLine, LogStream, RunOutcome, RunRecord, RunRecordState, StartedBy, StepRecord,
    StepSettings, StepState, StepStatus, now_rfc3339,
};
use crate::persistence::DataDir;
use crate::persistence::records::{RecordWriter, WriteState};
use crate::prometheus::{Metrics, RemoteWrite};
use crate::sandbox::SharedCore;
use progress::RunClock;
use step::StepTask;

/// What every step needs from the runner; built once, shared by every run.
pub(crate) struct StepRunner {
    /// The shared core instance (judge).
    pub(crate) core: SharedCore,
    /// Live state.
    pub(crate) hub: Arc<Hub>,
    /// Where run records go.
    pub(crate) data: DataDir,
    /// The script allowlist.
    pub(crate) dirs: ScriptDirs,
    /// Suffixes the policy allows.
    pub(crate) allowed_suffixes: Vec<String>,
    /// `bash`, for legacy wrappers, if found.
    pub(crate) bash: Option<PathBuf>,
    /// Extra environment names passed to steps.
    pub(crate) pass_env: Vec<String>,
    /// Time between the stop request and SIGKILL.
    pub(crate) stop_grace: Duration,
    /// Size at which a step's log file is rotated.
    pub(crate) step_log_max_bytes: u64,
    /// The operator's k6 output to Prometheus, if any.
    pub(crate) k6_output: Option<RemoteWrite>,
    /// Where step and run outcomes are counted.
    pub(crate) metrics: Arc<Metrics>,
}

/// A planned run, ready to go.
pub(crate) struct SuiteRun {
    /// The writer of its record (every step pending so far).
    pub(crate) record: RecordWriter,
    /// The plan.
    pub(crate) plan: Plan,
    /// The run's folder.
    pub(crate) run_dir: PathBuf,
    /// The k6 binary of this run.
    pub(crate) k6: PathBuf,
}

impl StepRunner {
    /// Runs every step in order until the end or a stop request, keeping
    /// the record current (in memory and, retried until it works, on disk)
    /// and the status too. Returns the final record.
    pub(crate) async fn run_suite(
        &self,
        run: SuiteRun,
        mut stop: watch::Receiver<Option<StopCause>>,
    ) -> RunRecord {
        let SuiteRun {
            record: writer,
            plan,
            run_dir,
            k6,
        } = run;
        let run_id = writer.current().id;
        let expected: Vec<u32> = plan.steps.iter().map(|s| s.expected_seconds).collect();
        let clock = RunClock::start(&expected, plan.interval_seconds, plan.expected_seconds);
        let mut stopped_by: Option<StopCause> = None;

        for (position, step) in plan.steps.iter().enumerate() {
            if let Some(cause) = *stop.borrow() {
                stopped_by = Some(cause);
                break;
            }
            let number = step.index + 1;
            self.hub.update_status(|s| {
                s.current_script = Some(step.script.clone());
                s.current_step = Some(number);
                s.progress = Some(clock.progress(number, 0.0, false));
                s.current_user_count = 0;
                s.metrics = None;
                set_step_state(s, number, StepState::Running);
            });
            writer.save(|r| {
                r.steps[position].state = StepState::Running;
                r.steps[position].started_at = Some(now_rfc3339());
            });

            let task = StepTask {
                run_id: &run_id,
                run_dir: &run_dir,
                k6: &k6,
                step,
            };
            let end = self
                .run_step(&task, &mut stop, |pid| {
                    writer.save(|r| r.steps[position].pid = Some(pid))
                })
                .await;
            let state = StepState::from(end.verdict.outcome);
            self.metrics.step_ended(state);
            writer.save(|r| {
                let entry = &mut r.steps[position];
                entry.ended_at = Some(now_rfc3339());
                entry.state = state;
                entry.exit_code = end.exit.as_ref().and_then(|e| e.code);
                entry.signal = end.exit.as_ref().and_then(|e| e.signal);
                entry.reason = Some(end.verdict.reason.clone());
                entry.summary = end.summary.clone();
                entry.log_file = end.log_file.clone();
                entry.snapshot = end.snapshot.clone();
                entry.files = end.files.clone();
                entry.notes.extend(end.notes.iter().cloned());
            });
            self.hub.update_status(|s| {
                let list = match state {
                    StepState::Completed => &mut s.completed_scripts,
                    StepState::Stopped => &mut s.stopped_scripts,
                    _ => &mut s.failed_scripts,
                };
                list.push(step.script.clone());
                set_step_state(s, number, state);
                if state == StepState::Failed {
                    s.last_error = Some(format!("{}: {}", step.script, end.verdict.reason));
                }
                s.current_script = None;
                s.current_step = None;
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
        writer.save(|record| {
            for entry in record
                .steps
                .iter_mut()
                .filter(|s| s.state == StepState::Pending)
            {
                entry.state = StepState::Skipped;
                entry.reason = Some("not started: the run was stopped".into());
                self.metrics.step_ended(StepState::Skipped);
            }
            record.ended_at = Some(now_rfc3339());
            record.state = match stopped_by {
                Some(StopCause::Operator) | Some(StopCause::Shutdown) => RunRecordState::Stopped,
                _ => RunRecordState::Finished,
            };
            record.outcome = RunOutcome::of(record.state, &record.steps);
            record.reason = match stopped_by {
                Some(StopCause::Operator) => Some("stopped by an operator".into()),
                Some(StopCause::Shutdown) => Some("stopped because the runner shut down".into()),
                _ => None,
            };
        });
        let record = writer.current();
        if let Some(outcome) = record.outcome {
            self.metrics.run_ended(outcome);
        }
        if let Err(error) = writer.finish(&self.data).await {
            tracing::error!(%error, run = %run_id, "cannot write the run record anywhere");
            self.hub.update_status(|s| {
                s.last_error = Some(format!(
                    "the record of run {run_id} could not be written ({error}); it is shown \
                     from memory and written as soon as the disk takes it"
                ))
            });
        }
        tracing::info!(run = %record.id, state = ?record.state, outcome = ?record.outcome, "suite run ended");
        record
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

    /// A log line from the runner itself about a step.
    pub(crate) fn note_for(
        &self,
        run_id: &str,
        script: &str,
        step: u32,
        level: LogLevel,
        message: &str,
    ) {
        self.hub.push_logs(vec![LogLine {
            seq: 0,
            time: now_rfc3339(),
            run_id: run_id.to_owned(),
            script: script.to_owned(),
            step,
            stream: LogStream::Runner,
            level,
            message: message.to_owned(),
        }]);
    }
}

/// Marks step `number` of the status with `state`.
fn set_step_state(status: &mut crate::model::Status, number: u32, state: StepState) {
    if let Some(step) = status.steps.iter_mut().find(|s| s.step == number) {
        step.state = state;
    }
}

/// The writer of `record`, telling the status when writes fail and work
/// again.
pub(crate) fn record_writer(data: &DataDir, hub: &Arc<Hub>, record: RunRecord) -> RecordWriter {
    let hub = hub.clone();
    RecordWriter::start(data.clone(), record, move |state| match state {
        WriteState::Failing(error) => {
            tracing::error!(%error, "cannot write the run record; retrying");
            hub.update_status(|s| {
                s.last_error = Some(format!(
                    "cannot write the run record ({error}); the runner keeps trying"
                ))
            });
        }
        WriteState::Written => tracing::info!("the run record is written again"),
    })
}

/// A fresh record for `plan`: every step pending.
pub(crate) fn new_record(
    id: String,
    plan: &Plan,
    config_json: serde_json::Value,
    k6_version: Option<String>,
    started_by: Option<StartedBy>,
) -> RunRecord {
    RunRecord {
        id,
        state: RunRecordState::Running,
        outcome: None,
        started_at: now_rfc3339(),
        ended_at: None,
        reason: None,
        config: config_json,
        k6_version,
        runner_version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        regression: None,
        started_by,
        steps: plan
            .steps
            .iter()
            .map(|step| {
                let dir = std::path::Path::new(&step.step_dir)
                    .file_name()
                    .map(|name| name.to_string_lossy().into_owned());
                StepRecord {
                    step: step.index + 1,
                    script: step.script.clone(),
                    kind: step.kind.into(),
                    settings: Some(StepSettings::from(&step.settings)),
                    state: StepState::Pending,
                    started_at: None,
                    ended_at: None,
                    exit_code: None,
                    signal: None,
                    reason: None,
                    summary: None,
                    pid: None,
                    dir,
                    log_file: None,
                    snapshot: None,
                    files: Vec::new(),
                    notes: step.notes.clone(),
                }
            })
            .collect(),
    }
}

/// The status's view of a planned run's steps.
pub(crate) fn step_statuses(plan: &Plan) -> Vec<StepStatus> {
    plan.steps
        .iter()
        .map(|step| StepStatus {
            step: step.index + 1,
            script: step.script.clone(),
            users: step.settings.users,
            load: (step.kind == crate::contract::ScriptKind::K6Script)
                .then(|| step.settings.load.into()),
            state: StepState::Pending,
        })
        .collect()
}

/// Shows the run's outcome in `status` and no step in progress. Whether a
/// run is in progress (`isRunning`, `state`) is the run slot's to say: it
/// says idle when it is free, so that a client who sees the run idle can
/// start the next one.
pub(crate) fn show_ended(status: &mut crate::model::Status, record: &RunRecord) {
    status.outcome = record.outcome;
    status.current_script = None;
    status.current_step = None;
    status.current_user_count = 0;
    status.progress = None;
}
