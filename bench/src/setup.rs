//! What every end-to-end benchmark needs: the binaries, a scratch folder
//! with the benchmark script, the local HTTP target, and the machine's
//! description.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, anyhow, bail};
use k6_core::types::{CatalogueEntry, PlanContext, PlanTarget, ScriptKind, Step};

use crate::runner::{RunnerSpec, run_config};

/// Name of the benchmark script in its scripts folder.
pub const SCRIPT: &str = "bench.js";

/// The chatty script: k6's `experimental/csv-parse.js` example (from the
/// corpus, verbatim, with its `data.csv`), which logs a record on every
/// iteration and needs no network: CPU-bound output.
pub const CHATTY: &str = "chatty/csv-parse.js";

/// The workspace root (the bench crate sits in `bench/`).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The `k6-runner` binary next to this one, built in release mode by
/// `cargo build` (a no-op when up to date) unless `explicit` names one.
pub fn runner_binary(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    let me = std::env::current_exe().context("locating k6-bench")?;
    let profile_dir = me
        .parent()
        .ok_or_else(|| anyhow!("k6-bench has no folder"))?;
    let target_dir = profile_dir
        .parent()
        .ok_or_else(|| anyhow!("k6-bench is not in a cargo target folder"))?;
    let profile = profile_dir
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("release");
    if profile != "release" {
        eprintln!("bench: warning: k6-bench is a {profile} build; figures need --release");
    }
    eprintln!(
        "bench: building k6-runner ({profile}) in {}",
        target_dir.display()
    );
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace())
        .args(["build", "-p", "k6-runner", "--bin", "k6-runner"])
        .arg("--target-dir")
        .arg(target_dir);
    if profile == "release" {
        command.arg("--release");
    }
    let status = command.status().context("starting cargo build")?;
    if !status.success() {
        bail!("building k6-runner failed: {status}");
    }
    Ok(profile_dir.join("k6-runner"))
}

/// k6 as `scripts/setup.sh` installs it, unless `explicit` names one.
pub fn k6_binary(explicit: Option<&Path>) -> Result<PathBuf> {
    let path = explicit
        .map(Path::to_path_buf)
        .unwrap_or_else(|| workspace().join(".tools/k6/bin/k6"));
    if !path.is_file() {
        bail!(
            "k6 not found at {}: run scripts/setup.sh or pass --k6",
            path.display()
        );
    }
    Ok(path)
}

/// The scratch layout every end-to-end benchmark shares.
pub struct Scratch {
    /// Removed when the benchmark ends.
    pub root: tempfile::TempDir,
    /// Holds [`SCRIPT`].
    pub scripts_dir: PathBuf,
    /// The runner binary.
    pub runner: PathBuf,
    /// The k6 binary.
    pub k6: PathBuf,
}

impl Scratch {
    /// Writes the benchmark script, aimed at `target`'s `/fast` with no
    /// sleep: each VU sends requests back to back.
    pub fn new(runner: PathBuf, k6: PathBuf, target: SocketAddr) -> Result<Self> {
        let root = tempfile::Builder::new().prefix("k6-bench-").tempdir()?;
        let scripts_dir = root.path().join("scripts");
        std::fs::create_dir(&scripts_dir)?;
        std::fs::write(
            scripts_dir.join(SCRIPT),
            format!(
                "import http from 'k6/http';\n\n\
                 // Back to back, no sleep: the run is as hungry as k6 can be.\n\
                 export default function () {{\n  http.get('http://{target}/fast');\n}}\n"
            ),
        )?;
        let corpus = workspace().join("tests/corpus/grafana__k6/examples/experimental");
        let chatty = scripts_dir.join(CHATTY);
        let chatty_dir = chatty.parent().context("the chatty script has a folder")?;
        std::fs::create_dir_all(chatty_dir)?;
        std::fs::copy(corpus.join("csv-parse.js"), &chatty)?;
        std::fs::copy(corpus.join("data.csv"), chatty_dir.join("data.csv"))?;
        // The plan runs the script by its resolved path, as the runner does.
        let scripts_dir = scripts_dir.canonicalize()?;
        Ok(Self {
            root,
            scripts_dir,
            runner,
            k6,
        })
    }

    /// A runner spec with its own data folder `name` inside the scratch root.
    pub fn runner_spec(&self, name: &str, no_plugin_cache: bool) -> RunnerSpec {
        RunnerSpec {
            binary: self.runner.clone(),
            data_dir: self.root.path().join(name),
            scripts_dir: self.scripts_dir.clone(),
            k6: self.k6.clone(),
            no_plugin_cache,
        }
    }

    /// The step the runner's core plans for `script` at `users` × `seconds` — built by
    /// the same core code (natively), so bare k6 gets exactly the runner's
    /// flags: `--no-usage-report --no-color --address … --summary-export …
    /// --summary-trend-stats … --vus N --duration Ts`.
    pub fn planned_step(
        &self,
        script: &str,
        users: u32,
        seconds: u32,
        run_dir: &Path,
    ) -> Result<Step> {
        let policy = k6_core::config::default_policy();
        let catalogue = [CatalogueEntry {
            name: script.to_owned(),
            path: self.scripts_dir.join(script).display().to_string(),
            root: self.scripts_dir.display().to_string(),
            kind: ScriptKind::K6Script,
            test: None,
        }];
        let raw = run_config(script, users, seconds).to_string();
        let config = k6_core::config::validate(&raw, &policy, &catalogue)
            .map_err(|e| anyhow!("the benchmark config is invalid: {e:?}"))?;
        let context = PlanContext {
            run_dir: run_dir.display().to_string(),
            api_ports: vec![crate::procs::free_port()?],
            target: PlanTarget::Runner,
        };
        let mut plan = k6_core::plan::build(&config, &catalogue, &context)
            .map_err(|e| anyhow!("no plan: {e:?}"))?;
        plan.steps
            .pop()
            .ok_or_else(|| anyhow!("the plan has no step"))
    }
}

/// Starts the demo target (the runner's own `/fast`, `/slow`, `/err`,
/// `/json` target) on a free 127.0.0.1 port of this process's runtime. It
/// serves k6 in both the bare and the runner runs, so it costs both the same.
pub async fn demo_target() -> Result<SocketAddr> {
    Ok(k6_runner::demo_target::spawn(SocketAddr::from(([127, 0, 0, 1], 0))).await?)
}

/// `wrk`, installed with apt if missing (Debian's package; we are root on
/// the benchmark machine).
pub fn ensure_wrk() -> Result<PathBuf> {
    let find = || {
        ["/usr/bin/wrk", "/usr/local/bin/wrk"]
            .iter()
            .map(PathBuf::from)
            .find(|path| path.is_file())
    };
    if let Some(path) = find() {
        return Ok(path);
    }
    eprintln!("bench: installing wrk with apt-get");
    let status = Command::new("apt-get")
        .args(["install", "-y", "-qq", "wrk"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("starting apt-get")?;
    if !status.success() {
        bail!("apt-get install wrk failed: {status}");
    }
    find().ok_or_else(|| anyhow!("wrk is still missing after apt-get install"))
}

/// The machine, the toolchain and the versions, as a markdown list.
pub fn describe_machine(k6: &Path) -> String {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map(|(_, name)| name.trim().to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let memory = read("/proc/meminfo")
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<f64>().ok())
        .map_or_else(
            || "unknown".to_owned(),
            |kib| format!("{:.1} GiB", kib / 1024.0 / 1024.0),
        );
    let output = |program: &Path, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .ok()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
            .unwrap_or_else(|| "unknown".to_owned())
    };
    let kernel = read("/proc/sys/kernel/osrelease").trim().to_owned();
    let debian = read("/etc/debian_version").trim().to_owned();
    let rustc = output(Path::new("rustc"), &["--version"]);
    let k6_version = output(k6, &["version"]);
    format!(
        "- CPU: {model}, {cpus} logical CPUs; memory {memory}\n\
         - OS: Debian {debian}, Linux {kernel}\n\
         - {rustc}; k6: {k6_version}\n"
    )
}
