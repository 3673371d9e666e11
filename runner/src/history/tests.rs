//! The history database on a real file in a real data directory.

use super::*;
use crate::model::{
    MetricsPoint, RunOutcome, RunRecordState, ScriptKind, StepRecord, StepState, Summary,
    SummarySource,
};
use crate::persistence::series::SeriesFile;

fn record(id: &str, started_at: &str, rps: f64) -> RunRecord {
    RunRecord {
        id: id.into(),
        state: RunRecordState::Finished,
        outcome: Some(RunOutcome::Passed),
        started_at: started_at.into(),
        ended_at: Some(started_at.into()),
        reason: None,
        config: serde_json::json!({"globalUserCount": 2}),
        k6_version: Some("v1.1.0".into()),
        runner_version: Some("0.1.0".into()),
        regression: None,
        started_by: None,
        steps: vec![StepRecord {
            step: 1,
            script: "smoke.js".into(),
            kind: ScriptKind::K6Script,
            settings: None,
            state: StepState::Completed,
            started_at: None,
            ended_at: None,
            exit_code: Some(0),
            signal: None,
            reason: None,
            summary: Some(Summary {
                source: SummarySource::SummaryExport,
                requests: Some(10),
                requests_per_second: Some(rps),
                latency_ms: None,
                error_rate: Some(0.0),
                checks_passed: None,
                checks_failed: None,
                iterations: Some(10),
                max_vus: Some(2),
                data_received_bytes: None,
                data_sent_bytes: None,
                thresholds: Vec::new(),
                metrics: vec![crate::model::MetricRecord {
                    name: "http_reqs".into(),
                    kind: crate::model::MetricKind::Counter,
                    contains: None,
                    values: [("count".to_owned(), 10.0), ("rate".to_owned(), rps)]
                        .into_iter()
                        .collect(),
                }],
                runs: Vec::new(),
            }),
            pid: None,
            dir: Some("01-smoke.js".into()),
            log_file: None,
            snapshot: None,
            files: Vec::new(),
            notes: Vec::new(),
        }],
    }
}

/// Writes `record` as a run folder with a two-second series.
fn write_folder(data: &DataDir, record: &RunRecord) {
    let dir = data.create_run_dir(&record.id).unwrap();
    std::fs::create_dir_all(dir.join("01-smoke.js")).unwrap();
    let mut series = SeriesFile::create(&dir.join("01-smoke.js").join(SERIES_FILE)).unwrap();
    for at_ms in [1_000, 2_000] {
        series
            .append(&MetricsPoint {
                run_id: record.id.clone(),
                step: 1,
                at_ms,
                requests: at_ms / 100,
                ..MetricsPoint::default()
            })
            .unwrap();
    }
    data.write_run(record).unwrap();
}

use crate::persistence::series::SERIES_FILE;

/// Existing run folders are imported at the first start and only once;
/// a listing pages newest first and filters by script; the series comes
/// back; a baseline survives a re-import.
#[tokio::test]
async fn folders_are_imported_once_and_listed_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::open(dir.path()).unwrap();
    for (id, at) in [
        ("20261201T000000Z", "2026-12-01T00:00:00Z"),
        ("20261202T000000Z", "2026-12-02T00:00:00Z"),
        ("20261203T000000Z", "2026-12-03T00:00:00Z"),
    ] {
        let mut run = record(id, at, 100.0);
        if id == "20261203T000000Z" {
            run.started_by = Some(crate::model::StartedBy::Schedule { schedule: 3 });
        }
        write_folder(&data, &run);
    }
    let (history, report) = History::open(&data).unwrap();
    assert_eq!(report.import.imported, 3);
    assert_eq!(report.set_aside, None);
    let page = history
        .list(RunFilter {
            limit: 2,
            ..RunFilter::default()
        })
        .await
        .unwrap();
    let ids: Vec<&str> = page.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["20261203T000000Z", "20261202T000000Z"]);
    assert_eq!(page[0].scripts, ["smoke.js"]);
    // Who started a run is in the listing, when its record says.
    assert_eq!(
        page[0].started_by,
        Some(crate::model::StartedBy::Schedule { schedule: 3 })
    );
    assert_eq!(page[1].started_by, None);
    let next = history
        .list(RunFilter {
            limit: 2,
            before: Some("20261202T000000Z".into()),
            ..RunFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(next.len(), 1);
    let none = history
        .list(RunFilter {
            limit: 50,
            script: Some("other.js".into()),
            ..RunFilter::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());
    let series = history.series("20261201T000000Z").await.unwrap();
    assert_eq!(
        series.iter().map(|p| p.at_ms).collect::<Vec<_>>(),
        [1_000, 2_000]
    );
    let baseline = history.record("20261201T000000Z").await.unwrap().unwrap();
    assert_eq!(
        history.set_baseline(&baseline).await.unwrap(),
        ["smoke.js#1"]
    );
    drop(history);

    let (history, report) = History::open(&data).unwrap();
    assert_eq!(
        report.import,
        ImportReport {
            imported: 0,
            skipped: 3,
            failed: 0
        }
    );
    assert_eq!(history.baseline_runs().await.unwrap(), ["20261201T000000Z"]);
    let trend = history
        .trend("smoke.js".into(), "http_reqs".into(), "count".into(), 10)
        .await
        .unwrap();
    assert_eq!(trend.len(), 3);
    assert_eq!(trend[0].run_id, "20261201T000000Z");
}

/// A run slower than its baseline by more than a budget is regressed;
/// `last` compares with the run before; deleting removes the folder.
#[tokio::test]
async fn a_run_is_judged_against_its_baseline_and_can_be_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::open(dir.path()).unwrap();
    let (history, _) = History::open(&data).unwrap();
    let base = record("20261201T000000Z", "2026-12-01T00:00:00Z", 100.0);
    write_folder(&data, &base);
    history.store(base.clone()).await.unwrap();
    let slow = record("20261202T000000Z", "2026-12-02T00:00:00Z", 50.0);
    assert_eq!(
        history.judge(&slow, BaselineChoice::Stored).await.unwrap(),
        None
    );
    history.set_baseline(&base).await.unwrap();
    let (regression, comparisons) = history
        .judge(&slow, BaselineChoice::Stored)
        .await
        .unwrap()
        .unwrap();
    assert!(regression.regressed);
    assert_eq!(regression.entries[0].crossed, ["requestsPerSecond"]);
    assert_eq!(comparisons[0].base, base.id);
    let (last, _) = history
        .judge(&slow, BaselineChoice::Last)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(last.entries[0].baseline, base.id);

    assert!(history.delete(&base.id).await.unwrap());
    assert!(!data.run_dir(&base.id).exists());
    assert!(history.baseline_runs().await.unwrap().is_empty());
    assert!(!history.delete(&base.id).await.unwrap());
}

/// A database file that is not a database is set aside (kept, not
/// overwritten) and rebuilt from the run folders; the new file is a real
/// SQLite database in WAL mode that the `sqlite3` shell can read, and the
/// baselines come back from their own file.
#[tokio::test]
async fn a_corrupt_database_is_set_aside_and_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::open(dir.path()).unwrap();
    write_folder(
        &data,
        &record("20261201T000000Z", "2026-12-01T00:00:00Z", 1.0),
    );
    {
        let (history, _) = History::open(&data).unwrap();
        let run = history.record("20261201T000000Z").await.unwrap().unwrap();
        history.set_baseline(&run).await.unwrap();
    }
    let path = data.root().join(DB_FILE);
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    std::fs::write(&path, b"this is no database, just some bytes....").unwrap();
    let (history, report) = History::open(&data).unwrap();
    let aside = report.set_aside.expect("set aside");
    assert_eq!(
        history.baseline_runs().await.unwrap(),
        ["20261201T000000Z"],
        "the baseline survives the rebuild"
    );
    assert_eq!(
        std::fs::read(&aside).unwrap(),
        b"this is no database, just some bytes...."
    );
    assert_eq!(report.import.imported, 1);
    assert_eq!(
        history
            .list(RunFilter {
                limit: 5,
                ..RunFilter::default()
            })
            .await
            .unwrap()
            .len(),
        1
    );
    let sqlite3 = std::process::Command::new("sqlite3")
        .arg(&path)
        .arg("PRAGMA journal_mode; SELECT id FROM runs; SELECT count(*) FROM series;")
        .output()
        .expect("the sqlite3 shell (scripts/setup.sh installs it)");
    assert!(sqlite3.status.success(), "{sqlite3:?}");
    assert_eq!(
        String::from_utf8_lossy(&sqlite3.stdout),
        "wal\n20261201T000000Z\n2\n"
    );
}

/// Retention keeps the newest N and the recent runs, never a baseline,
/// and deletes the others' folders with their rows.
#[tokio::test]
async fn retention_deletes_old_runs_but_keeps_baselines() {
    use super::retention::Retention;
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::open(dir.path()).unwrap();
    let ids = [
        ("20201201T000000Z", "2020-12-01T00:00:00Z"),
        ("20201202T000000Z", "2020-12-02T00:00:00Z"),
        ("20201203T000000Z", "2020-12-03T00:00:00Z"),
        ("20991204T000000Z", "2099-12-04T00:00:00Z"),
    ];
    for (id, at) in ids {
        write_folder(&data, &record(id, at, 1.0));
    }
    let (history, _) = History::open(&data).unwrap();
    let oldest = history.record(ids[0].0).await.unwrap().unwrap();
    history.set_baseline(&oldest).await.unwrap();
    let deleted = history
        .prune(Retention {
            keep_runs: Some(2),
            keep_days: None,
        })
        .await
        .unwrap();
    assert_eq!(deleted, [ids[1].0]);
    assert!(!data.run_dir(ids[1].0).exists());
    assert!(data.run_dir(ids[0].0).exists(), "the baseline stays");
    let deleted = history
        .prune(Retention {
            keep_runs: None,
            keep_days: Some(30),
        })
        .await
        .unwrap();
    assert_eq!(deleted, [ids[2].0]);
    let left: Vec<String> = history
        .list(RunFilter {
            limit: 10,
            ..RunFilter::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(left, [ids[3].0, ids[0].0]);
}

/// A run is judged under its own config's budgets, as the core checked
/// them; a config without any gets the defaults.
#[test]
fn budgets_come_from_the_run_config() {
    let mut run = record("r", "2026-12-01T00:00:00Z", 1.0);
    assert_eq!(budgets_of(&run), Budgets::default());
    run.config = serde_json::json!({"regressionBudgets": {"latencyP95Percent": 25}});
    assert_eq!(
        budgets_of(&run),
        Budgets {
            latency_p95_percent: 25.0,
            ..Budgets::default()
        }
    );
}
