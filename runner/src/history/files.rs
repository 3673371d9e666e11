//! The files of the history: the database file itself (opened in WAL
//! mode and checked, or set aside when it is not a usable database) and
//! `baselines.json`, the baselines' copy that outlives the database.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode};

use super::{BUSY_TIMEOUT, DB_FILE, HistoryError, schema, store};
use crate::persistence::DataDir;

/// The baselines' own file, `<data-dir>/baselines.json` (`{entry: run}`):
/// like the run folders, it outlives the database, so a rebuilt database
/// keeps its baselines.
const BASELINES_FILE: &str = "baselines.json";

/// Writes every baseline to [`BASELINES_FILE`], atomically.
pub(super) fn save_baselines(conn: &Connection, data: &DataDir) -> Result<(), HistoryError> {
    let map: std::collections::BTreeMap<String, String> =
        store::baselines(conn)?.into_iter().collect();
    let json = serde_json::to_vec_pretty(&map).map_err(HistoryError::Encode)?;
    let path = data.root().join(BASELINES_FILE);
    crate::persistence::write_atomically(&path, &json).map_err(|error| HistoryError::Io {
        action: "writing",
        path,
        source: std::io::Error::other(error),
    })
}

/// Takes the baselines from [`BASELINES_FILE`] into a database that has
/// none (a new or rebuilt one), for runs it holds.
pub(super) fn load_baselines(conn: &mut Connection, data: &DataDir) -> Result<(), HistoryError> {
    if !store::baselines(conn)?.is_empty() {
        return Ok(());
    }
    let path = data.root().join(BASELINES_FILE);
    let Ok(bytes) = std::fs::read(&path) else {
        return Ok(());
    };
    let Ok(map) = serde_json::from_slice::<std::collections::BTreeMap<String, String>>(&bytes)
    else {
        tracing::warn!(path = %path.display(), "unreadable baselines file; no baselines restored");
        return Ok(());
    };
    for (entry, run) in map {
        if store::record(conn, &run)?.is_some() {
            store::set_baseline(conn, &run, &[entry])?;
        }
    }
    Ok(())
}

/// Opens the database at `path` in WAL mode, checks it and brings its
/// schema up to date.
pub(super) fn open_db(path: &Path) -> Result<Connection, HistoryError> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL: readers never block the writer, and a crash mid-write leaves
    // the last committed state. NORMAL sync is durable against a crash of
    // the runner; a power cut may lose the last commits, which the next
    // start imports again from the run folders.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(%mode, "SQLite refused WAL mode for the history database");
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if check != "ok" {
        return Err(HistoryError::Sqlite(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            Some(check),
        )));
    }
    schema::migrate(&mut conn)?;
    Ok(conn)
}

/// True for errors that mean the file is not a usable database (as
/// opposed to a permission problem, which rebuilding would not fix).
pub(super) fn is_corrupt(error: &HistoryError) -> bool {
    matches!(
        error,
        HistoryError::Sqlite(rusqlite::Error::SqliteFailure(e, _))
            if matches!(e.code, ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
    )
}

/// Moves the database (and its WAL and shared-memory files) aside.
pub(super) fn set_aside(path: &Path) -> Result<PathBuf, HistoryError> {
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .replace(':', "");
    let aside = path.with_file_name(format!("{DB_FILE}.corrupt-{stamp}"));
    for suffix in ["", "-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{suffix}", path.display()));
        let to = PathBuf::from(format!("{}{suffix}", aside.display()));
        match std::fs::rename(&from, &to) {
            Err(source) if source.kind() != std::io::ErrorKind::NotFound => {
                return Err(HistoryError::Io {
                    action: "setting aside",
                    path: from,
                    source,
                });
            }
            _ => {}
        }
    }
    Ok(aside)
}
