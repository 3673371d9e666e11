//! Run history: every ended run in an embedded SQLite database,
//! `<data-dir>/history.sqlite`, for listing, comparison against baselines,
//! trends and reports.
//!
//! The run folders stay the source of truth. The database holds a copy of
//! each ended run's record, every metric and threshold of each step and
//! the per-second series (from each step's `series.jsonl`); logs and step
//! files stay files. At every start, run folders the database lacks are
//! imported (so the first start imports them all, and a runner killed
//! between a run's end and its database write loses nothing); a database
//! that cannot be opened or fails SQLite's `quick_check` is set aside as
//! `history.sqlite.corrupt-<time>` and rebuilt from the folders.
//!
//! One thread owns the connection (WAL mode); callers send it jobs and
//! await the answer, so no database work runs on an async worker and
//! writes never interleave. Dropping the last [`History`] ends the thread.
//!
//! # Layout
//!
//! - `schema`: the tables and their versioned migrations.
//! - `store`: the queries, one transaction per write.
//! - `files`: opening (or setting aside) the database file, and the
//!   baselines' own file.
//! - `import`: run folders into the database.
//! - `compare`: two runs compared, and the regression budgets.
//! - `retention`: deleting runs beyond the newest N or older than D days.

pub(crate) mod compare;
mod files;
mod import;
mod retention;
mod schema;
mod store;

use std::path::PathBuf;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use rusqlite::Connection;

use crate::model::{Regression, RegressionEntry, RunRecord};
use crate::persistence::DataDir;
use compare::{Budgets, Comparison, Verdict};
use files::{is_corrupt, load_baselines, open_db, save_baselines, set_aside};
pub use import::ImportReport;
pub use retention::{DEFAULT_KEEP_RUNS, Retention};
/// The migrations, for the schedules' store tests (an in-memory database).
#[cfg(test)]
pub(crate) use schema::migrate;
pub use store::{RunFilter, RunSummary, StateFilter, TrendPoint};

/// The database file's name in the data directory.
pub const DB_FILE: &str = "history.sqlite";
/// How long a statement waits for a lock held by another connection (the
/// `sqlite3` shell, a backup) before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// The JSON name of the budgets in a config.
pub const BUDGETS_FIELD: &str = "regressionBudgets";

/// Why the history could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// SQLite failed.
    #[error("the history database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A newer runner made the database.
    #[error(
        "the history database has schema version {found}; this runner knows up to {known} \
         (it was written by a newer k6-runner)"
    )]
    NewerSchema {
        /// Its version.
        found: i64,
        /// Ours.
        known: i64,
    },
    /// A record could not be encoded or decoded.
    #[error("a run record in the history database: {0}")]
    Encode(#[source] serde_json::Error),
    /// A file of the data directory.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The history thread is gone (the runner is shutting down).
    #[error("the history database's thread has stopped")]
    Closed,
}

/// What opening the history did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// Where an unusable database file was set aside, if one was.
    pub set_aside: Option<PathBuf>,
    /// The run folders imported.
    pub import: ImportReport,
}

/// A job for the history thread.
type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// The history database. Cheap to clone; when the last clone goes, the
/// thread finishes the job at hand and closes the database before the drop
/// returns (so a reopened file is never still held by an old connection).
#[derive(Clone)]
pub struct History {
    owner: Arc<Owner>,
    data: DataDir,
}

/// The history thread and the way to reach it.
struct Owner {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop.
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History")
            .field("data", &self.data.root())
            .finish()
    }
}

/// Which run a run is compared with (the CLI's `--baseline`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaselineChoice {
    /// Each entry's stored baseline.
    Stored,
    /// The newest run that ended before it.
    Last,
    /// This run.
    Run(String),
}

impl History {
    /// Opens (creating, migrating, or setting aside and rebuilding) the
    /// database of `data` and imports the run folders it lacks. Blocks:
    /// call it from a blocking thread.
    pub fn open(data: &DataDir) -> Result<(Self, OpenReport), HistoryError> {
        let path = data.root().join(DB_FILE);
        let mut report = OpenReport::default();
        let mut conn = match open_db(&path) {
            Ok(conn) => conn,
            Err(error) if is_corrupt(&error) => {
                tracing::error!(%error, path = %path.display(), "the history database is unusable; setting it aside and rebuilding it from the run folders");
                report.set_aside = Some(set_aside(&path)?);
                open_db(&path)?
            }
            Err(error) => return Err(error),
        };
        report.import = import::import_folders(&mut conn, data);
        load_baselines(&mut conn, data)?;
        let (jobs, inbox) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("k6-history".into())
            .spawn(move || {
                for job in inbox {
                    job(&mut conn);
                }
            })
            .map_err(|source| HistoryError::Io {
                action: "starting the thread of",
                path: path.clone(),
                source,
            })?;
        Ok((
            Self {
                owner: Arc::new(Owner {
                    jobs: Some(jobs),
                    thread: Some(thread),
                }),
                data: data.clone(),
            },
            report,
        ))
    }

    /// Runs `job` on the history thread and waits for its answer (also
    /// for the schedules, which keep their tables in this database).
    pub(crate) async fn call<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Connection, &DataDir) -> Result<T, HistoryError> + Send + 'static,
    ) -> Result<T, HistoryError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let data = self.data.clone();
        self.owner
            .jobs
            .as_ref()
            .ok_or(HistoryError::Closed)?
            .send(Box::new(move |conn| {
                let _ = reply.send(job(conn, &data));
            }))
            .map_err(|_| HistoryError::Closed)?;
        answer.await.map_err(|_| HistoryError::Closed)?
    }

    /// Stores an ended run with its steps' series (read from their
    /// folders) and its verdict.
    pub async fn store(&self, record: RunRecord) -> Result<(), HistoryError> {
        self.call(move |conn, data| {
            let series = import::step_series(data, &record);
            let regressed = record.regression.as_ref().map(|r| r.regressed);
            store::put_run(conn, &record, &series, regressed)
        })
        .await
    }

    /// Runs matching `filter`, newest first.
    pub async fn list(&self, filter: RunFilter) -> Result<Vec<RunSummary>, HistoryError> {
        self.call(move |conn, _| store::list(conn, &filter)).await
    }

    /// The stored record of run `id`.
    pub async fn record(&self, id: &str) -> Result<Option<RunRecord>, HistoryError> {
        let id = id.to_owned();
        self.call(move |conn, _| store::record(conn, &id)).await
    }

    /// The stored per-second series of run `id`, by step.
    pub async fn series(&self, id: &str) -> Result<Vec<crate::model::MetricsPoint>, HistoryError> {
        let id = id.to_owned();
        self.call(move |conn, _| store::series(conn, &id)).await
    }

    /// One metric's statistic for one script over the newest runs.
    pub async fn trend(
        &self,
        script: String,
        metric: String,
        stat: String,
        limit: u32,
    ) -> Result<Vec<TrendPoint>, HistoryError> {
        self.call(move |conn, _| store::trend(conn, &script, &metric, &stat, limit))
            .await
    }

    /// Deletes run `id` from the database and its folder from the disk
    /// (the database first: a run whose folder survives a failed removal
    /// comes back at the next start rather than pointing nowhere). True if
    /// there was anything to delete.
    pub async fn delete(&self, id: &str) -> Result<bool, HistoryError> {
        let id = id.to_owned();
        self.call(move |conn, data| {
            let stored = store::delete_run(conn, &id)?;
            save_baselines(conn, data)?;
            let dir = data.run_dir(&id);
            let on_disk = dir.is_dir();
            if on_disk {
                std::fs::remove_dir_all(&dir).map_err(|source| HistoryError::Io {
                    action: "removing",
                    path: dir,
                    source,
                })?;
            }
            Ok(stored || on_disk)
        })
        .await
    }

    /// Makes run `id` the baseline of each of its entries; returns them.
    pub async fn set_baseline(&self, record: &RunRecord) -> Result<Vec<String>, HistoryError> {
        let id = record.id.clone();
        let entries: Vec<String> = compare::entry_keys(record)
            .into_iter()
            .map(|(key, _)| key)
            .collect();
        self.call(move |conn, data| {
            store::set_baseline(conn, &id, &entries)?;
            save_baselines(conn, data)?;
            Ok(entries)
        })
        .await
    }

    /// Run `id` stops being a baseline; returns the entries it was one of.
    pub async fn clear_baseline(&self, id: &str) -> Result<Vec<String>, HistoryError> {
        let id = id.to_owned();
        self.call(move |conn, data| {
            let entries = store::clear_baseline(conn, &id)?;
            save_baselines(conn, data)?;
            Ok(entries)
        })
        .await
    }

    /// Deletes the runs beyond `retention` (baselines and a run in
    /// progress are kept), rows and folders; returns their ids.
    pub async fn prune(
        &self,
        retention: retention::Retention,
    ) -> Result<Vec<String>, HistoryError> {
        let cutoff = retention.keep_days.map(|days| {
            let age = Duration::from_secs(u64::from(days) * 86_400);
            let then = std::time::SystemTime::now()
                .checked_sub(age)
                .unwrap_or(std::time::UNIX_EPOCH);
            humantime::format_rfc3339_seconds(then).to_string()
        });
        self.call(move |conn, data| retention::prune(conn, data, retention, cutoff.as_deref()))
            .await
    }

    /// The ids of the runs that are some entry's baseline.
    pub async fn baseline_runs(&self) -> Result<Vec<String>, HistoryError> {
        self.call(|conn, _| {
            let mut ids: Vec<String> = store::baselines(conn)?
                .into_iter()
                .map(|(_, id)| id)
                .collect();
            ids.sort();
            ids.dedup();
            Ok(ids)
        })
        .await
    }

    /// Compares two records under `run`'s budgets.
    pub fn compare(base: &RunRecord, run: &RunRecord) -> Comparison {
        compare::compare(base, run, &budgets_of(run), None)
    }

    /// Judges an ended run against its baselines: each entry's stored
    /// baseline, or one run for all (`choice`). `None` when no entry has a
    /// baseline to be compared with.
    pub async fn judge(
        &self,
        record: &RunRecord,
        choice: BaselineChoice,
    ) -> Result<Option<(Regression, Vec<Comparison>)>, HistoryError> {
        let run = record.clone();
        self.call(move |conn, _| {
            let mut by_base: Vec<(String, Vec<String>)> = Vec::new();
            let keys: Vec<String> = compare::entry_keys(&run)
                .into_iter()
                .map(|(key, _)| key)
                .collect();
            match choice {
                BaselineChoice::Stored => {
                    for (entry, base) in store::baselines(conn)? {
                        if base == run.id || !keys.contains(&entry) {
                            continue;
                        }
                        match by_base.iter_mut().find(|(id, _)| *id == base) {
                            Some((_, entries)) => entries.push(entry),
                            None => by_base.push((base, vec![entry])),
                        }
                    }
                }
                BaselineChoice::Last => {
                    if let Some(base) = store::previous_run(conn, &run.id, &run.started_at)? {
                        by_base.push((base, keys));
                    }
                }
                BaselineChoice::Run(base) => by_base.push((base, keys)),
            }
            let budgets = budgets_of(&run);
            let mut entries = Vec::new();
            let mut comparisons = Vec::new();
            for (base_id, wanted) in by_base {
                let Some(base) = store::record(conn, &base_id)? else {
                    continue;
                };
                let comparison = compare::compare(&base, &run, &budgets, Some(&wanted));
                for entry in &comparison.entries {
                    entries.push(RegressionEntry {
                        entry: entry.entry.clone(),
                        baseline: base_id.clone(),
                        crossed: entry
                            .headline
                            .iter()
                            .filter(|d| d.verdict == Verdict::Regressed)
                            .map(|d| d.name.clone())
                            .collect(),
                    });
                }
                comparisons.push(comparison);
            }
            if comparisons.is_empty() {
                return Ok(None);
            }
            let regressed = entries.iter().any(|e| !e.crossed.is_empty());
            Ok(Some((Regression { regressed, entries }, comparisons)))
        })
        .await
    }
}

/// The budgets a run was configured with (its config's
/// `regressionBudgets`, checked by the core when the config was stored),
/// or the defaults.
pub fn budgets_of(record: &RunRecord) -> Budgets {
    record
        .config
        .get(BUDGETS_FIELD)
        .and_then(|value| serde_json::from_value::<Budgets>(value.clone()).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
