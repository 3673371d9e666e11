//! Retention: the newest N runs and/or the runs of the last D days are
//! kept; older ones are deleted, history rows and run folder alike.
//! Baselines and a run in progress are never deleted.

use rusqlite::Connection;

use super::{HistoryError, store};
use crate::persistence::DataDir;

/// Default `--keep-runs`: a year of daily suites with room to spare.
pub const DEFAULT_KEEP_RUNS: u32 = 1_000;

/// Which runs are kept. `None` means no limit of that kind; a run is
/// deleted when it is beyond either limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Keep only the newest this many runs (default [`DEFAULT_KEEP_RUNS`]).
    pub keep_runs: Option<u32>,
    /// Keep only runs started within this many days (default: no limit).
    pub keep_days: Option<u32>,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            keep_runs: Some(DEFAULT_KEEP_RUNS),
            keep_days: None,
        }
    }
}

/// Deletes the runs beyond `retention` (`cutoff`: the oldest start time
/// kept by the age limit, RFC 3339 seconds); returns their ids.
pub(super) fn prune(
    conn: &mut Connection,
    data: &DataDir,
    retention: Retention,
    cutoff: Option<&str>,
) -> Result<Vec<String>, HistoryError> {
    let exempt: Vec<String> = store::baselines(conn)?
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    let runs: Vec<(String, String, String)> = {
        let mut query = conn
            .prepare("SELECT id, started_at, state FROM runs ORDER BY started_at DESC, id DESC")?;
        query
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?
    };
    let mut deleted = Vec::new();
    for (position, (id, started_at, state)) in runs.into_iter().enumerate() {
        let too_many = retention
            .keep_runs
            .is_some_and(|keep| position >= keep as usize);
        let too_old = cutoff.is_some_and(|cutoff| started_at.as_str() < cutoff);
        if !(too_many || too_old) || state == "running" || exempt.contains(&id) {
            continue;
        }
        store::delete_run(conn, &id)?;
        let dir = data.run_dir(&id);
        if dir.is_dir() {
            std::fs::remove_dir_all(&dir).map_err(|source| HistoryError::Io {
                action: "removing",
                path: dir,
                source,
            })?;
        }
        deleted.push(id);
    }
    Ok(deleted)
}
