//! The plan as k6-operator manifests, from the cluster operator's side:
//! what each object holds, how the users are split, in which order the
//! steps are applied, and every way an export is refused before anything
//! reaches a cluster.

use k6_core::config::default_policy;
use k6_core::operator::{ExportSettings, MAX_CONFIGMAP_BYTES, StepArchive, check, render};
use k6_core::plan::build;
use k6_core::scripts::catalogue;
use k6_core::types::{
    CatalogueEntry, Config, ErrorCode, FieldError, Plan, PlanContext, PlanTarget, ScriptFile,
    SuiteEntry,
};
use serde_json::{Value, json};

use crate::support::plain;

fn scripts() -> Vec<CatalogueEntry> {
    let files = ["smoke.js", "api/browse.js", "legacy/overall-1.sh"].map(|name| ScriptFile {
        name: name.to_owned(),
        path: format!("/srv/scripts/{name}"),
        root: "/srv/scripts".to_owned(),
        inspection: None,
    });
    catalogue(files.to_vec(), &default_policy())
}

fn plan_of(entries: Vec<SuiteEntry>) -> Plan {
    let cfg = Config {
        global_user_count: 10,
        test_duration_seconds: 60,
        ramp_up_seconds: 15,
        max_duration_seconds: 120,
        enabled_scripts: entries,
        interval_seconds: 30,
        regression_budgets: None,
    };
    let ports = vec![6565; cfg.enabled_scripts.len()];
    let context = PlanContext {
        run_dir: "/tmp/export".to_owned(),
        api_ports: ports,
        target: PlanTarget::Runner,
    };
    build(&cfg, &scripts(), &context).expect("plan")
}

fn settings(parallelism: u32) -> ExportSettings {
    ExportSettings {
        parallelism,
        namespace: Some("load-tests".to_owned()),
        runner_image: None,
        runner_cpu: Some("500m".to_owned()),
        runner_memory: Some("512Mi".to_owned()),
        suite: "checkout".to_owned(),
        run_id: "20261203T062500Z".to_owned(),
        k6_version: Some("v1.1.0".to_owned()),
    }
}

fn archives(plan: &Plan, bytes: usize) -> Vec<StepArchive> {
    plan.steps
        .iter()
        .map(|step| StepArchive {
            index: step.index,
            size_bytes: bytes as u64,
            archive: vec![b'x'; bytes],
            sha256: "ab".repeat(32),
        })
        .collect()
}

/// The documents of a YAML stream, as kubectl reads them.
fn documents(stream: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(stream)
        .map(|doc| serde::Deserialize::deserialize(doc).expect("YAML document"))
        .filter(|doc: &Value| !doc.is_null())
        .collect()
}

fn fields(errors: &[FieldError]) -> Vec<(&str, ErrorCode)> {
    errors.iter().map(|e| (e.field.as_str(), e.code)).collect()
}

/// Two k6 steps give two ConfigMaps, then two TestRuns, in suite order;
/// each TestRun runs its own ConfigMap's archive with the local plan's
/// load flags, `parallelism` runners, `cleanup: post`, the k6 release that
/// made the archive, and the resources asked for as request and limit.
#[test]
fn a_suite_becomes_config_maps_then_test_runs_in_order() {
    let mut browse = plain("api/browse.js");
    browse.users = Some(4);
    browse.env = vec![("BASE_URL".to_owned(), "http://shop.test:8080/".to_owned())];
    let plan = plan_of(vec![plain("smoke.js"), browse]);
    let stream = render(&plan, &settings(4), &archives(&plan, 3)).expect("render");
    assert!(
        stream.starts_with("# k6-operator manifests of suite checkout"),
        "{stream}"
    );
    let docs = documents(&stream);
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ConfigMap", "ConfigMap", "TestRun", "TestRun"]);

    let archive = &docs[0];
    assert_eq!(archive["metadata"]["name"], "checkout-20261203t062500z-01");
    assert_eq!(archive["metadata"]["namespace"], "load-tests");
    assert_eq!(archive["binaryData"]["archive.tar"], "eHh4");
    assert_eq!(archive["immutable"], true);

    let first = &docs[2];
    assert_eq!(
        first["spec"],
        json!({
            "parallelism": 4,
            "script": {"configMap": {"name": "checkout-20261203t062500z-01", "file": "archive.tar"}},
            "arguments": "--no-usage-report --vus 0 --stage 15s:10,45s:10",
            "cleanup": "post",
            "runner": {
                "image": "grafana/k6:1.1.0",
                "resources": {
                    "requests": {"cpu": "500m", "memory": "512Mi"},
                    "limits": {"cpu": "500m", "memory": "512Mi"}
                },
                "metadata": {"labels": {
                    "app.kubernetes.io/component": "runner",
                    "k6-runner.vudatasim.io/suite": "checkout",
                    "k6-runner.vudatasim.io/run": "20261203T062500Z",
                    "k6-runner.vudatasim.io/step": "01",
                    "k6-runner.vudatasim.io/script": "smoke.js"
                }}
            }
        })
    );
    let labels = &first["metadata"]["labels"];
    assert_eq!(labels["app.kubernetes.io/component"], "testrun");
    assert_eq!(labels["k6-runner.vudatasim.io/step"], "01");
    let notes = &first["metadata"]["annotations"];
    assert_eq!(notes["k6-runner.vudatasim.io/position"], "1/2");
    assert!(notes.get("k6-runner.vudatasim.io/after").is_none());

    let second = &docs[3];
    assert_eq!(
        second["spec"]["arguments"],
        "--no-usage-report --vus 0 --stage 15s:4,45s:4 -e BASE_URL=http://shop.test:8080/"
    );
    assert_eq!(
        second["metadata"]["labels"]["k6-runner.vudatasim.io/script"],
        "api_browse.js"
    );
    let notes = &second["metadata"]["annotations"];
    assert_eq!(notes["k6-runner.vudatasim.io/script"], "api/browse.js");
    assert_eq!(notes["k6-runner.vudatasim.io/position"], "2/2");
    assert_eq!(
        notes["k6-runner.vudatasim.io/after"],
        "checkout-20261203t062500z-01"
    );
    assert_eq!(notes["k6-runner.vudatasim.io/interval-seconds"], "30");

    // The header walks through applying them one by one, with the pause.
    let apply_second = "-l app.kubernetes.io/component=testrun,k6-runner.vudatasim.io/step=02";
    let wait_first = "kubectl wait -n load-tests --for=delete testrun/checkout-20261203t062500z-01 \
                      --timeout=420s";
    let (wait, sleep, apply) = (
        stream.find(wait_first).expect("wait"),
        stream.find("#   sleep 30").expect("sleep"),
        stream.find(apply_second).expect("apply"),
    );
    assert!(wait < sleep && sleep < apply, "{stream}");
}

/// A legacy wrapper cannot run as a TestRun: the export is refused, naming
/// the entry, before any archive is needed.
#[test]
fn a_legacy_wrapper_is_refused_by_its_entry() {
    let plan = plan_of(vec![plain("smoke.js"), plain("legacy/overall-1.sh")]);
    let errors = check(&plan, &settings(2));
    assert_eq!(
        fields(&errors),
        [("enabledScripts[1]", ErrorCode::NotExportable)]
    );
    assert!(
        errors[0].message.contains("legacy/overall-1.sh"),
        "{}",
        errors[0].message
    );
    let rendered = render(&plan, &settings(2), &archives(&plan, 3)).unwrap_err();
    assert_eq!(fields(&rendered), fields(&errors));
}

/// Every bad setting is named by its field, all at once.
#[test]
fn bad_settings_are_named_by_their_field() {
    let plan = plan_of(vec![plain("smoke.js")]);
    let mut bad = settings(0);
    bad.namespace = Some("Load Tests".to_owned());
    bad.runner_image = Some("-x y".to_owned());
    bad.runner_cpu = Some("lots".to_owned());
    bad.runner_memory = Some("0".to_owned());
    bad.suite = "Checkout".to_owned();
    bad.run_id = "a/b".to_owned();
    let errors = check(&plan, &bad);
    assert_eq!(
        errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
        [
            "parallelism",
            "namespace",
            "runnerImage",
            "runnerCpu",
            "runnerMemory",
            "suite",
            "runId"
        ]
    );
    assert_eq!(errors[0].code, ErrorCode::OutOfRange);
    assert!(
        check(&plan, &settings(1001))
            .iter()
            .any(|e| e.field == "parallelism")
    );
}

/// More runners than users would leave pods without a user; an env value
/// the operator's whitespace split or `sh -c` would change is refused by
/// its name.
#[test]
fn runners_without_users_and_unsafe_values_are_refused() {
    let mut few = plain("smoke.js");
    few.users = Some(2);
    let mut spaced = plain("api/browse.js");
    spaced.env = vec![("GREETING".to_owned(), "hello world".to_owned())];
    let plan = plan_of(vec![few, spaced]);
    let errors = check(&plan, &settings(3));
    assert_eq!(
        fields(&errors),
        [
            ("parallelism", ErrorCode::OutOfRange),
            ("enabledScripts[1].env.GREETING", ErrorCode::BadEnv)
        ]
    );
    assert!(
        errors[0].message.contains("2 users of enabledScripts[0]"),
        "{}",
        errors[0].message
    );
    assert!(check(&plan_of(vec![plain("smoke.js")]), &settings(10)).is_empty());
}

/// An archive a ConfigMap cannot hold is reported with its size before
/// Kubernetes refuses it; one that fits exactly passes.
#[test]
fn an_archive_over_one_mebibyte_is_reported() {
    let plan = plan_of(vec![plain("smoke.js")]);
    let fits = MAX_CONFIGMAP_BYTES - "archive.tar".len();
    let stream = render(&plan, &settings(2), &archives(&plan, fits)).expect("fits");
    assert!(
        stream.contains("apply with --server-side"),
        "big archives say how to apply them"
    );
    let errors = render(&plan, &settings(2), &archives(&plan, fits + 1)).unwrap_err();
    assert_eq!(
        fields(&errors),
        [("enabledScripts[0]", ErrorCode::TooLarge)]
    );
    assert!(
        errors[0].message.contains("1048577 bytes"),
        "{}",
        errors[0].message
    );
    // A host need not pass the bytes of an archive too large to use.
    let mut unread = archives(&plan, 0);
    unread[0].size_bytes = 5 << 20;
    let errors = render(&plan, &settings(2), &unread).unwrap_err();
    assert_eq!(
        fields(&errors),
        [("enabledScripts[0]", ErrorCode::TooLarge)]
    );
    assert!(
        errors[0].message.contains("5242891 bytes"),
        "{}",
        errors[0].message
    );
}

/// The host must supply each k6 step's archive, its digest and its true
/// size.
#[test]
fn a_missing_archive_is_the_hosts_fault() {
    let plan = plan_of(vec![plain("smoke.js"), plain("api/browse.js")]);
    let mut given = archives(&plan, 3);
    given[0].sha256 = "not hex".to_owned();
    given[1].size_bytes = 4;
    let errors = render(&plan, &settings(2), &given).unwrap_err();
    assert_eq!(
        fields(&errors),
        [
            ("enabledScripts[0]", ErrorCode::Inconsistent),
            ("enabledScripts[1]", ErrorCode::Inconsistent)
        ]
    );
    given.pop();
    let errors = render(&plan, &settings(2), &given).unwrap_err();
    assert_eq!(
        fields(&errors),
        [
            ("enabledScripts[0]", ErrorCode::Inconsistent),
            ("enabledScripts[1]", ErrorCode::Inconsistent)
        ]
    );
}

/// Without a k6 version the image is left to the operator's default; a
/// given image wins over the version.
#[test]
fn the_runner_image_follows_the_archiving_k6() {
    let plan = plan_of(vec![plain("smoke.js")]);
    let image_of = |settings: &ExportSettings| {
        let stream = render(&plan, settings, &archives(&plan, 3)).expect("render");
        documents(&stream)[1]["spec"]["runner"]
            .get("image")
            .cloned()
    };
    let mut unknown = settings(1);
    unknown.k6_version = None;
    assert_eq!(image_of(&unknown), None);
    let mut given = settings(1);
    given.runner_image = Some("registry.local/k6:1.1.0".to_owned());
    assert_eq!(image_of(&given), Some(json!("registry.local/k6:1.1.0")));
}
