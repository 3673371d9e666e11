//! Scale-out on grafana/k6-operator: the plan as Kubernetes manifests.
//!
//! Per k6 step, a ConfigMap holding the step's archive and a `TestRun`
//! (k6-operator v1.6.0, `k6.io/v1alpha1`) running it on `parallelism`
//! runner pods, with the same load flags the local plan uses. The
//! operator splits them by execution segments, so a step's users are
//! shared by its runners, not multiplied by them. The host makes the
//! archives (this core has no I/O) and passes their bytes in; every
//! decision — what is refused, the names, labels, arguments, order, the
//! size limits — is taken here.
//!
//! # Layout
//!
//! - `rules`: the syntax of names, images and quantities;
//! - `yaml`: the YAML writer.

mod rules;
mod yaml;

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::config::{ENABLED_SCRIPTS, quoted};
pub use crate::contract::exports::vudatasim::k6::k6_operator::{ExportSettings, StepArchive};
use crate::plan::operator_flags;
use crate::types::{ErrorCode, FieldError, LoadMode, Plan, ScriptKind, Step};
use rules::error;
pub use rules::{MAX_PARALLELISM, MAX_RUN_ID_CHARS, MAX_SUITE_CHARS};

/// The ConfigMap key, and so the file name the runner pods see.
pub const ARCHIVE_KEY: &str = "archive.tar";
/// Most bytes of data (keys included) the API server accepts in one
/// ConfigMap (`MaxSecretSize`, 1 MiB); binary data counts undecoded.
pub const MAX_CONFIGMAP_BYTES: usize = 1 << 20;
/// Base64 size above which plain `kubectl apply` fails: it copies the
/// whole object into the `last-applied-configuration` annotation, and all
/// of an object's annotations together may hold 256 KiB. Server-side
/// apply writes no such annotation.
const CLIENT_SIDE_APPLY_BYTES: usize = 256 << 10;
/// Seconds `kubectl wait` gives a step beyond its `maxDuration`: the pods
/// are scheduled, the image pulled and the initializer's `k6 inspect` run
/// before the test starts.
const WAIT_MARGIN_SECONDS: u32 = 300;
/// The prefix of this runner's labels and annotations.
const PREFIX: &str = "k6-runner.vudatasim.io";
/// The operator release the manifests were checked against.
const OPERATOR_VERSION: &str = "v1.6.0";

/// Everything that keeps `plan` from running on k6-operator with
/// `settings` (see `k6-operator.check`).
pub fn check(plan: &Plan, settings: &ExportSettings) -> Vec<FieldError> {
    let mut errors = rules::settings_errors(settings);
    let parallelism_ok = (1..=MAX_PARALLELISM).contains(&settings.parallelism);
    for step in &plan.steps {
        let entry = format!("{ENABLED_SCRIPTS}[{}]", step.index);
        if step.kind == ScriptKind::LegacyWrapper {
            errors.push(error(
                &entry,
                ErrorCode::NotExportable,
                format!(
                    "{entry} {} is a legacy wrapper (.sh); a k6-operator TestRun runs one k6 \
                     script, not a shell script that starts k6: enable the k6 script it runs \
                     instead, or remove the entry from the export",
                    quoted(&step.script)
                ),
            ));
            continue;
        }
        let users = step.settings.users.unwrap_or(0);
        if parallelism_ok && step.settings.load == LoadMode::Global && users < settings.parallelism
        {
            errors.push(error(
                "parallelism",
                ErrorCode::OutOfRange,
                format!(
                    "parallelism {} is more than the {users} users of {entry} {}: every runner \
                     pod needs at least one user (the users are split between the pods, not \
                     multiplied)",
                    settings.parallelism,
                    quoted(&step.script)
                ),
            ));
        }
        for (name, value) in &step.settings.env {
            if !rules::is_safe_argument(&format!("{name}={value}")) {
                errors.push(error(
                    &format!("{entry}.env.{name}"),
                    ErrorCode::BadEnv,
                    format!(
                        "{entry}.env.{name} holds characters k6-operator would not pass through \
                         unchanged (it splits its arguments at whitespace and its initializer \
                         runs them through sh -c); on k6-operator a value may hold only A-Z, a-z, \
                         0-9 and _ . , : = + / @ % -"
                    ),
                ));
            }
        }
    }
    errors
}

/// The YAML stream for `plan` (see `k6-operator.render`).
///
/// # Errors
///
/// Every [`check`] error, an archive missing, with a malformed digest or
/// with bytes not of its size (`inconsistent`), an archive larger than a
/// ConfigMap holds (`too-large`, by its size).
pub fn render(
    plan: &Plan,
    settings: &ExportSettings,
    archives: &[StepArchive],
) -> Result<String, Vec<FieldError>> {
    let mut errors = check(plan, settings);
    let mut steps = Vec::new();
    for step in plan.steps.iter().filter(|s| s.kind == ScriptKind::K6Script) {
        let entry = format!("{ENABLED_SCRIPTS}[{}]", step.index);
        let Some(archive) = archives.iter().find(|a| a.index == step.index) else {
            errors.push(error(
                &entry,
                ErrorCode::Inconsistent,
                format!(
                    "the host supplied no archive for {entry} (a bug in the host, not in the config)"
                ),
            ));
            continue;
        };
        let size = usize::try_from(archive.size_bytes)
            .unwrap_or(usize::MAX)
            .saturating_add(ARCHIVE_KEY.len());
        let bytes_match = u64::try_from(archive.archive.len()) == Ok(archive.size_bytes);
        let fits = size <= MAX_CONFIGMAP_BYTES;
        if !is_sha256(&archive.sha256) || (fits && !bytes_match) {
            errors.push(error(
                &entry,
                ErrorCode::Inconsistent,
                format!(
                    "the host supplied no sha256, or bytes of another size than it said, for the \
                     archive of {entry} (a bug in the host, not in the config)"
                ),
            ));
        } else if size > MAX_CONFIGMAP_BYTES {
            errors.push(error(
                &entry,
                ErrorCode::TooLarge,
                format!(
                    "the archive of {entry} {} is {size} bytes with its key; a ConfigMap holds at \
                     most {MAX_CONFIGMAP_BYTES} bytes (1 MiB), so Kubernetes would refuse it: make \
                     the files the script opens smaller, or put the archive on a volume \
                     (spec.script.volumeClaim) by hand",
                    quoted(&step.script)
                ),
            ));
        } else {
            steps.push((step, archive));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let names: Vec<String> = steps
        .iter()
        .map(|(step, _)| object_name(settings, step))
        .collect();
    let mut out = header(plan, settings, &steps, &names);
    for ((step, archive), name) in steps.iter().zip(&names) {
        let encoded = base64::engine::general_purpose::STANDARD.encode(&archive.archive);
        out.push_str("---\n");
        if encoded.len() > CLIENT_SIDE_APPLY_BYTES {
            out.push_str(&format!(
                "# {} bytes of base64: apply with --server-side (plain kubectl apply copies the \
                 object into a 256 KiB annotation)\n",
                encoded.len()
            ));
        }
        out.push_str(&yaml::document(&config_map(
            settings, step, archive, name, encoded,
        )));
    }
    let count = names.len();
    for (position, ((step, archive), name)) in steps.iter().zip(&names).enumerate() {
        let order = Order {
            position: position + 1,
            count,
            after: position.checked_sub(1).map(|p| names[p].as_str()),
            interval_seconds: plan.interval_seconds,
        };
        out.push_str("---\n");
        out.push_str(&yaml::document(&test_run(
            settings, step, archive, name, &order,
        )));
    }
    Ok(out)
}

/// `<suite>-<run id>-<NN>`, lowercase: a DNS-1123 label of at most 51
/// characters, the same for a step's ConfigMap and TestRun.
fn object_name(settings: &ExportSettings, step: &Step) -> String {
    format!(
        "{}-{}-{}",
        settings.suite,
        settings.run_id.to_ascii_lowercase(),
        step_number(step)
    )
}

/// The step's position from 01, as in its folder name.
fn step_number(step: &Step) -> String {
    format!("{:02}", u64::from(step.index) + 1)
}

fn is_sha256(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Where a TestRun stands in the suite.
struct Order<'a> {
    /// From 1.
    position: usize,
    count: usize,
    /// The TestRun that must be gone before this one is applied.
    after: Option<&'a str>,
    interval_seconds: u32,
}

/// The labels every object of a step carries; `component` tells the
/// archive (`script`) from the test (`testrun`), so `kubectl apply -l`
/// can pick either.
fn labels(settings: &ExportSettings, step: &Step, component: &str) -> Map<String, Value> {
    let mut labels = Map::new();
    for (key, value) in [
        ("app.kubernetes.io/managed-by", "k6-runner".to_owned()),
        ("app.kubernetes.io/component", component.to_owned()),
        (&format!("{PREFIX}/suite"), settings.suite.clone()),
        (&format!("{PREFIX}/run"), settings.run_id.clone()),
        (&format!("{PREFIX}/step"), step_number(step)),
        (
            &format!("{PREFIX}/script"),
            rules::label_value(&step.script),
        ),
    ] {
        labels.insert(key.to_owned(), Value::String(value));
    }
    labels
}

fn metadata(
    settings: &ExportSettings,
    name: &str,
    labels: Map<String, Value>,
    annotations: Map<String, Value>,
) -> Value {
    let mut metadata = Map::new();
    metadata.insert("name".to_owned(), json!(name));
    if let Some(namespace) = &settings.namespace {
        metadata.insert("namespace".to_owned(), json!(namespace));
    }
    metadata.insert("labels".to_owned(), Value::Object(labels));
    metadata.insert("annotations".to_owned(), Value::Object(annotations));
    Value::Object(metadata)
}

fn config_map(
    settings: &ExportSettings,
    step: &Step,
    archive: &StepArchive,
    name: &str,
    encoded: String,
) -> Value {
    let mut annotations = Map::new();
    annotations.insert(format!("{PREFIX}/script"), json!(step.script));
    annotations.insert(format!("{PREFIX}/archive-sha256"), json!(archive.sha256));
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(settings, name, labels(settings, step, "script"), annotations),
        // What runs is what was checked: a changed archive needs a new
        // run id, never an edit of this one.
        "immutable": true,
        "binaryData": {ARCHIVE_KEY: encoded},
    })
}

fn test_run(
    settings: &ExportSettings,
    step: &Step,
    archive: &StepArchive,
    name: &str,
    order: &Order<'_>,
) -> Value {
    let mut annotations = Map::new();
    let mut note = |key: &str, value: String| {
        annotations.insert(format!("{PREFIX}/{key}"), Value::String(value));
    };
    note("script", step.script.clone());
    note("position", format!("{}/{}", order.position, order.count));
    if let Some(after) = order.after {
        note("after", after.to_owned());
        note("interval-seconds", order.interval_seconds.to_string());
    }
    if let Some(users) = step.settings.users {
        note("users", users.to_string());
    }
    note(
        "max-duration-seconds",
        step.settings.max_duration_seconds.to_string(),
    );
    note("archive-sha256", archive.sha256.clone());
    if !step.notes.is_empty() {
        note("notes", step.notes.join("; "));
    }
    let mut runner = Map::new();
    if let Some(image) = runner_image(settings) {
        runner.insert("image".to_owned(), json!(image));
    }
    let mut amounts = Map::new();
    if let Some(cpu) = &settings.runner_cpu {
        amounts.insert("cpu".to_owned(), json!(cpu));
    }
    if let Some(memory) = &settings.runner_memory {
        amounts.insert("memory".to_owned(), json!(memory));
    }
    if !amounts.is_empty() {
        // Requests equal to limits: a load generator that is throttled or
        // evicted mid-test measures itself, not the system under test.
        runner.insert(
            "resources".to_owned(),
            json!({"requests": amounts.clone(), "limits": amounts}),
        );
    }
    let mut pod_labels = labels(settings, step, "runner");
    pod_labels.remove("app.kubernetes.io/managed-by");
    runner.insert("metadata".to_owned(), json!({"labels": pod_labels}));
    json!({
        "apiVersion": "k6.io/v1alpha1",
        "kind": "TestRun",
        "metadata": metadata(settings, name, labels(settings, step, "testrun"), annotations),
        "spec": {
            "parallelism": settings.parallelism,
            "script": {"configMap": {"name": name, "file": ARCHIVE_KEY}},
            "arguments": operator_flags(&step.settings).join(" "),
            "cleanup": "post",
            "runner": runner,
        },
    })
}

/// The image given, or the release of the k6 that made the archives.
fn runner_image(settings: &ExportSettings) -> Option<String> {
    if let Some(image) = &settings.runner_image {
        return Some(image.clone());
    }
    let version = settings.k6_version.as_deref()?;
    let version = version.strip_prefix('v').unwrap_or(version);
    let parts: Vec<&str> = version.split('.').collect();
    let semver = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    semver.then(|| format!("grafana/k6:{version}"))
}

/// The comment that opens the stream: what it holds and how to apply it
/// in order.
fn header(
    plan: &Plan,
    settings: &ExportSettings,
    steps: &[(&Step, &StepArchive)],
    names: &[String],
) -> String {
    let namespace = settings
        .namespace
        .as_ref()
        .map_or_else(String::new, |ns| format!(" -n {ns}"));
    let mut out = format!(
        "# k6-operator manifests of suite {suite}, run {run}: {count} TestRun(s), one per k6 \
         step, each\n# split over {parallelism} runner pod(s) by k6 execution segments (the \
         users are shared, not multiplied).\n# Rendered by the k6-runner core for grafana/k6-operator \
         {OPERATOR_VERSION} (k6.io/v1alpha1).\n#\n# The operator starts every TestRun it is given \
         at once, so do not apply this whole file in one go:\n# apply the archives, then the \
         TestRuns one after another, each once the one before is gone\n# (cleanup: post deletes \
         a TestRun when it has finished), {interval} s apart.\n#\n#   kubectl apply \
         --server-side{namespace} -f FILE -l app.kubernetes.io/component=script\n",
        suite = settings.suite,
        run = settings.run_id,
        count = names.len(),
        parallelism = settings.parallelism,
        interval = plan.interval_seconds,
    );
    for (index, ((step, _), name)) in steps.iter().zip(names).enumerate() {
        if index > 0 && plan.interval_seconds > 0 {
            out.push_str(&format!("#   sleep {}\n", plan.interval_seconds));
        }
        let timeout = step
            .settings
            .max_duration_seconds
            .saturating_add(WAIT_MARGIN_SECONDS);
        out.push_str(&format!(
            "#   kubectl apply --server-side{namespace} -f FILE -l \
             app.kubernetes.io/component=testrun,{PREFIX}/step={step}\n#   kubectl \
             wait{namespace} --for=delete testrun/{name} --timeout={timeout}s\n",
            step = step_number(step),
        ));
    }
    out.push_str(
        "#\n# --server-side: plain kubectl apply copies each object into an annotation of at \
         most 256 KiB,\n# which an archive of more than about 190 KiB does not fit.\n",
    );
    out
}
