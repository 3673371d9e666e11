//! A step's output, read and handled off the async runtime, so that no
//! client of the runner can ever slow k6 down.
//!
//! Two reader threads drain the step's stdout and stderr (k6 dies of
//! SIGPIPE if its stdout reader goes away, so they read to the end) and
//! hand whole lines, a batch per read, to one output thread. That thread
//! owns the step's log file and its parser session (the only owner of
//! both): it writes every line to the file, feeds the core's parser, turns
//! what the parser recognised into log lines and status changes, and
//! publishes the log lines to the hub at most every [`PUBLISH_EVERY`]. The
//! hub never waits on its subscribers, so nothing on this path waits on a
//! WebSocket client. Live metrics readings arrive on the same channel and
//! are published at once. At the end the thread reads the summary export
//! and hands back the step's summary.
//!
//! One cohesive thing, kept in one file: the readers, the output thread and
//! the channel between them share one message type and one shutdown order.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::contract::{LineEvent, LogRecord, NoticeKind, OutputStream};
use crate::hub::Hub;
use crate::model::{LogLevel, LogLine, LogStream, MetricsPoint, Summary, now_rfc3339};
use crate::persistence::logfile::RotatingLog;
use crate::persistence::series::SeriesFile;
use crate::sandbox::{ParserSession, events_per_line};

/// Longest line kept, in bytes; the rest of a longer line is dropped (a
/// runaway `console.log` must not exhaust memory).
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Batches of lines (one per read) waiting for the output thread; a reader
/// that gets this far ahead waits (the parser is many times faster than k6
/// writes, so it never does in practice).
const INPUT_BUFFER: usize = 256;
/// Log lines are published to the hub at most this often, in one event:
/// ten events a second look live to a reader and keep the fan-out's
/// wake-ups per watcher few.
pub const PUBLISH_EVERY: Duration = Duration::from_millis(100);
/// Largest `--summary-export` file read.
const MAX_SUMMARY_EXPORT_BYTES: u64 = 16 << 20;
/// After a read that found less than half a buffer, a reader waits this
/// long before the next one, so that a k6 writing a line per iteration
/// (10,000 writes a second) is read in a few hundred gulps a second rather
/// than woken for every line: each wake-up of the reader, the output thread
/// and the log file is CPU taken from k6 on a small machine. k6 never
/// waits for it: the pipe holds 64 KiB, 30 ms of the chattiest output
/// seen, and a read that fills half the buffer is followed at once.
const GULP_PAUSE: Duration = Duration::from_millis(2);
/// How long the output thread waits for input when it has nothing to do.
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// What the output thread is given.
enum Input {
    /// Whole lines from one stream, without their endings.
    Lines(OutputStream, Vec<String>),
    /// A stream reached its end.
    Closed,
    /// A live `/v1/metrics` reading `at_ms` after the start, with k6's CPU
    /// and RSS.
    Metrics {
        at_ms: u64,
        body: String,
        process: Option<(f64, u64)>,
    },
    /// The process exited: read what is left (until both streams end or
    /// `drain_until`), then the summary export, and answer.
    Finish {
        export: Option<PathBuf>,
        drain_until: Instant,
        reply: oneshot::Sender<OutputEnd>,
    },
}

/// Who the output belongs to.
#[derive(Clone)]
pub(crate) struct OutputContext {
    /// Where log lines, status and metrics go.
    pub(crate) hub: Arc<Hub>,
    /// The run.
    pub(crate) run_id: String,
    /// The step's script.
    pub(crate) script: String,
    /// The step's number, from 1.
    pub(crate) step: u32,
    /// Set once the runner asked the step to stop: k6's own account of
    /// that stop is then no error.
    pub(crate) stop_sent: Arc<AtomicBool>,
}

/// What the output thread hands back at the end.
#[derive(Debug)]
pub(crate) struct OutputEnd {
    /// The step's summary, if the parser worked.
    pub(crate) summary: Option<Summary>,
    /// What became of the summary export.
    pub(crate) export: ExportOutcome,
    /// Lines that could not be written to the step log (0 when all were).
    pub(crate) unlogged_lines: u64,
    /// Both streams were read to their end (not cut off by the drain
    /// deadline).
    pub(crate) drained: bool,
}

/// What became of a step's summary export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExportOutcome {
    /// The step asked for none (a legacy wrapper).
    NotAsked,
    /// Read into the summary.
    Read,
    /// k6 wrote none.
    Missing,
    /// It could not be used (too large, unreadable, not a summary).
    Unusable(String),
}

/// The running output pipeline of one step.
pub(crate) struct StepOutput {
    input: SyncSender<Input>,
    thread: std::thread::JoinHandle<()>,
}

impl StepOutput {
    /// Starts the output thread.
    pub(crate) fn start(
        context: OutputContext,
        parser: Option<ParserSession>,
        log: Option<RotatingLog>,
        series: Option<SeriesFile>,
    ) -> std::io::Result<Self> {
        let (input, received) = sync_channel(INPUT_BUFFER);
        let thread = std::thread::Builder::new()
            .name(format!("k6-step-{}-output", context.step))
            .spawn(move || Handler::new(context, parser, log, series).run(received))?;
        Ok(Self { input, thread })
    }

    /// Starts a thread that drains `fd` (a pipe of the step) into the
    /// pipeline.
    pub(crate) fn read(&self, stream: OutputStream, fd: OwnedFd) -> std::io::Result<()> {
        let input = self.input.clone();
        std::thread::Builder::new()
            .name(format!("k6-step-{stream:?}-reader").to_lowercase())
            .spawn(move || forward_lines(File::from(fd), stream, &input))?;
        Ok(())
    }

    /// A sender of live readings that never waits: a reading that finds
    /// the pipeline full is dropped (the next comes a second later).
    pub(crate) fn readings(&self) -> ReadingSender {
        ReadingSender(self.input.clone())
    }

    /// After the process exited: reads what is left of its output (until
    /// both streams end, at most until `drain_until`), then `export`, and
    /// returns the step's summary.
    pub(crate) async fn finish(self, export: Option<PathBuf>, drain_until: Instant) -> OutputEnd {
        let (reply, answer) = oneshot::channel();
        let sent = self.input.send(Input::Finish {
            export: export.clone(),
            drain_until,
            reply,
        });
        drop(self.input);
        let end = match sent {
            Ok(()) => answer.await.ok(),
            Err(_) => None,
        };
        // The thread has answered and ends at once; joining is quick.
        let thread = self.thread;
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        end.unwrap_or(OutputEnd {
            summary: None,
            export: if export.is_some() {
                ExportOutcome::Unusable("the output thread of the step was lost".into())
            } else {
                ExportOutcome::NotAsked
            },
            unlogged_lines: 0,
            drained: false,
        })
    }
}

/// Sends live readings to a step's output thread without ever waiting.
#[derive(Clone)]
pub(crate) struct ReadingSender(SyncSender<Input>);

impl ReadingSender {
    /// Hands over one reading; false once the pipeline is gone.
    pub(crate) fn send(&self, at_ms: u64, body: String, process: Option<(f64, u64)>) -> bool {
        match self.0.try_send(Input::Metrics {
            at_ms,
            body,
            process,
        }) {
            Ok(()) | Err(TrySendError::Full(_)) => true,
            Err(TrySendError::Disconnected(_)) => false,
        }
    }
}

/// Reads `file` to its end, sending its lines (endings removed, invalid
/// UTF-8 replaced, each cut at [`MAX_LINE_BYTES`]) in one batch per read.
/// If the pipeline is gone it keeps reading and discarding, so the process
/// never sees a closed pipe.
fn forward_lines(file: File, stream: OutputStream, input: &SyncSender<Input>) {
    let mut reader = BufReader::with_capacity(MAX_LINE_BYTES, file);
    let mut line: Vec<u8> = Vec::new();
    let mut overflowed = false;
    let mut open = true;
    loop {
        let chunk = match reader.fill_buf() {
            Ok([]) | Err(_) => break,
            Ok(chunk) => chunk,
        };
        let mut batch = Vec::new();
        let mut rest = chunk;
        while let Some(at) = memchr::memchr(b'\n', rest) {
            push_bounded(&mut line, &mut overflowed, &rest[..at]);
            batch.push(take_line(&mut line, &mut overflowed));
            rest = &rest[at + 1..];
        }
        push_bounded(&mut line, &mut overflowed, rest);
        let used = chunk.len();
        reader.consume(used);
        if open && !batch.is_empty() {
            open = input.send(Input::Lines(stream, batch)).is_ok();
        }
        if used < MAX_LINE_BYTES / 2 {
            std::thread::sleep(GULP_PAUSE);
        }
    }
    if open && !line.is_empty() {
        let last = take_line(&mut line, &mut overflowed);
        open = input.send(Input::Lines(stream, vec![last])).is_ok();
    }
    if open {
        let _ = input.send(Input::Closed);
    }
}

fn push_bounded(line: &mut Vec<u8>, overflowed: &mut bool, bytes: &[u8]) {
    let room = MAX_LINE_BYTES.saturating_sub(line.len());
    line.extend_from_slice(&bytes[..bytes.len().min(room)]);
    *overflowed |= bytes.len() > room;
}

fn take_line(line: &mut Vec<u8>, overflowed: &mut bool) -> String {
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    let mut text = String::from_utf8_lossy(line).into_owned();
    if *overflowed {
        text.push_str(" …[line cut]");
    }
    line.clear();
    *overflowed = false;
    text
}

/// The output thread's state.
struct Handler {
    context: OutputContext,
    parser: Option<ParserSession>,
    log: Option<RotatingLog>,
    /// The step's per-second series file (see `persistence::series`).
    series: Option<SeriesFile>,
    unlogged_lines: u64,
    pending: Vec<LogLine>,
    last_publish: Instant,
    open_streams: u8,
}

impl Handler {
    fn new(
        context: OutputContext,
        parser: Option<ParserSession>,
        log: Option<RotatingLog>,
        series: Option<SeriesFile>,
    ) -> Self {
        Self {
            context,
            parser,
            log,
            series,
            unlogged_lines: 0,
            pending: Vec::new(),
            last_publish: Instant::now(),
            open_streams: 2,
        }
    }

    fn run(mut self, input: Receiver<Input>) {
        let mut finishing: Option<(Option<PathBuf>, Instant, oneshot::Sender<OutputEnd>)> = None;
        loop {
            if let Some((_, drain_until, _)) = &finishing
                && (self.open_streams == 0 || Instant::now() >= *drain_until)
            {
                if let Some((export, _, reply)) = finishing.take() {
                    let end = self.finish(export);
                    let _ = reply.send(end);
                }
                return;
            }
            let wait = self.wait(finishing.as_ref().map(|(_, until, _)| *until));
            match input.recv_timeout(wait) {
                Ok(Input::Lines(stream, lines)) => self.lines(stream, lines),
                Ok(Input::Closed) => self.open_streams = self.open_streams.saturating_sub(1),
                Ok(Input::Metrics {
                    at_ms,
                    body,
                    process,
                }) => self.metrics(at_ms, &body, process),
                Ok(Input::Finish {
                    export,
                    drain_until,
                    reply,
                }) => finishing = Some((export, drain_until, reply)),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    // Every sender is gone without a finish: the step's
                    // task was dropped. Keep what was read.
                    self.publish();
                    return;
                }
            }
            if !self.pending.is_empty() && self.last_publish.elapsed() >= PUBLISH_EVERY {
                self.publish();
            }
        }
    }

    /// How long to wait for input: until pending lines are due, or the
    /// drain deadline, or a while.
    fn wait(&self, drain_until: Option<Instant>) -> Duration {
        let mut wait = IDLE_WAIT;
        if !self.pending.is_empty() {
            wait = wait.min(PUBLISH_EVERY.saturating_sub(self.last_publish.elapsed()));
        }
        if let Some(until) = drain_until {
            wait = wait.min(until.saturating_duration_since(Instant::now()));
        }
        wait
    }

    fn lines(&mut self, stream: OutputStream, lines: Vec<String>) {
        if let Some(log) = self.log.as_mut() {
            let mut failed = 0;
            for line in &lines {
                if log.write_line(line).is_err() {
                    failed += 1;
                }
            }
            // One write per batch: the log survives even a SIGKILL of the
            // runner, at the cost of one system call per batch.
            if log.flush().is_err() {
                failed = lines.len() as u64;
            }
            if failed > 0 && self.unlogged_lines == 0 {
                self.note(
                    LogLevel::Warning,
                    "cannot write the step's log file; its lines are kept in memory only"
                        .to_owned(),
                );
            }
            self.unlogged_lines += failed;
        }
        let time = now_rfc3339();
        let events = match self
            .parser
            .as_mut()
            .map(|parser| parser.feed(stream, &lines))
        {
            Some(Ok(numbered)) => Some(numbered),
            Some(Err(error)) => {
                tracing::warn!(%error, "a core parser call failed; the lines are kept as text");
                None
            }
            None => None,
        };
        match events {
            Some(numbered) => {
                let count = lines.len();
                for (line, event) in lines.into_iter().zip(events_per_line(count, numbered)) {
                    self.event(stream, line, event, &time);
                }
            }
            None => {
                for line in lines {
                    self.event(stream, line, LineEvent::Text, &time);
                }
            }
        }
    }

    fn event(&mut self, stream: OutputStream, line: String, event: LineEvent, time: &str) {
        let (level, message) = match event {
            LineEvent::Log(record) => (record.level.into(), describe(&record)),
            LineEvent::Notice((kind, record)) => {
                let mut level: LogLevel = record.level.into();
                let message = describe(&record);
                let ours = matches!(
                    kind,
                    NoticeKind::StoppedByApi | NoticeKind::InterruptedBySignal
                ) && self.context.stop_sent.load(Ordering::Relaxed);
                if ours {
                    // The runner asked for this stop: k6 saying so is news,
                    // not an error.
                    level = LogLevel::Info;
                } else if level == LogLevel::Error {
                    let last = format!("{}: {message}", self.context.script);
                    self.context
                        .hub
                        .update_status(|s| s.last_error = Some(last));
                }
                (level, message)
            }
            LineEvent::Progress(progress) => {
                self.context
                    .hub
                    .update_status(|s| s.current_user_count = progress.active_vus);
                return;
            }
            // Progress blocks are in the step log file; the status carries them.
            LineEvent::Scenario(_) => return,
            LineEvent::SummaryLine | LineEvent::Text => {
                if line.trim().is_empty() {
                    return;
                }
                (LogLevel::Info, line)
            }
        };
        self.push(stream.into(), level, message, time.to_owned());
    }

    fn metrics(&mut self, at_ms: u64, body: &str, process: Option<(f64, u64)>) {
        let Some(parser) = self.parser.as_mut() else {
            return;
        };
        match parser.feed_metrics(body, at_ms) {
            Ok(Ok(live)) => {
                let mut point = MetricsPoint::from_live(
                    &live,
                    &self.context.run_id,
                    &self.context.script,
                    self.context.step,
                    now_rfc3339(),
                );
                if let Some((cpu, rss)) = process {
                    point.cpu_percent = Some((cpu * 10.0).round() / 10.0);
                    point.rss_bytes = Some(rss);
                }
                if let Some(series) = self.series.as_mut()
                    && let Err(error) = series.append(&point)
                {
                    // The live view goes on; only the history misses it.
                    tracing::warn!(%error, "cannot append to the step's series file; it stops here");
                    self.series = None;
                }
                self.context.hub.publish_metrics(point);
            }
            Ok(Err(error)) => tracing::debug!(?error, "unreadable k6 metrics"),
            Err(error) => tracing::warn!(%error, "a core parser call failed on k6 metrics"),
        }
    }

    fn finish(&mut self, export: Option<PathBuf>) -> OutputEnd {
        if let Some(log) = self.log.as_mut()
            && log.sync().is_err()
            && self.unlogged_lines == 0
        {
            self.unlogged_lines = 1;
        }
        let export = match export {
            None => ExportOutcome::NotAsked,
            Some(path) => self.read_export(&path),
        };
        let summary = match self.parser.as_mut().map(ParserSession::summary) {
            Some(Ok(summary)) => Some(Summary::from(summary)),
            Some(Err(error)) => {
                self.note(
                    LogLevel::Error,
                    format!("cannot read the step's summary: {error}"),
                );
                None
            }
            None => None,
        };
        self.publish();
        OutputEnd {
            summary,
            export,
            unlogged_lines: self.unlogged_lines,
            drained: self.open_streams == 0,
        }
    }

    fn read_export(&mut self, path: &std::path::Path) -> ExportOutcome {
        let text = match std::fs::metadata(path) {
            Ok(meta) if meta.len() > MAX_SUMMARY_EXPORT_BYTES => {
                return ExportOutcome::Unusable(format!(
                    "it is {} bytes, over the {MAX_SUMMARY_EXPORT_BYTES}-byte limit",
                    meta.len()
                ));
            }
            Ok(_) => match std::fs::read_to_string(path) {
                Ok(text) => text,
                Err(error) => return ExportOutcome::Unusable(format!("cannot read it: {error}")),
            },
            // k6 writes no export when it dies early, is killed, or cannot
            // write it.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return ExportOutcome::Missing;
            }
            Err(error) => return ExportOutcome::Unusable(format!("cannot read it: {error}")),
        };
        match self
            .parser
            .as_mut()
            .map(|parser| parser.feed_summary_export(&text))
        {
            Some(Ok(Ok(()))) => ExportOutcome::Read,
            Some(Ok(Err(error))) => {
                ExportOutcome::Unusable(format!("not a summary export: {error:?}"))
            }
            Some(Err(error)) => {
                ExportOutcome::Unusable(format!("the core could not read it: {error}"))
            }
            None => ExportOutcome::Unusable("no output parsing for this step".into()),
        }
    }

    /// A note of the runner's own about the step.
    fn note(&mut self, level: LogLevel, message: String) {
        self.push(LogStream::Runner, level, message, now_rfc3339());
    }

    fn push(&mut self, stream: LogStream, level: LogLevel, message: String, time: String) {
        self.pending.push(LogLine {
            seq: 0,
            time,
            run_id: self.context.run_id.clone(),
            script: self.context.script.clone(),
            step: self.context.step,
            stream,
            level,
            message,
        });
    }

    fn publish(&mut self) {
        self.context
            .hub
            .push_logs(std::mem::take(&mut self.pending));
        self.last_publish = Instant::now();
    }
}

/// A log record as one readable line: the message, then its fields.
fn describe(record: &LogRecord) -> String {
    let mut text = record.message.trim_end().to_owned();
    for (key, value) in &record.fields {
        text.push(' ');
        text.push_str(key);
        text.push('=');
        text.push_str(value);
    }
    text
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn read_all(input: &[u8]) -> Vec<String> {
        let (tx, rx) = sync_channel(100);
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(input).unwrap();
        std::io::Seek::rewind(&mut file).unwrap();
        forward_lines(file, OutputStream::Stdout, &tx);
        let mut out = Vec::new();
        while let Ok(item) = rx.try_recv() {
            match item {
                Input::Lines(_, lines) => out.extend(lines),
                Input::Closed => out.push("<closed>".to_owned()),
                _ => {}
            }
        }
        out
    }

    #[test]
    fn splits_lines_and_keeps_a_last_partial_line() {
        assert_eq!(read_all(b"a\r\nb\n\nc"), ["a", "b", "", "c", "<closed>"]);
    }

    #[test]
    fn cuts_overlong_lines_and_replaces_bad_utf8() {
        let mut bytes = format!("{}\nnext", "x".repeat(MAX_LINE_BYTES * 3)).into_bytes();
        bytes.extend_from_slice(b"\xff\n");
        let lines = read_all(&bytes);
        assert_eq!(lines.len(), 3);
        assert!(lines[0].len() < MAX_LINE_BYTES + 20 && lines[0].ends_with("[line cut]"));
        assert_eq!(lines[1], "next\u{fffd}");
    }

    /// With nobody listening the reader still reads to the end, so the
    /// process never sees a closed pipe.
    #[test]
    fn a_gone_pipeline_does_not_stop_the_reading() {
        let (tx, rx) = sync_channel(1);
        drop(rx);
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&b"line\n".repeat(10_000)).unwrap();
        std::io::Seek::rewind(&mut file).unwrap();
        let mut file_for_check = file.try_clone().unwrap();
        forward_lines(file, OutputStream::Stderr, &tx);
        let position = std::io::Seek::stream_position(&mut file_for_check).unwrap();
        assert_eq!(position, 50_000);
    }
}
