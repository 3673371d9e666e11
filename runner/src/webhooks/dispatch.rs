//! The delivery task: it reads the hub's broadcast, turns events into
//! deliveries (one per event and target), and puts each in its target's
//! queue. Each target has a sender task of its own that delivers its
//! queue in order, one delivery (with its retries) at a time: a receiver
//! gets a run's events in the order they happened, and a dead receiver
//! delays only its own deliveries.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{Notify, broadcast};
use tokio::task::JoinHandle;

use super::events::{EventKind, Watcher};
use super::log::{DeliveryEntry, DeliveryLog, DeliveryOutcome};
use super::retry::{Answer, REQUEST_TIMEOUT, with_retries};
use super::sign::{SIGNATURE_HEADER, TIMESTAMP_HEADER, signature};
use super::{Secret, Target, WebhookConfig, WebhookError};
use crate::hub::Published;
use crate::model::RunRecord;
use crate::prometheus::Metrics;

/// Deliveries waiting to be sent to one target; when full, the oldest is
/// dropped (with a warning, counted as `dropped`) so that a dead receiver
/// costs a bounded amount of memory. A run makes a handful of events, so this
/// only fills when receivers stop answering for many runs.
pub const MAX_QUEUED: usize = 200;

/// One event for one target, its body fixed (the signature is made at
/// each attempt, over that attempt's timestamp).
struct Delivery {
    id: String,
    kind: EventKind,
    target: Arc<Target>,
    body: bytes::Bytes,
}

/// The bounded queue between the watcher and a target's sender.
#[derive(Default)]
struct Queue {
    items: Mutex<VecDeque<Delivery>>,
    ready: Notify,
    /// The watcher has ended (the hub is gone): nothing more comes.
    closed: AtomicBool,
}

impl Queue {
    /// Adds a delivery, returning the oldest one if it had to make room.
    fn push(&self, delivery: Delivery) -> Option<Delivery> {
        let mut items = self.items.lock().unwrap_or_else(PoisonError::into_inner);
        let dropped = (items.len() >= MAX_QUEUED)
            .then(|| items.pop_front())
            .flatten();
        items.push_back(delivery);
        drop(items);
        self.ready.notify_one();
        dropped
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.ready.notify_one();
    }

    fn pop(&self) -> Option<Delivery> {
        self.items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front()
    }
}

/// What a delivery needs besides itself.
struct Sender {
    client: reqwest::Client,
    secret: Secret,
    log: Arc<DeliveryLog>,
    metrics: Arc<Metrics>,
}

/// The running delivery tasks, so that a shutdown can let them finish.
#[derive(Default)]
pub(crate) struct Deliveries {
    /// Tells the watcher to take what the hub has published so far, then
    /// close the queues.
    finish: Arc<Notify>,
    /// The watcher and every target's sender.
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Deliveries {
    /// Lets the deliveries of every event published so far (the end of a
    /// run the shutdown stopped among them) be sent, waiting at most
    /// `grace`; what is still unsent then is given up, with a warning.
    pub(crate) async fn finish(&self, grace: Duration) {
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        if tasks.is_empty() {
            return;
        }
        self.finish.notify_one();
        let all = futures_util::future::join_all(tasks);
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!(
                ?grace,
                "webhook deliveries still unsent at shutdown are given up"
            );
        }
    }
}

/// Starts delivering the events `events` carries to `config`'s targets
/// (nothing is started without targets; targets need a secret). `record`
/// reads a run's record for the payload's figures. The tasks end when the
/// hub is gone, or once [`Deliveries::finish`] is called and the queues
/// are empty.
pub(crate) fn spawn(
    config: WebhookConfig,
    mut events: broadcast::Receiver<Arc<Published>>,
    record: impl Fn(&str) -> Option<RunRecord> + Send + 'static,
    log: Arc<DeliveryLog>,
    metrics: Arc<Metrics>,
) -> Result<Deliveries, WebhookError> {
    if config.targets.is_empty() {
        return Ok(Deliveries::default());
    }
    let Some(secret) = config.secret.clone() else {
        return Err(WebhookError::NoSecret);
    };
    let client = client()?;
    let sender = Arc::new(Sender {
        client,
        secret,
        log: log.clone(),
        metrics: metrics.clone(),
    });
    let mut tasks = Vec::new();
    let targets: Vec<(Arc<Target>, Arc<Queue>)> = config
        .targets
        .into_iter()
        .map(|target| {
            let queue = Arc::new(Queue::default());
            tasks.push(tokio::spawn(send_in_order(queue.clone(), sender.clone())));
            (Arc::new(target), queue)
        })
        .collect();
    let link_base = config.link_base;
    let finish = Arc::new(Notify::new());
    let finishing = finish.clone();
    tasks.push(tokio::spawn(async move {
        let mut watcher = Watcher::default();
        let mut finishing_up = false;
        loop {
            let received = if finishing_up {
                // What the hub published before the shutdown asked, and
                // nothing after.
                events.try_recv().map_err(|error| match error {
                    broadcast::error::TryRecvError::Lagged(missed) => {
                        broadcast::error::RecvError::Lagged(missed)
                    }
                    _ => broadcast::error::RecvError::Closed,
                })
            } else {
                tokio::select! {
                    received = events.recv() => received,
                    () = finishing.notified() => {
                        finishing_up = true;
                        continue;
                    }
                }
            };
            let published = match received {
                Ok(published) => published,
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        missed,
                        "webhooks fell behind the runner's events; some may not be sent"
                    );
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => {
                    for (_, queue) in &targets {
                        queue.close();
                    }
                    return;
                }
            };
            for happened in watcher.observe(published.event()) {
                let run = record(&happened.run_id);
                for (target, queue) in targets.iter().filter(|(t, _)| t.wants(happened.kind)) {
                    let id = delivery_id();
                    let payload =
                        happened
                            .clone()
                            .payload(id.clone(), run.as_ref(), link_base.as_deref());
                    let body = match serde_json::to_vec(&payload) {
                        Ok(body) => bytes::Bytes::from(body),
                        Err(error) => {
                            tracing::error!(%error, "cannot write a webhook payload");
                            continue;
                        }
                    };
                    log.add(DeliveryEntry {
                        id: id.clone(),
                        event: happened.kind,
                        run_id: happened.run_id.clone(),
                        target: target.shown(),
                        attempts: 0,
                        last_status: None,
                        last_error: None,
                        outcome: DeliveryOutcome::Pending,
                        queued_at: payload.time.clone(),
                        last_attempt_at: None,
                    });
                    let delivery = Delivery {
                        id,
                        kind: happened.kind,
                        target: target.clone(),
                        body,
                    };
                    if let Some(dropped) = queue.push(delivery) {
                        tracing::warn!(
                            delivery = %dropped.id, event = dropped.kind.name(), target = %dropped.target.shown(),
                            "webhook queue full ({MAX_QUEUED}); the oldest delivery is dropped"
                        );
                        log.update(&dropped.id, |e| e.outcome = DeliveryOutcome::Dropped);
                        metrics.webhook_delivery(dropped.kind, DeliveryOutcome::Dropped);
                    }
                }
            }
        }
    }));
    Ok(Deliveries {
        finish,
        tasks: Mutex::new(tasks),
    })
}

/// The client every delivery goes through: http and https (rustls, with
/// Mozilla's roots), [`REQUEST_TIMEOUT`] per attempt.
fn client() -> Result<reqwest::Client, WebhookError> {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        // A redirect would carry a signed event to a URL the operator
        // did not configure.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("k6-runner/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(WebhookError::Client)
}

/// Delivers `queue`'s deliveries in order, until it is closed and empty.
async fn send_in_order(queue: Arc<Queue>, sender: Arc<Sender>) {
    loop {
        match queue.pop() {
            Some(delivery) => sender.deliver(delivery).await,
            None if queue.closed.load(Ordering::Acquire) => return,
            None => queue.ready.notified().await,
        }
    }
}

impl Sender {
    async fn deliver(&self, delivery: Delivery) {
        let ended = with_retries(
            || self.attempt(&delivery),
            |attempts, answer| {
                self.log.update(&delivery.id, |entry| {
                    entry.attempts = attempts;
                    entry.last_attempt_at = Some(crate::model::now_rfc3339());
                    (entry.last_status, entry.last_error) = match answer {
                        Answer::Status(code) => (Some(*code), None),
                        Answer::Error(error) => (None, Some(error.clone())),
                    };
                })
            },
        )
        .await;
        let outcome = if ended.delivered {
            DeliveryOutcome::Delivered
        } else {
            tracing::warn!(
                delivery = %delivery.id, event = delivery.kind.name(), target = %delivery.target.shown(),
                attempts = ended.attempts, last = ?ended.last, "webhook delivery failed"
            );
            DeliveryOutcome::Failed
        };
        self.log
            .update(&delivery.id, |entry| entry.outcome = outcome);
        self.metrics.webhook_delivery(delivery.kind, outcome);
    }

    async fn attempt(&self, delivery: &Delivery) -> Answer {
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let sent = self
            .client
            .post(delivery.target.url().clone())
            .header("content-type", "application/json")
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(
                SIGNATURE_HEADER,
                signature(&self.secret, timestamp, &delivery.body),
            )
            .body(delivery.body.clone())
            .send()
            .await;
        match sent {
            Ok(response) => Answer::Status(response.status().as_u16()),
            Err(error) => Answer::Error(error_text(&error)),
        }
    }
}

/// The error and its causes, without the URL (it may carry a query the
/// delivery log leaves out).
fn error_text(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        format!("no answer within {} s", REQUEST_TIMEOUT.as_secs())
    } else if error.is_connect() {
        "cannot connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut cause = std::error::Error::source(error);
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// A random delivery id: 16 bytes, hex. Without randomness (which
/// `getrandom` only lacks on a broken system) the time and a counter.
fn delivery_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        bytes[..8].copy_from_slice(&nanos.to_be_bytes());
        bytes[8..].copy_from_slice(&NEXT.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    }
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(id: usize) -> Delivery {
        Delivery {
            id: id.to_string(),
            kind: EventKind::RunStarted,
            target: Arc::new(Target::new("http://127.0.0.1:9/", None).unwrap()),
            body: bytes::Bytes::new(),
        }
    }

    #[test]
    fn a_full_queue_drops_its_oldest_delivery() {
        let queue = Queue::default();
        for id in 0..MAX_QUEUED {
            assert!(queue.push(delivery(id)).is_none());
        }
        let dropped = queue
            .push(delivery(MAX_QUEUED))
            .expect("the oldest is dropped");
        assert_eq!(dropped.id, "0");
        assert_eq!(queue.pop().unwrap().id, "1");
        let mut left = 1;
        while queue.pop().is_some() {
            left += 1;
        }
        assert_eq!(left, MAX_QUEUED);
    }

    /// An https target is tried (here: nothing listens, so the connection
    /// is refused), not refused by a client without TLS.
    #[tokio::test]
    async fn the_client_speaks_https() {
        let error = client()
            .unwrap()
            .post("https://127.0.0.1:1/hook")
            .send()
            .await
            .unwrap_err();
        // Without TLS the connector refuses the scheme ("invalid URL,
        // scheme is not http"), also as a connect error: the cause tells.
        let text = error_text(&error);
        assert!(text.contains("Connection refused"), "{text}");
    }

    #[test]
    fn delivery_ids_are_distinct() {
        let ids: std::collections::BTreeSet<String> = (0..100).map(|_| delivery_id()).collect();
        assert_eq!(ids.len(), 100);
        assert!(ids.iter().all(|id| id.len() == 32));
    }
}
