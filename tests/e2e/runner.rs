//! The `k6-runner serve` child process used by the end-to-end tests.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;
pub use testkit::api::*;
use testkit::process::ProcessGroup;
pub use testkit::world::*;

/// How long a runner has to stop after SIGTERM (it stops its run first).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The `k6-runner serve` child process and a client for its API.
pub struct Runner {
    process: ProcessGroup,
    /// The bound address.
    pub addr: SocketAddr,
    api: Api,
}

impl std::ops::Deref for Runner {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

/// How to start a runner beyond the defaults.
#[derive(Default)]
pub struct Options<'a> {
    /// Extra command-line arguments.
    pub args: &'a [&'a str],
    /// Extra environment variables.
    pub env: &'a [(&'a str, &'a str)],
    /// The bearer token the client sends.
    pub token: Option<&'a str>,
    /// Where the runner's stderr goes (inherited if `None`).
    pub stderr: Option<std::path::PathBuf>,
    /// The `RUST_LOG` filter (default `warn`).
    pub log: Option<&'a str>,
    /// A command the runner is started through (its program and leading
    /// arguments); the runner binary and its arguments follow.
    pub wrapper: &'a [&'a str],
}

impl Runner {
    /// Starts `k6-runner serve` on a free port with the world's folders and
    /// the real k6, plus `extra` arguments.
    pub fn start(world: &World, extra: &[&str]) -> Self {
        Self::start_with(
            world,
            Options {
                args: extra,
                ..Options::default()
            },
        )
    }

    /// Starts `k6-runner serve` with `options`.
    pub fn start_with(world: &World, options: Options<'_>) -> Self {
        let extra = options.args;
        let mut args: Vec<String> = vec![
            "serve".into(),
            "--bind".into(),
            "127.0.0.1:0".into(),
            "--data-dir".into(),
            world.data.display().to_string(),
            "--scripts-dir".into(),
            world.scripts.display().to_string(),
            "--stop-grace".into(),
            "3".into(),
        ];
        if !extra.contains(&"--k6") {
            args.push("--k6".into());
            args.push(k6().display().to_string());
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let runner = env!("CARGO_BIN_EXE_k6-runner");
        let mut command = match options.wrapper.split_first() {
            Some((program, rest)) => {
                let mut command = Command::new(program);
                command.args(rest).arg(runner);
                command
            }
            None => Command::new(runner),
        };
        command
            .args(&args)
            .env("RUST_LOG", options.log.unwrap_or("warn"))
            .envs(options.env.iter().copied())
            .stdout(Stdio::piped());
        match &options.stderr {
            Some(path) => command.stderr(std::fs::File::create(path).unwrap()),
            None => command.stderr(Stdio::inherit()),
        };
        let mut process = ProcessGroup::spawn("k6-runner serve", &mut command)
            .unwrap_or_else(|error| panic!("{error}"))
            .stop_on_drop(SHUTDOWN_GRACE);
        let (_, addr) =
            testkit::runner::wait_listening(&mut process).unwrap_or_else(|error| panic!("{error}"));
        Self {
            process,
            addr,
            api: Api::new(format!("http://{addr}/api/k6"), options.token),
        }
    }

    /// The runner's process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Kills the runner alone with SIGKILL (no chance to clean up; the k6
    /// it started, in groups of their own, live on).
    pub fn kill9(mut self) {
        self.process.signal(Signal::SIGKILL);
        self.process
            .wait_for(SHUTDOWN_GRACE)
            .expect("a runner outlived SIGKILL");
    }

    /// Stops the runner with SIGTERM and waits for it (at most 30 s).
    pub fn terminate(mut self) -> std::process::ExitStatus {
        self.process
            .terminate(SHUTDOWN_GRACE)
            .expect("runner still running 30 s after SIGTERM")
    }
}
