//! Run folders into the history database: at every start, each ended
//! run the database lacks (or holds as still running) is read from its
//! `run.json` and its steps' `series.jsonl` and stored, one transaction per
//! run, so an import cut short resumes where it stopped and importing twice
//! changes nothing.

use std::collections::HashMap;

use rusqlite::Connection;

use super::store;
use crate::model::{MetricsPoint, RunRecord, RunRecordState};
use crate::persistence::DataDir;
use crate::persistence::series::{SERIES_FILE, read_series};

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Runs stored.
    pub imported: usize,
    /// Runs already there, or still running.
    pub skipped: usize,
    /// Run folders that could not be read or stored (logged).
    pub failed: usize,
}

/// Imports every run folder of `data` the database lacks.
pub(super) fn import_folders(conn: &mut Connection, data: &DataDir) -> ImportReport {
    let mut report = ImportReport::default();
    let known: HashMap<String, String> = match store::known_runs(conn) {
        Ok(known) => known.into_iter().collect(),
        Err(error) => {
            tracing::error!(%error, "cannot read the history database's runs; nothing imported");
            return report;
        }
    };
    let ids = match data.run_ids() {
        Ok(ids) => ids,
        Err(error) => {
            tracing::error!(%error, "cannot list the run folders; nothing imported");
            return report;
        }
    };
    for id in ids {
        if known.get(&id).is_some_and(|state| state != "running") {
            report.skipped += 1;
            continue;
        }
        let record = match data.read_run(&id) {
            Ok(record) => record,
            Err(error) => {
                tracing::warn!(run = %id, %error, "a run folder without a readable record is not imported");
                report.failed += 1;
                continue;
            }
        };
        if record.state == RunRecordState::Running {
            report.skipped += 1;
            continue;
        }
        let series = step_series(data, &record);
        let regressed = record.regression.as_ref().map(|r| r.regressed);
        match store::put_run(conn, &record, &series, regressed) {
            Ok(()) => report.imported += 1,
            Err(error) => {
                tracing::error!(run = %id, %error, "cannot import a run into the history database");
                report.failed += 1;
            }
        }
    }
    if report.imported > 0 || report.failed > 0 {
        tracing::info!(
            imported = report.imported,
            failed = report.failed,
            "run folders imported into the history database"
        );
    }
    report
}

/// Each step's series, from `series.jsonl` in its folder (a step without
/// one has none).
pub(super) fn step_series(data: &DataDir, record: &RunRecord) -> Vec<(u32, Vec<MetricsPoint>)> {
    record
        .steps
        .iter()
        .filter_map(|step| {
            let dir = step.dir.as_ref()?;
            let path = data.run_dir(&record.id).join(dir).join(SERIES_FILE);
            match read_series(&path) {
                Ok(points) if !points.is_empty() => Some((step.step, points)),
                Ok(_) => None,
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "cannot read a step's series");
                    None
                }
            }
        })
        .collect()
}
