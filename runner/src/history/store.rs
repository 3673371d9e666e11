//! Reading and writing the history database. Every function takes the
//! connection (or a transaction) from the history thread, so none runs on
//! an async worker; every write is one transaction.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use super::HistoryError;
use crate::model::{MetricsPoint, RunOutcome, RunRecord, RunRecordState, StartedBy};

/// One run in a listing (`GET /runs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    /// Run id.
    pub id: String,
    /// Where the run is.
    pub state: RunRecordState,
    /// How it ended.
    pub outcome: Option<RunOutcome>,
    /// Start (RFC 3339).
    pub started_at: String,
    /// End (RFC 3339).
    pub ended_at: Option<String>,
    /// Why it ended so, if not by itself.
    pub reason: Option<String>,
    /// Worse than its baseline by a budget (none: nothing to compare to).
    pub regressed: Option<bool>,
    /// Some entry of the suite has this run as its baseline.
    pub baseline: bool,
    /// Its scripts, by step.
    pub scripts: Vec<String>,
    /// Who started it, when its record says (as in the record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<StartedBy>,
}

/// Which runs a listing shows.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    /// At most this many.
    pub limit: u32,
    /// Only runs older than this run (paging).
    pub before: Option<String>,
    /// Only runs with a step of this script.
    pub script: Option<String>,
    /// Only runs in this state.
    pub state: Option<StateFilter>,
    /// Only runs started at or after (RFC 3339, seconds, UTC).
    pub from: Option<String>,
    /// Only runs started before (RFC 3339, seconds, UTC).
    pub to: Option<String>,
}

/// The `state` filter of a listing: an outcome, `running` or `regressed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum StateFilter {
    /// In progress.
    Running,
    /// Every step completed.
    Passed,
    /// Some step failed.
    Failed,
    /// Stopped.
    Stopped,
    /// Interrupted by the runner's death.
    Interrupted,
    /// Worse than its baseline.
    Regressed,
}

/// One point of a trend (`GET /trend`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrendPoint {
    /// The run.
    pub run_id: String,
    /// Its start.
    pub started_at: String,
    /// The step of the script in that run.
    pub step: u32,
    /// The value.
    pub value: f64,
}

/// The JSON word of a serde enum (`finished`, `passed`, `trend`).
pub(super) fn word<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(word)) => word,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// Stores `record` (replacing any earlier copy of the run) with each
/// step's series, in one transaction. Baselines are left as they are.
pub fn put_run(
    conn: &mut Connection,
    record: &RunRecord,
    series: &[(u32, Vec<MetricsPoint>)],
    regressed: Option<bool>,
) -> Result<(), HistoryError> {
    let tx = conn.transaction()?;
    delete_rows(&tx, &record.id)?;
    let json = serde_json::to_string(record).map_err(HistoryError::Encode)?;
    tx.execute(
        "INSERT INTO runs (id, started_at, ended_at, state, outcome, reason, k6_version, \
         runner_version, regressed, config, record) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            record.id,
            record.started_at,
            record.ended_at,
            word(&record.state),
            record.outcome.as_ref().map(word),
            record.reason,
            record.k6_version,
            record.runner_version,
            regressed,
            record.config.to_string(),
            json,
        ],
    )?;
    let key = tx.last_insert_rowid();
    {
        let mut step_row = tx.prepare(
            "INSERT INTO steps (run, step, script, kind, state, started_at, ended_at, exit_code, \
             signal, reason, snapshot_sha256, script_sha256) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?;
        let mut metric_row = tx.prepare(
            "INSERT OR REPLACE INTO metrics (run, step, name, kind, stat, value) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let mut threshold_row = tx.prepare(
            "INSERT OR REPLACE INTO thresholds (run, step, metric, expression, passed) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for step in &record.steps {
            step_row.execute(params![
                key,
                step.step,
                step.script,
                word(&step.kind),
                word(&step.state),
                step.started_at,
                step.ended_at,
                step.exit_code,
                step.signal,
                step.reason,
                step.snapshot.as_ref().map(|s| &s.sha256),
                step.snapshot.as_ref().map(|s| &s.script_sha256),
            ])?;
            let Some(summary) = &step.summary else {
                continue;
            };
            for metric in &summary.metrics {
                for (stat, value) in &metric.values {
                    // SQLite has no NaN; k6 reports one for an empty rate.
                    if value.is_finite() {
                        metric_row.execute(params![
                            key,
                            step.step,
                            metric.name,
                            word(&metric.kind),
                            stat,
                            value
                        ])?;
                    }
                }
            }
            for threshold in &summary.thresholds {
                threshold_row.execute(params![
                    key,
                    step.step,
                    threshold.metric,
                    threshold.expression,
                    threshold.passed
                ])?;
            }
        }
        let mut point_row = tx.prepare(
            "INSERT OR REPLACE INTO series (run, step, at_ms, vus, requests, request_rate, p95_ms, \
             avg_ms, failed_rate, iterations, checks_rate, cpu_percent, rss_bytes) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )?;
        for (step, points) in series {
            for p in points {
                point_row.execute(params![
                    key,
                    step,
                    p.at_ms as i64,
                    p.vus,
                    p.requests as i64,
                    p.request_rate,
                    p.latency_p95_ms,
                    p.latency_avg_ms,
                    p.failed_request_rate,
                    p.iterations as i64,
                    p.checks_rate,
                    p.cpu_percent,
                    p.rss_bytes.map(|b| b as i64),
                ])?;
            }
        }
    }
    tx.commit()?;
    Ok(())
}

/// Deletes every row of run `id` but its baselines.
fn delete_rows(tx: &Transaction<'_>, id: &str) -> Result<(), HistoryError> {
    let key: Option<i64> = tx
        .query_row("SELECT key FROM runs WHERE id = ?1", [id], |r| r.get(0))
        .optional()?;
    if let Some(key) = key {
        for table in ["steps", "metrics", "thresholds", "series"] {
            tx.execute(&format!("DELETE FROM {table} WHERE run = ?1"), [key])?;
        }
        tx.execute("DELETE FROM runs WHERE key = ?1", [key])?;
    }
    Ok(())
}

/// Removes run `id` and any baseline it is; true if it was there.
pub fn delete_run(conn: &mut Connection, id: &str) -> Result<bool, HistoryError> {
    let tx = conn.transaction()?;
    let existed = tx
        .query_row("SELECT 1 FROM runs WHERE id = ?1", [id], |_| Ok(()))
        .optional()?
        .is_some();
    delete_rows(&tx, id)?;
    tx.execute("DELETE FROM baselines WHERE run_id = ?1", [id])?;
    tx.commit()?;
    Ok(existed)
}

/// The stored record of run `id`.
pub fn record(conn: &Connection, id: &str) -> Result<Option<RunRecord>, HistoryError> {
    let json: Option<String> = conn
        .query_row("SELECT record FROM runs WHERE id = ?1", [id], |r| r.get(0))
        .optional()?;
    json.map(|json| serde_json::from_str(&json).map_err(HistoryError::Encode))
        .transpose()
}

/// Ids and states of every stored run.
pub fn known_runs(conn: &Connection) -> Result<Vec<(String, String)>, HistoryError> {
    let mut query = conn.prepare("SELECT id, state FROM runs")?;
    let rows = query.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Runs matching `filter`, newest first.
pub fn list(conn: &Connection, filter: &RunFilter) -> Result<Vec<RunSummary>, HistoryError> {
    let mut sql = String::from(
        "SELECT r.key, r.id, r.state, r.outcome, r.started_at, r.ended_at, r.reason, r.regressed, \
         EXISTS (SELECT 1 FROM baselines b WHERE b.run_id = r.id), \
         json_extract(r.record, '$.startedBy') FROM runs r WHERE 1 = 1",
    );
    let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
    if let Some(before) = &filter.before {
        sql.push_str(" AND (r.started_at, r.id) < (SELECT started_at, id FROM runs WHERE id = ?)");
        args.push(Box::new(before.clone()));
    }
    if let Some(script) = &filter.script {
        sql.push_str(" AND EXISTS (SELECT 1 FROM steps s WHERE s.run = r.key AND s.script = ?)");
        args.push(Box::new(script.clone()));
    }
    match filter.state {
        None => {}
        Some(StateFilter::Running) => sql.push_str(" AND r.state = 'running'"),
        Some(StateFilter::Regressed) => sql.push_str(" AND r.regressed = 1"),
        Some(outcome) => {
            sql.push_str(" AND r.outcome = ?");
            args.push(Box::new(format!("{outcome:?}").to_ascii_lowercase()));
        }
    }
    if let Some(from) = &filter.from {
        sql.push_str(" AND r.started_at >= ?");
        args.push(Box::new(from.clone()));
    }
    if let Some(to) = &filter.to {
        sql.push_str(" AND r.started_at < ?");
        args.push(Box::new(to.clone()));
    }
    sql.push_str(" ORDER BY r.started_at DESC, r.id DESC LIMIT ?");
    args.push(Box::new(filter.limit));
    let mut query = conn.prepare(&sql)?;
    let rows = query.query_map(
        rusqlite::params_from_iter(args.iter().map(|a| a.as_ref())),
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                RunSummary {
                    id: r.get(1)?,
                    state: from_word(&r.get::<_, String>(2)?).unwrap_or(RunRecordState::Finished),
                    outcome: r.get::<_, Option<String>>(3)?.and_then(|w| from_word(&w)),
                    started_at: r.get(4)?,
                    ended_at: r.get(5)?,
                    reason: r.get(6)?,
                    regressed: r.get(7)?,
                    baseline: r.get(8)?,
                    scripts: Vec::new(),
                    // An object: SQLite gives it back as JSON text.
                    started_by: r
                        .get::<_, Option<String>>(9)?
                        .and_then(|json| serde_json::from_str(&json).ok()),
                },
            ))
        },
    )?;
    let mut runs = rows.collect::<Result<Vec<_>, _>>()?;
    let mut scripts =
        conn.prepare_cached("SELECT script FROM steps WHERE run = ?1 ORDER BY step")?;
    for (key, run) in &mut runs {
        run.scripts = scripts
            .query_map([*key], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
    }
    Ok(runs.into_iter().map(|(_, run)| run).collect())
}

/// A serde enum from its JSON word.
fn from_word<T: for<'de> Deserialize<'de>>(word: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(word.to_owned())).ok()
}

/// Each step's stored series of run `id`, by step number.
pub fn series(conn: &Connection, id: &str) -> Result<Vec<MetricsPoint>, HistoryError> {
    let mut query = conn.prepare(
        "SELECT r.id, st.script, s.step, s.at_ms, s.vus, s.requests, s.request_rate, s.p95_ms, \
         s.avg_ms, s.failed_rate, s.iterations, s.checks_rate, s.cpu_percent, s.rss_bytes \
         FROM series s JOIN runs r ON r.key = s.run \
         JOIN steps st ON st.run = s.run AND st.step = s.step \
         WHERE r.id = ?1 ORDER BY s.step, s.at_ms",
    )?;
    let rows = query.query_map([id], |r| {
        Ok(MetricsPoint {
            run_id: r.get(0)?,
            script: r.get(1)?,
            step: r.get(2)?,
            time: String::new(),
            at_ms: r.get::<_, i64>(3)? as u64,
            vus: r.get(4)?,
            requests: r.get::<_, i64>(5)? as u64,
            request_rate: r.get(6)?,
            latency_p95_ms: r.get(7)?,
            latency_avg_ms: r.get(8)?,
            failed_request_rate: r.get(9)?,
            iterations: r.get::<_, i64>(10)? as u64,
            checks_rate: r.get(11)?,
            cpu_percent: r.get(12)?,
            rss_bytes: r.get::<_, Option<i64>>(13)?.map(|b| b as u64),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// `metric`'s `stat` for `script` over the newest `limit` runs, oldest
/// first (a run with the script twice gives two points).
pub fn trend(
    conn: &Connection,
    script: &str,
    metric: &str,
    stat: &str,
    limit: u32,
) -> Result<Vec<TrendPoint>, HistoryError> {
    let mut query = conn.prepare(
        "SELECT r.id, r.started_at, m.step, m.value FROM metrics m \
         JOIN steps s ON s.run = m.run AND s.step = m.step \
         JOIN runs r ON r.key = m.run \
         WHERE s.script = ?1 AND m.name = ?2 AND m.stat = ?3 \
         ORDER BY r.started_at DESC, r.id DESC, m.step DESC LIMIT ?4",
    )?;
    let rows = query.query_map(params![script, metric, stat, limit], |r| {
        Ok(TrendPoint {
            run_id: r.get(0)?,
            started_at: r.get(1)?,
            step: r.get(2)?,
            value: r.get(3)?,
        })
    })?;
    let mut points = rows.collect::<Result<Vec<_>, _>>()?;
    points.reverse();
    Ok(points)
}

/// Makes run `id` the baseline of each of `entries`.
pub fn set_baseline(
    conn: &mut Connection,
    id: &str,
    entries: &[String],
) -> Result<(), HistoryError> {
    let tx = conn.transaction()?;
    for entry in entries {
        tx.execute(
            "INSERT INTO baselines (entry, run_id) VALUES (?1, ?2) \
             ON CONFLICT (entry) DO UPDATE SET run_id = excluded.run_id",
            params![entry, id],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Run `id` stops being a baseline; returns the entries it was one of.
pub fn clear_baseline(conn: &mut Connection, id: &str) -> Result<Vec<String>, HistoryError> {
    let tx = conn.transaction()?;
    let entries = {
        let mut query =
            tx.prepare("SELECT entry FROM baselines WHERE run_id = ?1 ORDER BY entry")?;
        query
            .query_map([id], |r| r.get(0))?
            .collect::<Result<Vec<String>, _>>()?
    };
    tx.execute("DELETE FROM baselines WHERE run_id = ?1", [id])?;
    tx.commit()?;
    Ok(entries)
}

/// The baseline run of each entry that has one.
pub fn baselines(conn: &Connection) -> Result<Vec<(String, String)>, HistoryError> {
    let mut query = conn.prepare("SELECT entry, run_id FROM baselines ORDER BY entry")?;
    let rows = query.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The newest ended run that started before run `id` (which started at
/// `started_at`): the CLI's `--baseline last`.
pub fn previous_run(
    conn: &Connection,
    id: &str,
    started_at: &str,
) -> Result<Option<String>, HistoryError> {
    Ok(conn
        .query_row(
            "SELECT id FROM runs WHERE state != 'running' AND id != ?1 \
             AND (started_at, id) < (?2, ?1) ORDER BY started_at DESC, id DESC LIMIT 1",
            [id, started_at],
            |r| r.get(0),
        )
        .optional()?)
}
