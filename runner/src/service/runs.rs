//! Runs: starting one with the current config, stopping it, shutting down,
//! and reading records and the files steps left.

use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use super::ports::free_ports;
use super::{ControlError, Service, invalid};
use crate::contract::{PlanContext, PlanTarget, StopCause};
use crate::history::BaselineChoice;
use crate::history::compare::{ComparisonVerdicts, RegressionNotice};
use crate::model::{RunRecord, StartedBy};
use crate::persistence::PersistError;
use crate::supervisor::{self, SuiteRun, show_ended, step_statuses};

/// Longest path (bytes) accepted by the files API.
const MAX_FILE_PATH_BYTES: usize = 1_024;

/// A run that was just started.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartedRun {
    /// Its id.
    pub run_id: String,
    /// Its scripts, in order (one per step; a script may appear twice).
    pub scripts: Vec<String>,
    /// Expected length, seconds.
    pub expected_seconds: u64,
}

/// Longest a shutdown waits for the webhook deliveries of what happened
/// before it: a receiver that does not answer delays the exit by this
/// much, once; a retried delivery may not make it (a first attempt takes
/// at most 10 s).
pub(crate) const WEBHOOK_GRACE: Duration = Duration::from_secs(10);

impl Service {
    /// Starts a suite run with the current config. Refused with
    /// [`ControlError::AlreadyRunning`] while one runs; nothing is spawned
    /// when the config cannot be planned or k6 is missing. The run can be
    /// stopped from the moment it is accepted, even before its first step.
    /// The record does not say who started it (see [`Self::start_run_by`]).
    pub async fn start_run(self: &Arc<Self>) -> Result<StartedRun, ControlError> {
        self.start_as(None).await
    }

    /// [`Self::start_run`], with `by` as the record's `startedBy`.
    pub async fn start_run_by(self: &Arc<Self>, by: StartedBy) -> Result<StartedRun, ControlError> {
        self.start_as(Some(by)).await
    }

    /// Both starts: `by` goes into the record as it is.
    async fn start_as(self: &Arc<Self>, by: Option<StartedBy>) -> Result<StartedRun, ControlError> {
        let id = self.new_run_id().await;
        let claim = self
            .runs
            .claim(&id)
            .map_err(|run_id| ControlError::AlreadyRunning { run_id })?;
        match self.prepare(&id, by).await {
            Ok(prepared) => {
                let started = StartedRun {
                    run_id: id.clone(),
                    scripts: prepared
                        .plan
                        .steps
                        .iter()
                        .map(|s| s.script.clone())
                        .collect(),
                    expected_seconds: prepared.plan.expected_seconds,
                };
                let stopping = claim.stop_requested();
                let statuses = step_statuses(&prepared.plan);
                let started_at = prepared.record.current().started_at;
                *self.live.lock().unwrap_or_else(PoisonError::into_inner) =
                    Some(prepared.record.reader());
                let service = self.clone();
                let run_id = id.clone();
                claim.launch(
                    move |s| {
                        s.run_id = Some(run_id);
                        s.outcome = None;
                        s.regressed = None;
                        s.start_time = Some(started_at);
                        s.current_script = None;
                        s.current_step = None;
                        s.current_user_count = 0;
                        s.completed_scripts.clear();
                        s.failed_scripts.clear();
                        s.stopped_scripts.clear();
                        s.interrupted_scripts.clear();
                        s.steps = statuses;
                        if !stopping {
                            s.last_error = None;
                        }
                        s.metrics = None;
                    },
                    move |stop| async move {
                        let record = service.steps.run_suite(prepared, stop).await;
                        service.finish_run(&record).await;
                    },
                );
                tracing::info!(run = %started.run_id, scripts = ?started.scripts, "suite run started");
                Ok(started)
            }
            Err(error) => {
                drop(claim);
                self.hub.update_status(|s| {
                    s.last_error = Some(format!("start refused: {}", refusal(&error)));
                });
                Err(error)
            }
        }
    }

    /// Plans run `id` and records it with every step pending.
    async fn prepare(&self, id: &str, by: Option<StartedBy>) -> Result<SuiteRun, ControlError> {
        let k6 = self.usable_k6().await?;
        let catalogue = self.catalogue().await?;
        let current = self.config.get();
        let run_dir = self.data.run_dir(id);
        let ports =
            free_ports(current.config.enabled_scripts.len()).map_err(ControlError::Ports)?;
        let context = PlanContext {
            run_dir: run_dir.to_string_lossy().into_owned(),
            api_ports: ports,
            target: PlanTarget::Runner,
        };
        let config = current.config.clone();
        let plan = self
            .core
            .call("plan.build", move |c| {
                c.build_plan(&config, &catalogue, &context)
            })
            .await?
            .map_err(|errors| invalid("the config cannot be run", errors))?;
        let record = supervisor::new_record(
            id.to_owned(),
            &plan,
            (*current.value).clone(),
            Some(k6.version.clone()),
            by,
        );
        let (data, first) = (self.data.clone(), record.clone());
        let made = tokio::task::spawn_blocking(move || {
            data.create_run_dir(&first.id)?;
            data.write_run(&first)?;
            data.set_active_run(&first.id)
        })
        .await
        .map_err(|e| {
            ControlError::Storage(PersistError::Io {
                action: "recording",
                path: run_dir.clone(),
                source: std::io::Error::other(e),
            })
        })?;
        if let Err(error) = made {
            // A run that cannot be recorded does not start, and leaves no
            // half-made folder behind (a full disk, for instance).
            let (data, dir) = (self.data.clone(), run_dir.clone());
            let _ = tokio::task::spawn_blocking(move || {
                let _ = std::fs::remove_dir_all(&dir);
                data.clear_active_run()
            })
            .await;
            return Err(error.into());
        }
        Ok(SuiteRun {
            record: supervisor::record_writer(&self.data, &self.hub, record),
            plan,
            run_dir,
            k6: k6.path,
        })
    }

    /// After a run's last step: the active-run marker goes, the run is
    /// judged against its entries' baselines (the verdict goes into its
    /// record), stored in the history, and the status shows the outcome.
    async fn finish_run(&self, record: &RunRecord) {
        let data = self.data.clone();
        if let Ok(Err(error)) = tokio::task::spawn_blocking(move || data.clear_active_run()).await {
            tracing::error!(%error, "cannot clear the active-run marker");
        }
        let mut record = record.clone();
        let mut notice = None;
        match self.history.judge(&record, BaselineChoice::Stored).await {
            Ok(Some((regression, comparisons))) => {
                if regression.regressed {
                    tracing::warn!(run = %record.id, "the run regressed against its baseline");
                }
                notice = Some(RegressionNotice {
                    run_id: record.id.clone(),
                    regressed: regression.regressed,
                    entries: regression.entries.clone(),
                    comparisons: comparisons.iter().map(ComparisonVerdicts::from).collect(),
                });
                record.regression = Some(regression);
                self.amend_record(&record).await;
            }
            Ok(None) => {}
            Err(error) => tracing::error!(%error, "cannot judge the run against its baselines"),
        }
        if let Err(error) = self.history.store(record.clone()).await {
            // The run folder keeps the record; the next start imports it.
            tracing::error!(%error, "cannot store the run in the history database");
        }
        // The verdict before the status that ends the run: a watcher that
        // sees the run idle has already been told how it compared.
        if let Some(notice) = notice {
            self.hub.publish_regression(notice);
        }
        let regressed = record.regression.as_ref().map(|r| r.regressed);
        self.hub.update_status(|s| {
            show_ended(s, &record);
            s.regressed = regressed;
        });
        self.apply_retention().await;
    }

    /// Writes a finished run's record again with its verdict, in memory
    /// and in its folder.
    async fn amend_record(&self, record: &RunRecord) {
        if let Some(live) = self
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|live| live.get().id == record.id)
        {
            live.replace(record.clone());
        }
        let (data, copy) = (self.data.clone(), record.clone());
        match tokio::task::spawn_blocking(move || data.write_run(&copy)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::error!(%error, "cannot write the run's verdict into its record")
            }
            Err(error) => tracing::error!(%error, "cannot write the run's verdict into its record"),
        }
    }

    /// Asks the current run to stop (idempotent). Returns the run's id if
    /// one was running.
    pub fn stop_run(&self, cause: StopCause) -> Option<String> {
        self.runs.stop(cause)
    }

    /// Stops the scheduler and any run, waits until the run's processes
    /// are gone and its record is written, then lets the webhook events
    /// published so far (the stopped run's own among them) be delivered,
    /// for at most 10 s.
    pub async fn shutdown(&self) {
        self.schedules.stop();
        self.runs.stop(StopCause::Shutdown);
        self.runs.wait_free().await;
        if let Some(deliveries) = self.deliveries.get() {
            deliveries.finish(WEBHOOK_GRACE).await;
        }
    }

    /// The record of the latest run: the live one while it runs.
    /// A run still being prepared (its scripts inspected, its plan made)
    /// has no record yet; until it has, the latest record is the one
    /// before it.
    pub fn results(&self) -> Result<RunRecord, ControlError> {
        if let Some(record) = self
            .runs
            .active_id()
            .and_then(|id| self.run_record(&id).ok())
        {
            return Ok(record);
        }
        let id = self
            .data
            .last_run_id()
            .ok()
            .flatten()
            .ok_or_else(|| ControlError::NotFound("no run has been started yet".into()))?;
        self.run_record(&id)
    }

    /// The record of run `id`.
    pub fn run_record(&self, id: &str) -> Result<RunRecord, ControlError> {
        if !is_run_id(id) {
            return Err(ControlError::NotFound(format!("no run {id:?}")));
        }
        if let Some(live) = self.live_record(id) {
            return Ok(live);
        }
        match self.data.read_run(id) {
            Ok(record) => Ok(record),
            Err(PersistError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                Err(ControlError::NotFound(format!("no run {id}")))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The newest version of `id`'s record when the runner holds it in
    /// memory (the run in progress, or the last one): always current,
    /// even when the disk's copy could not be written.
    fn live_record(&self, id: &str) -> Option<RunRecord> {
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|reader| reader.get())
            .filter(|record| record.id == id)
    }

    /// Forgets the in-memory copy of run `id`'s record once the run was
    /// deleted, so that neither `/runs/{id}` nor `/results` serves it after.
    pub(crate) fn forget_record(&self, id: &str) {
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        if live.as_ref().is_some_and(|reader| reader.get().id == id) {
            *live = None;
        }
    }

    /// A file a step of run `id` left in the run's folder (`path` relative
    /// to it, `/`-separated): its location, after checking that the path
    /// stays inside the folder and names a regular file.
    pub fn run_file(&self, id: &str, path: &str) -> Result<PathBuf, ControlError> {
        let not_found = || ControlError::NotFound(format!("run {id} has no file {path:?}"));
        if !is_run_id(id) || path.len() > MAX_FILE_PATH_BYTES || !is_plain_relative(path) {
            return Err(not_found());
        }
        let run_dir = self
            .data
            .run_dir(id)
            .canonicalize()
            .map_err(|_| not_found())?;
        let file = run_dir.join(path).canonicalize().map_err(|_| not_found())?;
        if !file.starts_with(&run_dir) || !file.is_file() {
            return Err(not_found());
        }
        Ok(file)
    }

    /// `20261125T133700Z`, with `-2`, `-3`… if a run started in the same
    /// second.
    pub(super) async fn new_run_id(&self) -> String {
        let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
            .to_string()
            .replace(['-', ':'], "");
        let data = self.data.clone();
        tokio::task::spawn_blocking(move || {
            (1..)
                .map(|n| {
                    if n == 1 {
                        stamp.clone()
                    } else {
                        format!("{stamp}-{n}")
                    }
                })
                .find(|id| !data.run_dir(id).exists())
                .unwrap_or(stamp)
        })
        .await
        .unwrap_or_default()
    }
}

/// A run id as the runner makes them: digits, `T`, `Z`, `-`.
fn is_run_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'T' | b'Z' | b'-'))
}

/// A relative path of plain names only: no `..`, `.`, root or empty part.
fn is_plain_relative(path: &str) -> bool {
    !path.is_empty()
        && !path
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
        && Path::new(path)
            .components()
            .all(|part| matches!(part, Component::Normal(_)))
}

/// A refused start in one line for `lastError`: the reason and, for an
/// invalid config, each field's problem.
fn refusal(error: &ControlError) -> String {
    match error {
        ControlError::Invalid { message, fields } => {
            let details: Vec<String> = fields.iter().map(|field| field.message.clone()).collect();
            format!("{message}: {}", details.join("; "))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_paths_must_stay_plain_and_relative() {
        for ok in ["01-a.js/summary.json", "02-w.sh/scripts/out/x.txt", "a"] {
            assert!(is_plain_relative(ok), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../b",
            "a//b",
            "./a",
            "a/",
            "a/./b",
        ] {
            assert!(!is_plain_relative(bad), "{bad}");
        }
        assert!(is_run_id("20261201T120000Z-2"));
        assert!(!is_run_id("../20261201"));
        assert!(!is_run_id(""));
    }
}
