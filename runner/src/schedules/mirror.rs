//! `<data-dir>/schedules.json`: a copy of the schedules (not their fires)
//! beside the history database, so that they survive its rebuild the way
//! baselines do (a corrupt database is set aside and rebuilt from the run
//! folders, which know nothing of schedules).

use rusqlite::Connection;

use super::model::Schedule;
use super::store;
use crate::history::{History, HistoryError};
use crate::persistence::DataDir;

/// The copy's file name in the data directory.
pub const SCHEDULES_FILE: &str = "schedules.json";

/// Writes the copy after a change. A failure is logged, not returned: the
/// database holds the change, and the copy only matters after a rebuild.
pub(super) fn save(conn: &Connection, data: &DataDir) {
    let path = data.root().join(SCHEDULES_FILE);
    let written = store::list(conn).and_then(|schedules| {
        let json = serde_json::to_vec_pretty(&schedules).map_err(HistoryError::Encode)?;
        crate::persistence::write_atomically(&path, &json).map_err(|error| HistoryError::Io {
            action: "writing",
            path: path.clone(),
            source: std::io::Error::other(error),
        })
    });
    if let Err(error) = written {
        tracing::error!(%error, "cannot write the copy of the schedules");
    }
}

/// Takes the schedules from the copy into a database that has none (a new
/// or rebuilt one), with their ids; returns how many.
pub async fn restore(history: &History) -> Result<usize, HistoryError> {
    history
        .call(|conn, data| {
            if !store::list(conn)?.is_empty() {
                return Ok(0);
            }
            let path = data.root().join(SCHEDULES_FILE);
            let Ok(bytes) = std::fs::read(&path) else {
                return Ok(0);
            };
            let Ok(schedules) = serde_json::from_slice::<Vec<Schedule>>(&bytes) else {
                tracing::warn!(path = %path.display(), "unreadable copy of the schedules; none restored");
                return Ok(0);
            };
            store::insert_all(conn, &schedules)?;
            Ok(schedules.len())
        })
        .await
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
        let first = store::create(&conn, &input, "t").unwrap();
        let second = store::create(&conn, &input, "t").unwrap();
        store::delete(&mut conn, first.id).unwrap();
        save(&conn, &data);
        let copied: Vec<Schedule> =
            serde_json::from_slice(&std::fs::read(dir.path().join(SCHEDULES_FILE)).unwrap())
                .unwrap();
        assert_eq!(copied, std::slice::from_ref(&second));

        // A rebuilt database: the schedule comes back with its id, and
        // the next one still gets a new id.
        let mut rebuilt = Connection::open_in_memory().unwrap();
        crate::history::migrate(&mut rebuilt).unwrap();
        store::insert_all(&mut rebuilt, &copied).unwrap();
        assert_eq!(store::list(&rebuilt).unwrap(), copied);
        assert_eq!(
            store::create(&rebuilt, &input, "t").unwrap().id,
            second.id + 1
        );
    }
}
