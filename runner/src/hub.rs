//! The runner's live state and its fan-out: the current [`Status`], the
//! recent log lines, the current run's metrics, and a broadcast of every
//! change for WebSocket clients and embedding hosts.
//!
//! Watching costs the test nothing: publishing never waits. Each change is
//! one [`Published`] value shared by every subscriber (an `Arc`), whose
//! JSON is written once, by the first client that needs it. Log lines are
//! published in batches ([`Event::Logs`]), so the number of events — and of
//! wake-ups per subscriber — does not grow with k6's output rate, and a
//! batch carries at most [`MAX_LIVE_LOG_LINES`] of its lines, so neither
//! do the bytes every subscriber is sent: every line is kept for
//! `GET /logs` and in the step log file, and the `seq` numbers of a thinned
//! batch show the gap. A subscriber that falls more than [`EVENT_BUFFER`]
//! events behind skips the oldest and is told how many it missed; nobody
//! blocks the publisher.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};

use serde::Serialize;
use tokio::sync::broadcast;

use crate::history::compare::RegressionNotice;
use crate::model::{LogLevel, LogLine, MetricsPoint, Status};

/// Log lines kept in memory for `GET /logs` and new WebSocket clients;
/// older ones are only in the step log files.
pub const MAX_LOG_LINES: usize = 5_000;
/// Longest message kept per log line, in bytes; the rest is cut (the log
/// file has the whole line).
pub const MAX_LOG_MESSAGE_BYTES: usize = 8 * 1024;
/// Most log lines one [`Event::Logs`] carries. The output of a step is
/// published about 10 times a second, so a live view gets up to 250 lines a
/// second: more than anyone reads, and a bound on what a k6 logging on
/// every iteration (10,000 lines a second on two cores) costs each
/// watcher. Warnings and errors are kept first, then the newest lines.
pub const MAX_LIVE_LOG_LINES: usize = 25;
/// Metrics readings kept for the current run, so a page opened mid-run can
/// draw its charts from the start: one hour at one reading per second.
pub const MAX_METRICS_POINTS: usize = 3_600;
/// Events buffered for all subscribers; one that falls further behind
/// skips the oldest. At most about 20 events a second are published (log
/// lines come in batches), so this is close to a minute of slack.
pub const EVENT_BUFFER: usize = 1_024;

/// Something that changed, as pushed to subscribers.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", content = "data", rename_all = "camelCase")]
pub enum Event {
    /// The status changed.
    Status(Box<Status>),
    /// A live metrics reading of the running step.
    Metrics(Box<MetricsPoint>),
    /// New log lines, oldest first.
    Logs(Vec<LogLine>),
    /// The config was saved or reset (by any client): its canonical JSON.
    #[schema(value_type = crate::model::ConfigDocument)]
    Config(serde_json::Value),
    /// A run that ended was compared with its entries' baselines (only
    /// when some entry has one): its verdict and headline deltas.
    Regression(Box<RegressionNotice>),
}

/// One published event: the value and its JSON text, written once for
/// every subscriber that sends it on.
#[derive(Debug)]
pub struct Published {
    event: Event,
    json: OnceLock<Arc<str>>,
}

impl Published {
    fn new(event: Event) -> Arc<Self> {
        Arc::new(Self {
            event,
            json: OnceLock::new(),
        })
    }

    /// The event.
    pub fn event(&self) -> &Event {
        &self.event
    }

    /// `{"type": …, "data": …}`, serialised on first use and shared.
    pub fn json(&self) -> Arc<str> {
        self.json
            .get_or_init(|| {
                serde_json::to_string(&self.event)
                    .unwrap_or_else(|error| {
                        format!(r#"{{"type":"error","data":{{"message":"{error}"}}}}"#)
                    })
                    .into()
            })
            .clone()
    }
}

/// Shared live state. Locks are std locks held only to copy or update a
/// value, never across an await.
pub struct Hub {
    status: RwLock<Status>,
    logs: Mutex<LogRing>,
    metrics: Mutex<VecDeque<MetricsPoint>>,
    events: broadcast::Sender<Arc<Published>>,
}

struct LogRing {
    lines: VecDeque<LogLine>,
    next_seq: u64,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

/// Which kept log lines `Service::logs` (and the hub behind it) returns.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// Only lines after this sequence number, oldest first; without it,
    /// the newest lines.
    pub since: Option<u64>,
    /// Only these levels (all if empty).
    pub levels: Vec<LogLevel>,
    /// Only lines of this run.
    pub run_id: Option<String>,
}

impl Hub {
    /// An idle hub.
    pub fn new() -> Self {
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        Self {
            status: RwLock::new(Status::default()),
            metrics: Mutex::new(VecDeque::new()),
            logs: Mutex::new(LogRing {
                lines: VecDeque::new(),
                next_seq: 1,
            }),
            events,
        }
    }

    /// A copy of the current status.
    pub fn status(&self) -> Status {
        self.status
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Changes the status and tells subscribers if anything changed.
    pub fn update_status(&self, change: impl FnOnce(&mut Status)) {
        let mut status = self.status.write().unwrap_or_else(PoisonError::into_inner);
        let before = status.clone();
        change(&mut status);
        if *status != before {
            self.publish(Event::Status(Box::new(status.clone())));
        }
    }

    /// Pushes a newly stored config, so that every open page shows it.
    pub fn publish_config(&self, config: serde_json::Value) {
        self.publish(Event::Config(config));
    }

    /// Pushes the verdict of a run that ended against its baselines.
    pub fn publish_regression(&self, notice: RegressionNotice) {
        self.publish(Event::Regression(Box::new(notice)));
    }

    /// Records a metrics reading in the status and the run's history, and
    /// pushes it.
    pub fn publish_metrics(&self, point: MetricsPoint) {
        {
            let mut history = self.metrics.lock().unwrap_or_else(PoisonError::into_inner);
            if history
                .front()
                .is_some_and(|first| first.run_id != point.run_id)
            {
                history.clear();
            }
            if history.len() == MAX_METRICS_POINTS {
                history.pop_front();
            }
            history.push_back(point.clone());
        }
        {
            let mut status = self.status.write().unwrap_or_else(PoisonError::into_inner);
            status.current_user_count = point.vus;
            status.metrics = Some(point.clone());
        }
        self.publish(Event::Metrics(Box::new(point)));
    }

    /// The metrics readings of the current (or last) run, oldest first.
    pub fn metrics_history(&self) -> Vec<MetricsPoint> {
        self.metrics
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }

    /// Keeps log lines (numbering them, cutting long messages) and pushes
    /// them — at most [`MAX_LIVE_LOG_LINES`] of them — as one event.
    /// Returns the last sequence number given.
    pub fn push_logs(&self, mut lines: Vec<LogLine>) -> Option<u64> {
        if lines.is_empty() {
            return None;
        }
        let last = {
            let mut ring = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
            for line in &mut lines {
                truncate_at_char_boundary(&mut line.message, MAX_LOG_MESSAGE_BYTES);
                line.seq = ring.next_seq;
                ring.next_seq += 1;
                if ring.lines.len() == MAX_LOG_LINES {
                    ring.lines.pop_front();
                }
                ring.lines.push_back(line.clone());
            }
            ring.next_seq - 1
        };
        self.publish(Event::Logs(live_sample(lines)));
        Some(last)
    }

    /// The sequence number of the newest kept line (0 before any).
    pub fn last_log_seq(&self) -> u64 {
        self.logs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .next_seq
            - 1
    }

    /// Kept log lines that pass `filter`, oldest first: with `since`, the
    /// first `limit` lines after it (so that a reader following the last
    /// `seq` misses nothing); without, the newest `limit` (a tail).
    pub fn logs(&self, filter: &LogFilter, limit: usize) -> Vec<LogLine> {
        let ring = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
        let wanted = |line: &&LogLine| {
            filter.since.is_none_or(|since| line.seq > since)
                && (filter.levels.is_empty() || filter.levels.contains(&line.level))
                && filter.run_id.as_deref().is_none_or(|id| line.run_id == id)
        };
        let lines = ring.lines.iter().filter(wanted);
        if filter.since.is_some() {
            return lines.take(limit).cloned().collect();
        }
        let mut tail: Vec<LogLine> = lines.rev().take(limit).cloned().collect();
        tail.reverse();
        tail
    }

    /// A receiver of every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Published>> {
        self.events.subscribe()
    }

    fn publish(&self, event: Event) {
        // No subscriber is not an error: the state is kept all the same.
        let _ = self.events.send(Published::new(event));
    }
}

/// The lines of a batch sent live: all of them if they fit in
/// [`MAX_LIVE_LOG_LINES`], else the newest warnings and errors and then the
/// newest of the rest, in their order.
fn live_sample(lines: Vec<LogLine>) -> Vec<LogLine> {
    if lines.len() <= MAX_LIVE_LOG_LINES {
        return lines;
    }
    let serious = lines
        .iter()
        .filter(|line| line.level >= LogLevel::Warning)
        .count()
        .min(MAX_LIVE_LOG_LINES);
    let mut others = MAX_LIVE_LOG_LINES - serious;
    let mut serious_left = serious;
    let mut keep = vec![false; lines.len()];
    for (index, line) in lines.iter().enumerate().rev() {
        let quota = if line.level >= LogLevel::Warning {
            &mut serious_left
        } else {
            &mut others
        };
        if *quota > 0 {
            *quota -= 1;
            keep[index] = true;
        }
    }
    lines
        .into_iter()
        .zip(keep)
        .filter_map(|(line, kept)| kept.then_some(line))
        .collect()
}

fn truncate_at_char_boundary(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LogStream;

    fn line(level: LogLevel, message: &str) -> LogLine {
        LogLine {
            seq: 0,
            time: String::new(),
            run_id: "r".into(),
            script: "s.js".into(),
            step: 1,
            stream: LogStream::Stderr,
            level,
            message: message.into(),
        }
    }

    fn seqs(lines: Vec<LogLine>) -> Vec<u64> {
        lines.iter().map(|l| l.seq).collect()
    }

    #[test]
    fn logs_are_numbered_filtered_and_bounded() {
        let hub = Hub::new();
        for i in 0..MAX_LOG_LINES + 10 {
            let level = if i % 2 == 0 {
                LogLevel::Info
            } else {
                LogLevel::Error
            };
            hub.push_logs(vec![line(level, &format!("m{i}"))]);
        }
        let all = hub.logs(&LogFilter::default(), usize::MAX);
        assert_eq!(all.len(), MAX_LOG_LINES);
        assert_eq!(all.first().unwrap().seq, 11);
        // Without `since`: the newest lines, oldest first.
        let errors = LogFilter {
            levels: vec![LogLevel::Error],
            ..LogFilter::default()
        };
        assert_eq!(seqs(hub.logs(&errors, 3)), [5006, 5008, 5010]);
        let after = LogFilter {
            since: Some(5010),
            ..LogFilter::default()
        };
        assert!(hub.logs(&after, 10).is_empty());
        assert_eq!(hub.last_log_seq(), 5010);
    }

    /// A reader that follows `seq` page by page sees every kept line once.
    #[test]
    fn paging_with_since_misses_no_line() {
        let hub = Hub::new();
        let batch: Vec<LogLine> = (0..46)
            .map(|i| line(LogLevel::Info, &format!("m{i}")))
            .collect();
        assert_eq!(hub.push_logs(batch), Some(46));
        let page = |since| {
            let filter = LogFilter {
                since: Some(since),
                ..LogFilter::default()
            };
            seqs(hub.logs(&filter, 5))
        };
        assert_eq!(page(2), [3, 4, 5, 6, 7]);
        let mut since = 0;
        let mut seen = Vec::new();
        for _ in 0..20 {
            let lines = page(since);
            let Some(&last) = lines.last() else { break };
            seen.extend(lines);
            since = last;
        }
        assert_eq!(seen, (1..=46).collect::<Vec<u64>>());
    }

    #[test]
    fn long_messages_are_cut_at_a_character_boundary() {
        let hub = Hub::new();
        hub.push_logs(vec![line(
            LogLevel::Info,
            &"é".repeat(MAX_LOG_MESSAGE_BYTES),
        )]);
        let kept = &hub.logs(&LogFilter::default(), 1)[0].message;
        assert!(kept.len() <= MAX_LOG_MESSAGE_BYTES + '…'.len_utf8());
    }

    #[test]
    fn metrics_history_is_per_run_and_bounded() {
        let hub = Hub::new();
        let point = |run: &str, at_ms| MetricsPoint {
            run_id: run.into(),
            at_ms,
            ..MetricsPoint::default()
        };
        for at in 0..MAX_METRICS_POINTS as u64 + 5 {
            hub.publish_metrics(point("r1", at));
        }
        let history = hub.metrics_history();
        assert_eq!(history.len(), MAX_METRICS_POINTS);
        assert_eq!(history[0].at_ms, 5);
        hub.publish_metrics(point("r2", 0));
        assert_eq!(
            hub.metrics_history().len(),
            1,
            "a new run starts a new history"
        );
    }

    #[tokio::test]
    async fn status_changes_are_broadcast_once() {
        let hub = Hub::new();
        let mut events = hub.subscribe();
        hub.update_status(|s| s.is_running = true);
        hub.update_status(|s| s.is_running = true);
        let first = events.recv().await.unwrap();
        assert!(matches!(first.event(), Event::Status(s) if s.is_running));
        assert!(events.try_recv().is_err());
    }

    /// A flood of lines is kept whole but sent thinned: the newest lines,
    /// warnings and errors first, in order, their `seq` showing the gap.
    #[tokio::test]
    async fn a_large_batch_is_kept_whole_and_sent_thinned() {
        let hub = Hub::new();
        let mut events = hub.subscribe();
        let batch: Vec<LogLine> = (0..1_000)
            .map(|i| {
                let level = if i == 10 || i == 500 {
                    LogLevel::Error
                } else {
                    LogLevel::Info
                };
                line(level, &format!("m{i}"))
            })
            .collect();
        assert_eq!(hub.push_logs(batch), Some(1_000));
        assert_eq!(hub.logs(&LogFilter::default(), usize::MAX).len(), 1_000);
        let event = events.recv().await.unwrap();
        let Event::Logs(sent) = event.event() else {
            panic!("expected a logs event, got {:?}", event.event());
        };
        let mut expected = vec![11, 501];
        expected.extend(1_000 - (MAX_LIVE_LOG_LINES as u64 - 2) + 1..=1_000);
        assert_eq!(seqs(sent.clone()), expected);
        // A small batch is sent whole.
        hub.push_logs(vec![line(LogLevel::Info, "a"), line(LogLevel::Info, "b")]);
        let Event::Logs(sent) = events.recv().await.unwrap().event().clone() else {
            panic!("expected a logs event");
        };
        assert_eq!(seqs(sent), [1_001, 1_002]);
    }

    /// A batch of lines is one event, and every subscriber shares its JSON:
    /// it is written once, not once per subscriber.
    #[tokio::test]
    async fn a_batch_is_one_event_with_one_shared_json_text() {
        let hub = Hub::new();
        let (mut a, mut b) = (hub.subscribe(), hub.subscribe());
        hub.push_logs(vec![line(LogLevel::Info, "x"), line(LogLevel::Info, "y")]);
        let (seen_a, seen_b) = (a.recv().await.unwrap(), b.recv().await.unwrap());
        assert!(Arc::ptr_eq(&seen_a, &seen_b));
        let json = seen_a.json();
        assert!(Arc::ptr_eq(&json, &seen_b.json()));
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["type"], "logs");
        assert_eq!(value["data"][1]["message"], "y");
        assert_eq!(value["data"][0]["seq"], 1);
        assert!(a.try_recv().is_err());
    }
}
