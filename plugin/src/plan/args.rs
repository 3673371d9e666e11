//! The command lines a plan runs: `k6 run` (and the `k6 archive` that
//! snapshots its script) with exactly the flags the entry's settings ask
//! for, and a legacy wrapper with its positional arguments resolved.

use crate::duration;
use crate::types::{ArchiveSnapshot, LoadMode, Snapshot, StepSettings, WrapperArg};

/// Trend statistics k6 writes to the summary export; p(99) is not in k6's
/// default set, and the results page shows it.
const TREND_STATS: &str = "avg,min,med,max,p(90),p(95),p(99)";
/// The only address k6's REST API may listen on.
const API_HOST: &str = "127.0.0.1";

/// `k6 archive -e … -O <archive> <source>`: the entry's variables are given
/// to the archive too, because init code may decide by them which files it
/// opens, and only what init code opens is bundled.
pub(super) fn archive_snapshot(source: &str, archive: &str, settings: &StepSettings) -> Snapshot {
    let mut args = vec!["archive".to_owned()];
    args.extend(env_flags(settings));
    args.extend(["-O".to_owned(), archive.to_owned(), source.to_owned()]);
    Snapshot::K6Archive(ArchiveSnapshot {
        source: source.to_owned(),
        archive: archive.to_owned(),
        args,
    })
}

/// `k6 run` arguments for `script` (the archive or the script itself),
/// checked against k6 1.1.0: `--stage` (singular) with `--vus 0` ramps from
/// zero; `--stage` together with `--duration` or `--iterations` is refused
/// (exit 104), so exactly one of them is given; `--iterations` with
/// `--duration` is `shared-iterations` whose `maxDuration` is the duration.
/// Without an API port the REST API is off (`--address ""`), so a
/// `k6_all.sh` never fails on a port another k6 holds.
pub(super) fn k6_run(
    settings: &StepSettings,
    script: &str,
    api_port: Option<u16>,
    summary_export: &str,
) -> Vec<String> {
    let address = api_port.map_or_else(String::new, |port| format!("{API_HOST}:{port}"));
    let mut args: Vec<String> = [
        "run",
        "--no-usage-report",
        "--no-color",
        "--address",
        &address,
        "--summary-export",
        summary_export,
        "--summary-trend-stats",
        TREND_STATS,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    if settings.load == LoadMode::Global {
        args.extend(load_flags(settings));
    }
    args.extend(env_flags(settings));
    args.push(script.to_owned());
    args
}

/// The `k6 run` flags of a step on k6-operator: the same load and
/// variables as [`k6_run`], without what belongs to one machine (the REST
/// API's address, which the operator sets; the summary export, which
/// would stay inside a runner pod; the trend statistics, whose `p(99)`
/// the operator's `sh -c` initializer would read as shell syntax).
pub(crate) fn operator_flags(settings: &StepSettings) -> Vec<String> {
    let mut args = vec!["--no-usage-report".to_owned()];
    if settings.load == LoadMode::Global {
        args.extend(load_flags(settings));
    }
    args.extend(env_flags(settings));
    args
}

/// `--vus`, `--duration`, `--stage` or `--iterations` for the global load.
fn load_flags(settings: &StepSettings) -> Vec<String> {
    let users = settings.users.unwrap_or(1);
    let test = settings.test_duration_seconds.unwrap_or(1);
    if let Some(iterations) = settings.iterations {
        return vec![
            "--vus".to_owned(),
            users.to_string(),
            "--iterations".to_owned(),
            iterations.to_string(),
            "--duration".to_owned(),
            format!("{test}s"),
        ];
    }
    match settings.ramp_up_seconds {
        // Validation refused a ramp-up as long as the test, so the hold
        // stays > 0.
        Some(ramp_up) if ramp_up > 0 => {
            let hold = test.saturating_sub(ramp_up);
            vec![
                "--vus".to_owned(),
                "0".to_owned(),
                "--stage".to_owned(),
                format!("{ramp_up}s:{users},{hold}s:{users}"),
            ]
        }
        _ => vec![
            "--vus".to_owned(),
            users.to_string(),
            "--duration".to_owned(),
            format!("{test}s"),
        ],
    }
}

/// `-e NAME=value` for each of the entry's variables.
fn env_flags(settings: &StepSettings) -> Vec<String> {
    settings
        .env
        .iter()
        .flat_map(|(name, value)| ["-e".to_owned(), format!("{name}={value}")])
        .collect()
}

/// `<wrapper> <args…>` with every placeholder replaced by its value.
pub(super) fn wrapper(path: &str, args: &[WrapperArg], settings: &StepSettings) -> Vec<String> {
    let mut argv = vec![path.to_owned()];
    argv.extend(args.iter().map(|arg| match arg {
        WrapperArg::Literal(text) => text.clone(),
        WrapperArg::Duration => duration::format(settings.test_duration_seconds.unwrap_or(0)),
        WrapperArg::Users => settings.users.unwrap_or(0).to_string(),
        WrapperArg::RampUp => settings.ramp_up_seconds.unwrap_or(0).to_string(),
        WrapperArg::MaxDuration => settings.max_duration_seconds.to_string(),
        WrapperArg::Iterations => settings.iterations.unwrap_or(0).to_string(),
    }));
    argv
}
