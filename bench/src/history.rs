//! Section 6: the run history. 10,000 stored runs, then the time of a
//! page of 50 and of a comparison of two 6-hour runs (both records read
//! and compared, as `GET /compare` does), the storage of one 6-hour step
//! with its per-second series, and the import of 1,000 run folders. The
//! runner's own history code, in process, on a real SQLite file.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use k6_runner::history::{History, RunFilter};
use k6_runner::internals::DataDir;
use k6_runner::internals::{SERIES_FILE, SeriesFile};
use k6_runner::model::{
    MetricKind, MetricRecord, MetricsPoint, RunOutcome, RunRecord, RunRecordState, ScriptKind,
    StepRecord, StepState, Summary, SummarySource,
};

use crate::stats::{Sample, time};

/// How many runs, readings and repeats.
pub struct HistoryOptions {
    /// Stored runs before the queries (10,000).
    pub runs: usize,
    /// Run folders imported (1,000).
    pub folders: usize,
    /// Seconds of the long steps (6 h = 21,600).
    pub long_seconds: u64,
    /// Repeats of each query.
    pub repeats: usize,
}

/// A finished one-step run started `n` seconds after a fixed time, with a
/// summary of 40 metrics (k6's built-ins and custom ones).
fn record(n: usize) -> RunRecord {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000 + n as u64 * 60);
    let started_at = humantime::format_rfc3339_seconds(at).to_string();
    let id = started_at.replace(['-', ':'], "");
    let metrics = (0..40)
        .map(|m| MetricRecord {
            name: format!("metric_{m}"),
            kind: MetricKind::Trend,
            contains: None,
            values: ["avg", "min", "med", "max", "p(90)", "p(95)"]
                .iter()
                .map(|s| ((*s).to_owned(), (n + m) as f64))
                .collect(),
        })
        .collect();
    RunRecord {
        id,
        state: RunRecordState::Finished,
        outcome: Some(RunOutcome::Passed),
        started_at,
        ended_at: None,
        reason: None,
        config: serde_json::json!({"globalUserCount": 5}),
        k6_version: Some("v1.1.0".into()),
        runner_version: None,
        regression: None,
        started_by: None,
        steps: vec![StepRecord {
            step: 1,
            script: format!("script-{}.js", n % 4),
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
                requests: Some(1000),
                requests_per_second: Some(100.0),
                latency_ms: None,
                error_rate: Some(0.0),
                checks_passed: Some(10),
                checks_failed: Some(0),
                iterations: Some(100),
                max_vus: Some(5),
                data_received_bytes: None,
                data_sent_bytes: None,
                thresholds: Vec::new(),
                metrics,
                runs: Vec::new(),
            }),
            pid: None,
            dir: Some("01-step".into()),
            log_file: None,
            snapshot: None,
            files: Vec::new(),
            notes: Vec::new(),
        }],
    }
}

/// Writes `record`'s folder with `seconds` readings in its series file.
fn write_folder(data: &DataDir, record: &RunRecord, seconds: u64) -> Result<u64> {
    let step_dir = data.create_run_dir(&record.id)?.join("01-step");
    std::fs::create_dir_all(&step_dir)?;
    let path = step_dir.join(SERIES_FILE);
    let mut series = SeriesFile::create(&path)?;
    for s in 1..=seconds {
        series.append(&MetricsPoint {
            run_id: record.id.clone(),
            script: record.steps[0].script.clone(),
            step: 1,
            time: String::new(),
            at_ms: s * 1000,
            vus: 50,
            requests: s * 120,
            request_rate: 120.0,
            latency_p95_ms: Some(42.5),
            latency_avg_ms: Some(20.1),
            failed_request_rate: Some(0.001),
            iterations: s * 12,
            checks_rate: Some(1.0),
            cpu_percent: Some(35.2),
            rss_bytes: Some(80 << 20),
        })?;
    }
    data.write_run(record)?;
    Ok(std::fs::metadata(path)?.len())
}

/// The database's size on disk (main file and WAL).
fn db_bytes(root: &Path) -> u64 {
    ["history.sqlite", "history.sqlite-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(root.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

/// What one long step adds to a database file: a database of one short
/// run, closed (so its WAL is checkpointed into the file), measured, then
/// the same with one long run more.
async fn long_step_bytes(seconds: u64) -> Result<u64> {
    let scratch = tempfile::tempdir()?;
    let data = DataDir::open(scratch.path())?;
    let mut sizes = Vec::new();
    for (n, length) in [(0, 0), (1, seconds)] {
        let run = record(n);
        write_folder(&data, &run, length)?;
        let (history, _) = tokio::task::block_in_place(|| History::open(&data))?;
        history.store(run).await?;
        // The last handle's drop closes the connection, checkpointing.
        tokio::task::block_in_place(|| drop(history));
        sizes.push(db_bytes(data.root()));
    }
    Ok(sizes[1].saturating_sub(sizes[0]))
}

fn ms(sample: &Sample) -> String {
    let (lo, hi) = sample.min_max().unwrap_or_default();
    format!(
        "{} (min {}, max {})",
        time(sample.median().unwrap_or_default()),
        time(lo),
        time(hi)
    )
}

/// Runs the section and returns its markdown.
pub async fn run(options: &HistoryOptions) -> Result<String> {
    let mut out = String::new();

    // Import of run folders (each with a one-minute series).
    let scratch = tempfile::tempdir()?;
    let data = DataDir::open(scratch.path())?;
    for n in 0..options.folders {
        write_folder(&data, &record(n), 60)?;
    }
    let began = Instant::now();
    let (history, report) = tokio::task::block_in_place(|| History::open(&data))?;
    let import = began.elapsed().as_secs_f64();
    drop(history);
    out.push_str(&format!(
        "- import of {} run folders (one step, 40 metrics, a 60-reading series each): {} \
         ({} imported)\n",
        options.folders,
        time(import),
        report.import.imported
    ));

    // 10,000 stored runs, two of them 6-hour runs.
    let scratch = tempfile::tempdir()?;
    let data = DataDir::open(scratch.path())?;
    let (history, _) = tokio::task::block_in_place(|| History::open(&data))?;
    let began = Instant::now();
    for n in 0..options.runs - 2 {
        history.store(record(n)).await?;
    }
    let store_each = began.elapsed().as_secs_f64() / (options.runs - 2) as f64;
    let mut long = Vec::new();
    let mut series_file = 0;
    for n in [options.runs - 2, options.runs - 1] {
        let run = record(n);
        series_file = write_folder(&data, &run, options.long_seconds)?;
        history.store(run.clone()).await?;
        long.push(run.id);
    }
    let per_long_step = long_step_bytes(options.long_seconds).await?;
    out.push_str(&format!(
        "- storing a run (one transaction): {} each, over {} runs\n\
         - one {}-hour step with its per-second series: about {:.1} MB in the database \
         ({} readings), {:.1} MB as `series.jsonl`\n",
        time(store_each),
        options.runs,
        options.long_seconds / 3600,
        per_long_step as f64 / 1e6,
        options.long_seconds,
        series_file as f64 / 1e6,
    ));

    let (mut page, mut compare) = (Sample::new(), Sample::new());
    for _ in 0..options.repeats {
        let began = Instant::now();
        let runs = history
            .list(RunFilter {
                limit: 50,
                ..RunFilter::default()
            })
            .await?;
        page.push(began.elapsed().as_secs_f64());
        anyhow::ensure!(runs.len() == 50, "a page holds {} runs", runs.len());
        let began = Instant::now();
        let base = history.record(&long[0]).await?;
        let run = history.record(&long[1]).await?;
        if let (Some(base), Some(run)) = (base, run) {
            let comparison = History::compare(&base, &run);
            std::hint::black_box(serde_json::to_vec(&comparison)?);
        }
        compare.push(began.elapsed().as_secs_f64());
    }
    out.push_str(&format!(
        "- a page of 50 of {} runs (`GET /runs`'s query): median {}\n\
         - a comparison of the two {}-hour runs (`GET /compare`: both records read, compared, \
         encoded): median {}\n",
        options.runs,
        ms(&page),
        options.long_seconds / 3600,
        ms(&compare)
    ));
    Ok(out)
}
