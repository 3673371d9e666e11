//! The `k6-runner serve` child process used by the end-to-end tests.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub use crate::support::*;

/// The `k6-runner serve` child process and a client for its API.
pub struct Runner {
    child: Option<Child>,
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
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .process_group(0);
        match &options.stderr {
            Some(path) => command.stderr(std::fs::File::create(path).unwrap()),
            None => command.stderr(Stdio::inherit()),
        };
        let mut child = command.spawn().expect("starting k6-runner");
        let line = wait_for_line(
            child.stdout.take().unwrap(),
            "k6 runner listening on http://",
            Duration::from_secs(60),
        );
        let addr: SocketAddr = line.split('/').next().unwrap_or_default().parse().unwrap();
        Self {
            child: Some(child),
            addr,
            api: Api::new(format!("http://{addr}/api/k6"), options.token),
        }
    }

    /// The runner's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the runner is running").id()
    }

    /// Kills the runner with SIGKILL (no chance to clean up).
    pub fn kill9(mut self) {
        let mut child = self.child.take().unwrap();
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Stops the runner with SIGTERM and waits for it (at most 30 s).
    pub fn terminate(mut self) -> std::process::ExitStatus {
        terminate(self.child.as_mut().unwrap()).expect("runner still running 30 s after SIGTERM")
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            terminate(child);
        }
    }
}
