//! Run history: a newcomer runs the suite twice, sees both runs, compares
//! them, sets a baseline; a slower third run is `regressed` and makes
//! `k6-runner run --baseline` exit non-zero; a restart (even after a
//! SIGKILL) keeps everything, a run the database lacks coming back from its
//! folder; a corrupt database is rebuilt from the run folders; reports
//! download as self-contained HTML and JUnit XML.

use std::time::Duration;

use serde_json::Value;

use crate::runner::{Runner, World, config, next_ws_json};

/// One VU, paced iterations: the request rate is set by the sleep, so the
/// script's own latency is what changes between runs.
const PACED: &str = r#"
import http from 'k6/http';
import { check, sleep } from 'k6';
export const options = { thresholds: { checks: ['rate>0.99'] } };
export default function () {
  check(http.get('TARGET/PATH'), { 'status is 200': (r) => r.status === 200 });
  sleep(0.05);
}
"#;

/// Writes `hist.js` aimed at `/fast` or `/slow` (200 ms more per request:
/// far beyond the p95 budget, and fewer requests per second).
pub(crate) fn write_script(world: &World, path: &str) {
    world.script("hist.js", &PACED.replace("PATH", path));
}

/// Starts a run, waits for its end and returns its id.
pub(crate) async fn run_once(runner: &Runner) -> String {
    let id = runner.start_run().await;
    let results = runner.wait_for_results().await;
    assert_eq!(results["id"], id.as_str());
    assert_eq!(results["outcome"], "passed", "{results}");
    id
}

fn ids(page: &Value) -> Vec<String> {
    page["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Runs `sqlite3 <db> <sql>` and returns its output.
fn sqlite3(db: &std::path::Path, sql: &str) -> String {
    let out = std::process::Command::new("sqlite3")
        .arg(db)
        .arg(sql)
        .output()
        .expect("the sqlite3 shell (scripts/setup.sh installs it)");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The whole story of the history, against a real runner and a real k6.
#[tokio::test]
async fn history_compares_runs_and_flags_a_regression_against_the_baseline() {
    let world = World::new().await;
    write_script(&world, "fast");
    let runner = Runner::start(&world, &[]);
    runner
        .configure(&config(1, "2s", 30, &["hist.js"], 0))
        .await;
    let first = run_once(&runner).await;
    let second = run_once(&runner).await;

    // Both runs, newest first, and a page of one with the way to the next.
    let (status, page) = runner.get("/runs").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(ids(&page), [second.as_str(), first.as_str()]);
    let (_, one) = runner.get("/runs?limit=1").await;
    assert_eq!(ids(&one), [second.as_str()]);
    assert_eq!(one["nextBefore"], second.as_str());
    let (_, rest) = runner.get(&format!("/runs?limit=1&before={second}")).await;
    assert_eq!(ids(&rest), [first.as_str()]);
    let (_, none) = runner.get("/runs?script=other.js").await;
    assert!(ids(&none).is_empty());
    let (status, bad) = runner.get("/runs?state=sideways").await;
    assert_eq!(status, 400, "{bad}");

    // The comparison: per entry, every headline figure with both values.
    let (status, comparison) = runner
        .get(&format!("/compare?base={first}&run={second}"))
        .await;
    assert_eq!(status, 200, "{comparison}");
    let entry = &comparison["entries"][0];
    assert_eq!(entry["entry"], "hist.js#1");
    let rps = &entry["headline"][0];
    assert_eq!(rps["name"], "requestsPerSecond");
    assert!(rps["base"].as_f64().unwrap() > 0.0, "{rps}");
    assert!(rps["relativePercent"].is_number(), "{rps}");
    assert!(
        entry["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == "http_req_duration p(95)"),
        "{entry}"
    );
    assert_eq!(entry["thresholds"][0]["change"], "stillHeld");

    // Reports: self-contained pages (inline SVG, no script, nothing
    // fetched) and JUnit XML for CI.
    for path in [
        format!("/runs/{first}/report.html"),
        format!("/compare/report.html?base={first}&run={second}"),
    ] {
        let (status, page) = runner.get(&path).await;
        assert_eq!(status, 200, "{path}: {page}");
        let page = page.as_str().unwrap();
        assert!(
            page.starts_with("<!DOCTYPE html>") && page.contains("<svg"),
            "{path}"
        );
        assert!(
            !page.contains("<script") && !page.contains("src="),
            "{path}"
        );
        assert!(page.contains("hist.js"), "{path}");
    }
    let (status, junit) = runner.get(&format!("/runs/{first}/junit.xml")).await;
    assert_eq!(status, 200);
    let junit = junit.as_str().unwrap();
    assert!(
        junit.contains("<testsuites") && junit.contains("failures=\"0\""),
        "{junit}"
    );
    assert!(junit.contains("threshold checks rate&gt;0.99"), "{junit}");

    // The series of each second, and a trend over both runs.
    let (_, series) = runner.get(&format!("/runs/{first}/metrics")).await;
    assert!(!series.as_array().unwrap().is_empty(), "{series}");
    let (_, trend) = runner
        .get("/trend?script=hist.js&metric=http_req_duration")
        .await;
    assert_eq!(trend["stat"], "p(95)");
    assert_eq!(trend["points"].as_array().unwrap().len(), 2, "{trend}");

    // The first run becomes the baseline; the third, slower, regresses.
    let (status, set) = runner.put(&format!("/runs/{first}/baseline")).await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(set["entries"][0], "hist.js#1");
    // A watcher on the WebSocket is told the verdict when the run ends,
    // before the status that shows it ended.
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/api/k6/ws", runner.addr))
            .await
            .unwrap();
    write_script(&world, "slow");
    let third = runner.start_run().await;
    let status = runner
        .wait_status(Duration::from_secs(90), "the third run to end", |s| {
            s["isRunning"] == false && s["runId"] == third.as_str()
        })
        .await;
    assert_eq!(status["regressed"], true, "{status}");
    // Bounded: a run of 2 s sends a few dozen messages (status, metrics,
    // logs batches); the verdict comes among them.
    let mut notice = None;
    for _ in 0..2_000 {
        let event = next_ws_json(&mut socket).await;
        if event["type"] == "regression" {
            notice = Some(event["data"].clone());
            break;
        }
        assert!(
            !(event["type"] == "status"
                && event["data"]["runId"] == third.as_str()
                && event["data"]["regressed"] == true),
            "the ended status came before the regression event"
        );
    }
    let notice = notice.expect("a regression event for the third run");
    assert_eq!(notice["runId"], third.as_str(), "{notice}");
    assert_eq!(notice["regressed"], true, "{notice}");
    assert_eq!(notice["entries"][0]["baseline"], first.as_str(), "{notice}");
    assert!(
        notice["entries"][0]["crossed"]
            .to_string()
            .contains("latencyP95Ms"),
        "{notice}"
    );
    let verdicts = &notice["comparisons"][0];
    assert_eq!(verdicts["base"], first.as_str(), "{notice}");
    assert_eq!(verdicts["verdict"], "regressed", "{notice}");
    let p95 = verdicts["entries"][0]["headline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "latencyP95Ms")
        .cloned()
        .unwrap_or_default();
    assert_eq!(p95["verdict"], "regressed", "{notice}");
    assert!(
        verdicts["entries"][0].get("metrics").is_none(),
        "the event carries the headline figures only: {notice}"
    );
    drop(socket);
    let (_, record) = runner.get(&format!("/runs/{third}")).await;
    assert_eq!(record["regression"]["regressed"], true, "{record}");
    assert_eq!(
        record["regression"]["entries"][0]["baseline"],
        first.as_str()
    );
    let crossed = record["regression"]["entries"][0]["crossed"].to_string();
    assert!(crossed.contains("latencyP95Ms"), "{crossed}");
    let (_, regressed) = runner.get("/runs?state=regressed").await;
    assert_eq!(ids(&regressed), [third.as_str()]);

    // Deleting a run removes its files and its history; it is audited.
    let (status, _) = runner.delete(&format!("/runs/{second}")).await;
    assert_eq!(status, 200);
    assert!(!world.data.join("runs").join(&second).exists());
    let (status, _) = runner.delete(&format!("/runs/{second}")).await;
    assert_eq!(status, 404);
    let (_, audit) = runner.get("/audit").await;
    assert!(audit.to_string().contains("run.delete"), "{audit}");

    // A runner killed with SIGKILL keeps everything, and the file is plain
    // SQLite. A finished run the database lacks (as after a kill between
    // its run.json and its database write) comes back from its folder.
    runner.kill9();
    let db = world.data.join("history.sqlite");
    assert_eq!(
        sqlite3(
            &db,
            "SELECT count(*) FROM runs; SELECT count(*) > 0 FROM series;"
        ),
        "2\n1\n"
    );
    let key = format!("(SELECT key FROM runs WHERE id = '{third}')");
    sqlite3(
        &db,
        &format!(
            "DELETE FROM steps WHERE run = {key}; DELETE FROM metrics WHERE run = {key}; \
             DELETE FROM thresholds WHERE run = {key}; DELETE FROM series WHERE run = {key}; \
             DELETE FROM runs WHERE id = '{third}';"
        ),
    );
    let runner = Runner::start(&world, &[]);
    let (_, page) = runner.get("/runs").await;
    assert_eq!(ids(&page), [third.as_str(), first.as_str()]);
    assert_eq!(page["runs"][1]["baseline"], true);
    assert_eq!(page["runs"][0]["regressed"], true);
    drop(runner);

    // A corrupt database is set aside and rebuilt from the run folders,
    // baselines included; importing again changes nothing.
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    std::fs::write(&db, b"garbage, not a database at all..........").unwrap();
    let runner = Runner::start(&world, &[]);
    let (_, page) = runner.get("/runs").await;
    assert_eq!(ids(&page), [third.as_str(), first.as_str()]);
    assert_eq!(page["runs"][1]["baseline"], true);
    let aside = std::fs::read_dir(&world.data)
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("history.sqlite.corrupt-")
        });
    assert!(aside, "the corrupt file is kept");
    drop(runner);
    let runner = Runner::start(&world, &[]);
    let (_, again) = runner.get("/runs").await;
    assert_eq!(ids(&again), [third.as_str(), first.as_str()]);
    drop(runner);

    // CI: a headless run against the baseline exits 3 on a regression and
    // prints the comparison; against a run as slow as itself it passes.
    let file = world.dir.path().join("hist.json");
    std::fs::write(&file, config(1, "2s", 30, &["hist.js"], 0).to_string()).unwrap();
    let headless = |baseline: String| {
        let (file, data, scripts) = (file.clone(), world.data.clone(), world.scripts.clone());
        async move {
            tokio::process::Command::new(env!("CARGO_BIN_EXE_k6-runner"))
                .arg("run")
                .arg(&file)
                .arg("--data-dir")
                .arg(&data)
                .arg("--scripts-dir")
                .arg(&scripts)
                .arg("--k6")
                .arg(crate::runner::k6())
                .arg("--baseline")
                .arg(baseline)
                .env("RUST_LOG", "error")
                .output()
                .await
                .unwrap()
        }
    };
    let out = headless(first.clone()).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("REGRESSED"), "{stderr}");
    assert!(
        stderr.contains(&format!("compared with run {first}")),
        "{stderr}"
    );
    let out = headless("last".into()).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}
