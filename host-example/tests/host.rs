//! The host example as its users see it: its own routes and WebSocket, the
//! k6 routes behind its auth, a real k6 run showing up in its state, and a
//! shutdown that leaves no k6 behind.

#[path = "../../tests/support/mod.rs"]
mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use support::{Api, World, config, k6, next_ws_json, processes_of, terminate, wait_for_line};

const TOKEN: &str = "cluster-secret";

struct Host {
    child: Child,
    addr: String,
}

impl Host {
    fn start(world: &World) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_host-example"))
            .args(["--bind", "127.0.0.1:0", "--data-dir"])
            .arg(&world.data)
            .arg("--scripts-dir")
            .arg(&world.scripts)
            .arg("--k6")
            .arg(k6())
            .env("CLUSTER_TOKEN", TOKEN)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let line = wait_for_line(
            child.stdout.take().unwrap(),
            "cluster manager listening on http://",
            Duration::from_secs(60),
        );
        Self {
            addr: line.trim_end_matches('/').to_owned(),
            child,
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        terminate(&mut self.child);
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
    let (mut socket, _) = tokio_tungstenite::connect_async(format!("ws://{}/ws", host.addr))
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
    assert!(!processes_of(&run_id).is_empty());

    let status = terminate(&mut host.child).expect("the host exits after SIGTERM");
    assert!(status.success(), "{status}");
    assert!(
        processes_of(&run_id).is_empty(),
        "left behind: {:?}",
        processes_of(&run_id)
    );
    let record: Value = serde_json::from_str(
        &std::fs::read_to_string(world.data.join("runs").join(&run_id).join("run.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(record["state"], "stopped", "{record}");
}
