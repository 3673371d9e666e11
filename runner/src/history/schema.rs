//! The history database's schema and its versioned migrations.
//!
//! The schema version is SQLite's own `user_version`. Each migration runs
//! in one transaction with the version bump, so a runner killed mid-way
//! leaves the database at the version before it, never half-migrated. A
//! released migration is never edited: a change is a new one appended.

use rusqlite::{Connection, TransactionBehavior};

use super::HistoryError;

/// The migrations, in order: entry `n` takes the schema from version `n`
/// to `n + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: runs, their steps, every metric and threshold, the series, and the
    // baselines. Child rows point at a run's integer key (not its id text)
    // to keep the per-second series small. No foreign keys: a run is
    // replaced (re-imported) as a whole by `store::put_run`, which deletes
    // its rows itself, and a baseline must survive its run's re-import.
    "
    CREATE TABLE runs (
        key            INTEGER PRIMARY KEY,
        id             TEXT NOT NULL UNIQUE,
        started_at     TEXT NOT NULL,
        ended_at       TEXT,
        state          TEXT NOT NULL,
        outcome        TEXT,
        reason         TEXT,
        k6_version     TEXT,
        runner_version TEXT,
        regressed      INTEGER,
        config         TEXT NOT NULL,
        record         TEXT NOT NULL
    );
    CREATE INDEX runs_by_start ON runs (started_at DESC, id DESC);
    CREATE TABLE steps (
        run             INTEGER NOT NULL,
        step            INTEGER NOT NULL,
        script          TEXT NOT NULL,
        kind            TEXT NOT NULL,
        state           TEXT NOT NULL,
        started_at      TEXT,
        ended_at        TEXT,
        exit_code       INTEGER,
        signal          INTEGER,
        reason          TEXT,
        snapshot_sha256 TEXT,
        script_sha256   TEXT,
        PRIMARY KEY (run, step)
    ) WITHOUT ROWID;
    CREATE INDEX steps_by_script ON steps (script, run);
    CREATE TABLE metrics (
        run   INTEGER NOT NULL,
        step  INTEGER NOT NULL,
        name  TEXT NOT NULL,
        kind  TEXT NOT NULL,
        stat  TEXT NOT NULL,
        value REAL NOT NULL,
        PRIMARY KEY (run, step, name, stat)
    ) WITHOUT ROWID;
    CREATE TABLE thresholds (
        run        INTEGER NOT NULL,
        step       INTEGER NOT NULL,
        metric     TEXT NOT NULL,
        expression TEXT NOT NULL,
        passed     INTEGER NOT NULL,
        PRIMARY KEY (run, step, metric, expression)
    ) WITHOUT ROWID;
    CREATE TABLE series (
        run          INTEGER NOT NULL,
        step         INTEGER NOT NULL,
        at_ms        INTEGER NOT NULL,
        vus          INTEGER NOT NULL,
        requests     INTEGER NOT NULL,
        request_rate REAL NOT NULL,
        p95_ms       REAL,
        avg_ms       REAL,
        failed_rate  REAL,
        iterations   INTEGER NOT NULL,
        checks_rate  REAL,
        cpu_percent  REAL,
        rss_bytes    INTEGER,
        PRIMARY KEY (run, step, at_ms)
    ) WITHOUT ROWID;
    CREATE TABLE baselines (
        entry  TEXT PRIMARY KEY,
        run_id TEXT NOT NULL
    );
    CREATE INDEX baselines_by_run ON baselines (run_id);
    ",
    // 2: schedules and every fire of each (see `crate::schedules`).
    // AUTOINCREMENT so that a deleted schedule's id is never reused: audit
    // entries and run records name schedules by id.
    "
    CREATE TABLE schedules (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        name       TEXT,
        cron       TEXT NOT NULL,
        timezone   TEXT NOT NULL,
        enabled    INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE schedule_fires (
        id       INTEGER PRIMARY KEY,
        schedule INTEGER NOT NULL,
        due_at   TEXT NOT NULL,
        fired_at TEXT NOT NULL,
        outcome  TEXT NOT NULL,
        run_id   TEXT,
        reason   TEXT
    );
    CREATE INDEX schedule_fires_by_schedule ON schedule_fires (schedule, id DESC);
    ",
];

/// The schema version this runner writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings `conn` to [`VERSION`], one transaction per migration. A database
/// of a newer runner is refused rather than guessed at.
pub fn migrate(conn: &mut Connection) -> Result<(), HistoryError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if found > VERSION {
        return Err(HistoryError::NewerSchema {
            found,
            known: VERSION,
        });
    }
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", from as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh database ends at the newest version; migrating again is a
    /// no-op; a newer runner's database is refused.
    #[test]
    fn migrations_are_versioned_and_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, VERSION);
        conn.pragma_update(None, "user_version", VERSION + 1)
            .unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(HistoryError::NewerSchema { .. })
        ));
    }
}
