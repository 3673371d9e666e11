//! Prometheus: a real Prometheus server (Debian's `prometheus`, installed
//! by `scripts/setup.sh test`) scrapes the runner's `/metrics` and takes
//! k6's own metrics over remote write; `promtool` checks the text.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use testkit::process::{ProcessGroup, run_bounded};

use crate::runner::{Runner, World, config};

/// How long a Prometheus query may take to show what the test waits for:
/// scrapes are 1 s apart, k6 pushes every 5 s and at its end.
const QUERY_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest a run of promtool, or of a runner refusing to start, may take.
const TOOL_LIMIT: Duration = Duration::from_secs(60);

/// A Debian tool, or a plain message saying how to install it.
fn tool(name: &str) -> PathBuf {
    let path = Path::new("/usr/bin").join(name);
    assert!(
        path.is_file(),
        "{} not found: run `scripts/setup.sh test` (it installs Debian's prometheus package)",
        path.display()
    );
    path
}

/// A port that was free a moment ago: Prometheus prints the address it
/// was given, not the one it bound, so it cannot take port 0.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A Prometheus server of the test's own: its own config, its storage in
/// a temporary folder, a port on 127.0.0.1, its own process group; killed
/// and reaped on drop. It never touches a system Prometheus (the package's
/// service, where one runs, keeps its port and data).
struct Prometheus {
    /// Held for its drop, which kills the server's group.
    _process: ProcessGroup,
    base: String,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts it on `port`, scraping `target` (`host:port`, path
    /// `/metrics`) every second, with its remote-write receiver on.
    async fn start(port: u16, target: std::net::SocketAddr) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: k6-runner\n    static_configs:\n      \
                 - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let mut command = Command::new(tool("prometheus"));
        command
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--web.enable-remote-write-receiver")
            .stdout(std::fs::File::create(dir.path().join("stdout.txt")).unwrap())
            .stderr(std::fs::File::create(dir.path().join("stderr.txt")).unwrap());
        let prometheus = Self {
            _process: ProcessGroup::spawn("prometheus", &mut command)
                .unwrap_or_else(|error| panic!("{error}")),
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            _dir: dir,
        };
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = prometheus
                .client
                .get(format!("{}/-/ready", prometheus.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return prometheus;
            }
            assert!(
                Instant::now() < until,
                "prometheus not ready within 60 s: {}",
                prometheus.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("stderr.txt")).unwrap_or_default()
    }

    /// `GET /api/v1/query?query=…`: the answer's `data.result`, after
    /// checking that Prometheus took the query.
    async fn query(&self, promql: &str) -> Vec<Value> {
        let answer: Value = self
            .client
            .get(format!("{}/api/v1/query", self.base))
            .query(&[("query", promql)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["status"], "success", "{promql}: {answer}");
        answer["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Queries `promql` until `done` holds for its result (at most
    /// [`QUERY_TIMEOUT`]) and returns that result.
    async fn wait_for(&self, promql: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let until = Instant::now() + QUERY_TIMEOUT;
        loop {
            let result = self.query(promql).await;
            if done(&result) {
                return result;
            }
            assert!(
                Instant::now() < until,
                "{promql} did not answer as expected within {QUERY_TIMEOUT:?}; last: {result:?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// The sample value of a one-series instant query result.
fn value(result: &[Value]) -> Option<f64> {
    match result {
        [series] => series["value"][1].as_str()?.parse().ok(),
        _ => None,
    }
}

/// `promtool check metrics` on `text`: its exit status and what it said.
fn promtool_check(text: &str) -> (bool, String) {
    let output = run_bounded(
        "promtool check metrics",
        Command::new(tool("promtool")).args(["check", "metrics"]),
        text.as_bytes(),
        TOOL_LIMIT,
    );
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), said)
}

/// An operator who mistypes the remote-write option learns it at once:
/// the runner refuses to start (exit 1, the reason on stderr, never the
/// password), rather than every step failing later; trend statistics
/// without a URL are refused by the command line itself.
#[tokio::test]
async fn a_bad_remote_write_option_stops_the_runner_from_starting() {
    let world = World::new().await;
    let serve = |extra: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_k6-runner"));
        command
            .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(&world.data)
            .arg("--scripts-dir")
            .arg(&world.scripts)
            .args(extra)
            .env("RUST_LOG", "error");
        run_bounded("k6-runner serve", &mut command, b"", TOOL_LIMIT)
    };
    for (url, stats, reason) in [
        ("ftp://127.0.0.1/x", None, "must be http:// or https://"),
        (
            "http://ops:hunter2@127.0.0.1:9090/api/v1/write",
            None,
            "user name or password",
        ),
        (
            "http://127.0.0.1:9090/api/v1/write",
            Some("p(95),mean"),
            "\"mean\"",
        ),
    ] {
        let mut args = vec!["--k6-prometheus-rw", url];
        if let Some(stats) = stats {
            args.extend(["--k6-prometheus-rw-trend-stats", stats]);
        }
        let out = serve(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{url}: {stderr}");
        assert!(stderr.contains(reason), "{url}: {stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
        assert!(
            out.stdout.is_empty(),
            "it listened: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let out = serve(&["--k6-prometheus-rw-trend-stats", "p(99)"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An operator points a real Prometheus at the runner and at k6: during a
/// short real k6 step, `promtool` finds the scraped text clean, Prometheus
/// answers a PromQL query on the step's VUs with the users the config
/// asked for, and — because the runner runs k6 with `--k6-prometheus-rw`
/// — k6's own `k6_http_reqs_total` lands in the same Prometheus. After the
/// run, the passed run is counted, and every query of the Grafana
/// dashboard in `contrib/grafana/` is valid PromQL to this Prometheus.
#[tokio::test]
async fn prometheus_scrapes_the_runner_and_receives_k6s_own_metrics() {
    let world = World::new().await;
    let port = free_port();
    let write_url = format!("http://127.0.0.1:{port}/api/v1/write");
    let runner = Runner::start(&world, &["--k6-prometheus-rw", &write_url]);
    let prometheus = Prometheus::start(port, runner.addr).await;
    let scrape = reqwest::Client::builder().no_proxy().build().unwrap();
    let metrics_url = format!("http://{}/metrics", runner.addr);

    // 20 s: the step's gauges exist only while it runs, and a loaded
    // machine may take seconds to start k6 and scrape it.
    runner
        .configure(&config(3, "20s", 60, &["long.js"], 0))
        .await;
    runner.start_run().await;
    runner
        .wait_status(Duration::from_secs(30), "k6 to run its 3 VUs", |s| {
            s["currentUserCount"] == 3 && !s["metrics"].is_null()
        })
        .await;

    let text = scrape.get(&metrics_url).send().await.unwrap();
    assert_eq!(text.status(), 200);
    assert!(
        text.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = text.text().await.unwrap();
    assert!(text.lines().any(|l| l == "k6_runner_step_vus 3"), "{text}");
    assert!(
        text.lines().any(|l| l == "k6_runner_run_in_progress 1"),
        "{text}"
    );
    let (clean, said) = promtool_check(&text);
    assert!(clean && said.trim().is_empty(), "promtool: {said}\n{text}");

    let vus = prometheus
        .wait_for("k6_runner_step_vus", |r| value(r) == Some(3.0))
        .await;
    assert_eq!(vus[0]["metric"]["job"], "k6-runner", "{vus:?}");

    let results = runner.wait_for_results().await;
    assert_eq!(results["outcome"], "passed", "{results}");
    let (_, logs) = runner.get("/logs").await;
    let told = format!("k6 also writes its metrics to Prometheus remote write at {write_url}");
    assert!(
        logs["lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|line| line["message"] == told.as_str()),
        "the step's log says where k6 writes: {logs}"
    );
    prometheus
        .wait_for(r#"k6_runner_runs_total{outcome="passed"}"#, |r| {
            value(r) == Some(1.0)
        })
        .await;
    // Between runs the step's gauges are gone, not stale.
    prometheus
        .wait_for("k6_runner_run_in_progress", |r| value(r) == Some(0.0))
        .await;
    prometheus
        .wait_for("k6_runner_step_vus", <[Value]>::is_empty)
        .await;

    // k6 itself, through remote write (it pushes every 5 s and at its end).
    let requests = prometheus
        .wait_for(r#"sum(k6_http_reqs_total{scenario="default"})"#, |r| {
            value(r).is_some_and(|n| n > 0.0)
        })
        .await;
    let requests = value(&requests).unwrap();
    let summary = results["steps"][0]["summary"]["requests"].as_f64().unwrap();
    assert_eq!(requests, summary, "k6's own count reached Prometheus whole");
    let p95 = prometheus.query("k6_http_req_duration_p95").await;
    assert!(!p95.is_empty(), "the default trend stats include p(95)");

    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../contrib/grafana/k6-runner.json"),
        )
        .unwrap(),
    )
    .unwrap();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            // Grafana's variables, as Grafana would fill them in.
            let expr = target["expr"]
                .as_str()
                .unwrap()
                .replace("$__rate_interval", "1m")
                .replace("$__range", "5m")
                .replace("$instance", ".*");
            prometheus.query(&expr).await;
        }
    }
}
