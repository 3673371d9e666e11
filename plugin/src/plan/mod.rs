//! The execution plan and the verdict on a finished step.
//!
//! [`build`] decides, for each entry of `enabledScripts`, the exact
//! program, argument list, environment, folders, snapshot and time limit;
//! the host only maps the [`Program`] to a binary, makes the snapshot and
//! starts it. [`judge`] turns how a step ended into completed / failed /
//! stopped with a reason an operator can read.
//!
//! # Layout
//!
//! - `args`: the command lines of k6 scripts and legacy wrappers;
//! - `judge`: the verdict.

mod args;
mod judge;

pub(crate) use args::operator_flags;

pub use judge::judge;

use crate::config::{self, ENABLED_SCRIPTS, quoted};
use crate::types::{
    CatalogueEntry, Config, DirectorySnapshot, ErrorCode, FieldError, LoadMode, Plan, PlanContext,
    PlanTarget, Program, ScriptKind, Snapshot, Step, StepSettings, SuiteEntry, WrapperArg,
};

/// Environment every step gets: k6 must not phone home (the fixtures were
/// all taken with it; without it k6 contacts Grafana at the end of a test).
/// Set for legacy wrappers too, as the k6 they start inherits it.
const STEP_ENV: (&str, &str) = ("K6_NO_USAGE_REPORT", "true");
/// File name of a k6 step's archive inside its folder.
const ARCHIVE_FILE: &str = "script.tar";
/// File name of a k6 step's summary export inside its folder.
const SUMMARY_EXPORT_FILE: &str = "summary.json";
/// Folder of a legacy wrapper step's copy of its script directory.
const SCRIPTS_COPY_DIR: &str = "scripts";

/// One step per entry of `enabledScripts` (see `plan.build`).
///
/// API ports: for the runner, `context.api-ports` holds one port per entry,
/// in order (as the WIT says), and step `i` takes port `i`. A legacy
/// wrapper's port is left unused rather than handed to the next k6 step,
/// so a step's port does not depend on which other scripts are enabled.
///
/// # Errors
///
/// `nothing-enabled` if no script is enabled; `unknown-script` for each
/// script missing from `catalogue`; `inconsistent` if `context` has fewer
/// ports than entries or a port 0 (both the host's mistake), or if `cfg`
/// breaks a rule between its own global fields (no users, no test time, a
/// ramp-up as long as the test, a limit below the test), which a config
/// from `config.validate` never does.
pub fn build(
    cfg: &Config,
    catalogue: &[CatalogueEntry],
    context: &PlanContext,
) -> Result<Plan, Vec<FieldError>> {
    let mut errors = config_errors(cfg);
    if cfg.enabled_scripts.is_empty() {
        errors.push(FieldError {
            field: ENABLED_SCRIPTS.to_owned(),
            code: ErrorCode::NothingEnabled,
            message: format!(
                "nothing to run: {ENABLED_SCRIPTS} is empty; enable at least one script"
            ),
        });
    }
    let found: Vec<Option<&CatalogueEntry>> = cfg
        .enabled_scripts
        .iter()
        .map(|entry| catalogue.iter().find(|c| c.name == entry.script))
        .collect();
    for (index, (entry, script)) in cfg.enabled_scripts.iter().zip(&found).enumerate() {
        if script.is_none() {
            errors.push(FieldError {
                field: format!("{ENABLED_SCRIPTS}[{index}]"),
                code: ErrorCode::UnknownScript,
                message: format!(
                    "{ENABLED_SCRIPTS}[{index}] {} is not in the catalogue of allowlisted scripts",
                    quoted(&entry.script)
                ),
            });
        }
    }
    if context.target == PlanTarget::Runner {
        errors.extend(port_errors(cfg.enabled_scripts.len(), &context.api_ports));
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    let run_dir = context
        .run_dir
        .strip_suffix('/')
        .unwrap_or(&context.run_dir);
    let steps: Vec<Step> = cfg
        .enabled_scripts
        .iter()
        .zip(found.into_iter().flatten())
        .zip(0u32..)
        .map(|((entry, script), index)| {
            let port = context
                .api_ports
                .get(usize::try_from(index).unwrap_or(usize::MAX))
                .copied()
                .filter(|_| context.target == PlanTarget::Runner);
            step(cfg, entry, script, index, port, run_dir, context.target)
        })
        .collect();
    let count = u64::try_from(steps.len()).unwrap_or(u64::MAX);
    let expected_seconds = steps
        .iter()
        .map(|step| u64::from(step.expected_seconds))
        .fold(0u64, u64::saturating_add)
        .saturating_add(
            count
                .saturating_sub(1)
                .saturating_mul(u64::from(cfg.interval_seconds)),
        );
    Ok(Plan {
        config: cfg.clone(),
        steps,
        interval_seconds: cfg.interval_seconds,
        expected_seconds,
    })
}

/// The rules between a config's own global fields that the arguments
/// depend on (the stage arithmetic needs a ramp-up shorter than the test).
/// A config from `config.validate` passes them all, entries included; this
/// guards against a host that builds one by hand.
fn config_errors(cfg: &Config) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if cfg.global_user_count == 0 {
        errors.push(FieldError {
            field: "globalUserCount".to_owned(),
            code: ErrorCode::OutOfRange,
            message: "globalUserCount must be at least 1, got 0".to_owned(),
        });
    }
    if cfg.test_duration_seconds == 0 {
        errors.push(FieldError {
            field: "testDuration".to_owned(),
            code: ErrorCode::OutOfRange,
            message: "testDuration must be at least 1s, got 0s".to_owned(),
        });
    } else {
        let test = cfg.test_duration_seconds;
        errors.extend(config::ramp_up_error(test, cfg.ramp_up_seconds));
        errors.extend(config::max_duration_error(test, cfg.max_duration_seconds));
    }
    // A plain entry inherits the global fields checked above.
    let overriding = cfg
        .enabled_scripts
        .iter()
        .enumerate()
        .filter(|(_, entry)| !config::is_plain(entry));
    for (index, entry) in overriding {
        let settings = config::settings(cfg, entry, ScriptKind::K6Script);
        let broken = settings.users == Some(0)
            || settings.test_duration_seconds == Some(0)
            || matches!(
                (settings.ramp_up_seconds, settings.test_duration_seconds),
                (Some(ramp), Some(test)) if ramp >= test
            );
        if broken {
            errors.push(FieldError {
                field: format!("{ENABLED_SCRIPTS}[{index}]"),
                code: ErrorCode::Inconsistent,
                message: format!(
                    "{ENABLED_SCRIPTS}[{index}] has no users, no test time or a ramp-up as long \
                     as its test; config.validate refuses such an entry"
                ),
            });
        }
    }
    errors
}

/// The host must supply a usable port for every entry.
fn port_errors(scripts: usize, ports: &[u16]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if ports.len() < scripts {
        errors.push(FieldError {
            field: String::new(),
            code: ErrorCode::Inconsistent,
            message: format!(
                "the host supplied {} for {scripts} enabled scripts; it must supply one free \
                 127.0.0.1 port per script (a bug in the host, not in the config)",
                match ports.len() {
                    1 => "1 API port".to_owned(),
                    n => format!("{n} API ports"),
                }
            ),
        });
    }
    for (index, _) in ports
        .iter()
        .take(scripts)
        .enumerate()
        .filter(|(_, p)| **p == 0)
    {
        errors.push(FieldError {
            field: format!("{ENABLED_SCRIPTS}[{index}]"),
            code: ErrorCode::Inconsistent,
            message: format!(
                "the host supplied port 0 for {ENABLED_SCRIPTS}[{index}]; k6 would listen on a \
                 random port nobody could reach (a bug in the host, not in the config)"
            ),
        });
    }
    errors
}

/// The step for one entry and its catalogue entry.
fn step(
    cfg: &Config,
    entry: &SuiteEntry,
    script: &CatalogueEntry,
    index: u32,
    port: Option<u16>,
    run_dir: &str,
    target: PlanTarget,
) -> Step {
    let settings = config::settings(cfg, entry, script.kind);
    let step_dir = format!("{run_dir}/{}", step_dir_name(index, &script.name));
    let mut env = vec![(STEP_ENV.0.to_owned(), STEP_ENV.1.to_owned())];
    let (program, args, working_dir, summary_export_path, snapshot) = match script.kind {
        ScriptKind::K6Script => {
            let (runs, snapshot) = match target {
                PlanTarget::Runner => {
                    let archive = format!("{step_dir}/{ARCHIVE_FILE}");
                    let snapshot = args::archive_snapshot(&script.path, &archive, &settings);
                    (archive, Some(snapshot))
                }
                PlanTarget::ShellScript => (script.path.clone(), None),
            };
            let args = args::k6_run(&settings, &runs, port, SUMMARY_EXPORT_FILE);
            let export = format!("{step_dir}/{SUMMARY_EXPORT_FILE}");
            (Program::K6, args, step_dir.clone(), Some(export), snapshot)
        }
        ScriptKind::LegacyWrapper => {
            let (runs, snapshot) = match target {
                PlanTarget::Runner => {
                    let copy = format!("{step_dir}/{SCRIPTS_COPY_DIR}");
                    let runs = format!("{copy}/{}", script.name);
                    let snapshot = Snapshot::DirectoryCopy(DirectorySnapshot {
                        source_dir: script.root.clone(),
                        target_dir: copy,
                    });
                    (runs, Some(snapshot))
                }
                PlanTarget::ShellScript => (script.path.clone(), None),
            };
            env.extend(settings.env.iter().cloned());
            let args = args::wrapper(&runs, &config::wrapper_args(entry), &settings);
            (Program::Bash, args, parent_dir(&runs), None, snapshot)
        }
    };
    Step {
        index,
        script: script.name.clone(),
        kind: script.kind,
        program,
        args,
        env,
        working_dir,
        step_dir,
        time_limit_seconds: settings.max_duration_seconds,
        api_port: port.filter(|_| script.kind == ScriptKind::K6Script),
        summary_export_path,
        snapshot,
        expected_seconds: expected_seconds(script, entry, &settings),
        notes: notes(script, &settings),
        settings,
    }
}

/// `NN-<name with / as _>`: the step number keeps `a/b.js` and `a_b.js`
/// apart, and the same script twice.
fn step_dir_name(index: u32, name: &str) -> String {
    let number = u64::from(index) + 1;
    format!("{number:02}-{}", name.replace('/', "_"))
}

/// The folder holding `path`.
fn parent_dir(path: &str) -> String {
    match path.rsplit_once('/') {
        Some(("", _)) => "/".to_owned(),
        Some((dir, _)) => dir.to_owned(),
        None => ".".to_owned(),
    }
}

/// How long the step should take (see `step.expected-seconds`).
fn expected_seconds(script: &CatalogueEntry, entry: &SuiteEntry, settings: &StepSettings) -> u32 {
    let limit = settings.max_duration_seconds;
    let test = settings.test_duration_seconds.unwrap_or(limit);
    match (script.kind, settings.load) {
        (ScriptKind::K6Script, LoadMode::Global) => test,
        (ScriptKind::K6Script, LoadMode::Script) => script
            .test
            .as_ref()
            .and_then(|facts| facts.own_load.as_ref().ok())
            .and_then(|own| own.total_duration_seconds)
            .map_or(limit, |own| own.min(limit)),
        (ScriptKind::LegacyWrapper, _) => {
            if config::wrapper_args(entry).contains(&WrapperArg::Duration) {
                test
            } else {
                limit
            }
        }
    }
}

/// What the operator should know before the step runs.
fn notes(script: &CatalogueEntry, settings: &StepSettings) -> Vec<String> {
    let Some(own) = script
        .test
        .as_ref()
        .and_then(|facts| facts.own_load.as_ref().ok())
    else {
        return Vec::new();
    };
    let mut notes = Vec::new();
    match settings.load {
        LoadMode::Global if !own.scenarios.is_empty() => {
            let names: Vec<String> = own.scenarios.iter().map(|s| s.name.clone()).collect();
            notes.push(format!(
                "the script's own scenarios ({}) are replaced by the global load (k6 runs its \
                 default function); set \"load\": \"script\" on the entry to run them",
                names.join(", ")
            ));
        }
        LoadMode::Script => {
            if let Some(total) = own.total_duration_seconds
                && total > settings.max_duration_seconds
            {
                notes.push(format!(
                    "the script's own options may take up to {total} s (k6's estimate, graceful \
                     stops included), longer than its maxDuration ({} s): it is stopped at its \
                     limit if it runs that long",
                    settings.max_duration_seconds
                ));
            }
        }
        LoadMode::Global => {}
    }
    notes
}
