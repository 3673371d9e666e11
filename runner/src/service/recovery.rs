//! After a restart: what a runner that died mid-run left behind is killed
//! and its run marked interrupted, records that could not be written
//! settle into their run folders, and the status shows the last run again.

use crate::hub::Hub;
use crate::model::{RunOutcome, RunRecordState, StepState, now_rfc3339};
use crate::persistence::DataDir;
use crate::prometheus::Metrics;
use crate::supervisor::process;

/// Kills what a dead runner left running and marks its run interrupted
/// (counted in `metrics`: this is where that outcome is decided).
pub(crate) fn recover_interrupted_run(data: &DataDir, hub: &Hub, metrics: &Metrics) {
    let still_pending = data.settle_pending();
    if !still_pending.is_empty() {
        tracing::warn!(runs = ?still_pending, "run records still cannot be written into their folders; kept in pending/");
    }
    let id = match data.active_run() {
        Ok(Some(id)) => id,
        Ok(None) => return,
        Err(error) => {
            tracing::error!(%error, "cannot read the active-run marker");
            return;
        }
    };
    let killed = process::kill_marked_processes(&data.run_marker(&id));
    let reason = format!(
        "the runner stopped unexpectedly during this run; {} leftover process(es) killed at the next start",
        killed.len()
    );
    tracing::warn!(run = %id, ?killed, "recovering an interrupted run");
    match data.read_run(&id) {
        Ok(mut record) => {
            record.state = RunRecordState::Interrupted;
            record.outcome = Some(RunOutcome::Interrupted);
            record.ended_at = Some(now_rfc3339());
            record.reason = Some(reason.clone());
            metrics.run_ended(RunOutcome::Interrupted);
            for step in &mut record.steps {
                match step.state {
                    StepState::Running => {
                        step.state = StepState::Interrupted;
                        step.reason = Some("the runner died while this step ran".into());
                    }
                    StepState::Pending => {
                        step.state = StepState::Skipped;
                        step.reason = Some("not started: the runner died before this step".into());
                    }
                    _ => continue,
                }
                metrics.step_ended(step.state);
            }
            if let Err(error) = data
                .write_run(&record)
                .or_else(|_| data.write_pending(&record))
            {
                tracing::error!(%error, "cannot mark the interrupted run");
            }
        }
        Err(error) => {
            tracing::error!(%error, run = %id, "cannot read the interrupted run's record")
        }
    }
    if let Err(error) = data.clear_active_run() {
        tracing::error!(%error, "cannot clear the active-run marker");
    }
    // Its start time and outcomes come with the last run's record
    // (`show_last_run`), which this run is.
    hub.update_status(|s| {
        s.run_id = Some(id.clone());
        s.last_error = Some(format!("run {id} was interrupted: {reason}"));
    });
}

/// After a restart, the status names the last run and its outcomes, as it
/// did before (`/results` has the whole record).
pub(crate) fn show_last_run(data: &DataDir, hub: &Hub) {
    let record = match data.last_run_id() {
        Ok(Some(id)) => data.read_run(&id),
        Ok(None) => return,
        Err(error) => Err(error),
    };
    let record = match record {
        Ok(record) => record,
        Err(error) => {
            tracing::warn!(%error, "cannot read the last run's record");
            return;
        }
    };
    let scripts = |wanted: StepState| -> Vec<String> {
        record
            .steps
            .iter()
            .filter(|step| step.state == wanted)
            .map(|step| step.script.clone())
            .collect()
    };
    let (completed, stopped) = (scripts(StepState::Completed), scripts(StepState::Stopped));
    let (failed, interrupted) = (scripts(StepState::Failed), scripts(StepState::Interrupted));
    let steps = record
        .steps
        .iter()
        .map(|step| crate::model::StepStatus {
            step: step.step,
            script: step.script.clone(),
            users: step.settings.as_ref().and_then(|s| s.users),
            load: step.settings.as_ref().map(|s| s.load),
            state: step.state,
        })
        .collect();
    let outcome = record
        .outcome
        .or_else(|| RunOutcome::of(record.state, &record.steps));
    hub.update_status(|s| {
        s.run_id = Some(record.id.clone());
        s.start_time = Some(record.started_at.clone());
        s.outcome = outcome;
        s.completed_scripts = completed;
        s.failed_scripts = failed;
        s.stopped_scripts = stopped;
        s.interrupted_scripts = interrupted;
        s.steps = steps;
    });
}
