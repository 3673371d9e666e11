//! Tokens and roles, the audit log, and the refusal to listen openly.

use serde_json::Value;

use crate::runner::{Api, Options, Runner, World, config, next_ws_json};

const OPERATOR: &str = "operator-secret-4f9c2e7a1b";
const VIEWER: &str = "viewer-secret-8d3b6a0c5e";
const WRONG: &str = "not-a-token-of-this-runner";

fn tokens_file(world: &World) -> String {
    world.tokens_file(&[("alice", "operator", OPERATOR), ("ci", "viewer", VIEWER)])
}

fn entries<'a>(audit: &'a Value, actor: &str, action: &str, outcome: &str) -> Vec<&'a Value> {
    audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == actor && e["action"] == action && e["outcome"] == outcome)
        .collect()
}

/// With tokens configured, nobody gets in without one; a viewer reads but
/// may not change anything; an operator may; every control action and
/// every refused attempt lands in the audit log with its actor; no secret
/// ever reaches the runner's log.
#[tokio::test]
async fn viewers_read_operators_control_and_refusals_are_audited() {
    let world = World::new().await;
    let tokens = tokens_file(&world);
    let log = world.dir.path().join("runner.log");
    let runner = Runner::start_with(
        &world,
        Options {
            args: &["--tokens-file", &tokens],
            token: Some(OPERATOR),
            stderr: Some(log.clone()),
            log: Some("debug"),
            ..Options::default()
        },
    );
    let anonymous = Api::new(runner.base.clone(), None);
    let wrong = Api::new(runner.base.clone(), Some(WRONG));
    let viewer = Api::new(runner.base.clone(), Some(VIEWER));

    let (status, body) = anonymous.get("/status").await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error"].as_str().unwrap().contains("bearer token"));
    assert_eq!(wrong.get("/status").await.0, 401);
    let challenge = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{}/status", runner.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        challenge.headers()["www-authenticate"],
        "Bearer realm=\"k6-runner\""
    );

    for path in ["/status", "/config", "/scripts", "/logs", "/script"] {
        assert_eq!(viewer.get(path).await.0, 200, "viewer GET {path}");
    }
    // Each caller can ask who it is (the web page shows a viewer no
    // operator buttons); the name, never the secret.
    assert_eq!(
        viewer.get("/whoami").await,
        (200, serde_json::json!({"name": "ci", "role": "viewer"}))
    );
    assert_eq!(
        runner.get("/whoami").await,
        (
            200,
            serde_json::json!({"name": "alice", "role": "operator"})
        )
    );
    assert_eq!(anonymous.get("/whoami").await.0, 401);
    let (_, before) = viewer.get("/config").await;
    let wanted = config(3, "2s", 30, &["pass.js"], 0);
    assert_eq!(viewer.put_json("/config", &wanted).await.0, 403);
    assert_eq!(viewer.post("/config/reset").await.0, 403);
    assert_eq!(viewer.post("/start").await.0, 403);
    assert_eq!(viewer.post("/stop").await.0, 403);
    assert_eq!(viewer.get("/audit").await.0, 403);
    assert_eq!(anonymous.post("/start").await.0, 401);
    assert_eq!(
        viewer.get("/config").await.1,
        before,
        "refused changes change nothing"
    );

    runner.configure(&wanted).await;
    assert_eq!(runner.post("/stop").await.0, 200);
    let (status, audit) = runner.get("/audit").await;
    assert_eq!(status, 200, "{audit}");
    assert_eq!(
        entries(&audit, "ci", "config.update", "refused").len(),
        1,
        "{audit}"
    );
    assert_eq!(entries(&audit, "ci", "run.start", "refused").len(), 1);
    assert_eq!(entries(&audit, "unknown", "run.start", "refused").len(), 1);
    let change = entries(&audit, "alice", "config.update", "ok");
    assert_eq!(change.len(), 1, "{audit}");
    assert_eq!(change[0]["diff"]["globalUserCount"]["to"], 3, "{audit}");
    assert_eq!(entries(&audit, "alice", "run.stop", "ok").len(), 1);
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["time"].as_str().is_some_and(|t| t.ends_with('Z')))
    );
    let on_disk = std::fs::read_to_string(world.data.join("audit.log")).unwrap();
    assert_eq!(
        on_disk.lines().count(),
        audit.as_array().unwrap().len(),
        "every entry is on disk"
    );

    let ws = format!("ws://{}/api/k6/ws", runner.addr);
    assert!(
        tokio_tungstenite::connect_async(&ws).await.is_err(),
        "no token, no WebSocket"
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("{ws}?access_token={VIEWER}"))
        .await
        .unwrap();
    assert_eq!(next_ws_json(&mut socket).await["type"], "status");

    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("/api/k6"), "the request log was captured");
    for secret in [OPERATOR, VIEWER, WRONG] {
        assert!(!logged.contains(secret), "a secret reached the log");
    }
}

/// Listening on a non-loopback address without tokens is refused at
/// startup with a message saying why and what to do.
#[tokio::test]
async fn open_non_loopback_bind_is_refused() {
    let world = World::new().await;
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_k6-runner"))
        .args(["serve", "--bind", "0.0.0.0:0", "--scripts-dir"])
        .arg(&world.scripts)
        .arg("--data-dir")
        .arg(&world.data)
        .env_remove("K6_RUNNER_TOKENS")
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("refusing to listen on 0.0.0.0:0 without auth"),
        "{error}"
    );
    assert!(error.contains("--tokens-file"), "{error}");
    assert!(
        !world.data.join("config.json").exists(),
        "nothing was set up"
    );
}
