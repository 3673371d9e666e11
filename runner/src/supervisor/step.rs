//! One step: re-check the script, spawn it in its own process group,
//! stream its output through the core's parser, sample live metrics, stop
//! it politely once then forcefully, and judge how it ended.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};

use super::Supervisor;
use super::k6_api::{K6Api, LiveSampler};
use super::output::{OutputLine, forward_lines};
use super::process::{self, SpawnSpec};
use super::progress::RunClock;
use super::stats::ProcessSampler;
use crate::contract::{
    CatalogueEntry, ExitStatus, LineEvent, LogRecord, Outcome, OutputStream, Program, Step,
    StopCause, Verdict,
};
use crate::model::{LogLine, MetricsPoint, Summary, level_name, now_rfc3339};
use crate::persistence::logfile::{KEPT_LOG_PARTS, RotatingLog};
use crate::sandbox::{ParserSession, events_per_line};

/// Lines fed to the parser per call at most; batching keeps the cost of
/// crossing into the sandbox small (see the benchmarks).
const MAX_BATCH_LINES: usize = 1_000;
/// Lines buffered between the pipe readers and the step loop.
const LINE_BUFFER: usize = 4_096;
/// How long to wait for the last output after the process exited.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);
/// Largest `--summary-export` file read.
const MAX_SUMMARY_EXPORT_BYTES: u64 = 16 << 20;
/// Live metrics sampling period.
const SAMPLE_PERIOD: Duration = Duration::from_secs(1);

/// One step to run, with what the supervisor knows about it.
pub(super) struct StepTask<'a> {
    pub run_id: &'a str,
    pub run_dir: &'a Path,
    pub step: &'a Step,
    pub entry: Option<&'a CatalogueEntry>,
    pub clock: &'a RunClock,
}

/// What the step loop hands over once the process has exited.
struct Conclusion {
    pid: u32,
    exit: std::io::Result<std::process::ExitStatus>,
    cause: StopCause,
    lines: mpsc::Receiver<OutputLine>,
    lines_open: bool,
    parser: Option<ParserSession>,
    log: Option<RotatingLog>,
    log_name: String,
}

/// How a step ended.
pub(super) struct StepEnd {
    pub exit: Option<ExitStatus>,
    pub verdict: Verdict,
    pub summary: Option<Summary>,
    pub log_file: Option<String>,
}

impl StepEnd {
    fn refused(reason: String) -> Self {
        Self {
            exit: None,
            verdict: Verdict {
                outcome: Outcome::Failed,
                reason,
            },
            summary: None,
            log_file: None,
        }
    }
}

impl Supervisor {
    /// Runs one step to its end. `on_spawn` gets the process id as soon as
    /// it exists (for the run record).
    pub(super) async fn run_step(
        &self,
        task: &StepTask<'_>,
        stop: &mut watch::Receiver<Option<StopCause>>,
        on_spawn: impl FnOnce(u32),
    ) -> StepEnd {
        let step = task.step;
        let number = step.index + 1;
        let spec = match self.spawn_spec(task) {
            Ok(spec) => spec,
            Err(reason) => {
                self.note(task, "error", &format!("not started: {reason}"));
                return StepEnd::refused(reason);
            }
        };
        let log_name = format!("{number:02}-{}.log", step.script.replace('/', "_"));
        let mut log = match RotatingLog::with_limits(
            &task.run_dir.join(&log_name),
            self.step_log_max_bytes,
            KEPT_LOG_PARTS,
        ) {
            Ok(log) => Some(log),
            Err(error) => {
                self.note(
                    task,
                    "warning",
                    &format!("cannot write the step log {log_name}: {error}"),
                );
                None
            }
        };
        let mut child = match process::spawn(&spec) {
            Ok(child) => child,
            Err(error) => {
                let reason = format!("cannot start {}: {error}", spec.program.display());
                self.note(task, "error", &reason);
                return StepEnd::refused(reason);
            }
        };
        let pid = child.id().unwrap_or_default();
        on_spawn(pid);
        self.note(
            task,
            "info",
            &format!("started {} (pid {pid})", spec.program.display()),
        );

        let (line_tx, mut lines) = mpsc::channel::<OutputLine>(LINE_BUFFER);
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(forward_lines(stdout, OutputStream::Stdout, line_tx.clone()));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(forward_lines(stderr, OutputStream::Stderr, line_tx));
        }
        let (metrics_tx, mut metrics) = mpsc::channel::<(u64, String)>(4);
        let started = Instant::now();
        let sampler = step.api_port.map(|port| {
            tokio::spawn(sample_metrics(
                LiveSampler::new(K6Api::new(port)),
                started,
                metrics_tx,
            ))
        });
        let mut parser = self.new_parser(task).await;
        let mut process_stats = ProcessSampler::new(pid);
        let mut tick = tokio::time::interval(SAMPLE_PERIOD);
        tick.set_missed_tick_behavior(MissedTickBehavior::Skip);

        let deadline = started + Duration::from_secs(u64::from(step.time_limit_seconds));
        let mut cause = StopCause::None;
        let mut kill_at: Option<Instant> = None;
        let mut stop_open = true;
        let mut lines_open = true;
        let already_requested = *stop.borrow_and_update();
        if let Some(requested) = already_requested {
            cause = requested;
            kill_at = Some(self.request_stop(task, step.api_port, pid, cause).await);
        }
        let exit = loop {
            tokio::select! {
                status = child.wait() => break status,
                first = lines.recv(), if lines_open => match first {
                    Some(first) => {
                        let batch = collect_batch(first, &mut lines);
                        self.handle_lines(task, &mut parser, log.as_mut(), batch).await;
                    }
                    None => lines_open = false,
                },
                Some((at_ms, body)) = metrics.recv() => {
                    let sample = process_stats.sample().map(|s| (s.cpu_percent.unwrap_or(0.0), s.rss_bytes));
                    self.handle_metrics(task, &mut parser, at_ms, &body, sample).await;
                }
                _ = tick.tick() => {
                    if step.api_port.is_none() {
                        process_stats.sample();
                    }
                    let progress = task.clock.progress(number, started.elapsed().as_secs_f64(), false);
                    self.hub.update_status(|s| s.progress = Some(progress));
                }
                changed = stop.changed(), if stop_open && kill_at.is_none() => match changed {
                    Ok(()) => {
                        let requested = *stop.borrow_and_update();
                        if let Some(requested) = requested {
                            cause = requested;
                            kill_at = Some(self.request_stop(task, step.api_port, pid, cause).await);
                        }
                    }
                    Err(_) => stop_open = false,
                },
                _ = tokio::time::sleep_until(deadline), if kill_at.is_none() => {
                    cause = StopCause::TimeLimit;
                    self.note(task, "warning", &format!("ran past maxDuration ({} s)", step.time_limit_seconds));
                    kill_at = Some(self.request_stop(task, step.api_port, pid, cause).await);
                }
                _ = sleep_until_option(kill_at) => {
                    self.note(task, "warning", &format!("still running {:?} after the stop request: killing its process group", self.stop_grace));
                    let _ = process::signal_group(pid, Signal::SIGKILL);
                    kill_at = Some(Instant::now() + Duration::from_secs(3600));
                }
            }
        };
        if let Some(sampler) = sampler {
            sampler.abort();
        }
        self.conclude(
            task,
            Conclusion {
                pid,
                exit,
                cause,
                lines,
                lines_open,
                parser,
                log,
                log_name,
            },
        )
        .await
    }

    /// After the process exited: kill what is left of its group, read the
    /// last output, the summary export and the summary, and judge the end.
    async fn conclude(&self, task: &StepTask<'_>, end: Conclusion) -> StepEnd {
        let Conclusion {
            pid,
            exit,
            cause,
            mut lines,
            mut lines_open,
            mut parser,
            mut log,
            log_name,
        } = end;
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
                "warning",
                &format!(
                    "killed {} process(es) that had left the step's process group: {escaped:?}",
                    escaped.len()
                ),
            );
        }
        let drain_until = Instant::now() + DRAIN_TIMEOUT;
        while lines_open {
            match tokio::time::timeout_at(drain_until, lines.recv()).await {
                Ok(Some(first)) => {
                    let batch = collect_batch(first, &mut lines);
                    self.handle_lines(task, &mut parser, log.as_mut(), batch)
                        .await;
                }
                _ => lines_open = false,
            }
        }
        if let Some(log) = log.as_mut() {
            let _ = log.flush();
        }

        let exit = match exit {
            Ok(status) => Some(ExitStatus {
                code: status.code(),
                signal: status.signal(),
            }),
            Err(error) => {
                self.note(
                    task,
                    "error",
                    &format!("lost track of the process: {error}"),
                );
                None
            }
        };
        if let Some(path) = &step.summary_export_path {
            self.read_summary_export(task, &mut parser, Path::new(path))
                .await;
        }
        let summary = match parser.take() {
            Some(session) => self
                .parser_call(session, |s| s.summary())
                .await
                .0
                .map(Summary::from),
            None => None,
        };
        let exit_for_judge = exit.unwrap_or(ExitStatus {
            code: None,
            signal: None,
        });
        let verdict = self
            .core
            .call("plan.judge", move |core| core.judge(exit_for_judge, cause))
            .await
            .unwrap_or_else(|error| Verdict {
                outcome: Outcome::Failed,
                reason: format!("cannot judge the exit: {error}"),
            });
        self.note(
            task,
            if verdict.outcome == Outcome::Failed {
                "error"
            } else {
                "info"
            },
            &format!("ended: {}", verdict.reason),
        );
        StepEnd {
            exit,
            verdict,
            summary,
            log_file: Some(log_name),
        }
    }

    /// The process to start, after checking the script against the
    /// allowlist again (the file may have changed since validation).
    fn spawn_spec(&self, task: &StepTask<'_>) -> Result<SpawnSpec, String> {
        let step = task.step;
        let entry = task
            .entry
            .ok_or_else(|| format!("{} is no longer in the script catalogue", step.script))?;
        let script = self
            .dirs
            .check_script(Path::new(&entry.path), &self.allowed_suffixes)
            .map_err(|refused| format!("refused: {refused}"))?;
        if !step.args.iter().any(|arg| Path::new(arg) == script) {
            return Err(format!(
                "refused: the plan for {} does not run its allowlisted file {}",
                step.script,
                script.display()
            ));
        }
        let program = match step.program {
            Program::K6 => self
                .programs
                .k6
                .clone()
                .ok_or_else(|| self.programs.k6_missing.clone())?,
            Program::Bash => self
                .programs
                .bash
                .clone()
                .ok_or_else(|| "bash not found on PATH".to_owned())?,
        };
        let k6_dir = self.programs.k6.as_deref().and_then(Path::parent);
        Ok(SpawnSpec {
            program,
            args: step.args.clone(),
            env: process::step_env(
                k6_dir,
                &self.pass_env,
                &step.env,
                &self.data.run_marker(task.run_id),
            ),
            cwd: PathBuf::from(&step.working_dir),
        })
    }

    /// The one polite stop request, then the time after which the group is
    /// killed. k6 honours exactly one request: a second signal during its
    /// end-of-test processing kills it without a summary, so none is sent.
    async fn request_stop(
        &self,
        task: &StepTask<'_>,
        api_port: Option<u16>,
        pid: u32,
        cause: StopCause,
    ) -> Instant {
        let why = match cause {
            StopCause::Operator => "operator asked to stop",
            StopCause::Shutdown => "runner shutting down",
            StopCause::TimeLimit => "time limit reached",
            StopCause::None => "stop",
        };
        let rest = match api_port {
            Some(port) => K6Api::new(port).stop().await.map_err(Some),
            None => Err(None),
        };
        match rest {
            Ok(()) => self.note(
                task,
                "info",
                &format!("{why}: asked k6 to stop through its REST API"),
            ),
            // The request may have reached k6 (it timed out, or the answer
            // was lost): a signal now could land during its end-of-test
            // processing and kill it without a summary, so the request
            // stands and the grace period decides.
            Err(Some(error)) if !error.is_connect() && !error.is_status() => self.note(
                task,
                "warning",
                &format!(
                    "{why}: k6's REST API did not confirm the stop request ({error}); \
                     no second request is sent, the group is killed after {:?} if it is still running",
                    self.stop_grace
                ),
            ),
            // k6 surely did not take the request: the one signal is the request.
            Err(error) => {
                let reason = error.map_or_else(|| "no REST API for this step".to_owned(), |e| e.to_string());
                let sent = process::signal_group(pid, Signal::SIGINT);
                self.note(
                    task,
                    "info",
                    &format!("{why}: sent SIGINT to the process group ({reason}; {sent:?})"),
                );
            }
        }
        Instant::now() + self.stop_grace
    }

    async fn new_parser(&self, task: &StepTask<'_>) -> Option<ParserSession> {
        let sandbox = self.core.sandbox().clone();
        match tokio::task::spawn_blocking(move || ParserSession::new(&sandbox)).await {
            Ok(Ok(session)) => Some(session),
            Ok(Err(error)) => {
                self.note(
                    task,
                    "error",
                    &format!("no output parsing for this step: {error}"),
                );
                None
            }
            Err(error) => {
                self.note(
                    task,
                    "error",
                    &format!("no output parsing for this step: {error}"),
                );
                None
            }
        }
    }

    /// Runs a parser call on the blocking pool and hands the session back.
    async fn parser_call<R: Send + 'static>(
        &self,
        mut session: ParserSession,
        call: impl FnOnce(&mut ParserSession) -> Result<R, crate::sandbox::SandboxError>
        + Send
        + 'static,
    ) -> (Option<R>, Option<ParserSession>) {
        match tokio::task::spawn_blocking(move || {
            let result = call(&mut session);
            (result, session)
        })
        .await
        {
            Ok((Ok(value), session)) => (Some(value), Some(session)),
            Ok((Err(error), session)) => {
                tracing::warn!(%error, "a core parser call failed");
                (None, Some(session))
            }
            Err(error) => {
                tracing::error!(%error, "a core parser call panicked");
                (None, None)
            }
        }
    }

    async fn handle_lines(
        &self,
        task: &StepTask<'_>,
        parser: &mut Option<ParserSession>,
        mut log: Option<&mut RotatingLog>,
        batch: Vec<OutputLine>,
    ) {
        if let Some(log) = log.as_mut() {
            for (_, line) in &batch {
                let _ = log.write_line(line);
            }
            // One write per batch: the log survives even a SIGKILL of the
            // runner, at the cost of one system call per batch.
            let _ = log.flush();
        }
        // Feed runs of same-stream lines, so order within a stream holds.
        let mut rest = batch.as_slice();
        while let Some((first, _)) = rest.first() {
            let source = *first;
            let run = rest.iter().take_while(|(s, _)| *s == source).count();
            let (chunk, tail) = rest.split_at(run);
            rest = tail;
            let lines: Vec<String> = chunk.iter().map(|(_, line)| line.clone()).collect();
            let events = match parser.take() {
                Some(session) => {
                    let (events, session) = self
                        .parser_call(session, move |s| s.feed(source, &lines))
                        .await;
                    *parser = session;
                    events
                }
                None => None,
            };
            match events {
                Some(numbered) => {
                    let events = events_per_line(chunk.len(), numbered);
                    for ((_, line), event) in chunk.iter().zip(events) {
                        self.handle_event(task, source, line, event);
                    }
                }
                None => {
                    for (_, line) in chunk {
                        self.push_line(task, source, "info", line.clone());
                    }
                }
            }
        }
    }

    fn handle_event(
        &self,
        task: &StepTask<'_>,
        source: OutputStream,
        line: &str,
        event: LineEvent,
    ) {
        match event {
            LineEvent::Log(record) => {
                self.push_line(task, source, level_name(record.level), describe(&record))
            }
            LineEvent::Notice((_, record)) => {
                let level = level_name(record.level);
                let message = describe(&record);
                if level == "error" {
                    let last = format!("{}: {message}", task.step.script);
                    self.hub.update_status(|s| s.last_error = Some(last));
                }
                self.push_line(task, source, level, message);
            }
            LineEvent::Progress(progress) => {
                self.hub
                    .update_status(|s| s.current_user_count = progress.active_vus);
            }
            // Progress blocks are in the step log file; the status carries them.
            LineEvent::Scenario(_) => {}
            LineEvent::SummaryLine | LineEvent::Text => {
                if !line.trim().is_empty() {
                    self.push_line(task, source, "info", line.to_owned());
                }
            }
        }
    }

    async fn handle_metrics(
        &self,
        task: &StepTask<'_>,
        parser: &mut Option<ParserSession>,
        at_ms: u64,
        body: &str,
        process: Option<(f64, u64)>,
    ) {
        let Some(session) = parser.take() else { return };
        let body = body.to_owned();
        let (result, session) = self
            .parser_call(session, move |s| s.feed_metrics(&body, at_ms))
            .await;
        *parser = session;
        match result {
            Some(Ok(live)) => {
                let mut point = MetricsPoint::from_live(
                    &live,
                    task.run_id,
                    &task.step.script,
                    task.step.index + 1,
                    now_rfc3339(),
                );
                if let Some((cpu, rss)) = process {
                    point.cpu_percent = Some((cpu * 10.0).round() / 10.0);
                    point.rss_bytes = Some(rss);
                }
                self.hub.publish_metrics(point);
            }
            Some(Err(error)) => tracing::debug!(?error, "unreadable k6 metrics"),
            None => {}
        }
    }

    async fn read_summary_export(
        &self,
        task: &StepTask<'_>,
        parser: &mut Option<ParserSession>,
        path: &Path,
    ) {
        let text = match tokio::fs::metadata(path).await {
            Ok(meta) if meta.len() <= MAX_SUMMARY_EXPORT_BYTES => {
                tokio::fs::read_to_string(path).await.ok()
            }
            Ok(meta) => {
                self.note(
                    task,
                    "warning",
                    &format!(
                        "summary export is {} bytes, over the limit; ignored",
                        meta.len()
                    ),
                );
                None
            }
            // k6 writes no export when it dies early or is killed.
            Err(_) => None,
        };
        // Only take the parser once there is something to feed it: taking it
        // for nothing would drop the step's live-metrics fallback.
        let Some(text) = text else { return };
        let Some(session) = parser.take() else { return };
        let (result, session) = self
            .parser_call(session, move |s| s.feed_summary_export(&text))
            .await;
        *parser = session;
        if let Some(Err(error)) = result {
            self.note(
                task,
                "warning",
                &format!("unreadable summary export: {error:?}"),
            );
        }
    }

    /// A log line from the runner itself about this step.
    pub(super) fn note(&self, task: &StepTask<'_>, level: &str, message: &str) {
        self.push_line_from(
            task.run_id,
            &task.step.script,
            "runner",
            level,
            message.to_owned(),
        );
    }

    fn push_line(&self, task: &StepTask<'_>, source: OutputStream, level: &str, message: String) {
        let stream = match source {
            OutputStream::Stdout => "stdout",
            OutputStream::Stderr => "stderr",
        };
        self.push_line_from(task.run_id, &task.step.script, stream, level, message);
    }

    pub(super) fn push_line_from(
        &self,
        run_id: &str,
        script: &str,
        stream: &str,
        level: &str,
        message: String,
    ) {
        self.hub.push_log(LogLine {
            seq: 0,
            time: now_rfc3339(),
            run_id: run_id.to_owned(),
            script: script.to_owned(),
            stream: stream.to_owned(),
            level: level.to_owned(),
            message,
        });
    }
}

/// A log record as one readable line: the message, then its fields.
fn describe(record: &LogRecord) -> String {
    let mut text = record.message.trim_end().to_owned();
    for (key, value) in &record.fields {
        text.push_str(&format!(" {key}={value}"));
    }
    text
}

/// The first line plus whatever else is already buffered, up to a batch.
fn collect_batch(first: OutputLine, lines: &mut mpsc::Receiver<OutputLine>) -> Vec<OutputLine> {
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH_LINES {
        match lines.try_recv() {
            Ok(line) => batch.push(line),
            Err(_) => break,
        }
    }
    batch
}

async fn sleep_until_option(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Takes a live reading of k6's metrics once a second and forwards it with
/// its time since the step started. Runs beside the step loop so that a
/// slow answer never delays a stop.
async fn sample_metrics(
    mut sampler: LiveSampler,
    started: Instant,
    bodies: mpsc::Sender<(u64, String)>,
) {
    let mut tick = tokio::time::interval_at(started + SAMPLE_PERIOD, SAMPLE_PERIOD);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        if let Some(body) = sampler.reading(SAMPLE_PERIOD).await {
            let at_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            if bodies.send((at_ms, body)).await.is_err() {
                return;
            }
        }
    }
}
