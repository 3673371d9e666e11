//! The Go host example (`host-example/go`) as its users see it: built with
//! the Go the project's setup installs (Debian's golang-go, Go 1.19), run
//! with this build's `k6-runner` as its supervised sidecar, and driven
//! through HTTP and WebSocket on 127.0.0.1 with a real k6: the k6 API and
//! page behind the host, the k6 status in the host's own `/ws`, the runner
//! killed under the host and brought back, the host stopped or killed, and
//! no process of a run left behind.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde_json::{Value, json};
use testkit::api::{Api, next_ws_json};
use testkit::process::ProcessGroup;
use testkit::world::{RUN_TIMEOUT, World, config, k6};
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};

/// The host's own token in the tests that give it one.
const HOST_TOKEN: &str = "cluster-manager-token-for-tests";

/// How long a story waits for something the host or runner should do in
/// seconds (a restart waits a second, a k6 stop a fraction of one).
const SOON: Duration = Duration::from_secs(30);

/// How long the host (or a runner) has to stop after SIGTERM: it stops
/// its run first.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The Go toolchain: `$GO`, or `go` on PATH. Fails with a plain message
/// when there is none, rather than skipping.
fn go() -> PathBuf {
    let found = std::env::var_os("GO").map(PathBuf::from).or_else(|| {
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|dir| dir.join("go"))
            .find(|path| path.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "go not found: run `make setup-test` (installs Debian's golang-go) or set GO=/path/to/go"
        )
    })
}

fn go_source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../host-example/go")
}

/// `go <args>` in the example's folder, offline and self-contained (its
/// build cache under cargo's target directory), failing with Go's output.
fn run_go(args: &[&str]) -> String {
    let scratch = Path::new(env!("CARGO_TARGET_TMPDIR")).join("go");
    let output = Command::new(go())
        .args(args)
        .current_dir(go_source())
        .env("GOCACHE", scratch.join("cache"))
        .env("GOPATH", scratch.join("path"))
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=mod")
        .env("GOWORK", "off")
        .env("GOTOOLCHAIN", "local")
        .env("GO111MODULE", "on")
        .output()
        .expect("running go");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "go {args:?} failed:\n{text}");
    text
}

/// The host, built once per test run.
fn host_binary() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-host/clustermanager");
        run_go(&["build", "-o", out.to_str().unwrap(), "."]);
        out
    })
}

/// The Go host running with the world's scripts and data directory.
struct GoHost {
    process: ProcessGroup,
    addr: String,
    log_file: PathBuf,
    stderr_file: PathBuf,
}

impl GoHost {
    fn start(world: &World, token: Option<&str>) -> Self {
        Self::start_with(world, token, &[])
    }

    /// Starts the host with `extra` arguments after the usual ones.
    fn start_with(world: &World, token: Option<&str>, extra: &[&str]) -> Self {
        let log_file = world.dir.path().join("logs/vuDataSim.log");
        let stderr_file = world.dir.path().join("host.stderr");
        let mut command = Command::new(host_binary());
        command
            .args(["-bind", "127.0.0.1:0", "-log-file"])
            .arg(&log_file)
            .arg("-runner")
            .arg(env!("CARGO_BIN_EXE_k6-runner"))
            .arg("-scripts-dir")
            .arg(&world.scripts)
            .arg("-k6")
            .arg(k6())
            .arg("-k6-data")
            .arg(&world.data)
            .args(extra)
            .current_dir(world.dir.path())
            .env_remove("CLUSTER_MANAGER_TOKEN")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr_file).unwrap());
        if let Some(token) = token {
            command.env("CLUSTER_MANAGER_TOKEN", token);
        }
        let mut process = ProcessGroup::spawn("the Go host", &mut command)
            .unwrap_or_else(|error| panic!("{error}"))
            .stop_on_drop(SHUTDOWN_GRACE);
        let (_, line) = process
            .wait_for_line(
                "cluster manager listening on http://",
                Duration::from_secs(90),
            )
            .unwrap_or_else(|error| panic!("{error}"));
        Self {
            process,
            addr: line.trim_end_matches('/').to_owned(),
            log_file,
            stderr_file,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The k6 API through the host.
    fn k6(&self, token: Option<&str>) -> Api {
        Api::new(self.url("/api/k6"), token)
    }

    /// `GET /api/state`: the host's envelope around its AppState.
    async fn state(&self, token: Option<&str>) -> Value {
        let (status, body) = Api::new(self.url("/api"), token).get("/state").await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["success"], true, "{body}");
        body["data"].clone()
    }

    /// The runner process now, as the host reports it.
    async fn runner_pid(&self) -> i32 {
        let pid = self.state(None).await["k6Runner"]["pid"].as_i64().unwrap();
        i32::try_from(pid).unwrap()
    }
}

fn alive(pid: i32) -> bool {
    // A zombie has no /proc/<pid>/cmdline content and is as good as gone.
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|line| !line.is_empty())
}

/// Waits (at most `SOON`) until `done` holds.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    let until = Instant::now() + SOON;
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a WebSocket with `headers`; the HTTP status if refused.
async fn connect(url: &str, headers: &[(&'static str, &str)]) -> Result<Socket, u16> {
    let mut request = url.into_client_request().unwrap();
    for (name, value) in headers {
        request.headers_mut().insert(*name, value.parse().unwrap());
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

/// Reads the host's `/ws` until a state satisfies `done` (at most 90 s).
async fn ws_until(socket: &mut Socket, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let until = Instant::now() + RUN_TIMEOUT;
    loop {
        let state = next_ws_json(socket).await;
        if done(&state) {
            return state;
        }
        assert!(
            Instant::now() < until,
            "timed out waiting on the host's /ws for {what}; last: {state}"
        );
    }
}

/// The secret the host gave its runner, read from the runner's
/// environment (the only place it is).
fn runner_secret(pid: i32) -> String {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    environ
        .split(|&b| b == 0)
        .filter_map(|entry| std::str::from_utf8(entry).ok())
        .find_map(|entry| entry.strip_prefix("K6_RUNNER_TOKENS="))
        .and_then(|tokens| tokens.rsplit(':').next())
        .expect("the runner got its token in its environment")
        .to_owned()
}

/// The Go unit tests (the WebSocket, the sidecar against a fake runner,
/// the host's state and auth) pass with the Go the setup installs.
#[test]
fn go_unit_tests_pass() {
    let version = run_go(&["version"]);
    assert!(version.starts_with("go version go1."), "{version}");
    run_go(&["vet", "./..."]);
    run_go(&["test", "-count=1", "./..."]);
}

/// A Go developer's cluster manager with the k6 control plane beside it:
/// a k6 run started through the host's `/api/k6/start` shows up running,
/// with live users, in the host's own `/ws`, next to the host's own
/// state; a page of another site cannot stop it, the host's own page can;
/// it ends stopped with no process left; the k6 page and its API are
/// served under `/k6/`; and the runner's token is nowhere a user can see.
#[tokio::test]
async fn a_k6_run_through_the_go_host_shows_in_its_own_websocket() {
    let world = World::new().await;
    let host = GoHost::start(&world, None);
    let k6 = host.k6(None);
    k6.configure(&config(2, "60s", 120, &["long.js"], 0)).await;

    let mut socket = connect(&format!("ws://{}/ws", host.addr), &[])
        .await
        .unwrap();
    let first = next_ws_json(&mut socket).await;
    assert_eq!(first["k6Runner"]["phase"], "ready", "{first}");
    assert_eq!(first["k6"]["isRunning"], false, "{first}");
    assert_eq!(first["simulationRunning"], false, "{first}");
    let (status, started) = Api::new(host.url("/api"), None)
        .post_json("/simulation/start", &json!({"profile": "low"}))
        .await;
    assert_eq!(status, 200, "{started}");

    let run_id = k6.start_run().await;
    let running = ws_until(&mut socket, "k6 running with users", |s| {
        s["k6"]["isRunning"] == true && s["k6"]["currentUserCount"].as_u64().unwrap_or(0) > 0
    })
    .await;
    assert_eq!(running["k6"]["runId"], run_id.as_str(), "{running}");
    assert_eq!(running["k6"]["currentScript"], "long.js", "{running}");
    assert_eq!(
        running["simulationRunning"], true,
        "the host's own state too"
    );
    assert!(!world.processes_of(&run_id).is_empty(), "k6 runs");

    // The runner's origin guard holds behind the proxy, which passes the
    // user's Host and Origin through.
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let forged = client
        .post(host.url("/api/k6/stop"))
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    let stop = client
        .post(host.url("/api/k6/stop"))
        .header("origin", host.url(""))
        .send()
        .await
        .unwrap();
    assert_eq!(stop.status().as_u16(), 202);
    let stopped = ws_until(&mut socket, "k6 stopped", |s| s["k6"]["isRunning"] == false).await;
    assert_eq!(
        stopped["k6"]["stoppedScripts"],
        json!(["long.js"]),
        "{stopped}"
    );
    eventually("no process of the run", || {
        world.processes_of(&run_id).is_empty()
    })
    .await;
    assert_eq!(k6.get("/results").await.1["steps"][0]["state"], "stopped");

    // The k6 page under /k6/, calling its API relative to itself.
    let page = client.get(host.url("/k6/")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("k6 control plane"), "the k6 page");
    let bare = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(host.url("/k6"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        bare.headers()["location"],
        "/k6/",
        "so relative URLs resolve"
    );
    let asset = page
        .split('"')
        .find(|part| part.starts_with("assets/app.js"))
        .unwrap();
    let asset = client.get(host.url(&format!("/k6/{asset}"))).send().await;
    assert_eq!(asset.unwrap().status().as_u16(), 200);
    let (status, _) = Api::new(host.url("/k6/api/k6"), None).get("/status").await;
    assert_eq!(status, 200, "the page's own API path");
    let (status, health) = k6.get("/health").await;
    assert_eq!((status, health["ready"].clone()), (200, json!(true)));

    // The runner's token: in its environment, and nowhere a user sees.
    let pid = host.runner_pid().await;
    let secret = runner_secret(pid);
    assert!(secret.len() >= 32, "a long random secret");
    let state = host.state(None).await.to_string();
    let host_cmdline = std::fs::read(format!("/proc/{}/cmdline", host.process.pid())).unwrap();
    let runner_cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    for (place, text) in [
        ("the state", state),
        ("the page", page),
        (
            "the log file",
            std::fs::read_to_string(&host.log_file).unwrap(),
        ),
        (
            "the console",
            std::fs::read_to_string(&host.stderr_file).unwrap(),
        ),
        (
            "the host's command line",
            String::from_utf8_lossy(&host_cmdline).into(),
        ),
        (
            "the runner's command line",
            String::from_utf8_lossy(&runner_cmdline).into(),
        ),
        (
            "the audit log",
            std::fs::read_to_string(world.data.join("audit.log")).unwrap(),
        ),
    ] {
        assert!(!text.contains(&secret), "the runner's token is in {place}");
    }
    let audit = std::fs::read_to_string(world.data.join("audit.log")).unwrap();
    assert!(audit.contains("\"actor\":\"cluster-manager\""), "{audit}");
}

/// The runner SIGKILLed under the host mid-run: its k6 dies with it, the
/// host brings the runner back (the run marked interrupted, the restart
/// counted in the host's state and `/ws`), and the next run works.
#[tokio::test]
async fn the_runner_killed_under_the_go_host_is_brought_back() {
    let world = World::new().await;
    let host = GoHost::start(&world, None);
    let k6 = host.k6(None);
    k6.configure(&config(1, "60s", 120, &["long.js"], 0)).await;
    let mut socket = connect(&format!("ws://{}/ws", host.addr), &[])
        .await
        .unwrap();
    let run_id = k6.start_run().await;
    k6.wait_status(SOON, "k6 to run", |s| {
        s["currentUserCount"].as_u64().unwrap_or(0) > 0
    })
    .await;
    let first = host.runner_pid().await;

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let back = ws_until(&mut socket, "the runner back", |s| {
        s["k6Runner"]["restarts"] == 1 && s["k6Runner"]["phase"] == "ready"
    })
    .await;
    assert!(
        back["k6Runner"]["lastExit"]
            .as_str()
            .unwrap()
            .contains("killed"),
        "{back}"
    );
    assert_ne!(back["k6Runner"]["pid"], first, "{back}");
    assert!(!alive(first));
    eventually("k6 gone with its runner", || {
        world.processes_of(&run_id).is_empty()
    })
    .await;
    let shown = ws_until(&mut socket, "the new runner's status", |s| {
        s["k6"]["runId"] == run_id.as_str() && s["k6"]["isRunning"] == false
    })
    .await;
    assert!(
        shown["k6"]["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("was interrupted")),
        "{shown}"
    );
    assert_eq!(k6.get("/results").await.1["state"], "interrupted");

    let next = k6.start_run().await;
    ws_until(&mut socket, "the next run", |s| {
        s["k6"]["runId"] == next.as_str() && s["k6"]["isRunning"] == true
    })
    .await;
    assert_eq!(k6.post("/stop").await.0, 202);
    k6.wait_for_results().await;
    assert!(world.processes_of(&next).is_empty());
}

/// Stopping the host mid-run (SIGTERM) stops the run and the runner
/// before the host exits; killing it (SIGKILL, no chance to clean up)
/// takes the runner down through its parent-death signal, and the runner
/// still stops its k6 first. Either way no process is left.
#[tokio::test]
async fn stopping_or_killing_the_go_host_leaves_no_process() {
    for graceful in [true, false] {
        let world = World::new().await;
        let mut host = GoHost::start(&world, None);
        let k6 = host.k6(None);
        k6.configure(&config(1, "60s", 120, &["long.js"], 0)).await;
        let run_id = k6.start_run().await;
        k6.wait_status(SOON, "k6 to run", |s| {
            s["currentUserCount"].as_u64().unwrap_or(0) > 0
        })
        .await;
        let runner = host.runner_pid().await;
        if graceful {
            let status = host
                .process
                .terminate(SHUTDOWN_GRACE)
                .expect("the host exits after SIGTERM");
            assert!(status.success(), "{status}");
            assert!(!alive(runner), "the host waited for its runner");
        } else {
            // The host alone: its runner is to notice it gone by itself.
            host.process.signal(Signal::SIGKILL);
            host.process
                .wait_for(SOON)
                .expect("the host dies of SIGKILL");
            eventually("the runner gone after its host", || !alive(runner)).await;
        }
        eventually("no process of the run", || {
            world.processes_of(&run_id).is_empty()
        })
        .await;
        let record: Value = serde_json::from_str(
            &std::fs::read_to_string(world.data.join("runs").join(&run_id).join("run.json"))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(record["state"], "stopped", "graceful {graceful}: {record}");
    }
}

/// With its own token, the host wants it on every route, its own and the
/// k6 ones (the WebSocket may carry it as `?access_token=`, as the k6 page
/// sends it), but not on the static pages; it is the host's token, not
/// the runner's. Without a token, only loopback names are served, and a
/// non-loopback bind is refused.
#[tokio::test]
async fn the_go_host_guards_its_routes_and_the_k6_ones() {
    let world = World::new().await;
    let host = GoHost::start(&world, Some(HOST_TOKEN));
    let anonymous = Api::new(host.url(""), None);
    for path in ["/api/state", "/api/k6/status", "/k6/api/k6/status"] {
        assert_eq!(anonymous.get(path).await.0, 401, "{path}");
    }
    for path in ["/", "/k6/"] {
        assert_eq!(anonymous.get(path).await.0, 200, "{path}");
    }
    assert_eq!(
        host.state(Some(HOST_TOKEN)).await["k6Runner"]["ready"],
        true
    );
    let (status, _) = host.k6(Some(HOST_TOKEN)).get("/scripts").await;
    assert_eq!(status, 200);
    let (status, _) = Api::new(host.url("/k6/api/k6"), Some(HOST_TOKEN))
        .get("/status")
        .await;
    assert_eq!(status, 200);
    for path in ["/ws", "/api/k6/ws", "/k6/api/k6/ws"] {
        let url = format!("ws://{}{path}", host.addr);
        assert_eq!(connect(&url, &[]).await.err(), Some(401), "{path}");
        let with_query = format!("{url}?access_token={HOST_TOKEN}");
        let mut socket = connect(&with_query, &[])
            .await
            .unwrap_or_else(|status| panic!("{path} refused: {status}"));
        let first = next_ws_json(&mut socket).await;
        assert!(first.is_object(), "{path}: {first}");
        let bearer = format!("Bearer {HOST_TOKEN}");
        let mut socket = connect(&url, &[("authorization", &bearer)]).await.unwrap();
        next_ws_json(&mut socket).await;
    }
    drop(host);

    let open = GoHost::start(&world, None);
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let port = open.addr.rsplit(':').next().unwrap();
    for path in ["/api/state", "/api/k6/status", "/k6/"] {
        for (name, expected) in [("evil.example", 403), ("localhost", 200)] {
            let status = client
                .get(open.url(path))
                .header("host", format!("{name}:{port}"))
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(status.as_u16(), expected, "{path} as {name}");
        }
    }
    drop(open);

    let refused = Command::new(host_binary())
        .args(["-bind", "192.0.2.1:9090", "-scripts-dir", "."])
        .arg("-log-file")
        .arg(world.dir.path().join("refused.log"))
        .env_remove("CLUSTER_MANAGER_TOKEN")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("without a token"), "{said}");
}

/// `k6-runner serve` started the way its own systemd unit starts it:
/// by itself, on `bind`, with a tokens file.
fn systemd_like_runner(world: &World, bind: &str, tokens: &Path) -> (ProcessGroup, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_k6-runner"));
    command
        .args(["serve", "--bind", bind, "--data-dir"])
        .arg(&world.data)
        .arg("--scripts-dir")
        .arg(&world.scripts)
        .arg("--k6")
        .arg(k6())
        .arg("--tokens-file")
        .arg(tokens)
        .env_remove("K6_RUNNER_TOKENS")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped());
    let mut runner = ProcessGroup::spawn("k6-runner serve", &mut command)
        .unwrap_or_else(|error| panic!("{error}"))
        .stop_on_drop(SHUTDOWN_GRACE);
    let (_, addr) =
        testkit::runner::wait_listening(&mut runner).unwrap_or_else(|error| panic!("{error}"));
    (runner, addr.to_string())
}

/// In production the runner may be its own systemd unit
/// (`contrib/systemd/k6-runner.service`) and the host attach to it
/// (`-k6-attach`, with the same tokens file): the host then proxies and
/// follows it like a child of its own, notices it gone and back when its
/// supervisor restarts it, and leaves it running when the host stops.
#[tokio::test]
async fn the_go_host_attaches_to_a_runner_its_own_unit_supervises() {
    let world = World::new().await;
    let tokens = world.dir.path().join("tokens");
    std::fs::write(
        &tokens,
        "# as in /etc/k6-runner/tokens\ncluster-manager:operator:attached-secret-0123456789abcdef\n",
    )
    .unwrap();
    let (mut runner, addr) = systemd_like_runner(&world, "127.0.0.1:0", &tokens);
    let host = GoHost::start_with(
        &world,
        None,
        &[
            "-k6-attach",
            &addr,
            "-k6-tokens-file",
            tokens.to_str().unwrap(),
        ],
    );
    let k6 = host.k6(None);
    k6.configure(&config(1, "60s", 120, &["long.js"], 0)).await;
    let mut socket = connect(&format!("ws://{}/ws", host.addr), &[])
        .await
        .unwrap();
    let run_id = k6.start_run().await;
    let running = ws_until(&mut socket, "k6 running", |s| s["k6"]["isRunning"] == true).await;
    assert_eq!(running["k6Runner"]["phase"], "ready", "{running}");
    assert!(running["k6Runner"]["pid"].is_null(), "not the host's child");
    assert_eq!(k6.post("/stop").await.0, 202);
    k6.wait_for_results().await;

    // Its supervisor restarts it (here: by hand, on the same port).
    runner
        .terminate(SHUTDOWN_GRACE)
        .expect("the runner stops on SIGTERM");
    ws_until(&mut socket, "the runner seen gone", |s| {
        s["k6Runner"]["phase"] == "unreachable"
    })
    .await;
    assert_eq!(k6.get("/status").await.0, 503, "the proxy says so");
    let (mut runner, again) = systemd_like_runner(&world, &addr, &tokens);
    assert_eq!(again, addr);
    let back = ws_until(&mut socket, "the runner back", |s| {
        s["k6Runner"]["phase"] == "ready" && s["k6Runner"]["restarts"] == 1
    })
    .await;
    assert_eq!(back["k6"]["runId"], run_id.as_str(), "{back}");
    assert_eq!(k6.get("/status").await.0, 200);

    drop(host);
    let runner_api = Api::new(
        format!("http://{addr}/api/k6"),
        Some("attached-secret-0123456789abcdef"),
    );
    assert_eq!(runner_api.get("/status").await.0, 200, "left running");
    runner
        .terminate(SHUTDOWN_GRACE)
        .expect("the runner stops on SIGTERM");
    assert!(world.processes_of(&run_id).is_empty());
}
