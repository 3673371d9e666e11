//! Shared by the end-to-end tests (`tests/e2e`) and the host example's
//! tests: a local HTTP target, a folder of k6 scripts aimed at it, the real
//! k6, an API client, and process checks.

// Shared by two test crates, each of which uses a subset.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long a test waits for a run to end before failing (k6 runs in these
/// tests last a few seconds).
pub const RUN_TIMEOUT: Duration = Duration::from_secs(90);

/// The k6 binary the project's setup installs (or `$K6`). Fails with a
/// plain message when it is missing, rather than skipping.
pub fn k6() -> PathBuf {
    let path = std::env::var_os("K6")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools/k6/bin/k6"));
    assert!(
        path.is_file(),
        "k6 not found at {}: run `make setup` (or set K6=/path/to/k6)",
        path.display()
    );
    path
}

/// A test's world: scripts, a data dir, and the target they hit.
pub struct World {
    /// Holds everything; removed on drop.
    pub dir: tempfile::TempDir,
    /// The script directory given to the runner.
    pub scripts: PathBuf,
    /// The runner's data directory.
    pub data: PathBuf,
    /// The demo target's address.
    pub target: SocketAddr,
}

impl World {
    /// A fresh world with the standard scripts, aimed at an in-process
    /// demo target on a free port.
    pub async fn new() -> Self {
        let target = k6_runner::demo_target::spawn("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let scripts = dir.path().join("scripts");
        let data = dir.path().join("data");
        std::fs::create_dir_all(scripts.join("legacy")).unwrap();
        let world = Self {
            dir,
            scripts,
            data,
            target,
        };
        world.script("pass.js", PASS);
        world.script("pass2.js", PASS);
        world.script("fail.js", FAIL_THRESHOLDS);
        world.script("long.js", LONG);
        world.script("stuck.js", STUCK);
        world.script("legacy/wrapper.sh", LEGACY);
        world
    }

    /// Writes a tokens file of `name:role:secret` entries (one per line)
    /// and returns its path, for `--tokens-file`.
    pub fn tokens_file(&self, entries: &[(&str, &str, &str)]) -> String {
        let path = self.dir.path().join("tokens");
        let text: String = entries
            .iter()
            .map(|(name, role, secret)| format!("{name}:{role}:{secret}\n"))
            .collect();
        std::fs::write(&path, format!("# who may do what\n{text}")).unwrap();
        path.display().to_string()
    }

    /// Processes still carrying the marker of run `run_id` of this world's
    /// data directory.
    pub fn processes_of(&self, run_id: &str) -> Vec<i32> {
        let marker = k6_runner::internals::DataDir::run_marker_of(&self.data, run_id).unwrap();
        k6_runner::internals::marked_processes(|value| value == marker.as_str())
    }

    /// Writes a script (its `TARGET` placeholder becomes the target's URL).
    pub fn script(&self, name: &str, body: &str) {
        let path = self.scripts.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            body.replace("TARGET", &format!("http://{}", self.target)),
        )
        .unwrap();
    }
}

/// Passes every threshold: 2 VUs hitting `/fast`.
pub const PASS: &str = r#"
import http from 'k6/http';
import { check, sleep } from 'k6';
export const options = { thresholds: { http_req_failed: ['rate<0.01'], checks: ['rate>0.99'] } };
export default function () {
  check(http.get('TARGET/fast'), { 'status is 200': (r) => r.status === 200 });
  sleep(0.1);
}
"#;

/// Crosses its thresholds: every request fails.
pub const FAIL_THRESHOLDS: &str = r#"
import http from 'k6/http';
import { sleep } from 'k6';
export const options = { thresholds: { http_req_failed: ['rate<0.01'] } };
export default function () {
  http.get('TARGET/err');
  sleep(0.1);
}
"#;

/// Busy for as long as it is allowed to run.
pub const LONG: &str = r#"
import http from 'k6/http';
import { sleep } from 'k6';
export default function () {
  http.get('TARGET/fast');
  sleep(0.05);
}
"#;

/// Iterations that never finish in time: k6 would wait its 30 s
/// gracefulStop after the test's duration.
pub const STUCK: &str = r#"
import { sleep } from 'k6';
export default function () { sleep(120); }
"#;

/// A legacy wrapper that starts k6 as a child of bash (no exec), the way
/// old k6_all.sh suites did.
pub const LEGACY: &str = r#"#!/usr/bin/env bash
set -u
here="$(cd "$(dirname "$0")" && pwd)"
k6 run --no-usage-report --vus "$2" --duration "$1" "$here/../long.js"
"#;

/// A config JSON with the given scripts.
pub fn config(users: u32, duration: &str, max: u32, scripts: &[&str], interval: u32) -> Value {
    json!({
        "globalUserCount": users,
        "testDuration": duration,
        "rampUpDuration": 0,
        "maxDuration": max,
        "enabledScripts": scripts,
        "intervalBetweenTests": interval,
    })
}

/// A JSON client for an API mounted at `base` (`http://127.0.0.1:<port>/api/k6`).
pub struct Api {
    /// The API's base URL.
    pub base: String,
    client: reqwest::Client,
    token: Option<String>,
}

impl Api {
    /// A client for `base`, sending `Authorization: Bearer <token>` if given.
    pub fn new(base: String, token: Option<&str>) -> Self {
        Self {
            base,
            client: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            token: token.map(str::to_owned),
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.client.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// `GET <base><path>` as (status, JSON or text).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        read(
            self.request(reqwest::Method::GET, path)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// `POST <base><path>`.
    pub async fn post(&self, path: &str) -> (u16, Value) {
        read(
            self.request(reqwest::Method::POST, path)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// `POST <base><path>` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        read(
            self.request(reqwest::Method::POST, path)
                .json(body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// `PUT <base><path>` with a JSON body.
    pub async fn put_json(&self, path: &str, body: &Value) -> (u16, Value) {
        read(
            self.request(reqwest::Method::PUT, path)
                .json(body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// `PUT <base><path>` with no body.
    pub async fn put(&self, path: &str) -> (u16, Value) {
        read(
            self.request(reqwest::Method::PUT, path)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// `DELETE <base><path>`.
    pub async fn delete(&self, path: &str) -> (u16, Value) {
        read(
            self.request(reqwest::Method::DELETE, path)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Sets the config, asserting it was accepted.
    pub async fn configure(&self, config: &Value) {
        let (status, body) = self.put_json("/config", config).await;
        assert_eq!(status, 200, "config refused: {body}");
    }

    /// Starts a run, asserting it was accepted; returns its id.
    pub async fn start_run(&self) -> String {
        let (status, body) = self.post("/start").await;
        assert_eq!(status, 202, "start refused: {body}");
        body["runId"].as_str().unwrap().to_owned()
    }

    /// Polls the status until `done` holds (every 100 ms, at most `timeout`).
    pub async fn wait_status(
        &self,
        timeout: Duration,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let until = Instant::now() + timeout;
        loop {
            let (_, status) = self.get("/status").await;
            if done(&status) {
                return status;
            }
            assert!(
                Instant::now() < until,
                "timed out after {timeout:?} waiting for {what}; status: {status}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until no run is in progress and returns the last run record.
    pub async fn wait_for_results(&self) -> Value {
        self.wait_status(RUN_TIMEOUT, "the run to end", |s| s["isRunning"] == false)
            .await;
        let (status, results) = self.get("/results").await;
        assert_eq!(status, 200, "{results}");
        results
    }
}

async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Reads a child's stdout on a thread until a line starting with `prefix`
/// appears (at most `timeout`) and returns the rest of that line; later
/// lines are drained so the child never blocks on a full pipe.
pub fn wait_for_line(
    stdout: std::process::ChildStdout,
    prefix: &'static str,
    timeout: Duration,
) -> String {
    use std::io::{BufRead, BufReader};
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix(prefix) {
                let _ = tx.send(rest.to_owned());
            }
        }
    });
    rx.recv_timeout(timeout)
        .unwrap_or_else(|_| panic!("no line starting with {prefix:?} within {timeout:?}"))
}

/// Sends SIGTERM to `child` and waits for it to exit (at most 30 s, then
/// SIGKILL). Returns its exit status if it exited by itself.
pub fn terminate(child: &mut std::process::Child) -> Option<std::process::ExitStatus> {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < until {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// A step of a run record by script name.
pub fn step<'a>(results: &'a Value, script: &str) -> &'a Value {
    results["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["script"] == script)
        .unwrap_or_else(|| panic!("no step {script} in {results}"))
}

/// The next JSON text message on a WebSocket (at most 60 s away).
pub async fn next_ws_json<S>(socket: &mut S) -> Value
where
    S: futures_util::Stream<
            Item = Result<
                tokio_tungstenite::tungstenite::Message,
                tokio_tungstenite::tungstenite::Error,
            >,
        > + Unpin,
{
    use futures_util::StreamExt;
    loop {
        let message = tokio::time::timeout(Duration::from_secs(60), socket.next())
            .await
            .expect("no WebSocket message within 60 s")
            .expect("the WebSocket closed")
            .unwrap();
        if let Ok(text) = message.to_text()
            && !text.is_empty()
        {
            return serde_json::from_str(text).unwrap();
        }
    }
}
