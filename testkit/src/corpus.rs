//! Typed index of the entry scripts in `tests/corpus/` (see its README.md).
//!
//! Per script: where it is, whether it runs offline (no remote `import`s;
//! it may still call the stand-in hosts), its own duration class, the
//! environment it needs, the exit code(s) bare `k6 run` (k6 v1.1.0) gives
//! against the [stand-in](crate::stand_in) with the script's own options, and
//! what each of its checks does there (which is what it does against the real
//! service, where the stand-in reproduces the real behaviour).
//!
//! ```
//! use testkit::corpus::{self, DurationClass};
//! let quick: Vec<_> = corpus::SCRIPTS
//!     .iter()
//!     .filter(|s| s.offline && s.duration <= DurationClass::Short)
//!     .collect();
//! assert!(!quick.is_empty());
//! ```

use std::path::PathBuf;

/// How long a script runs with its own options.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DurationClass {
    /// About a second or less (one short iteration, or no HTTP at all).
    Instant,
    /// Up to about 40 s.
    Short,
    /// Longer than that (minutes).
    Long,
}

/// What the script needs from its environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Env {
    /// Nothing; hard-coded hosts (reached through k6's `hosts` option) or no
    /// network at all.
    None,
    /// `-e BASE_URL=<StandIn::base_url()>`.
    BaseUrl,
}

/// How trustworthy the exit code is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Measured with the script's own options against the stand-in (and
    /// asserted by `testkit/tests/stand_in.rs` for the offline, short ones).
    /// For scripts with remote imports this is what k6 gives without internet.
    Measured(&'static [i32]),
    /// Too long to run in tests: expected from a shortened run
    /// (`--vus/--duration` or `--stage`) against the stand-in.
    Expected(&'static [i32]),
}

impl Verdict {
    /// The accepted exit codes.
    pub fn codes(self) -> &'static [i32] {
        match self {
            Verdict::Measured(c) | Verdict::Expected(c) => c,
        }
    }
}

/// What a check (identified by its summary-export `path`,
/// `::group::…::name`) does in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Every evaluation passes.
    Pass,
    /// Every evaluation fails.
    Fail,
    /// Random by design (e.g. `Math.random()`, a random login, httpbin's
    /// random `/status/200,200,200,404`): any mix.
    Any,
}

/// One corpus entry script.
#[derive(Clone, Copy, Debug)]
pub struct Script {
    /// Path relative to `tests/corpus/`.
    pub path: &'static str,
    /// No remote `import`s (k6 needs no internet to start it).
    pub offline: bool,
    /// Own run time class.
    pub duration: DurationClass,
    /// Own run time in seconds, upper bound (random sleeps at their maximum),
    /// without k6's graceful stop.
    pub seconds: u32,
    /// Environment it needs.
    pub env: Env,
    /// Hosts it calls (empty: no network).
    pub hosts: &'static [&'static str],
    /// Exit code(s) of bare `k6 run` against the stand-in.
    pub verdict: Verdict,
    /// Every check the run records, with what it does. Empty: no checks.
    pub checks: &'static [(&'static str, Expect)],
}

impl Script {
    /// Absolute path of the script in this checkout.
    pub fn file(&self) -> PathBuf {
        corpus_dir().join(self.path)
    }
}

/// `tests/corpus/` of this checkout.
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("tests")
        .join("corpus")
}

/// Looks a script up by its path.
pub fn script(path: &str) -> Option<&'static Script> {
    SCRIPTS.iter().find(|s| s.path == path)
}

use DurationClass::{Instant, Long, Short};
use Expect::{Any, Fail, Pass};

const QP: &[&str] = &["BASE_URL (QuickPizza)"];
const TA: &[&str] = &["BASE_URL (test-api.k6.io)"];

/// Every entry script of the corpus.
pub const SCRIPTS: &[Script] = &[
    // grafana/k6
    Script {
        path: "grafana__k6/examples/tagging.js",
        offline: true,
        duration: Instant,
        seconds: 1,
        env: Env::None,
        hosts: &["httpbin.org"],
        verdict: Verdict::Measured(&[0]),
        checks: &[("::status is 200", Pass)],
    },
    Script {
        path: "grafana__k6/examples/es6sample.js",
        offline: true,
        duration: Short,
        seconds: 10,
        env: Env::None,
        hosts: &["httpbin.org", "test.k6.io"],
        // `my_rate rate>=0.4` over a single random sample: 0 or 99.
        verdict: Verdict::Measured(&[0, 99]),
        checks: &[
            ("::top-level test", Any),
            ("::my group::random value is < 0.5", Any),
            ("::my group::json::status is 200", Pass),
            ("::my group::json::X-Test header is correct", Pass),
            ("::my group::html::status is 200", Pass),
            ("::my group::html::content type is html", Pass),
            ("::my group::html::welcome message is correct", Pass),
            ("::my group::nested::always passes", Pass),
            ("::my group::nested::always fails", Fail),
        ],
    },
    Script {
        path: "grafana__k6/examples/thresholds_readme_example.js",
        offline: true,
        duration: Long,
        seconds: 300,
        env: Env::None,
        hosts: &["quickpizza.grafana.com"],
        verdict: Verdict::Expected(&[0]),
        checks: &[
            ("::http2 is used", Pass),
            ("::status is 200", Pass),
            ("::content is present", Pass),
            ("::Static Assets::status is 200", Pass),
            ("::Static Assets::reused connection", Pass),
        ],
    },
    Script {
        path: "grafana__k6/examples/custom_handle_summary.js",
        offline: true,
        duration: Instant,
        seconds: 1,
        env: Env::None,
        hosts: &["httpbin.org"],
        // handleSummary cannot write ./data/summary.json when the working
        // directory has no data/ (logged, exit code unchanged).
        verdict: Verdict::Measured(&[0]),
        checks: &[("::status is 200", Pass)],
    },
    Script {
        path: "grafana__k6/examples/experimental/csv-parse.js",
        offline: true,
        duration: Instant,
        seconds: 1,
        env: Env::None,
        hosts: &[],
        verdict: Verdict::Measured(&[0]),
        checks: &[],
    },
    Script {
        path: "grafana__k6/examples/experimental/csv-parser.js",
        offline: true,
        duration: Instant,
        seconds: 1,
        env: Env::None,
        hosts: &[],
        verdict: Verdict::Measured(&[0]),
        checks: &[],
    },
    Script {
        path: "grafana__k6/examples/experimental/fs/fs.js",
        offline: true,
        duration: Instant,
        seconds: 1,
        env: Env::None,
        hosts: &[],
        // Iterations throw (`seek()` without whence, short reads): logged,
        // exit code unchanged.
        verdict: Verdict::Measured(&[0]),
        checks: &[],
    },
    Script {
        path: "grafana__k6/examples/enhanced/script.ts",
        offline: true,
        duration: Instant,
        seconds: 1,
        env: Env::None,
        hosts: &[],
        // `import … from "./user"` without the `.ts` suffix: k6 1.1.0 cannot
        // resolve it.
        verdict: Verdict::Measured(&[107]),
        checks: &[],
    },
    Script {
        path: "grafana__k6/examples/enhanced/abort.ts",
        offline: true,
        duration: Instant,
        seconds: 1,
        env: Env::None,
        hosts: &[],
        verdict: Verdict::Measured(&[108]),
        checks: &[],
    },
    Script {
        path: "grafana__k6/samples/custom_metrics.js",
        offline: true,
        duration: Instant,
        seconds: 1,
        env: Env::None,
        hosts: &["httpbin.org"],
        verdict: Verdict::Measured(&[0]),
        checks: &[("::status is 200", Pass)],
    },
    Script {
        path: "grafana__k6/samples/thresholds.js",
        offline: true,
        duration: Instant,
        seconds: 1,
        env: Env::None,
        hosts: &["httpbin.org"],
        verdict: Verdict::Measured(&[0]),
        checks: &[],
    },
    Script {
        path: "grafana__k6/samples/cookies.js",
        offline: true,
        duration: Instant,
        seconds: 1,
        env: Env::None,
        hosts: &["httpbin.org"],
        // "has cookie" reads the *response* cookies, which httpbin's /cookies
        // never sets: the check throws (recorded as a failure) and ends the
        // iteration before the second group.
        verdict: Verdict::Measured(&[0]),
        checks: &[
            ("::Simple cookies::status is 200", Pass),
            ("::Simple cookies::has cookie", Fail),
        ],
    },
    Script {
        path: "grafana__k6/samples/scenarios.js",
        offline: true,
        duration: Short,
        seconds: 5,
        env: Env::None,
        hosts: &["test-api.k6.io", "test.k6.io"],
        verdict: Verdict::Measured(&[0]),
        checks: &[],
    },
    // grafana/quickpizza
    Script {
        path: "grafana__quickpizza/k6/foundations/01.basic.js",
        offline: true,
        duration: Short,
        seconds: 10,
        env: Env::BaseUrl,
        hosts: QP,
        verdict: Verdict::Measured(&[0]),
        checks: &[("::status is 200", Pass)],
    },
    Script {
        path: "grafana__quickpizza/k6/foundations/01.basic.ts",
        offline: true,
        duration: Short,
        seconds: 5,
        env: Env::BaseUrl,
        hosts: QP,
        verdict: Verdict::Measured(&[0]),
        checks: &[("::status is 200", Pass)],
    },
    Script {
        path: "grafana__quickpizza/k6/foundations/03.lifecycle.js",
        offline: true,
        duration: Short,
        seconds: 20,
        env: Env::BaseUrl,
        hosts: QP,
        verdict: Verdict::Measured(&[0]),
        checks: &[("::status is 200", Pass)],
    },
    Script {
        path: "grafana__quickpizza/k6/foundations/04.metrics.js",
        offline: true,
        duration: Short,
        seconds: 20,
        env: Env::BaseUrl,
        hosts: QP,
        verdict: Verdict::Measured(&[0]),
        checks: &[("::status is 200", Pass)],
    },
    Script {
        path: "grafana__quickpizza/k6/foundations/06.checks-with-thresholds.js",
        offline: true,
        duration: Short,
        seconds: 20,
        env: Env::BaseUrl,
        hosts: QP,
        verdict: Verdict::Measured(&[0]),
        checks: &[("::status is 200", Pass)],
    },
    Script {
        path: "grafana__quickpizza/k6/foundations/07.scenarios.js",
        offline: false,
        duration: Short,
        seconds: 30,
        env: Env::BaseUrl,
        hosts: QP,
        // Remote import of jslib.k6.io/k6-summary: no internet here.
        verdict: Verdict::Measured(&[107]),
        checks: &[],
    },
    Script {
        path: "grafana__quickpizza/k6/foundations/08.arrival-rate.js",
        offline: false,
        duration: Short,
        seconds: 30,
        env: Env::BaseUrl,
        hosts: QP,
        verdict: Verdict::Measured(&[107]),
        checks: &[],
    },
    Script {
        path: "grafana__quickpizza/k6/foundations/09.data.js",
        offline: false,
        duration: Short,
        seconds: 30,
        env: Env::BaseUrl,
        hosts: QP,
        verdict: Verdict::Measured(&[107]),
        checks: &[],
    },
    Script {
        path: "grafana__quickpizza/k6/foundations/10.summary.js",
        offline: false,
        duration: Short,
        seconds: 20,
        env: Env::BaseUrl,
        hosts: QP,
        verdict: Verdict::Measured(&[107]),
        checks: &[],
    },
    Script {
        path: "grafana__quickpizza/k6/foundations/13.basic.websockets.js",
        offline: true,
        duration: Short,
        // The receiver closes after 40 broadcast frames (≈3 s); 15 s is its
        // maxDuration.
        seconds: 15,
        env: Env::BaseUrl,
        hosts: QP,
        verdict: Verdict::Measured(&[0]),
        checks: &[],
    },
    Script {
        path: "grafana__quickpizza/k6/foundations/17.login-action.js",
        offline: true,
        duration: Short,
        seconds: 5,
        env: Env::BaseUrl,
        hosts: QP,
        verdict: Verdict::Measured(&[0]),
        checks: &[
            ("::login status is 200", Pass),
            ("::pizza status is 200", Pass),
            ("::ratings status is 201", Pass),
        ],
    },
    // grafana/test-api.k6.io
    Script {
        path: "grafana__test-api.k6.io/k6_tests/basic_auth.js",
        offline: true,
        duration: Short,
        seconds: 20,
        env: Env::BaseUrl,
        hosts: TA,
        verdict: Verdict::Measured(&[0]),
        checks: &[("::crocListReceived", Pass)],
    },
    Script {
        path: "grafana__test-api.k6.io/k6_tests/cookie_auth.js",
        offline: true,
        duration: Short,
        seconds: 20,
        env: Env::BaseUrl,
        hosts: TA,
        verdict: Verdict::Measured(&[0]),
        checks: &[
            ("::login successful", Pass),
            ("::user email is correct", Pass),
            ("::crocListReceived", Pass),
            ("::logout successful", Pass),
        ],
    },
    Script {
        path: "grafana__test-api.k6.io/k6_tests/token_auth.js",
        offline: true,
        duration: Short,
        seconds: 20,
        env: Env::BaseUrl,
        hosts: TA,
        // Passes the check factories instead of calling them: no checks.
        verdict: Verdict::Measured(&[0]),
        checks: &[],
    },
    Script {
        path: "grafana__test-api.k6.io/k6_tests/multiusers_demo.js",
        offline: true,
        duration: Short,
        seconds: 20,
        env: Env::BaseUrl,
        hosts: TA,
        verdict: Verdict::Measured(&[0]),
        checks: &[
            ("::created user", Pass),
            ("::login successful", Pass),
            ("::access token is present", Pass),
            ("::crocRegistered", Pass),
            ("::crocRenamed", Pass),
            ("::crocDeregistered", Pass),
        ],
    },
    // grafana/k6-benchmarks
    Script {
        path: "grafana__k6-benchmarks/scripts/website.js",
        offline: true,
        duration: Short,
        seconds: 10,
        env: Env::None,
        hosts: &["test-k6-io-temp.k6.io"],
        // One of three inline users is a valid admin: the login check is
        // random, check_failure_rate stays ≤ 0.25 < 0.3.
        verdict: Verdict::Measured(&[0]),
        checks: &[
            ("::Front page::Homepage body size is 11278 bytes", Pass),
            ("::Front page::Homepage welcome header present", Pass),
            (
                "::Front page::Static assets::Is stylesheet 4859 bytes?",
                Pass,
            ),
            (
                "::Login::Users should not be auth'd. Is unauthorized header present?",
                Pass,
            ),
            ("::Login::is logged in welcome header present", Any),
        ],
    },
    // grafana/k6-jslib-utils
    Script {
        path: "grafana__k6-jslib-utils/tests/findBetween.js",
        offline: true,
        duration: Instant,
        seconds: 1,
        env: Env::None,
        hosts: &[],
        // The stored src/utils.js is an older findBetween (no `repeat`,
        // '' instead of null): 5 of 9 checks fail, `checks rate==1.00` fails.
        verdict: Verdict::Measured(&[99]),
        checks: &[
            ("::single", Pass),
            ("::repeat", Fail),
            ("::single-with-repeat", Pass),
            ("::single-with-repeat-array", Fail),
            ("::no-match-left", Fail),
            ("::no-match-right", Fail),
            ("::no-match-both", Fail),
            ("::messy", Pass),
            ("::exact", Pass),
        ],
    },
    // grafana/k6-learn
    Script {
        path: "grafana__k6-learn/Modules/III-k6-Intermediate/playground.js",
        offline: true,
        duration: Short,
        seconds: 4,
        env: Env::None,
        hosts: &[],
        verdict: Verdict::Measured(&[0]),
        checks: &[],
    },
    // grafana/k6-template-typescript
    Script {
        path: "grafana__k6-template-typescript/src/get-200-status-test.ts",
        offline: true,
        duration: Short,
        seconds: 10,
        env: Env::None,
        hosts: &["test-api.k6.io"],
        verdict: Verdict::Measured(&[0]),
        checks: &[("::status is 200", Pass)],
    },
    Script {
        path: "grafana__k6-template-typescript/src/post-400-status-test.ts",
        offline: false,
        duration: Short,
        seconds: 10,
        env: Env::None,
        hosts: &["httpbin.org"],
        verdict: Verdict::Measured(&[107]),
        checks: &[],
    },
    // grafana/xk6-dashboard
    Script {
        path: "grafana__xk6-dashboard/script.js",
        offline: true,
        duration: Long,
        seconds: 600,
        env: Env::None,
        hosts: &["test.k6.io"],
        verdict: Verdict::Expected(&[0]),
        checks: &[],
    },
    Script {
        path: "grafana__xk6-dashboard/scripts/demo/demo-http.js",
        offline: true,
        duration: Long,
        seconds: 690,
        env: Env::None,
        hosts: &["httpbin.test.k6.io"],
        verdict: Verdict::Expected(&[0]),
        // One GET of /status/200,200,200,404 (random) and seven POSTs (200)
        // per iteration, all under one check name.
        checks: &[("::status is OK", Any)],
    },
    // javaducky/demo-k6-operator
    Script {
        path: "javaducky__demo-k6-operator/test-scripts/door-buster-sale.js",
        offline: true,
        duration: Long,
        seconds: 55,
        env: Env::None,
        hosts: &["test.k6.io"],
        // `sleep` is not imported: every iteration throws after its GET
        // (logged, exit code unchanged).
        verdict: Verdict::Expected(&[0]),
        checks: &[],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_unique_and_classes_match() {
        for (i, s) in SCRIPTS.iter().enumerate() {
            assert!(
                SCRIPTS[i + 1..].iter().all(|o| o.path != s.path),
                "{} twice",
                s.path
            );
            let class = match s.seconds {
                0..=1 => Instant,
                2..=40 => Short,
                _ => Long,
            };
            assert_eq!(class, s.duration, "{}", s.path);
            assert!(!s.verdict.codes().is_empty());
        }
    }
}
