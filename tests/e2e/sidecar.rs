//! What a host in another language relies on when it runs `k6-runner
//! serve` as a sidecar behind its own reverse proxy: a readiness endpoint
//! its supervisor can poll without the token, and an origin guard that
//! still holds when the proxy passes its users' `Host` through.

use serde_json::{Value, json};

use crate::runner::{Api, Options, Runner, World};
use testkit::process::ProcessGroup;

const SECRET: &str = "sidecar-secret-0123456789abcdef";

/// The runner with one operator token, given the way a supervising host
/// gives it: in the environment.
fn sidecar<'a>(world: &World, args: &'a [&'a str], tokens: &'a str) -> Runner {
    Runner::start_with(
        world,
        Options {
            args,
            env: &[("K6_RUNNER_TOKENS", tokens)],
            token: Some(SECRET),
            ..Options::default()
        },
    )
}

/// A supervisor polls `GET /api/k6/health` with no token: a ready runner
/// answers 200 with exactly `service` and `ready` (no version, path or
/// run), for `HEAD` too, never cached; every other route still needs the
/// token.
#[tokio::test]
async fn a_supervisor_reads_readiness_without_the_token() {
    let world = World::new().await;
    let tokens = format!("cluster-manager:operator:{SECRET}");
    let runner = sidecar(&world, &[], &tokens);
    let anonymous = Api::new(runner.base.clone(), None);
    let (status, body) = anonymous.get("/health").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"service": "k6-runner", "ready": true}));
    assert_eq!(anonymous.get("/status").await.0, 401);
    assert_eq!(runner.get("/status").await.0, 200);

    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let head = client
        .head(format!("{}/health", runner.base))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status().as_u16(), 200);
    assert_eq!(head.headers()["cache-control"], "no-store");
}

/// Without a usable k6 the runner still serves (it is alive: restarting
/// it would not help), but `/health` answers 503 `ready: false` with a
/// fixed reason that names no path of the machine.
#[tokio::test]
async fn without_k6_the_runner_serves_but_is_not_ready() {
    let world = World::new().await;
    let missing = world.dir.path().join("no-such-k6");
    let missing = missing.display().to_string();
    let tokens = format!("cluster-manager:operator:{SECRET}");
    let runner = sidecar(&world, &["--k6", &missing], &tokens);
    let (status, body) = Api::new(runner.base.clone(), None).get("/health").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["ready"], false);
    assert!(
        body["reason"]
            .as_str()
            .unwrap()
            .contains("k6 is not usable"),
        "{body}"
    );
    let text = body.to_string();
    assert!(!text.contains(&missing) && !text.contains("/tmp"), "{text}");
    let (status, started) = runner.post("/start").await;
    assert_eq!(status, 503, "a start is refused the same way: {started}");
}

/// Behind a reverse proxy that passes its users' `Host` through (Go's
/// `httputil.ReverseProxy` does by default), a runner with tokens serves
/// any host name, and still refuses a control request or WebSocket
/// handshake from a page of another origin — even one carrying the
/// proxy's token — while the page of the proxy's own origin may control it.
#[tokio::test]
async fn behind_a_proxy_the_origin_guard_still_holds() {
    let world = World::new().await;
    let tokens = format!("cluster-manager:operator:{SECRET}");
    let runner = sidecar(&world, &[], &tokens);
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let host = "cluster.example:9090";
    let send = |method: &str, path: &str, origin: &str| {
        let mut request = client
            .request(method.parse().unwrap(), format!("{}{path}", runner.base))
            .bearer_auth(SECRET)
            .header("host", host)
            .header("origin", origin);
        if path == "/ws" {
            request = request
                .header("connection", "upgrade")
                .header("upgrade", "websocket")
                .header("sec-websocket-version", "13")
                .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
        }
        request.send()
    };
    for (method, path) in [("POST", "/config/reset"), ("GET", "/ws")] {
        let refused = send(method, path, "http://evil.example").await.unwrap();
        assert_eq!(refused.status().as_u16(), 403, "{method} {path}");
        let body: Value = refused.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains("cross-origin"),
            "{body}"
        );
    }
    let own = send("POST", "/config/reset", "http://cluster.example:9090")
        .await
        .unwrap();
    assert_eq!(own.status().as_u16(), 200, "the proxy's own page controls");
    let upgraded = send("GET", "/ws", "http://cluster.example:9090")
        .await
        .unwrap();
    assert_eq!(upgraded.status().as_u16(), 101);
}

/// A sidecar's runner outlives the pipe its logs went to when the host
/// that read them dies (the host's parent-death signal then asks it to
/// stop). Every later log line fails to be written; that must cost the
/// runner nothing: it still starts and stops a run, and on SIGTERM stops
/// k6 cleanly and exits 0.
#[tokio::test]
async fn a_runner_whose_log_reader_is_gone_still_stops_cleanly() {
    let world = World::new().await;
    let tokens = format!("cluster-manager:operator:{SECRET}");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_k6-runner"));
    command
        .args(["serve", "--bind", "127.0.0.1:0", "--stop-grace", "3"])
        .arg("--data-dir")
        .arg(&world.data)
        .arg("--scripts-dir")
        .arg(&world.scripts)
        .arg("--k6")
        .arg(crate::runner::k6())
        .env("K6_RUNNER_TOKENS", &tokens)
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut runner_process = ProcessGroup::spawn("k6-runner serve", &mut command)
        .unwrap()
        .stop_on_drop(std::time::Duration::from_secs(30));
    let (_, addr) = testkit::runner::wait_listening(&mut runner_process).unwrap();
    // The reader of its logs goes away.
    drop(runner_process.child_mut().stderr.take());
    let runner = Api::new(format!("http://{addr}/api/k6"), Some(SECRET));
    runner
        .configure(&crate::runner::config(1, "60s", 120, &["long.js"], 0))
        .await;
    let run_id = runner.start_run().await;
    runner
        .wait_status(std::time::Duration::from_secs(30), "k6 to run", |s| {
            s["currentUserCount"].as_u64().unwrap_or(0) > 0
        })
        .await;
    let status = runner_process
        .terminate(std::time::Duration::from_secs(30))
        .expect("the runner exits after SIGTERM");
    assert!(status.success(), "{status}");
    assert!(world.processes_of(&run_id).is_empty());
    let record: Value = serde_json::from_str(
        &std::fs::read_to_string(world.data.join("runs").join(&run_id).join("run.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(record["state"], "stopped", "{record}");
}
