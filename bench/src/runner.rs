//! A release `k6-runner serve` child on 127.0.0.1 and the API calls the
//! benchmarks make to it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use serde_json::Value;
use testkit::process::ProcessGroup;

/// Longest any single API request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest a runner may take to shut down on SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// How to start a runner.
#[derive(Debug, Clone)]
pub struct RunnerSpec {
    /// The `k6-runner` binary.
    pub binary: PathBuf,
    /// `--data-dir`.
    pub data_dir: PathBuf,
    /// `--scripts-dir`.
    pub scripts_dir: PathBuf,
    /// `--k6`.
    pub k6: PathBuf,
    /// `--no-plugin-cache`: compile the core at start.
    pub no_plugin_cache: bool,
}

/// A running `k6-runner serve`.
pub struct Runner {
    group: ProcessGroup,
    /// `http://127.0.0.1:PORT/api/k6`.
    api: String,
    /// Time from spawn to the "listening" line on stdout.
    pub startup: Duration,
    client: reqwest::Client,
}

impl Runner {
    /// Starts the runner on a free port and waits for its "listening" line;
    /// its stderr (logs) goes to `<data_dir>/../runner-<pid>.stderr` for
    /// diagnosis.
    pub fn start(spec: &RunnerSpec) -> Result<Self> {
        std::fs::create_dir_all(&spec.data_dir)?;
        let log_dir = spec.data_dir.parent().unwrap_or(Path::new("/tmp"));
        let log = tempfile::Builder::new()
            .prefix("runner-")
            .suffix(".stderr")
            .tempfile_in(log_dir)?
            .keep()
            .map_err(|e| anyhow!("keeping the runner log: {e}"))?
            .0;
        let mut command = Command::new(&spec.binary);
        command
            .arg("serve")
            .args(["--bind", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(&spec.data_dir)
            .arg("--scripts-dir")
            .arg(&spec.scripts_dir)
            .arg("--k6")
            .arg(&spec.k6)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(log);
        if spec.no_plugin_cache {
            command.arg("--no-plugin-cache");
        }
        let spawned = Instant::now();
        let mut group =
            ProcessGroup::spawn("k6-runner serve", &mut command)?.stop_on_drop(SHUTDOWN_GRACE);
        let (at, address) = testkit::runner::wait_listening(&mut group)?;
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .no_proxy()
            .build()?;
        Ok(Self {
            group,
            api: format!("http://{address}/api/k6"),
            startup: at.duration_since(spawned),
            client,
        })
    }

    /// The runner's process id.
    pub fn pid(&self) -> u32 {
        self.group.pid()
    }

    /// `http://127.0.0.1:PORT/api/k6`.
    pub fn api(&self) -> &str {
        &self.api
    }

    /// Stops the runner with SIGTERM (it stops any run first) and reaps it.
    pub fn shutdown(mut self) {
        self.group.terminate(SHUTDOWN_GRACE);
    }

    /// `PUT /config`.
    pub async fn put_config(&self, config: &Value) -> Result<()> {
        let response = self
            .client
            .put(format!("{}/config", self.api))
            .json(config)
            .send()
            .await?;
        let status = response.status();
        if !status.is_success() {
            bail!("PUT /config answered {status}: {}", response.text().await?);
        }
        Ok(())
    }

    /// `POST /start`; returns the run id.
    pub async fn start_run(&self) -> Result<String> {
        let response = self
            .client
            .post(format!("{}/start", self.api))
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        if !status.is_success() {
            bail!("POST /start answered {status}: {body}");
        }
        body["runId"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("POST /start gave no runId: {body}"))
    }

    /// `POST /stop`.
    pub async fn stop_run(&self) -> Result<()> {
        let response = self
            .client
            .post(format!("{}/stop", self.api))
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("POST /stop answered {}", response.status());
        }
        Ok(())
    }

    /// `GET /status`.
    pub async fn status(&self) -> Result<Value> {
        Ok(self
            .client
            .get(format!("{}/status", self.api))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// `GET /results`.
    pub async fn results(&self) -> Result<Value> {
        Ok(self
            .client
            .get(format!("{}/results", self.api))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// Polls `GET /status` every `period` until `isRunning` is false or
    /// `limit` has passed; returns when it saw the run end.
    pub async fn wait_idle(&self, period: Duration, limit: Duration) -> Result<Instant> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.status().await?["isRunning"] == Value::Bool(false) {
                return Ok(Instant::now());
            }
            tokio::time::sleep(period).await;
        }
        bail!("the run was still going after {limit:?}")
    }
}

/// A run's config as the API takes it: one script, `users` VUs from the
/// start (no ramp-up, so k6 gets `--vus N --duration Ts`, the plan bare k6
/// is given too).
pub fn run_config(script: &str, users: u32, seconds: u32) -> Value {
    serde_json::json!({
        "globalUserCount": users,
        "testDuration": format!("{seconds}s"),
        "rampUpDuration": 0,
        "maxDuration": seconds + 120,
        "enabledScripts": [script],
        "intervalBetweenTests": 0,
    })
}

/// The first step of a run record (its `state`, `summary`, …), so callers
/// can check it ended as expected.
pub fn first_step(record: &Value) -> Result<&Value> {
    record["steps"]
        .get(0)
        .ok_or_else(|| anyhow!("the run record has no step: {record}"))
}
