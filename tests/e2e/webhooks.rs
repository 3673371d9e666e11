//! Webhooks: an operator points the runner at a receiver of their own and
//! gets a signed event for each thing that happens to a run. The receiver
//! here is a small warp server on 127.0.0.1 that checks every signature
//! with the shared secret (with `hmac` directly, not the runner's code)
//! and refuses what does not verify.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use warp::Filter;
use warp::http::{HeaderMap, StatusCode};

use crate::runner::{Runner, World, config};

const SECRET: &str = "a shared secret";

/// One delivery as the receiver got it.
#[derive(Clone, Debug)]
struct Got {
    /// When the receiver answered it.
    answered_at: Instant,
    path: String,
    timestamp: String,
    signature: String,
    body: bytes::Bytes,
    event: Value,
}

/// What the receiver saw: verified deliveries, refused ones, and the
/// flaky path's attempts per delivery id.
#[derive(Clone, Default)]
struct Seen {
    verified: Vec<Got>,
    refused: usize,
    flaky_attempts: HashMap<String, u32>,
}

/// The receiver's check: `sha256=<hex HMAC-SHA256 of timestamp "." body>`,
/// compared in constant time by `verify_slice`.
fn verifies(timestamp: &str, signature: &str, body: &[u8]) -> bool {
    let Some(hex_mac) = signature.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_mac) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// Starts the receiver: `POST /hook` answers 204 to a verified delivery;
/// `POST /slow` too, a second later; `POST /flaky` answers 500 to the
/// first two attempts of each delivery, then 204; anything unverified gets
/// 401.
async fn receiver() -> (SocketAddr, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let state = seen.clone();
    let route = warp::post()
        .and(warp::path::param::<String>())
        .and(warp::path::end())
        .and(warp::header::headers_cloned())
        .and(warp::body::bytes())
        .then(
            move |path: String, headers: HeaderMap, body: bytes::Bytes| {
                let state = state.clone();
                async move {
                    if path == "slow" {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    let header = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    let (timestamp, signature) =
                        (header("x-k6-timestamp"), header("x-k6-signature"));
                    let mut seen = state.lock().unwrap();
                    if !verifies(&timestamp, &signature, &body) {
                        seen.refused += 1;
                        return StatusCode::UNAUTHORIZED;
                    }
                    let event: Value = serde_json::from_slice(&body).unwrap();
                    if path == "flaky" {
                        let id = event["id"].as_str().unwrap().to_owned();
                        let attempts = seen.flaky_attempts.entry(id).or_default();
                        *attempts += 1;
                        if *attempts <= 2 {
                            return StatusCode::INTERNAL_SERVER_ERROR;
                        }
                    }
                    seen.verified.push(Got {
                        answered_at: Instant::now(),
                        path,
                        timestamp,
                        signature,
                        body,
                        event,
                    });
                    StatusCode::NO_CONTENT
                }
            },
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(warp::serve(route).incoming(listener).run());
    (addr, seen)
}

/// The verified events of `path` for run `run`, by type, in arrival order.
fn types(seen: &Seen, path: &str, run: &str) -> Vec<String> {
    seen.verified
        .iter()
        .filter(|g| g.path == path && g.event["runId"] == run)
        .map(|g| g.event["type"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits (at most 60 s, every 100 ms) until `done` holds for what the
/// receiver saw.
async fn wait_seen(seen: &Mutex<Seen>, what: &str, done: impl Fn(&Seen) -> bool) {
    let until = Instant::now() + Duration::from_secs(60);
    while !done(&seen.lock().unwrap()) {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An operator configures two webhook targets: one for every event, and
/// (in a webhooks file) a flaky one for `run.started` only. A passing run
/// and a failing run each reach the first as correctly signed events
/// (`run.started`, `run.finished`; `run.started`, `step.failed`,
/// `run.failed`) carrying the run's id, outcome, step figures and link;
/// the flaky receiver's 500s are retried until it answers on the third
/// attempt, as the delivery log shows; a tampered body does not verify;
/// the deliveries are counted in `/metrics`.
#[tokio::test]
async fn a_receiver_gets_signed_events_for_a_passing_and_a_failing_run() {
    let world = World::new().await;
    let (receiver, seen) = receiver().await;
    let secret_file = world.dir.path().join("webhook-secret");
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let hooks_file = world.dir.path().join("webhooks.json");
    std::fs::write(
        &hooks_file,
        format!(
            r#"[{{"url": "http://{receiver}/flaky?token=hidden", "events": ["run.started"]}}]"#
        ),
    )
    .unwrap();
    let hook = format!("http://{receiver}/hook");
    let runner = Runner::start(
        &world,
        &[
            "--webhook",
            &hook,
            "--webhooks-file",
            hooks_file.to_str().unwrap(),
            "--webhook-secret-file",
            secret_file.to_str().unwrap(),
        ],
    );

    runner
        .configure(&config(1, "1s", 30, &["pass.js"], 0))
        .await;
    let passed = runner.start_run().await;
    assert_eq!(runner.wait_for_results().await["outcome"], "passed");
    runner
        .configure(&config(1, "1s", 30, &["fail.js"], 0))
        .await;
    let failed = runner.start_run().await;
    assert_eq!(runner.wait_for_results().await["outcome"], "failed");

    wait_seen(&seen, "every event of both runs", |s| {
        types(s, "hook", &passed).len() == 2
            && types(s, "hook", &failed).len() == 3
            && types(s, "flaky", &failed).len() == 1
    })
    .await;
    // A copy, so that no lock is held while the test goes on.
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        types(&seen, "hook", &passed),
        ["run.started", "run.finished"]
    );
    assert_eq!(
        types(&seen, "hook", &failed),
        ["run.started", "step.failed", "run.failed"]
    );
    assert_eq!(types(&seen, "flaky", &passed), ["run.started"]);
    assert_eq!(seen.refused, 0, "a delivery did not verify");
    for got in &seen.verified {
        assert_eq!(got.event["id"].as_str().unwrap().len(), 32, "{}", got.event);
        let age = humantime::parse_rfc3339(got.event["time"].as_str().unwrap()).unwrap();
        assert!(age.elapsed().unwrap() < Duration::from_secs(120));
    }

    let event = |run: &str, kind: &str| {
        seen.verified
            .iter()
            .find(|g| g.path == "hook" && g.event["runId"] == run && g.event["type"] == kind)
            .unwrap()
            .clone()
    };
    let finished = event(&passed, "run.finished").event;
    assert_eq!(finished["outcome"], "passed");
    assert_eq!(finished["steps"][0]["script"], "pass.js");
    assert_eq!(finished["steps"][0]["state"], "completed");
    assert_eq!(finished["steps"][0]["exitCode"], 0);
    assert_eq!(finished["steps"][0]["thresholdsPassed"], true);
    assert!(
        finished["steps"][0]["requests"].as_u64().unwrap() > 0,
        "{finished}"
    );
    assert!(
        finished["steps"][0]["latencyP95Ms"].as_f64().is_some(),
        "{finished}"
    );
    assert_eq!(finished["steps"][0]["errorRate"], 0.0);
    assert_eq!(
        finished["link"],
        format!("http://{}/api/k6/runs/{passed}", runner.addr)
    );
    let run_failed = event(&failed, "run.failed").event;
    assert_eq!(run_failed["outcome"], "failed");
    assert_eq!(run_failed["steps"][0]["state"], "failed");
    assert_eq!(run_failed["steps"][0]["thresholdsPassed"], false);
    assert!(
        run_failed["steps"][0]["errorRate"].as_f64().unwrap() > 0.5,
        "{run_failed}"
    );
    let step_failed = event(&failed, "step.failed").event;
    assert_eq!(
        (&step_failed["step"], &step_failed["outcome"]),
        (&Value::from(1), &Value::Null)
    );
    assert_eq!(step_failed["steps"][0]["script"], "fail.js");

    // The verification is real: the same headers with a changed body (or
    // a signature for another timestamp) do not verify, and the receiver
    // refuses such a delivery.
    let original = event(&failed, "run.failed");
    assert!(verifies(
        &original.timestamp,
        &original.signature,
        &original.body
    ));
    let tampered = String::from_utf8(original.body.to_vec())
        .unwrap()
        .replace(r#""outcome":"failed""#, r#""outcome":"passed""#);
    assert_ne!(tampered.as_bytes(), &original.body[..]);
    assert!(!verifies(
        &original.timestamp,
        &original.signature,
        tampered.as_bytes()
    ));
    let later = (original.timestamp.parse::<u64>().unwrap() + 1).to_string();
    assert!(!verifies(&later, &original.signature, &original.body));
    // The link is the run's record in the API.
    let record = reqwest::get(finished["link"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(record.status(), 200);
    assert_eq!(record.json::<Value>().await.unwrap()["id"], passed.as_str());
    let refused = reqwest::Client::new()
        .post(format!("http://{receiver}/hook"))
        .header("x-k6-timestamp", &original.timestamp)
        .header("x-k6-signature", &original.signature)
        .body(tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    // The delivery log: the flaky target's deliveries took 3 attempts
    // (500, 500, 204), its query left out; every delivery delivered.
    let until = Instant::now() + Duration::from_secs(30);
    let log = loop {
        let (status, log) = runner.get("/webhooks/deliveries?limit=50").await;
        assert_eq!(status, 200, "{log}");
        let entries = log.as_array().unwrap().clone();
        if entries.len() == 7 && entries.iter().all(|e| e["outcome"] == "delivered") {
            break entries;
        }
        assert!(
            Instant::now() < until,
            "deliveries not all delivered: {log}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let flaky: Vec<&Value> = log
        .iter()
        .filter(|e| e["target"] == format!("http://{receiver}/flaky"))
        .collect();
    assert_eq!(flaky.len(), 2, "{log:?}");
    for entry in &flaky {
        assert_eq!(entry["event"], "run.started");
        assert_eq!(entry["attempts"], 3, "{entry}");
        assert_eq!(entry["lastStatus"], 204);
    }
    assert!(
        log.iter()
            .filter(|e| e["target"] == hook)
            .all(|e| e["attempts"] == 1)
    );
    assert_eq!(log[0]["runId"], failed.as_str(), "newest first: {log:?}");
    let (_, one) = runner.get("/webhooks/deliveries?limit=1").await;
    assert_eq!(one.as_array().unwrap().len(), 1);

    let metrics = reqwest::get(format!("http://{}/metrics", runner.addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        r#"k6_runner_webhook_deliveries_total{event="run.started",outcome="delivered"} 4"#,
        r#"k6_runner_webhook_deliveries_total{event="step.failed",outcome="delivered"} 1"#,
        r#"k6_runner_webhook_deliveries_total{event="run.failed",outcome="failed"} 0"#,
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no {line} in:\n{metrics}"
        );
    }
}

/// Targets are checked before anything starts: a URL that is not http(s),
/// one with a password in it, or targets without a secret stop
/// `k6-runner serve` at once with exit 1 and the reason (no password
/// echoed).
#[tokio::test]
async fn a_bad_webhook_config_stops_the_runner_with_the_reason() {
    let world = World::new().await;
    for (args, env, reason) in [
        (
            vec!["--webhook", "ftp://127.0.0.1/hook"],
            Some("s"),
            "the scheme must be http or https",
        ),
        (
            vec!["--webhook", "http://admin:hunter2@127.0.0.1/hook"],
            Some("s"),
            "no user name or password",
        ),
        (
            vec!["--webhook", "http://127.0.0.1/hook"],
            None,
            "webhooks need a secret",
        ),
    ] {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_k6-runner"));
        command
            .args(["serve", "--bind", "127.0.0.1:0", "--scripts-dir"])
            .arg(&world.scripts)
            .arg("--data-dir")
            .arg(&world.data)
            .args(&args)
            .env_remove("K6_RUNNER_WEBHOOK_SECRET");
        if let Some(secret) = env {
            command.env("K6_RUNNER_WEBHOOK_SECRET", secret);
        }
        let out = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
        assert!(!stderr.contains("hunter2"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?} started serving");
    }
}

/// An operator who only cares about endings and regressions filters the
/// target to `run.finished` and `run.regressed` (the secret from the
/// environment this time). A run slower than its baseline is reported as
/// finished (it passed) and then as regressed, with the verdict; the
/// baseline run itself sent only `run.finished`.
#[tokio::test]
async fn a_run_slower_than_its_baseline_is_reported_regressed_after_its_end() {
    let world = World::new().await;
    crate::history::write_script(&world, "fast");
    let (receiver, seen) = receiver().await;
    let hooks_file = world.dir.path().join("webhooks.json");
    std::fs::write(
        &hooks_file,
        format!(
            r#"[{{"url": "http://{receiver}/hook", "events": ["run.finished", "run.regressed"]}}]"#
        ),
    )
    .unwrap();
    let runner = Runner::start_with(
        &world,
        crate::runner::Options {
            args: &["--webhooks-file", hooks_file.to_str().unwrap()],
            env: &[("K6_RUNNER_WEBHOOK_SECRET", SECRET)],
            ..Default::default()
        },
    );
    runner
        .configure(&config(1, "1s", 30, &["hist.js"], 0))
        .await;
    let baseline = crate::history::run_once(&runner).await;
    let (status, set) = runner.put(&format!("/runs/{baseline}/baseline")).await;
    assert_eq!(status, 200, "{set}");
    crate::history::write_script(&world, "slow");
    let slower = crate::history::run_once(&runner).await;

    wait_seen(&seen, "the slower run's end and regression", |s| {
        types(s, "hook", &slower).len() == 2
    })
    .await;
    let seen = seen.lock().unwrap().clone();
    assert_eq!(types(&seen, "hook", &baseline), ["run.finished"]);
    assert_eq!(
        types(&seen, "hook", &slower),
        ["run.finished", "run.regressed"]
    );
    assert_eq!(seen.refused, 0);
    let regressed = &seen
        .verified
        .iter()
        .find(|g| g.event["type"] == "run.regressed")
        .unwrap()
        .event;
    assert_eq!(regressed["outcome"], "passed");
    assert_eq!(regressed["regression"]["regressed"], true, "{regressed}");
    assert_eq!(
        regressed["regression"]["entries"][0]["baseline"],
        baseline.as_str(),
        "{regressed}"
    );
}

/// A runner asked to stop (SIGTERM) mid-run stops the run and, before it
/// exits, delivers what that made happen: a receiver that takes a second
/// to answer has answered the run's `run.failed` (outcome `stopped`)
/// before the runner's process is gone. (Two worker threads: the receiver
/// answers while the test waits for the runner to exit.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_stopped_by_a_shutdown_is_delivered_before_the_runner_exits() {
    let world = World::new().await;
    let (receiver, seen) = receiver().await;
    let secret_file = world.dir.path().join("webhook-secret");
    std::fs::write(&secret_file, SECRET).unwrap();
    let hook = format!("http://{receiver}/slow");
    let runner = Runner::start(
        &world,
        &[
            "--webhook",
            &hook,
            "--webhook-secret-file",
            secret_file.to_str().unwrap(),
        ],
    );

    runner
        .configure(&config(1, "60s", 120, &["long.js"], 0))
        .await;
    let run = runner.start_run().await;
    runner
        .wait_status(Duration::from_secs(30), "k6 to run", |s| {
            s["currentUserCount"].as_u64().unwrap_or(0) > 0
        })
        .await;
    let status = runner.terminate();
    let exited_at = Instant::now();
    assert!(status.success(), "{status}");

    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        types(&seen, "slow", &run),
        ["run.started", "run.failed"],
        "{} refused",
        seen.refused
    );
    let ended = seen
        .verified
        .iter()
        .find(|g| g.event["type"] == "run.failed")
        .unwrap();
    assert_eq!(ended.event["outcome"], "stopped", "{}", ended.event);
    assert!(
        ended.answered_at < exited_at,
        "the runner exited before its last event was answered"
    );
    assert!(world.processes_of(&run).is_empty());
}
