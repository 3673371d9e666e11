//! The schedules' rows in the history database (tables `schedules` and
//! `schedule_fires`, migration 2 of [`crate::history`]). Every function
//! runs on the history thread; every write is one statement or one
//! transaction.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::model::{CheckedInput, Fire, FireOutcome, NewFire, Schedule};
use crate::history::HistoryError;

/// Fires kept per schedule: older ones are deleted as new ones come (a
/// schedule firing every few seconds would otherwise grow without end).
pub const MAX_FIRES_KEPT: u64 = 1_000;

const SCHEDULE_COLUMNS: &str = "id, name, cron, timezone, enabled, created_at, updated_at";
const FIRE_COLUMNS: &str = "id, schedule, due_at, fired_at, outcome, run_id, reason";

fn schedule_of(row: &Row<'_>) -> rusqlite::Result<Schedule> {
    Ok(Schedule {
        id: row.get(0)?,
        name: row.get(1)?,
        cron: row.get(2)?,
        timezone: row.get(3)?,
        enabled: row.get(4)?,
        created_at: row.get(5)?,
        updated_at: row.get(6)?,
    })
}

fn fire_of(row: &Row<'_>) -> rusqlite::Result<Fire> {
    let outcome: String = row.get(4)?;
    Ok(Fire {
        id: row.get(0)?,
        schedule: row.get(1)?,
        due_at: row.get(2)?,
        fired_at: row.get(3)?,
        // Only this module writes the column, from `FireOutcome::as_str`.
        outcome: FireOutcome::from_name(&outcome).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                4,
                rusqlite::types::Type::Text,
                format!("unknown fire outcome {outcome:?}").into(),
            )
        })?,
        run_id: row.get(5)?,
        reason: row.get(6)?,
    })
}

/// Every schedule, by id.
pub fn list(conn: &Connection) -> Result<Vec<Schedule>, HistoryError> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {SCHEDULE_COLUMNS} FROM schedules ORDER BY id"
    ))?;
    let rows = statement.query_map([], schedule_of)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Schedule `id`.
pub fn get(conn: &Connection, id: u64) -> Result<Option<Schedule>, HistoryError> {
    Ok(conn
        .query_row(
            &format!("SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE id = ?1"),
            [id],
            schedule_of,
        )
        .optional()?)
}

/// Stores a new schedule, made at `now`.
pub fn create(
    conn: &Connection,
    input: &CheckedInput,
    now: &str,
) -> Result<Schedule, HistoryError> {
    conn.execute(
        "INSERT INTO schedules (name, cron, timezone, enabled, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![input.name, input.cron, input.timezone, input.enabled, now],
    )?;
    let id = conn.last_insert_rowid() as u64;
    get(conn, id)?.ok_or(HistoryError::Sqlite(rusqlite::Error::QueryReturnedNoRows))
}

/// The largest schedule id ever given (0 before the first).
pub fn last_id(conn: &Connection) -> Result<u64, HistoryError> {
    Ok(conn
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'schedules'",
            [],
            |row| row.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// Stores `schedules` as they are, ids included, and makes `last_id` the
/// largest id given so far (the copy restored into a rebuilt database),
/// in one transaction.
pub fn insert_all(
    conn: &mut Connection,
    schedules: &[Schedule],
    last_id: u64,
) -> Result<(), HistoryError> {
    let tx = conn.transaction()?;
    for s in schedules {
        tx.execute(
            "INSERT INTO schedules (id, name, cron, timezone, enabled, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                s.id,
                s.name,
                s.cron,
                s.timezone,
                s.enabled,
                s.created_at,
                s.updated_at
            ],
        )?;
    }
    // SQLite's own AUTOINCREMENT high-water mark: the next id is above it.
    let raised = tx.execute(
        "UPDATE sqlite_sequence SET seq = MAX(seq, ?1) WHERE name = 'schedules'",
        [last_id],
    )?;
    if raised == 0 {
        tx.execute(
            "INSERT INTO sqlite_sequence (name, seq) VALUES ('schedules', ?1)",
            [last_id],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Replaces schedule `id`'s fields; `None` if there is no such schedule.
pub fn update(
    conn: &Connection,
    id: u64,
    input: &CheckedInput,
    now: &str,
) -> Result<Option<Schedule>, HistoryError> {
    let changed = conn.execute(
        "UPDATE schedules SET name = ?2, cron = ?3, timezone = ?4, enabled = ?5, updated_at = ?6
         WHERE id = ?1",
        params![
            id,
            input.name,
            input.cron,
            input.timezone,
            input.enabled,
            now
        ],
    )?;
    if changed == 0 {
        return Ok(None);
    }
    get(conn, id)
}

/// Deletes schedule `id` and its fires; false if there was none.
pub fn delete(conn: &mut Connection, id: u64) -> Result<bool, HistoryError> {
    let tx = conn.transaction()?;
    let deleted = tx.execute("DELETE FROM schedules WHERE id = ?1", [id])?;
    tx.execute("DELETE FROM schedule_fires WHERE schedule = ?1", [id])?;
    tx.commit()?;
    Ok(deleted > 0)
}

/// Records a fire (unless its schedule was deleted meanwhile: `None`)
/// and drops the schedule's fires beyond [`MAX_FIRES_KEPT`].
pub fn record_fire(conn: &mut Connection, fire: &NewFire) -> Result<Option<Fire>, HistoryError> {
    let tx = conn.transaction()?;
    let inserted = tx.execute(
        "INSERT INTO schedule_fires (schedule, due_at, fired_at, outcome, run_id, reason)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM schedules WHERE id = ?1)",
        params![
            fire.schedule,
            fire.due_at,
            fire.fired_at,
            fire.outcome.as_str(),
            fire.run_id,
            fire.reason
        ],
    )?;
    if inserted == 0 {
        return Ok(None);
    }
    let id = tx.last_insert_rowid();
    tx.execute(
        "DELETE FROM schedule_fires WHERE schedule = ?1 AND id NOT IN
         (SELECT id FROM schedule_fires WHERE schedule = ?1 ORDER BY id DESC LIMIT ?2)",
        params![fire.schedule, MAX_FIRES_KEPT],
    )?;
    let stored = tx.query_row(
        &format!("SELECT {FIRE_COLUMNS} FROM schedule_fires WHERE id = ?1"),
        [id],
        fire_of,
    )?;
    tx.commit()?;
    Ok(Some(stored))
}

/// Schedule `id`'s newest fire.
pub fn last_fire(conn: &Connection, id: u64) -> Result<Option<Fire>, HistoryError> {
    Ok(fires(conn, id, 1)?.into_iter().next())
}

/// Schedule `id`'s newest `limit` fires, newest first.
pub fn fires(conn: &Connection, id: u64, limit: u32) -> Result<Vec<Fire>, HistoryError> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {FIRE_COLUMNS} FROM schedule_fires WHERE schedule = ?1 ORDER BY id DESC LIMIT ?2"
    ))?;
    let rows = statement.query_map(params![id, limit], fire_of)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::history::migrate(&mut conn).unwrap();
        conn
    }

    fn input(cron: &str) -> CheckedInput {
        CheckedInput {
            name: Some("nightly".into()),
            cron: cron.into(),
            timezone: "UTC".into(),
            enabled: true,
        }
    }

    fn fire(schedule: u64, outcome: FireOutcome) -> NewFire {
        NewFire {
            schedule,
            due_at: "2026-12-04T12:00:00Z".into(),
            fired_at: "2026-12-04T12:00:00Z".into(),
            outcome,
            run_id: None,
            reason: Some("why".into()),
        }
    }

    #[test]
    fn schedules_are_created_replaced_and_deleted_with_their_fires() {
        let mut conn = database();
        let first = create(&conn, &input("0 9 * * *"), "t1").unwrap();
        let second = create(&conn, &input("0 10 * * *"), "t1").unwrap();
        assert_eq!((first.id, second.id), (1, 2));
        let changed = CheckedInput {
            enabled: false,
            ..input("0 8 * * *")
        };
        let updated = update(&conn, 1, &changed, "t2").unwrap().unwrap();
        assert_eq!(
            (
                updated.cron.as_str(),
                updated.enabled,
                updated.created_at.as_str(),
                updated.updated_at.as_str()
            ),
            ("0 8 * * *", false, "t1", "t2")
        );
        assert_eq!(update(&conn, 9, &changed, "t2").unwrap(), None);
        record_fire(&mut conn, &fire(1, FireOutcome::Skipped)).unwrap();
        assert!(delete(&mut conn, 1).unwrap());
        assert!(!delete(&mut conn, 1).unwrap());
        assert_eq!(fires(&conn, 1, 10).unwrap(), []);
        assert_eq!(list(&conn).unwrap(), [second]);
        // A deleted schedule's id is not given again.
        assert_eq!(create(&conn, &input("* * * * *"), "t3").unwrap().id, 3);
    }

    #[test]
    fn fires_come_newest_first_and_only_the_newest_are_kept() {
        let mut conn = database();
        let schedule = create(&conn, &input("* * * * *"), "t").unwrap();
        for _ in 0..MAX_FIRES_KEPT + 5 {
            record_fire(&mut conn, &fire(schedule.id, FireOutcome::Failed)).unwrap();
        }
        let started = NewFire {
            run_id: Some("20261204T120000Z".into()),
            reason: None,
            ..fire(schedule.id, FireOutcome::Started)
        };
        let newest = record_fire(&mut conn, &started).unwrap().unwrap();
        let kept = fires(&conn, schedule.id, 5_000).unwrap();
        assert_eq!(kept.len() as u64, MAX_FIRES_KEPT);
        assert_eq!(kept[0], newest);
        assert_eq!(kept[0].outcome, FireOutcome::Started);
        assert_eq!(fires(&conn, schedule.id, 2).unwrap().len(), 2);
        // A fire of a schedule deleted meanwhile is not recorded.
        assert_eq!(
            record_fire(&mut conn, &fire(77, FireOutcome::Skipped)).unwrap(),
            None
        );
    }
}
