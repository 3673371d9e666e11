//! The delivery log: the newest [`MAX_LOGGED_DELIVERIES`] deliveries, in
//! memory. Deliveries are about the last minutes (is the receiver
//! answering?), not history: after a restart the receivers' own logs and
//! the metrics' counters tell the longer story, and a table in the
//! history database would only grow a migration and a retention rule.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use serde::Serialize;

use super::events::EventKind;

/// Deliveries the log keeps; older ones are forgotten.
pub const MAX_LOGGED_DELIVERIES: usize = 500;

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum DeliveryOutcome {
    /// Queued or being tried.
    Pending,
    /// A 2xx answer.
    Delivered,
    /// Every attempt failed, or the receiver refused it (4xx).
    Failed,
    /// Dropped from a full queue before its first attempt.
    Dropped,
}

/// One delivery, as `GET /api/k6/webhooks/deliveries` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryEntry {
    /// The delivery id (the payload's `id`).
    pub id: String,
    /// The event's type.
    pub event: EventKind,
    /// The run.
    pub run_id: String,
    /// The target URL, without its query.
    pub target: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// The last attempt's HTTP status, if it got one.
    pub last_status: Option<u16>,
    /// The last attempt's error, if it got no answer.
    pub last_error: Option<String>,
    /// Where it is.
    pub outcome: DeliveryOutcome,
    /// When it was queued (RFC 3339).
    pub queued_at: String,
    /// When the last attempt was made.
    pub last_attempt_at: Option<String>,
}

/// The log, shared by the delivery tasks and the API.
#[derive(Debug, Default)]
pub struct DeliveryLog {
    entries: Mutex<VecDeque<DeliveryEntry>>,
}

impl DeliveryLog {
    /// Adds a delivery, forgetting the oldest beyond the bound.
    pub(crate) fn add(&self, entry: DeliveryEntry) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_LOGGED_DELIVERIES {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    /// Changes delivery `id`, if it is still kept.
    pub(crate) fn update(&self, id: &str, change: impl FnOnce(&mut DeliveryEntry)) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = entries.iter_mut().rev().find(|e| e.id == id) {
            change(entry);
        }
    }

    /// The newest `limit` deliveries, newest first.
    pub fn newest(&self, limit: usize) -> Vec<DeliveryEntry> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.iter().rev().take(limit).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: usize) -> DeliveryEntry {
        DeliveryEntry {
            id: id.to_string(),
            event: EventKind::RunStarted,
            run_id: "r".into(),
            target: "http://127.0.0.1/".into(),
            attempts: 0,
            last_status: None,
            last_error: None,
            outcome: DeliveryOutcome::Pending,
            queued_at: String::new(),
            last_attempt_at: None,
        }
    }

    #[test]
    fn the_log_is_bounded_and_newest_first() {
        let log = DeliveryLog::default();
        for id in 0..MAX_LOGGED_DELIVERIES + 3 {
            log.add(entry(id));
        }
        let all = log.newest(usize::MAX);
        assert_eq!(all.len(), MAX_LOGGED_DELIVERIES);
        assert_eq!(all[0].id, (MAX_LOGGED_DELIVERIES + 2).to_string());
        assert_eq!(all.last().unwrap().id, "3");
        log.update("5", |e| e.attempts = 2);
        assert_eq!(
            log.newest(usize::MAX)
                .iter()
                .find(|e| e.id == "5")
                .unwrap()
                .attempts,
            2
        );
        assert_eq!(log.newest(2).len(), 2);
    }
}
