//! The record of the run in progress: always current in memory, written
//! to disk by one writer task at every change, and retried until it is
//! written. A record is never left saying `running` because one write
//! failed: the writer tries again with a growing pause (1 s up to 30 s)
//! while nothing newer comes, the next change is written in its place, and
//! at the end of a run whatever still cannot go into the run folder goes to
//! `<data-dir>/pending/`, which readers prefer and the next start settles,
//! while a last task keeps trying the run folder until the write works.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;

use super::{DataDir, PersistError};
use crate::model::RunRecord;

/// First pause before a failed write is retried.
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// Longest pause between retries.
const LAST_RETRY: Duration = Duration::from_secs(30);
/// How long [`RecordWriter::finish`] keeps trying the run folder before it
/// writes the record to `pending/` instead.
const FINISH_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a record's writes stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteState {
    /// The newest version is on disk.
    Written,
    /// The newest version could not be written yet (retried).
    Failing(String),
}

/// The writer of one run's record.
pub struct RecordWriter {
    latest: watch::Sender<Version>,
    written: watch::Receiver<(u64, WriteState)>,
    current: Arc<Mutex<RunRecord>>,
    task: tokio::task::JoinHandle<()>,
}

/// A numbered copy of the record.
type Version = (u64, Arc<RunRecord>);

impl RecordWriter {
    /// Writes `record` (the first version) and keeps writing every later
    /// version given to [`Self::save`]. `on_state` hears whenever a write
    /// fails or works again.
    pub fn start(
        data: DataDir,
        record: RunRecord,
        on_state: impl Fn(&WriteState) + Send + Sync + 'static,
    ) -> Self {
        let current = Arc::new(Mutex::new(record.clone()));
        let (latest, versions) = watch::channel((1, Arc::new(record)));
        let (report, written) = watch::channel((0, WriteState::Written));
        let task = tokio::spawn(write_versions(data, versions, report, on_state));
        Self {
            latest,
            written,
            current,
            task,
        }
    }

    /// The record as it is now (the newest version, written or not).
    pub fn current(&self) -> RunRecord {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A handle that reads the newest version from elsewhere.
    pub fn reader(&self) -> RecordReader {
        RecordReader(self.current.clone())
    }

    /// Changes the record and hands the new version to the writer; never
    /// waits for the disk.
    pub fn save(&self, change: impl FnOnce(&mut RunRecord)) {
        let snapshot = {
            let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
            change(&mut current);
            Arc::new(current.clone())
        };
        self.latest.send_modify(|(version, record)| {
            *version += 1;
            *record = snapshot;
        });
    }

    /// Waits (at most [`FINISH_TIMEOUT`]) until the newest version is in
    /// the run folder; if it cannot be, writes it to `pending/` and leaves
    /// a task retrying the run folder (with the same growing pause) until
    /// the write works, which also removes the pending copy. Returns
    /// whether the pending copy could be written.
    pub async fn finish(self, data: &DataDir) -> Result<(), PersistError> {
        let wanted = self.latest.borrow().0;
        let mut written = self.written.clone();
        let done = tokio::time::timeout(
            FINISH_TIMEOUT,
            written
                .wait_for(|(version, state)| *version >= wanted && *state == WriteState::Written),
        )
        .await
        .is_ok_and(|waited| waited.is_ok());
        self.task.abort();
        if done {
            return Ok(());
        }
        let record = Arc::new(self.current());
        let (target, version) = (data.clone(), record.clone());
        let pending = tokio::task::spawn_blocking(move || target.write_pending(&version))
            .await
            .map_err(|e| PersistError::Io {
                action: "writing",
                path: "pending record".into(),
                source: std::io::Error::other(e),
            })
            .and_then(|written| written);
        // Started after the pending copy so that a late success removes it.
        tokio::spawn(write_until_written(data.clone(), record));
        pending
    }
}

/// Writes a run's final record into its run folder, retrying with a
/// growing pause until it works (a folder made writable again, space
/// freed); the run's status already shows the outcome from memory.
async fn write_until_written(data: DataDir, record: Arc<RunRecord>) {
    let mut pause = FIRST_RETRY;
    loop {
        tokio::time::sleep(pause).await;
        let (target, version) = (data.clone(), record.clone());
        match tokio::task::spawn_blocking(move || target.write_run(&version)).await {
            Ok(Ok(())) => {
                tracing::info!(run = %record.id, "the run's record is written into its folder at last");
                return;
            }
            Ok(Err(error)) => tracing::debug!(%error, "the run's record still cannot be written"),
            // The runtime is shutting down; the next start settles `pending/`.
            Err(_) => return,
        }
        pause = (pause * 2).min(LAST_RETRY);
    }
}

/// Reads the newest version of a run's record.
#[derive(Clone)]
pub struct RecordReader(Arc<Mutex<RunRecord>>);

impl RecordReader {
    /// The record as it is now.
    pub fn get(&self) -> RunRecord {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the record once its writer has finished (a verdict added
    /// after the run); the caller writes it to disk.
    pub fn replace(&self, record: RunRecord) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = record;
    }
}

/// The writer task: writes each new version on the blocking pool; after a
/// failure, retries the newest version with a growing pause.
async fn write_versions(
    data: DataDir,
    mut versions: watch::Receiver<Version>,
    report: watch::Sender<(u64, WriteState)>,
    on_state: impl Fn(&WriteState) + Send + Sync + 'static,
) {
    let mut pause = FIRST_RETRY;
    let mut failing = false;
    loop {
        let (version, record) = versions.borrow_and_update().clone();
        let target = data.clone();
        let result = tokio::task::spawn_blocking(move || target.write_run(&record))
            .await
            .unwrap_or_else(|e| {
                Err(PersistError::Io {
                    action: "writing",
                    path: "run record".into(),
                    source: std::io::Error::other(e),
                })
            });
        let state = match result {
            Ok(()) => WriteState::Written,
            Err(error) => WriteState::Failing(error.to_string()),
        };
        // Every failure is told, and the first success after one.
        if failing || state != WriteState::Written {
            on_state(&state);
        }
        failing = state != WriteState::Written;
        let _ = report.send((version, state));
        if failing {
            // A newer version is tried at once; the same one after a pause.
            tokio::select! {
                changed = versions.changed() => if changed.is_err() { return },
                () = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(LAST_RETRY);
        } else {
            pause = FIRST_RETRY;
            if versions.changed().await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RunRecordState;

    fn record(id: &str) -> RunRecord {
        RunRecord {
            id: id.to_owned(),
            state: RunRecordState::Running,
            outcome: None,
            started_at: "2026-12-01T00:00:00Z".into(),
            ended_at: None,
            reason: None,
            config: serde_json::Value::Null,
            k6_version: None,
            runner_version: None,
            regression: None,
            started_by: None,
            steps: Vec::new(),
        }
    }

    /// A record whose folder cannot be written is retried; once the folder
    /// is there again, the newest version lands in it.
    #[tokio::test]
    async fn a_failed_write_is_retried_until_it_works() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path()).unwrap();
        let failures = Arc::new(Mutex::new(Vec::new()));
        let seen = failures.clone();
        // The run folder is missing, so every write into it fails.
        let writer = RecordWriter::start(data.clone(), record("r1"), move |state| {
            seen.lock().unwrap().push(state.clone())
        });
        writer.save(|r| r.state = RunRecordState::Finished);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(matches!(
            failures.lock().unwrap().last(),
            Some(WriteState::Failing(_))
        ));
        data.create_run_dir("r1").unwrap();
        writer.finish(&data).await.unwrap();
        let on_disk = std::fs::read(data.run_dir("r1").join("run.json")).unwrap();
        let on_disk: RunRecord = serde_json::from_slice(&on_disk).unwrap();
        assert_eq!(on_disk.state, RunRecordState::Finished);
        assert_eq!(failures.lock().unwrap().last(), Some(&WriteState::Written));
    }

    /// A record that never gets into its folder goes to `pending/`, which
    /// reads prefer, and the next start settles it once it can.
    #[tokio::test]
    async fn a_record_that_cannot_be_written_in_time_goes_to_pending() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path()).unwrap();
        // No run folder at all: every write into it fails.
        let writer = RecordWriter::start(data.clone(), record("r2"), |_| {});
        writer.save(|r| r.state = RunRecordState::Stopped);
        tokio::time::pause();
        writer.finish(&data).await.unwrap();
        assert_eq!(data.read_run("r2").unwrap().state, RunRecordState::Stopped);
        assert_eq!(data.last_run_id().unwrap().as_deref(), Some("r2"));
        assert_eq!(data.settle_pending(), ["r2".to_owned()]);
        data.create_run_dir("r2").unwrap();
        assert!(data.settle_pending().is_empty());
        assert_eq!(data.read_run("r2").unwrap().state, RunRecordState::Stopped);
        assert!(data.run_dir("r2").join("run.json").is_file());
    }

    /// After the run, the record is still tried in its folder until it
    /// lands there, without waiting for a restart.
    #[tokio::test]
    async fn a_finished_record_keeps_being_tried_until_it_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path()).unwrap();
        let writer = RecordWriter::start(data.clone(), record("r3"), |_| {});
        writer.save(|r| r.state = RunRecordState::Finished);
        tokio::time::pause();
        writer.finish(&data).await.unwrap();
        assert!(!data.run_dir("r3").join("run.json").exists());
        data.create_run_dir("r3").unwrap();
        // 1 s, 2 s, 4 s… : within a minute of the folder's return.
        for _ in 0..60 {
            if data.run_dir("r3").join("run.json").is_file() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let in_folder = std::fs::read(data.run_dir("r3").join("run.json")).unwrap();
        let in_folder: RunRecord = serde_json::from_slice(&in_folder).unwrap();
        assert_eq!(in_folder.state, RunRecordState::Finished);
        assert!(
            !dir.path().join("pending/r3.json").exists(),
            "the pending copy is gone"
        );
    }
}
