//! `<data-dir>/schedules.json`: a copy of the schedules (not their fires)
//! beside the history database, so that they survive its rebuild the way
//! baselines do (a corrupt database is set aside and rebuilt from the run
//! folders, which know nothing of schedules).

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::model::Schedule;
use super::store;
use crate::history::{History, HistoryError};
use crate::persistence::DataDir;

/// The copy's file name in the data directory.
pub const SCHEDULES_FILE: &str = "schedules.json";

/// The copy's contents.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Copy {
    /// The largest id ever given, so that a rebuilt database gives none
    /// of them again (a deleted schedule's included).
    last_id: u64,
    /// Every schedule.
    schedules: Vec<Schedule>,
}

/// Writes the copy after a change. A failure is logged, not returned: the
/// database holds the change, and the copy only matters after a rebuild.
pub(super) fn save(conn: &Connection, data: &DataDir) {
    let path = data.root().join(SCHEDULES_FILE);
    let written = (|| {
        let copy = Copy {
            last_id: store::last_id(conn)?,
            schedules: store::list(conn)?,
        };
        let json = serde_json::to_vec_pretty(&copy).map_err(HistoryError::Encode)?;
        crate::persistence::write_atomically(&path, &json).map_err(|error| HistoryError::Io {
            action: "writing",
            path: path.clone(),
            source: std::io::Error::other(error),
        })
    })();
    if let Err(error) = written {
        tracing::error!(%error, "cannot write the copy of the schedules");
    }
}

/// Takes the schedules from the copy into a database that has none (a new
/// or rebuilt one), with their ids; returns how many.
pub async fn restore(history: &History) -> Result<usize, HistoryError> {
    history.call(restore_into).await
}

fn restore_into(conn: &mut Connection, data: &DataDir) -> Result<usize, HistoryError> {
    if !store::list(conn)?.is_empty() {
        return Ok(0);
    }
    let path = data.root().join(SCHEDULES_FILE);
    let Ok(bytes) = std::fs::read(&path) else {
        return Ok(0);
    };
    let Ok(copy) = serde_json::from_slice::<Copy>(&bytes) else {
        tracing::warn!(path = %path.display(), "unreadable copy of the schedules; none restored");
        return Ok(0);
    };
    store::insert_all(conn, &copy.schedules, copy.last_id)?;
    Ok(copy.schedules.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedules::model::CheckedInput;

    #[test]
    fn the_copy_follows_every_change_and_fills_an_empty_database() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path()).unwrap();
        let mut conn = Connection::open_in_memory().unwrap();
        crate::history::migrate(&mut conn).unwrap();
        let input = CheckedInput {
            name: None,
            cron: "0 9 * * *".into(),
            timezone: "Europe/Berlin".into(),
            enabled: true,
        };
        let kept = store::create(&conn, &input, "t").unwrap();
        let newest = store::create(&conn, &input, "t").unwrap();
        store::delete(&mut conn, newest.id).unwrap();
        save(&conn, &data);

        // A rebuilt database: the schedule comes back with its id, and
        // the next one gets a new id, not the deleted one's.
        let mut rebuilt = Connection::open_in_memory().unwrap();
        crate::history::migrate(&mut rebuilt).unwrap();
        assert_eq!(restore_into(&mut rebuilt, &data).unwrap(), 1);
        assert_eq!(store::list(&rebuilt).unwrap(), std::slice::from_ref(&kept));
        assert_eq!(
            store::create(&rebuilt, &input, "t").unwrap().id,
            newest.id + 1
        );
        // Not again into a database that has schedules.
        assert_eq!(restore_into(&mut rebuilt, &data).unwrap(), 0);
    }
}
