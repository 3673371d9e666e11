//! Sandbox containment: a deliberately hostile core (`plugin/hostile`) is
//! loaded by the real plugin host, and every attack it makes — an endless
//! loop, a runaway allocation, unbounded recursion, importing file,
//! environment and network access — is stopped with an error while the host
//! goes on serving.
//!
//! The fixture is built here, as the core is by `runner/build.rs`
//! (`k6-wasm-build`: a nested `cargo build` for `wasm32-unknown-unknown`
//! wrapped into a component), once per feature set.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::LazyLock;
use std::time::Duration;

use k6_runner::contract::{Config, OutputStream, Plan, Policy, SuiteEntry, SummarySource};
use k6_runner::sandbox::{ParserSession, PluginSource, Sandbox, SandboxError, SharedCore};
use testkit::process::{ProcessGroup, run_bounded};
use wasm_build::WasmBuild;
use wasmtime::Trap;

/// The fixture feature that adds the capability imports.
const CAPABILITIES_FEATURE: &str = "wants-capabilities";
/// The interface the capability-wanting fixture imports (`plugin/hostile/wit`).
const CAPABILITIES_INTERFACE: &str = "k6-hostile:probe/capabilities";
/// The fixture's `RUNAWAY_USERS`: `to-json` allocates without bound for it.
const RUNAWAY_USERS: u32 = u32::MAX;
/// Longest a child process of a test may take (the runner compiles the
/// component with Cranelift at start-up; an endless loop is stopped by fuel
/// in well under a second).
const CHILD_DEADLINE: Duration = Duration::from_secs(60);

/// The two builds of the hostile fixture, as component files.
struct Fixtures {
    /// Imports nothing but the contract's types; every attack is at run time.
    zero_import: PathBuf,
    /// Also imports `k6-hostile:probe/capabilities` (files, env, network).
    wants_capabilities: PathBuf,
}

/// Built once per test binary; both builds share one target directory, so
/// they run one after the other.
static FIXTURES: LazyLock<Fixtures> = LazyLock::new(|| {
    let root = workspace_root();
    Fixtures {
        zero_import: build_fixture(&root, None, "k6_core_hostile"),
        wants_capabilities: build_fixture(
            &root,
            Some(CAPABILITIES_FEATURE),
            "k6_core_hostile_capabilities",
        ),
    }
});

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("runner/ sits inside the workspace")
        .to_path_buf()
}

/// Builds the fixture with `feature` into a component (as `runner/build.rs`
/// builds the core) and writes it next to the module, as
/// `target/wasm/<name>.component.wasm`.
fn build_fixture(root: &Path, feature: Option<&str>, name: &str) -> PathBuf {
    let build = WasmBuild {
        root,
        package: "k6-core-hostile",
        feature,
    };
    let component = build.component();
    let out = build.target_dir().join(format!("{name}.component.wasm"));
    std::fs::write(&out, component).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
    out
}

fn load(file: &Path) -> Result<Sandbox, SandboxError> {
    Sandbox::load(&PluginSource {
        file: Some(file.to_path_buf()),
        expected_sha256: None,
        cache_dir: None,
    })
}

fn hostile_core() -> SharedCore {
    SharedCore::new(load(&FIXTURES.zero_import).expect("the zero-import fixture loads"))
}

/// Asserts that `core` answers `default-policy` with the fixture's values:
/// the instance it uses works.
fn assert_answers_default_policy(core: &SharedCore) {
    let policy = core
        .call_blocking(|c| c.default_policy())
        .expect("default-policy answers after the failure");
    assert_eq!(policy.max_users, 1_000);
    assert_eq!(policy.max_enabled_scripts, 50);
    assert_eq!(policy.allowed_suffixes, [".js", ".sh"]);
}

/// The error of `result`, which must be a failed call of `function`.
fn call_failure<R: std::fmt::Debug>(
    result: Result<R, SandboxError>,
    function: &str,
) -> wasmtime::Error {
    match result {
        Err(SandboxError::Call {
            function: failed,
            source,
        }) => {
            assert_eq!(failed, function);
            source
        }
        other => panic!("{function} should have failed with a call error, got {other:?}"),
    }
}

/// Asserts that `result` is a failed call of `function` that trapped with
/// `trap`, the trap itself found in the error's source.
fn assert_trapped<R: std::fmt::Debug>(result: Result<R, SandboxError>, function: &str, trap: Trap) {
    let source = call_failure(result, function);
    assert_eq!(
        source.downcast_ref::<Trap>(),
        Some(&trap),
        "{function} failed, but not with {trap:?}: {source:#}"
    );
}

/// Asserts that `result` is a failed call of `function` whose source's
/// chain says `cause` (for the host's own refusals, which are not traps).
fn assert_call_failed<R: std::fmt::Debug>(
    result: Result<R, SandboxError>,
    function: &str,
    cause: &str,
) {
    let chain = format!("{:#}", call_failure(result, function));
    assert!(
        chain.contains(cause),
        "{function} failed, but not with {cause:?}: {chain}"
    );
}

fn sample_config(users: u32) -> Config {
    Config {
        global_user_count: users,
        test_duration_seconds: 30,
        ramp_up_seconds: 5,
        max_duration_seconds: 120,
        enabled_scripts: vec![SuiteEntry {
            script: "smoke.js".to_owned(),
            users: None,
            test_duration_seconds: None,
            ramp_up_seconds: None,
            max_duration_seconds: None,
            iterations: None,
            load: None,
            env: Vec::new(),
            args: None,
        }],
        interval_seconds: 5,
        regression_budgets: None,
    }
}

fn fixture_policy(core: &SharedCore) -> Policy {
    core.call_blocking(|c| c.default_policy())
        .expect("default-policy answers")
}

/// A core whose `config.validate` never returns is stopped when its call's
/// fuel runs out: the call returns a `Call` error that says so, and the next
/// call on the same `SharedCore` is answered by a rebuilt instance. The
/// sandbox counts every call and the one trap (`k6_runner_sandbox_*` on
/// `/metrics`), across the instances it made.
#[test]
fn an_endless_loop_runs_out_of_fuel_and_the_instance_is_rebuilt() {
    let core = hostile_core();
    let policy = fixture_policy(&core);
    let counts = core.sandbox().call_counts().clone();
    assert_eq!((counts.calls(), counts.traps()), (1, 0));
    let looped = core.call_blocking(move |c| c.validate("{}", &policy, &[]));
    assert_trapped(looped, "config.validate", Trap::OutOfFuel);
    assert_eq!((counts.calls(), counts.traps()), (2, 1));
    assert_answers_default_policy(&core);
    assert_eq!((counts.calls(), counts.traps()), (3, 1));
}

/// A core whose `config.to-json` allocates without bound hits the 64 MiB
/// memory cap: the store refuses to grow its linear memory past it and the
/// call traps with an error, and the next call is answered by a rebuilt
/// instance.
#[test]
fn a_runaway_allocation_hits_the_memory_cap_and_the_instance_is_rebuilt() {
    let core = hostile_core();
    let hoarded = core.call_blocking(|c| c.to_json(&sample_config(RUNAWAY_USERS)));
    // The store limiter refuses the growth and makes it fail the call.
    assert_call_failed(hoarded, "config.to-json", "growing memory");
    assert_answers_default_policy(&core);
}

/// A core whose `plan.render` recurses without bound exhausts wasmtime's
/// wasm call stack: the call traps with an error instead of overflowing the
/// host thread's stack, and the next call is answered by a rebuilt
/// instance.
#[test]
fn unbounded_recursion_traps_and_the_instance_is_rebuilt() {
    let core = hostile_core();
    let plan = Plan {
        config: sample_config(5),
        steps: Vec::new(),
        interval_seconds: 5,
        expected_seconds: 30,
    };
    let recursed = core.call_blocking(move |c| c.render(&plan, None));
    assert_trapped(recursed, "plan.render", Trap::StackOverflow);
    assert_answers_default_policy(&core);
}

/// A log parser whose `feed` never returns is stopped by fuel; the session
/// rebuilds its instance and parser, so the step's later calls are answered.
#[test]
fn a_looping_parser_is_stopped_and_its_session_goes_on() {
    let sandbox = load(&FIXTURES.zero_import).expect("the zero-import fixture loads");
    let mut session = ParserSession::new(&sandbox).expect("a parser session starts");
    let lines = vec!["running (0m01.0s), 1/1 VUs, 0 complete".to_owned()];
    let looped = session.feed(OutputStream::Stdout, &lines);
    assert_trapped(looped, "logs.parser.feed", Trap::OutOfFuel);

    let summary = session
        .summary()
        .expect("summary answers after the failure");
    assert!(matches!(summary.total.source, SummarySource::None));
    let metrics = session
        .feed_metrics("{}", 1_234)
        .expect("feed-metrics answers after the failure")
        .expect("the fixture accepts any metrics body");
    assert_eq!(metrics.at_ms, 1_234);
}

/// A component that imports functions to read files, the environment or the
/// network is refused by `Sandbox::load` before any of its code runs, with
/// a `ForbiddenImport` error naming the interface. The same fixture without
/// that import loads, so the import alone is the reason.
#[test]
fn a_component_importing_capabilities_is_refused() {
    let refused = load(&FIXTURES.wants_capabilities);
    match refused {
        Err(SandboxError::ForbiddenImport { import, .. }) => assert!(
            import.starts_with(CAPABILITIES_INTERFACE),
            "refused for {import}, not for the capabilities interface"
        ),
        other => panic!("the capability-wanting component was not refused: {other:?}"),
    }

    let accepted = load(&FIXTURES.zero_import).expect("the zero-import fixture loads");
    assert!(
        accepted
            .info()
            .imports
            .iter()
            .all(|import| import.ends_with("(types only)") || import.ends_with("(type)")),
        "the zero-import fixture imports more than types: {:?}",
        accepted.info().imports
    );
}

/// `k6-runner plugin inspect` refuses the capability-wanting component: it
/// exits non-zero and names the imported interface, while it inspects the
/// zero-import fixture successfully.
#[test]
fn plugin_inspect_refuses_a_component_importing_capabilities() {
    let refused = run_bounded(
        "k6-runner plugin inspect",
        Command::new(env!("CARGO_BIN_EXE_k6-runner"))
            .args(["plugin", "inspect", "--plugin"])
            .arg(&FIXTURES.wants_capabilities),
        b"",
        CHILD_DEADLINE,
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success(),
        "inspect accepted the component: {stderr}"
    );
    assert!(
        stderr.contains("is refused") && stderr.contains(CAPABILITIES_INTERFACE),
        "inspect does not say why it refused: {stderr}"
    );

    let inspected = run_bounded(
        "k6-runner plugin inspect",
        Command::new(env!("CARGO_BIN_EXE_k6-runner"))
            .args(["plugin", "inspect", "--plugin"])
            .arg(&FIXTURES.zero_import),
        b"",
        CHILD_DEADLINE,
    );
    assert!(
        inspected.status.success(),
        "inspect refused the zero-import fixture: {}",
        String::from_utf8_lossy(&inspected.stderr)
    );
}

/// A runner serving the hostile core answers `PUT /api/k6/config` with a
/// server error (`config.validate` loops until its fuel runs out), and keeps
/// serving: `GET /api/k6/status` answers 200, and `POST
/// /api/k6/config/reset`, which needs the core again, succeeds on the
/// rebuilt instance.
#[tokio::test]
async fn the_runner_keeps_serving_after_a_core_call_fails() {
    let dirs = tempfile::tempdir().expect("a temporary directory");
    let scripts = dirs.path().join("scripts");
    let data = dirs.path().join("data");
    std::fs::create_dir(&scripts).expect("creating the scripts dir");
    let stderr_path = dirs.path().join("runner.stderr");
    let stderr = std::fs::File::create(&stderr_path).expect("creating the stderr file");

    let mut command = Command::new(env!("CARGO_BIN_EXE_k6-runner"));
    command
        .args(["serve", "--bind", "127.0.0.1:0", "--plugin"])
        .arg(&FIXTURES.zero_import)
        .arg("--scripts-dir")
        .arg(&scripts)
        .arg("--data-dir")
        .arg(&data)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(stderr);
    let mut runner = ProcessGroup::spawn("k6-runner serve", &mut command)
        .unwrap_or_else(|error| panic!("{error}"));
    let (_, address) =
        testkit::runner::wait_listening(&mut runner).unwrap_or_else(|error| panic!("{error}"));
    let base = format!("http://{address}/");
    let log = || std::fs::read_to_string(&stderr_path).unwrap_or_default();

    let client = reqwest::Client::builder()
        .timeout(CHILD_DEADLINE)
        .build()
        .expect("an HTTP client");
    let put = client
        .put(format!("{base}api/k6/config"))
        .header("content-type", "application/json")
        .body(r#"{"globalUserCount": 5}"#)
        .send()
        .await
        .expect("PUT /api/k6/config is answered");
    assert!(
        put.status().is_server_error(),
        "PUT /api/k6/config answered {}; runner log:\n{}",
        put.status(),
        log()
    );
    assert!(
        log().contains("config.validate") && log().contains("all fuel consumed"),
        "the runner did not log the fuel-exhausted call; runner log:\n{}",
        log()
    );

    let status = client
        .get(format!("{base}api/k6/status"))
        .send()
        .await
        .expect("GET /api/k6/status is answered");
    assert_eq!(
        status.status(),
        reqwest::StatusCode::OK,
        "runner log:\n{}",
        log()
    );

    let reset = client
        .post(format!("{base}api/k6/config/reset"))
        .send()
        .await
        .expect("POST /api/k6/config/reset is answered");
    assert_eq!(
        reset.status(),
        reqwest::StatusCode::OK,
        "runner log:\n{}",
        log()
    );
}
