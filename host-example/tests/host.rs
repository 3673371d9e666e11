//! The host example as its users see it: its own routes and WebSocket, the
//! k6 routes behind its auth, a real k6 run showing up in its state, a
//! shutdown that leaves no k6 behind, and a start refused when it would
//! be unsafe.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use testkit::api::{Api, next_ws_json};
use testkit::process::{ProcessGroup, run_bounded};
use testkit::world::{World, config, k6};
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};

const TOKEN: &str = "cluster-secret-for-tests";
const TOKEN_ENV: &str = "HOST_EXAMPLE_TOKEN";

/// How long the host has to stop after SIGTERM (it stops its run first).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

struct Host {
    process: ProcessGroup,
    addr: String,
}

impl Host {
    fn start(world: &World) -> Self {
        Self::start_with(world, Some(TOKEN))
    }

    fn start_with(world: &World, token: Option<&str>) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_host-example"));
        command
            .args(["--bind", "127.0.0.1:0", "--data-dir"])
            .arg(&world.data)
            .arg("--scripts-dir")
            .arg(&world.scripts)
            .arg("--k6")
            .arg(k6())
            .env_remove(TOKEN_ENV)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped());
        if let Some(token) = token {
            command.env(TOKEN_ENV, token);
        }
        let mut process = ProcessGroup::spawn("host-example", &mut command)
            .unwrap_or_else(|error| panic!("{error}"))
            .stop_on_drop(SHUTDOWN_GRACE);
        let (_, line) = process
            .wait_for_line(
                "cluster manager listening on http://",
                Duration::from_secs(60),
            )
            .unwrap_or_else(|error| panic!("{error}"));
        Self {
            addr: line.trim_end_matches('/').to_owned(),
            process,
        }
    }
}

/// A WebSocket to the host that answered the handshake.
type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a WebSocket to `url`, with `Authorization: Bearer <token>` if
/// given; the HTTP status the handshake was refused with, if it was.
async fn connect(url: &str, token: Option<&str>) -> Result<Socket, u16> {
    let mut request = url.into_client_request().unwrap();
    if let Some(token) = token {
        let value = format!("Bearer {token}").parse().unwrap();
        request.headers_mut().insert("authorization", value);
    }
    let connecting = tokio_tungstenite::connect_async(request);
    match tokio::time::timeout(Duration::from_secs(10), connecting)
        .await
        .expect("no WebSocket handshake within 10 s")
    {
        Ok((socket, _)) => Ok(socket),
        Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(error) => panic!("{url}: {error}"),
    }
}

/// The host's own endpoints work, its auth covers the k6 routes too, and
/// the k6 web page is served.
#[tokio::test]
async fn host_routes_work_and_its_auth_guards_the_k6_routes() {
    let world = World::new().await;
    let host = Host::start(&world);
    let anonymous = Api::new(format!("http://{}/api/k6", host.addr), None);
    assert_eq!(anonymous.get("/status").await.0, 401);

    let cluster = Api::new(format!("http://{}/api", host.addr), Some(TOKEN));
    let (status, state) = cluster
        .post_json("/simulation/start", &json!({"eps": 400}))
        .await;
    assert_eq!(status, 200, "{state}");
    assert_eq!(state["simulation"]["eps"], 400);
    let generated = |state: &Value| state["simulation"]["eventsGenerated"].as_u64().unwrap();
    let mut now = cluster.get("/cluster/state").await.1;
    for _ in 0..50 {
        if generated(&now) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        now = cluster.get("/cluster/state").await.1;
    }
    assert!(
        generated(&now) > 0,
        "the simulation generates events: {now}"
    );
    assert_eq!(
        cluster.post("/simulation/stop").await.1["simulation"]["running"],
        false
    );
    assert_eq!(
        cluster
            .post_json("/simulation/start", &json!({"eps": 0}))
            .await
            .0,
        422
    );

    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let page = client
        .get(format!("http://{}/", host.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text().await.unwrap().contains("k6 control plane"),
        "the k6 web page is mounted"
    );

    let k6 = Api::new(format!("http://{}/api/k6", host.addr), Some(TOKEN));
    let (status, scripts) = k6.get("/scripts").await;
    assert_eq!(status, 200);
    assert!(
        scripts
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "pass.js"),
        "{scripts}"
    );
}

/// A k6 run started through the host's `/api/k6` shows up, running and
/// then finished, on the host's own WebSocket.
#[tokio::test]
async fn k6_run_through_the_host_shows_up_on_the_host_websocket() {
    let world = World::new().await;
    let host = Host::start(&world);
    let k6 = Api::new(format!("http://{}/api/k6", host.addr), Some(TOKEN));
    k6.configure(&config(2, "3s", 60, &["pass.js"], 0)).await;
    let mut socket = connect(&format!("ws://{}/ws", host.addr), Some(TOKEN))
        .await
        .unwrap();
    let first = next_ws_json(&mut socket).await;
    assert_eq!(first["k6"]["isRunning"], false);

    let run_id = k6.start_run().await;
    let mut saw_running = false;
    loop {
        let state = next_ws_json(&mut socket).await;
        if state["k6"]["isRunning"] == true {
            assert_eq!(state["k6"]["runId"], run_id.as_str());
            saw_running = true;
        } else if saw_running {
            assert_eq!(
                state["k6"]["completedScripts"],
                json!(["pass.js"]),
                "{state}"
            );
            break;
        }
    }
    assert_eq!(k6.get("/results").await.1["steps"][0]["state"], "completed");
}

/// Shutting the host down mid-run stops k6: no process of the run is left.
#[tokio::test]
async fn host_shutdown_leaves_no_k6_behind() {
    let world = World::new().await;
    let mut host = Host::start(&world);
    let k6 = Api::new(format!("http://{}/api/k6", host.addr), Some(TOKEN));
    k6.configure(&config(1, "60s", 120, &["long.js"], 0)).await;
    let run_id = k6.start_run().await;
    k6.wait_status(Duration::from_secs(30), "k6 to run", |s| {
        s["currentUserCount"].as_u64().unwrap_or(0) > 0
    })
    .await;
    assert!(!world.processes_of(&run_id).is_empty());

    let status = host
        .process
        .terminate(SHUTDOWN_GRACE)
        .expect("the host exits after SIGTERM");
    assert!(status.success(), "{status}");
    assert!(
        world.processes_of(&run_id).is_empty(),
        "left behind: {:?}",
        world.processes_of(&run_id)
    );
    let record: Value = serde_json::from_str(
        &std::fs::read_to_string(world.data.join("runs").join(&run_id).join("run.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(record["state"], "stopped", "{record}");
}

/// With a token, the host's own WebSocket and state and the k6 routes are
/// refused (401) without it, and accepted with it: in the header, or for a
/// WebSocket in `?access_token=` as the k6 web page sends it (browsers
/// cannot set headers on a WebSocket), but only for a WebSocket.
#[tokio::test]
async fn without_the_token_the_host_ws_and_k6_routes_are_refused() {
    let world = World::new().await;
    let host = Host::start(&world);
    let ws = |path: &str| format!("ws://{}{path}", host.addr);
    let query = format!("?access_token={TOKEN}");

    for path in ["/ws", "/api/k6/ws"] {
        assert_eq!(connect(&ws(path), None).await.err(), Some(401), "{path}");
        let wrong = format!("{path}?access_token=not-the-cluster-secret");
        assert_eq!(connect(&ws(&wrong), None).await.err(), Some(401), "{wrong}");
        for (url, token) in [
            (ws(path), Some(TOKEN)),
            (ws(&format!("{path}{query}")), None),
        ] {
            let mut socket = connect(&url, token)
                .await
                .unwrap_or_else(|status| panic!("{url} refused: {status}"));
            let first = next_ws_json(&mut socket).await;
            assert!(first.is_object(), "{url}: {first}");
            if path == "/ws" {
                assert_eq!(first["simulation"]["running"], false, "{first}");
            }
        }
    }

    let anonymous = Api::new(format!("http://{}/api", host.addr), None);
    assert_eq!(anonymous.get("/k6/status").await.0, 401);
    assert_eq!(anonymous.get("/cluster/state").await.0, 401);
    let (status, _) = anonymous
        .post_json("/simulation/start", &json!({"eps": 50}))
        .await;
    assert_eq!(status, 401);
    // The query token is for WebSockets only.
    assert_eq!(anonymous.get(&format!("/k6/status{query}")).await.0, 401);
    assert_eq!(
        anonymous.get(&format!("/cluster/state{query}")).await.0,
        401
    );

    let cluster = Api::new(format!("http://{}/api", host.addr), Some(TOKEN));
    assert_eq!(cluster.get("/k6/status").await.0, 200);
    let (status, state) = cluster.get("/cluster/state").await;
    assert_eq!(status, 200);
    assert_eq!(
        state["simulation"]["running"], false,
        "refused start: {state}"
    );
}

/// Runs the host with `bind` and `token` and expects it to refuse to start:
/// returns what it said on stderr.
fn refused_start(bind: &str, token: Option<&str>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_host-example"));
    command
        .args(["--bind", bind, "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--scripts-dir")
        .arg(dir.path())
        .env_remove(TOKEN_ENV)
        .env("RUST_LOG", "warn");
    if let Some(token) = token {
        command.env(TOKEN_ENV, token);
    }
    let output = run_bounded("host-example", &mut command, b"", Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "{}: {stderr}", output.status);
    stderr
}

/// Without a token the host will not listen beyond loopback, and a guessable
/// token is no token. (192.0.2.1 is a documentation address: even a host
/// that failed to refuse could not listen there.)
#[test]
fn the_host_refuses_to_start_unprotected() {
    let stderr = refused_start("192.0.2.1:9090", None);
    assert!(
        stderr.contains("refusing to listen on 192.0.2.1:9090 without a token"),
        "{stderr}"
    );
    assert!(stderr.contains(TOKEN_ENV), "{stderr}");
    let stderr = refused_start("127.0.0.1:0", Some("short"));
    assert!(stderr.contains("must be at least 16 bytes"), "{stderr}");
}

/// Without a token the host trusts loopback callers, so it serves only
/// requests addressed to a loopback name: a foreign page whose name was
/// made to resolve to 127.0.0.1 (DNS rebinding) is refused on every route.
#[tokio::test]
async fn without_a_token_only_loopback_names_are_served() {
    let world = World::new().await;
    let host = Host::start_with(&world, None);
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let port = host.addr.rsplit(':').next().unwrap();
    for path in ["/api/k6/status", "/api/cluster/state", "/"] {
        for (name, expected) in [("evil.example", 403), ("localhost", 200)] {
            let status = client
                .get(format!("http://{}{path}", host.addr))
                .header("host", format!("{name}:{port}"))
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(status.as_u16(), expected, "{path} as {name}");
        }
    }
}
