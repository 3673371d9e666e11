//! One step, from its folder to its verdict: make the snapshot, spawn it in
//! its own process group, hand its output to the output thread, sample
//! live metrics, stop it politely once and then forcefully, and judge how
//! it ended.
//!
//! - `snapshot`: the copy that runs (an archive, or the script directory).
//! - `output`: the reader threads and the output thread.
//! - `watch`: the stop state machine and the wait for the process.
//! - `stopper`: how a step is asked to stop, and killed.
//! - `sampling`: the live readings taken once a second.
//! - `files`: what the step left in its folder.

mod files;
mod output;
mod sampling;
pub(super) mod snapshot;
mod stopper;
mod watch;

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, SystemTime};

use nix::sys::signal::Signal;
use tokio::sync::watch as signal;
use tokio::time::Instant;

use super::StepRunner;
use super::k6_api::{K6Api, LiveSampler};
use super::process::{self, SpawnSpec};
use crate::contract::{ExitStatus, OutputStream, Program, Snapshot, Step, StopCause, Verdict};
use crate::model::{FileRecord, LogLevel, SnapshotRecord, Summary};
use crate::persistence::logfile::{KEPT_LOG_PARTS, RotatingLog};
use crate::persistence::series::{SERIES_FILE, SeriesFile};
use crate::sandbox::ParserSession;
use output::{ExportOutcome, OutputContext, StepOutput};
use snapshot::SnapshotInput;
use watch::{StopMachine, watch_process};

/// How long to wait for the last output after the process exited.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// A step's log file, inside its folder.
pub(crate) const LOG_FILE: &str = "output.log";
/// k6 exits that come with a summary export, normally.
const EXITS_WITH_EXPORT: [i32; 6] = [0, 99, 103, 105, 108, 110];

/// One step to run.
pub(crate) struct StepTask<'a> {
    /// The run.
    pub(crate) run_id: &'a str,
    /// The run's folder.
    pub(crate) run_dir: &'a Path,
    /// The k6 binary of this run.
    pub(crate) k6: &'a Path,
    /// The step, as planned.
    pub(crate) step: &'a Step,
}

/// How a step ended.
#[derive(Debug)]
pub(crate) struct StepEnd {
    /// The process's exit, if it was started.
    pub(crate) exit: Option<ExitStatus>,
    /// The core's verdict, or the runner's refusal.
    pub(crate) verdict: Verdict,
    /// Its results.
    pub(crate) summary: Option<Summary>,
    /// Its log file, relative to the run folder.
    pub(crate) log_file: Option<String>,
    /// Its snapshot.
    pub(crate) snapshot: Option<SnapshotRecord>,
    /// The files it wrote.
    pub(crate) files: Vec<FileRecord>,
    /// What the operator should know about how it ran.
    pub(crate) notes: Vec<String>,
}

impl StepEnd {
    fn refused(reason: String, snapshot: Option<SnapshotRecord>) -> Self {
        Self {
            exit: None,
            verdict: Verdict {
                outcome: crate::contract::Outcome::Failed,
                reason,
            },
            summary: None,
            log_file: None,
            snapshot,
            files: Vec::new(),
            notes: Vec::new(),
        }
    }
}

impl StepRunner {
    /// Runs one step to its end. `on_spawn` gets the process id as soon as
    /// it exists (for the run record).
    pub(crate) async fn run_step(
        &self,
        task: &StepTask<'_>,
        stop: &mut signal::Receiver<Option<StopCause>>,
        on_spawn: impl FnOnce(u32),
    ) -> StepEnd {
        let step = task.step;
        let step_dir = PathBuf::from(&step.step_dir);
        if let Err(error) = tokio::fs::create_dir_all(&step_dir).await {
            let reason = format!(
                "not started: cannot create its folder {}: {error}",
                step_dir.display()
            );
            self.note(task, LogLevel::Error, &reason);
            return StepEnd::refused(reason, None);
        }
        for note in &step.notes {
            self.note(task, LogLevel::Warning, note);
        }
        let env = process::step_env(
            task.k6.parent(),
            &self.pass_env,
            &step.env,
            &self.data.run_marker(task.run_id),
        );
        let snapshot = match &step.snapshot {
            Some(wanted) => {
                let input = SnapshotInput {
                    script: &step.script,
                    dirs: &self.dirs,
                    suffixes: &self.allowed_suffixes,
                    k6: task.k6,
                    env: &env,
                    run_dir: task.run_dir,
                    data_dir: self.data.root(),
                };
                match snapshot::make(wanted, &input).await {
                    Ok(record) => Some(record),
                    Err(error) => {
                        let reason = format!("not started: {error}");
                        self.note(task, LogLevel::Error, &reason);
                        return StepEnd::refused(reason, None);
                    }
                }
            }
            None => None,
        };
        // The operator's output goes to the step's process only (not to
        // `k6 archive`), after the entry's own variables, so it wins.
        let mut env = env;
        if let Some(output) = &self.k6_output {
            env.extend(output.env());
            self.note(
                task,
                LogLevel::Info,
                &format!(
                    "k6 also writes its metrics to Prometheus remote write at {}",
                    output.url()
                ),
            );
        }
        let spec = match self.spawn_spec(task, env) {
            Ok(spec) => spec,
            Err(reason) => {
                self.note(task, LogLevel::Error, &format!("not started: {reason}"));
                return StepEnd::refused(reason, snapshot);
            }
        };
        let log_file = format!(
            "{}/{LOG_FILE}",
            snapshot::relative_to(&step_dir, task.run_dir)
        );
        let log = match RotatingLog::with_limits(
            &step_dir.join(LOG_FILE),
            self.step_log_max_bytes,
            KEPT_LOG_PARTS,
        ) {
            Ok(log) => Some(log),
            Err(error) => {
                self.note(
                    task,
                    LogLevel::Warning,
                    &format!("cannot write the step log {log_file}: {error}"),
                );
                None
            }
        };
        let parser = self.new_parser(task).await;
        let spawned_at = SystemTime::now();
        let mut child = match process::spawn(&spec) {
            Ok(child) => child,
            Err(error) => {
                let reason = format!("cannot start {}: {error}", spec.program.display());
                self.note(task, LogLevel::Error, &reason);
                return StepEnd::refused(reason, snapshot);
            }
        };
        let pid = child.id().unwrap_or_default();
        on_spawn(pid);
        self.note(
            task,
            LogLevel::Info,
            &format!("started {} (pid {pid})", spec.program.display()),
        );

        let stop_sent = Arc::new(AtomicBool::new(false));
        let context = OutputContext {
            hub: self.hub.clone(),
            run_id: task.run_id.to_owned(),
            script: step.script.clone(),
            step: step.index + 1,
            stop_sent: stop_sent.clone(),
        };
        let series = match SeriesFile::create(&step_dir.join(SERIES_FILE)) {
            Ok(series) => Some(series),
            Err(error) => {
                self.note(
                    task,
                    LogLevel::Warning,
                    &format!("cannot write the step's series file {SERIES_FILE}: {error}"),
                );
                None
            }
        };
        let output = match StepOutput::start(context, parser, log, series) {
            Ok(output) => output,
            Err(error) => {
                let _ = process::signal_group(pid, Signal::SIGKILL);
                let _ = child.wait().await;
                let reason = format!("cannot read the step's output: {error}");
                self.note(task, LogLevel::Error, &reason);
                return StepEnd::refused(reason, snapshot);
            }
        };
        for (stream, pipe) in [
            (
                OutputStream::Stdout,
                child.stdout.take().map(|p| p.into_owned_fd()),
            ),
            (
                OutputStream::Stderr,
                child.stderr.take().map(|p| p.into_owned_fd()),
            ),
        ] {
            if let Some(Ok(fd)) = pipe
                && let Err(error) = output.read(stream, fd)
            {
                self.note(
                    task,
                    LogLevel::Error,
                    &format!("cannot read {stream:?}: {error}"),
                );
            }
        }
        let started = Instant::now();
        let sampler = tokio::spawn(sampling::sample_metrics(
            step.api_port.map(|port| LiveSampler::new(K6Api::new(port))),
            pid,
            started,
            output.readings(),
        ));

        let deadline = started + Duration::from_secs(u64::from(step.time_limit_seconds));
        let stopper = stopper::StepStopper {
            runner: self,
            task,
            pid,
            stop_sent,
        };
        let watched = watch_process(
            &mut child,
            StopMachine::new(deadline, self.stop_grace),
            stop,
            &stopper,
        )
        .await;
        sampler.abort();
        self.conclude(
            task, pid, watched, output, snapshot, &step_dir, log_file, spawned_at,
        )
        .await
    }

    /// After the process exited: kill what is left of its group (and what
    /// escaped it), read the last output and the summary export, judge the
    /// end and list what the step wrote.
    #[allow(clippy::too_many_arguments)]
    async fn conclude(
        &self,
        task: &StepTask<'_>,
        pid: u32,
        watched: watch::Watched,
        output: StepOutput,
        snapshot: Option<SnapshotRecord>,
        step_dir: &Path,
        log_file: String,
        spawned_at: SystemTime,
    ) -> StepEnd {
        let step = task.step;
        // Whatever the leader left in its group (a legacy wrapper's
        // children) goes with it, and so does anything that left the group
        // but still carries the run's marker: no process outlives its step.
        let _ = process::signal_group(pid, Signal::SIGKILL);
        let marker = self.data.run_marker(task.run_id);
        let escaped =
            tokio::task::spawn_blocking(move || process::kill_escaped_processes(&marker, pid))
                .await
                .unwrap_or_default();
        if !escaped.is_empty() {
            self.note(
                task,
                LogLevel::Warning,
                &format!(
                    "killed {} process(es) that had left the step's process group: {escaped:?}",
                    escaped.len()
                ),
            );
        }
        let export = step.summary_export_path.as_ref().map(PathBuf::from);
        let end = output
            .finish(export, std::time::Instant::now() + DRAIN_TIMEOUT)
            .await;
        if !end.drained {
            self.note(
                task,
                LogLevel::Warning,
                "the step's output did not end within 2 s of its exit (a process outside its \
                 group still holds it); what came later is not read",
            );
        }
        let exit = match watched.exit {
            Ok(status) => Some(ExitStatus {
                code: status.code(),
                signal: status.signal(),
            }),
            Err(error) => {
                self.note(
                    task,
                    LogLevel::Error,
                    &format!("lost track of the process: {error}"),
                );
                None
            }
        };
        let mut notes = Vec::new();
        if watched.killed {
            notes.push(format!(
                "it did not end within {:?} of the stop request; its process group was killed",
                self.stop_grace
            ));
        }
        if end.unlogged_lines > 0 {
            notes.push(format!(
                "{} line(s) of output could not be written to {log_file}",
                end.unlogged_lines
            ));
        }
        let usual_export = exit
            .as_ref()
            .and_then(|e| e.code)
            .is_some_and(|code| EXITS_WITH_EXPORT.contains(&code));
        match &end.export {
            ExportOutcome::Missing if usual_export => notes.push(format!(
                "k6 wrote no summary export; the figures are from {}",
                source_words(end.summary.as_ref())
            )),
            ExportOutcome::Unusable(reason) => notes.push(format!(
                "k6's summary export could not be used ({reason}); the figures are from {}",
                source_words(end.summary.as_ref())
            )),
            _ => {}
        }
        let exit_for_judge = exit.unwrap_or(ExitStatus {
            code: None,
            signal: None,
        });
        let (cause, kind) = (watched.cause, step.kind);
        let verdict = self
            .core
            .call("plan.judge", move |core| {
                core.judge(exit_for_judge, cause, kind)
            })
            .await
            .unwrap_or_else(|error| Verdict {
                outcome: crate::contract::Outcome::Failed,
                reason: format!("cannot judge the exit: {error}"),
            });
        let level = match verdict.outcome {
            crate::contract::Outcome::Failed => LogLevel::Error,
            _ => LogLevel::Info,
        };
        self.note(task, level, &format!("ended: {}", verdict.reason));
        for note in &notes {
            self.note(task, LogLevel::Warning, note);
        }
        let (dir, run_dir) = (step_dir.to_path_buf(), task.run_dir.to_path_buf());
        let files = tokio::task::spawn_blocking(move || {
            files::outputs(&dir, &run_dir, LOG_FILE, spawned_at)
        })
        .await
        .unwrap_or_default();
        StepEnd {
            exit,
            verdict,
            summary: end.summary,
            log_file: Some(log_file),
            snapshot,
            files,
            notes,
        }
    }

    /// The process to start. The plan's arguments must run the snapshot
    /// the runner made (the archive, or the copy of the wrapper), and the
    /// program is one the runner chose.
    fn spawn_spec(
        &self,
        task: &StepTask<'_>,
        env: Vec<(String, String)>,
    ) -> Result<SpawnSpec, String> {
        let step = task.step;
        let runs = match &step.snapshot {
            Some(Snapshot::K6Archive(archive)) => PathBuf::from(&archive.archive),
            Some(Snapshot::DirectoryCopy(copy)) => Path::new(&copy.target_dir).join(&step.script),
            None => {
                return Err(format!(
                    "refused: the plan for {} runs no snapshot of its script",
                    step.script
                ));
            }
        };
        if !step.args.iter().any(|arg| Path::new(arg) == runs) {
            return Err(format!(
                "refused: the plan for {} does not run its snapshot {}",
                step.script,
                runs.display()
            ));
        }
        let program = match step.program {
            Program::K6 => task.k6.to_path_buf(),
            Program::Bash => self
                .bash
                .clone()
                .ok_or_else(|| "bash not found on PATH".to_owned())?,
        };
        Ok(SpawnSpec {
            program,
            args: step.args.clone(),
            env,
            cwd: PathBuf::from(&step.working_dir),
        })
    }

    async fn new_parser(&self, task: &StepTask<'_>) -> Option<ParserSession> {
        let sandbox = self.core.sandbox().clone();
        let made = tokio::task::spawn_blocking(move || ParserSession::new(&sandbox))
            .await
            .map_err(|e| e.to_string())
            .and_then(|made| made.map_err(|e| e.to_string()));
        match made {
            Ok(session) => Some(session),
            Err(error) => {
                self.note(
                    task,
                    LogLevel::Error,
                    &format!("no output parsing for this step: {error}"),
                );
                None
            }
        }
    }

    /// A log line from the runner itself about this step.
    pub(crate) fn note(&self, task: &StepTask<'_>, level: LogLevel, message: &str) {
        self.note_for(
            task.run_id,
            &task.step.script,
            task.step.index + 1,
            level,
            message,
        );
    }
}

/// "its text summary (rounded numbers)" and the like.
fn source_words(summary: Option<&Summary>) -> &'static str {
    use crate::model::SummarySource as S;
    match summary.map(|s| s.source) {
        Some(S::SummaryExport) => "the summary export",
        Some(S::HandleSummary) => "handleSummary() data",
        Some(S::TextSummary) => "its text summary (rounded numbers)",
        Some(S::LiveMetrics) => "its last live reading (no summary was seen)",
        Some(S::None) | None => "nowhere: no summary was seen",
    }
}
