//! The suite on grafana/k6-operator, from the cluster operator's side:
//! `k6-runner export k6-operator` (and `GET /api/k6/export/k6-operator`)
//! turn the example suite into ConfigMaps and TestRuns that the
//! operator's own CRD (v1.6.0, vendored in `tests/fixtures/k6-operator/`)
//! accepts strictly, whose arguments the real k6 1.1.0 accepts runner by
//! runner with the users split between them, and a legacy wrapper is
//! refused by its entry.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use nix::sys::signal::Signal;
use serde_json::{Value, json};
use testkit::process::ProcessGroup;

/// The run id every export here is made with, so names are known.
const RUN_ID: &str = "20261203T062500Z";
/// Runner pods per step: 5 users do not divide evenly by 3, so a split
/// that multiplied or dropped users would show.
const PARALLELISM: u32 = 3;
/// How long a paused k6 may take to come up (it runs the init code).
const K6_START_TIMEOUT: Duration = Duration::from_secs(30);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn examples() -> PathBuf {
    workspace().join("examples")
}

/// `k6-runner export k6-operator <config> …` with `extra` flags: exit
/// success, stdout, stderr.
fn export(config: &Path, extra: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_k6-runner"))
        .args(["export", "k6-operator"])
        .arg(config)
        .arg("--scripts-dir")
        .arg(examples().join("scripts"))
        .arg("--k6")
        .arg(testkit::world::k6())
        .args(["--no-plugin-cache", "--run-id", RUN_ID])
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .expect("k6-runner runs");
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// The example suite without its legacy wrapper, in a file of its own.
fn k6_only_config(dir: &Path) -> PathBuf {
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(examples().join("config.json")).unwrap())
            .unwrap();
    config["enabledScripts"] = json!(["smoke.js", "api-browse.js"]);
    let path = dir.join("k6-only.json");
    std::fs::write(&path, config.to_string()).unwrap();
    path
}

/// The documents of a YAML stream, as kubectl reads them.
fn documents(stream: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(stream)
        .map(|doc| serde::Deserialize::deserialize(doc).expect("a YAML document"))
        .filter(|doc: &Value| !doc.is_null())
        .collect()
}

/// The TestRun CRD's `openAPIV3Schema`, made strict: every object whose
/// properties the schema lists refuses any other (the API server prunes
/// unknown fields silently; here they fail).
fn strict_test_run_schema() -> Value {
    let crd: Value = serde_yaml::from_str(
        &std::fs::read_to_string(
            workspace().join("tests/fixtures/k6-operator/k6.io_testruns.yaml"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(crd["spec"]["group"], "k6.io");
    let version = &crd["spec"]["versions"][0];
    assert_eq!(version["name"], "v1alpha1");
    let mut schema = version["schema"]["openAPIV3Schema"].clone();
    close(&mut schema);
    schema
}

fn close(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), json!(false));
            }
            map.values_mut().for_each(close);
        }
        Value::Array(items) => items.iter_mut().for_each(close),
        _ => {}
    }
}

/// A ConfigMap as core/v1 defines it, strictly: only the fields this
/// export may use, binary data as base64.
fn strict_config_map_schema() -> Value {
    json!({
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "binaryData"],
        "additionalProperties": false,
        "properties": {
            "apiVersion": {"const": "v1"},
            "kind": {"const": "ConfigMap"},
            "metadata": {"type": "object"},
            "immutable": {"type": "boolean"},
            "binaryData": {
                "type": "object",
                "additionalProperties": {"type": "string", "pattern": "^[A-Za-z0-9+/]*={0,2}$"}
            }
        }
    })
}

fn errors_of(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

/// Object metadata by Kubernetes' rules: a DNS-1123 name short enough for
/// the operator's job names, label values of at most 63 characters.
fn check_metadata(doc: &Value, namespace: &str) {
    let meta = &doc["metadata"];
    let name = meta["name"].as_str().expect("a name");
    assert!(name.len() <= 51, "{name} leaves no room for `-initializer`");
    assert!(
        name.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
        "{name}"
    );
    assert_eq!(meta["namespace"], namespace);
    for (key, value) in meta["labels"].as_object().expect("labels") {
        let value = value.as_str().unwrap();
        assert!(value.len() <= 63 && !value.is_empty(), "{key}: {value}");
        assert!(
            value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
            "{key}: {value}"
        );
    }
}

/// The example suite, as it ships, holds a legacy wrapper: the export is
/// refused, naming the entry, and prints no manifest.
#[test]
fn the_example_suite_is_refused_for_its_legacy_wrapper() {
    let (ok, stdout, stderr) = export(&examples().join("config.json"), &["--parallelism", "3"]);
    assert!(!ok, "exported a legacy wrapper: {stdout}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("enabledScripts[2]")
            && stderr.contains("legacy/overall-1.sh")
            && stderr.contains("[not-exportable]"),
        "{stderr}"
    );
}

/// The example suite's k6 scripts become, in order, two ConfigMaps
/// holding their archives and two TestRuns that the operator's CRD accepts
/// with unknown fields refused, that follow the operator's own rules, and
/// whose labels and annotations name suite, run, step and order. The same
/// schema refuses a field it does not know, so the check can fail.
#[test]
fn the_example_k6_scripts_become_manifests_the_crd_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, stream, stderr) = export(
        &k6_only_config(dir.path()),
        &[
            "--parallelism",
            "3",
            "--namespace",
            "load-tests",
            "--runner-cpu",
            "500m",
            "--runner-memory",
            "256Mi",
            "--suite",
            "examples",
        ],
    );
    assert!(ok, "{stderr}");
    let docs = documents(&stream);
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ConfigMap", "ConfigMap", "TestRun", "TestRun"]);

    let test_runs = jsonschema::draft4::new(&strict_test_run_schema()).expect("the CRD's schema");
    let config_maps = jsonschema::draft4::new(&strict_config_map_schema()).unwrap();
    for doc in &docs {
        check_metadata(doc, "load-tests");
        let validator = if doc["kind"] == "TestRun" {
            &test_runs
        } else {
            &config_maps
        };
        assert_eq!(errors_of(validator, doc), Vec::<String>::new(), "{doc:#}");
    }
    let mut unknown = docs[2].clone();
    unknown["spec"]["runner"]["cpus"] = json!(2);
    assert!(
        !errors_of(&test_runs, &unknown).is_empty(),
        "strict mode refuses spec.runner.cpus"
    );

    for (position, test_run) in docs[2..].iter().enumerate() {
        let spec = &test_run["spec"];
        // The operator's rules: one script source, parallelism >= 1.
        let sources: Vec<&String> = spec["script"].as_object().unwrap().keys().collect();
        assert_eq!(sources, ["configMap"]);
        assert_eq!(spec["parallelism"], PARALLELISM);
        assert_eq!(spec["cleanup"], "post");
        assert_eq!(spec["runner"]["image"], "grafana/k6:1.1.0");
        assert_eq!(spec["runner"]["resources"]["limits"]["memory"], "256Mi");
        // It runs the archive of the ConfigMap of its own step.
        let source = &spec["script"]["configMap"];
        let config_map = &docs[position];
        assert_eq!(source["name"], config_map["metadata"]["name"]);
        let archive = archive_bytes(config_map, source["file"].as_str().unwrap());
        assert!(archive.len() < 1 << 20);
        let step = format!("{:02}", position + 1);
        let labels = &test_run["metadata"]["labels"];
        assert_eq!(labels["k6-runner.vudatasim.io/suite"], "examples");
        assert_eq!(labels["k6-runner.vudatasim.io/run"], RUN_ID);
        assert_eq!(labels["k6-runner.vudatasim.io/step"], step.as_str());
        let notes = &test_run["metadata"]["annotations"];
        assert_eq!(
            notes["k6-runner.vudatasim.io/position"],
            format!("{}/2", position + 1)
        );
        assert_eq!(
            notes["k6-runner.vudatasim.io/script"],
            ["smoke.js", "api-browse.js"][position]
        );
    }
    assert_eq!(
        docs[3]["metadata"]["annotations"]["k6-runner.vudatasim.io/after"],
        docs[2]["metadata"]["name"]
    );
    assert!(
        stream.contains("kubectl wait -n load-tests --for=delete testrun/examples-"),
        "{stream}"
    );
}

/// The archive a ConfigMap holds under `key`: base64 of a tar with k6's
/// `metadata.json` and the main script `data`.
fn archive_bytes(config_map: &Value, key: &str) -> Vec<u8> {
    let encoded = config_map["binaryData"][key]
        .as_str()
        .expect("the archive's key");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    let mut names = Vec::new();
    for entry in tar::Archive::new(bytes.as_slice()).entries().unwrap() {
        names.push(
            entry
                .unwrap()
                .path()
                .unwrap()
                .to_string_lossy()
                .into_owned(),
        );
    }
    assert!(
        names.iter().any(|n| n == "metadata.json") && names.iter().any(|n| n == "data"),
        "{names:?}"
    );
    bytes
}

/// Every runner of every TestRun, started as the operator starts it — the
/// archive, exactly the TestRun's arguments split at whitespace, its
/// execution segment and sequence, `--paused` — is accepted by the real
/// k6 1.1.0 (its REST API reports it paused before the run), and the
/// runners' VUs add up to the step's users: split, not multiplied.
#[test]
fn k6_accepts_every_runners_arguments_and_the_users_are_split() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, stream, stderr) = export(&k6_only_config(dir.path()), &["--parallelism", "3"]);
    assert!(ok, "{stderr}");
    let docs = documents(&stream);
    for (position, test_run) in docs.iter().filter(|d| d["kind"] == "TestRun").enumerate() {
        let archive = dir.path().join(format!("{position}.tar"));
        std::fs::write(&archive, archive_bytes(&docs[position], "archive.tar")).unwrap();
        let arguments = test_run["spec"]["arguments"].as_str().unwrap();
        let users: u64 = test_run["metadata"]["annotations"]["k6-runner.vudatasim.io/users"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let sequence = (0..=PARALLELISM)
            .map(|i| fraction(i, PARALLELISM))
            .collect::<Vec<_>>()
            .join(",");
        let mut total = 0;
        for runner in 1..=PARALLELISM {
            let segment = format!(
                "{}:{}",
                fraction(runner - 1, PARALLELISM),
                fraction(runner, PARALLELISM)
            );
            let status = paused_status(&archive, arguments, &segment, &sequence);
            assert_eq!(status["status"], 4, "paused before the run: {status}");
            assert_eq!(status["paused"], true, "{status}");
            total += status["vus-max"].as_u64().unwrap();
        }
        assert_eq!(total, users, "the runners share the step's {users} users");
    }
}

/// `i/n` as the operator writes it (`0` and `1` at the ends).
fn fraction(i: u32, n: u32) -> String {
    match i {
        0 => "0".to_owned(),
        i if i == n => "1".to_owned(),
        i => format!("{i}/{n}"),
    }
}

/// Starts one paused k6 runner in its own process group, reads
/// `/v1/status` once it answers, stops it with one SIGINT, reaps it.
fn paused_status(archive: &Path, arguments: &str, segment: &str, sequence: &str) -> Value {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut command = Command::new(testkit::world::k6());
    command
        .arg("run")
        .args(arguments.split_whitespace())
        .arg(format!("--execution-segment={segment}"))
        .arg(format!("--execution-segment-sequence={sequence}"))
        .arg("--paused")
        .arg(format!("--address=127.0.0.1:{port}"))
        .arg(archive)
        .env("K6_NO_USAGE_REPORT", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut k6 = ProcessGroup::spawn("k6 run --paused", &mut command)
        .unwrap_or_else(|error| panic!("{error}"));
    let deadline = Instant::now() + K6_START_TIMEOUT;
    // k6 answers while it is still initialising its VUs (status 1 to 3);
    // what counts is where it settles: 4, paused before the run.
    let mut status = None;
    loop {
        if let Some(answer) = get_status(port) {
            let settled = answer["status"].as_u64().is_some_and(|s| s >= 4);
            status = Some(answer);
            if settled {
                break;
            }
        }
        if k6.try_wait().is_some() || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    k6.signal(Signal::SIGINT);
    let exit = k6
        .wait_for(Duration::from_secs(10))
        .or_else(|| k6.kill())
        .expect("k6 reaped");
    let mut stderr = String::new();
    k6.child_mut()
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = status
        .unwrap_or_else(|| panic!("k6 refused `{arguments}` on {segment} ({exit}): {stderr}"));
    assert_eq!(exit.code(), Some(105), "one SIGINT while paused: {stderr}");
    status
}

/// k6's `/v1/status` attributes, if it answers yet.
fn get_status(port: u16) -> Option<Value> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let body = response.split_once("\r\n\r\n")?.1;
    let doc: Value = serde_json::from_str(body).ok()?;
    Some(doc["data"]["attributes"].clone())
}

/// `GET /api/k6/export/k6-operator` gives the stored config the same
/// manifests as the CLI (the archives aside, whose tar headers carry
/// their time), refuses bad parameters with a 400 naming the field, and
/// the legacy wrapper with a 422 naming its entry.
#[tokio::test]
async fn the_api_exports_the_stored_config_and_names_bad_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let mut config =
        k6_runner::ServiceConfig::new(dir.path().join("data"), vec![examples().join("scripts")]);
    config.k6 = Some(testkit::world::k6());
    config.plugin.cache_dir = None;
    let service = k6_runner::Service::start(config).await.unwrap();
    let routes = k6_runner::api::routes(service.clone(), k6_runner::api::Auth::Open);
    let get = |query: String| {
        let routes = routes.clone();
        async move {
            let response = warp::test::request()
                .method("GET")
                .path(&format!("/export/k6-operator?{query}"))
                .reply(&routes)
                .await;
            (
                response.status().as_u16(),
                String::from_utf8(response.body().to_vec()).unwrap(),
            )
        }
    };

    service
        .put_config(std::fs::read_to_string(examples().join("config.json")).unwrap())
        .await
        .unwrap();
    let (status, body) = get("parallelism=2".into()).await;
    assert_eq!(status, 422, "{body}");
    let refusal: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(refusal["fields"][0]["field"], "enabledScripts[2]", "{body}");
    assert_eq!(refusal["fields"][0]["code"], "not-exportable", "{body}");

    let file = k6_only_config(dir.path());
    service
        .put_config(std::fs::read_to_string(&file).unwrap())
        .await
        .unwrap();
    for (query, field) in [
        ("", "parallelism"),
        ("parallelism=abc", "parallelism"),
        ("parallelism=0", "parallelism"),
        ("parallelism=6", "parallelism"),
        ("parallelism=2&namespace=Load_Tests", "namespace"),
        ("parallelism=2&runnerMemory=lots", "runnerMemory"),
    ] {
        let (status, body) = get(query.to_owned()).await;
        assert_eq!(status, 400, "{query}: {body}");
        let error: Value = serde_json::from_str(&body).unwrap();
        assert!(error["error"].is_string(), "{body}");
        assert_eq!(error["fields"][0]["field"], field, "{query}: {body}");
    }

    let (status, from_api) =
        get(format!("parallelism=3&namespace=load-tests&runId={RUN_ID}")).await;
    assert_eq!(status, 200, "{from_api}");
    let (ok, from_cli, stderr) =
        export(&file, &["--parallelism", "3", "--namespace", "load-tests"]);
    assert!(ok, "{stderr}");
    let without_archives = |stream: &str| {
        let mut docs = documents(stream);
        for doc in &mut docs {
            if let Some(map) = doc.as_object_mut() {
                map.remove("binaryData");
            }
            if let Some(notes) = doc["metadata"]["annotations"].as_object_mut() {
                notes.remove("k6-runner.vudatasim.io/archive-sha256");
            }
        }
        docs
    };
    assert_eq!(without_archives(&from_api), without_archives(&from_cli));
    assert_eq!(without_archives(&from_api).len(), 4);
}
