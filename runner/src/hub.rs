//! The runner's live state and its fan-out: the current [`Status`], the
//! recent log lines, and a broadcast of every change for WebSocket clients
//! and embedding hosts.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError, RwLock};

use serde::Serialize;
use tokio::sync::broadcast;

use crate::model::{LogLine, MetricsPoint, Status};

/// Log lines kept in memory for `GET /logs` and new WebSocket clients;
/// older ones are only in the step log files.
pub const MAX_LOG_LINES: usize = 5_000;
/// Longest message kept per log line, in bytes; the rest is cut (the log
/// file has the whole line).
pub const MAX_LOG_MESSAGE_BYTES: usize = 8 * 1024;
/// Metrics readings kept for the current run, so a page opened mid-run can
/// draw its charts from the start: one hour at one reading per second.
pub const MAX_METRICS_POINTS: usize = 3_600;
/// Events buffered per subscriber; a slower subscriber skips the oldest.
pub const EVENT_BUFFER: usize = 1_024;

/// Something that changed, as pushed to subscribers. Variants are sent as
/// they are (not boxed): events are cloned per subscriber anyway, and a
/// status is a few hundred bytes.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "data", rename_all = "camelCase")]
pub enum Event {
    /// The status changed.
    Status(Status),
    /// A live metrics reading of the running step.
    Metrics(MetricsPoint),
    /// A log line.
    Log(LogLine),
    /// The config was saved or reset (by any client): its canonical JSON.
    Config(serde_json::Value),
}

/// Shared live state. Locks are std locks held only to copy or update a
/// value, never across an await.
pub struct Hub {
    status: RwLock<Status>,
    logs: Mutex<LogRing>,
    metrics: Mutex<VecDeque<MetricsPoint>>,
    events: broadcast::Sender<Event>,
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
            let _ = self.events.send(Event::Status(status.clone()));
        }
    }

    /// Pushes a newly stored config, so that every open page shows it.
    pub fn publish_config(&self, config: serde_json::Value) {
        let _ = self.events.send(Event::Config(config));
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
        let _ = self.events.send(Event::Metrics(point));
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

    /// Keeps a log line (numbering it) and pushes it.
    pub fn push_log(&self, mut line: LogLine) -> u64 {
        truncate_at_char_boundary(&mut line.message, MAX_LOG_MESSAGE_BYTES);
        let seq = {
            let mut ring = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
            line.seq = ring.next_seq;
            ring.next_seq += 1;
            if ring.lines.len() == MAX_LOG_LINES {
                ring.lines.pop_front();
            }
            ring.lines.push_back(line.clone());
            line.seq
        };
        let _ = self.events.send(Event::Log(line));
        seq
    }

    /// Kept log lines of the given levels (all if `levels` is empty),
    /// optionally of one run, oldest first: with `since`, the first `limit`
    /// lines after it (so that a reader following the last `seq` misses
    /// nothing); without, the newest `limit` (a tail).
    pub fn logs(
        &self,
        since: Option<u64>,
        limit: usize,
        levels: &[String],
        run_id: Option<&str>,
    ) -> Vec<LogLine> {
        let ring = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
        let wanted = |line: &&LogLine| {
            since.is_none_or(|since| line.seq > since)
                && (levels.is_empty() || levels.contains(&line.level))
                && run_id.is_none_or(|id| line.run_id == id)
        };
        let lines = ring.lines.iter().filter(wanted);
        if since.is_some() {
            return lines.take(limit).cloned().collect();
        }
        let mut tail: Vec<LogLine> = lines.rev().take(limit).cloned().collect();
        tail.reverse();
        tail
    }

    /// A receiver of every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }
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

    fn line(level: &str, message: &str) -> LogLine {
        LogLine {
            seq: 0,
            time: String::new(),
            run_id: "r".into(),
            script: "s.js".into(),
            stream: "stderr".into(),
            level: level.into(),
            message: message.into(),
        }
    }

    #[test]
    fn logs_are_numbered_filtered_and_bounded() {
        let hub = Hub::new();
        for i in 0..MAX_LOG_LINES + 10 {
            hub.push_log(line(
                if i % 2 == 0 { "info" } else { "error" },
                &format!("m{i}"),
            ));
        }
        let seqs = |lines: Vec<LogLine>| lines.iter().map(|l| l.seq).collect::<Vec<_>>();
        let all = hub.logs(None, usize::MAX, &[], None);
        assert_eq!(all.len(), MAX_LOG_LINES);
        assert_eq!(all.first().unwrap().seq, 11);
        // Without `since`: the newest lines, oldest first.
        let errors = hub.logs(None, 3, &["error".into()], None);
        assert_eq!(seqs(errors), [5006, 5008, 5010]);
        assert!(hub.logs(Some(5010), 10, &[], None).is_empty());
    }

    /// A reader that follows `seq` page by page sees every kept line once.
    #[test]
    fn paging_with_since_misses_no_line() {
        let hub = Hub::new();
        for i in 0..46 {
            hub.push_log(line("info", &format!("m{i}")));
        }
        let page = |since| {
            hub.logs(Some(since), 5, &[], None)
                .iter()
                .map(|l| l.seq)
                .collect::<Vec<_>>()
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
        hub.push_log(line("info", &"é".repeat(MAX_LOG_MESSAGE_BYTES)));
        let kept = &hub.logs(None, 1, &[], None)[0].message;
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
        assert!(matches!(events.recv().await.unwrap(), Event::Status(s) if s.is_running));
        assert!(events.try_recv().is_err());
    }
}
