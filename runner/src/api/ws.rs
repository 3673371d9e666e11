//! `GET /ws`: a WebSocket that first sends the current status and the
//! stored config, then every change as JSON
//! (`{"type": "status"|"metrics"|"logs"|"config"|"regression"|"lagged", "data": …}`).
//!
//! A client costs the run nothing: each event's JSON is written once and
//! shared (see [`crate::hub`]); a client drains whatever is waiting, sends
//! only the newest status of a burst, and writes everything in one flush.
//! A client that falls behind the hub's buffer is told how much it missed
//! (`lagged`, with the newest log line's `seq`, so it can reload from
//! `GET /logs?since=`) and then gets the current status; one that does not
//! take what it is sent within [`WRITE_TIMEOUT`] is closed, so a stuck
//! client holds no buffers for long.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use warp::ws::{Message, WebSocket};

use crate::hub::{Event, Published};
use crate::service::Service;

/// How long one flush to a client may take before the client is closed.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Most events sent in one flush.
const MAX_EVENTS_PER_FLUSH: usize = 64;
/// A client is sent at most one flush in this time; what comes meanwhile
/// waits in the hub's buffer and goes in the next one. Ten flushes a second
/// look live, and keep the wake-ups and system calls of 200 watchers from
/// taking CPU that a load test on the same machine needs.
const MIN_FLUSH_INTERVAL: Duration = Duration::from_millis(100);

/// The WebSocket: status, config, metrics and logs pushed as they change.
///
/// Each message is a JSON text `{"type": …, "data": …}`: first the current
/// `status` (a `Status`) and `config` (a `Config`), then `status`,
/// `metrics` (a `MetricsPoint`), `logs` (`LogLine`s), `config`,
/// `regression` and `lagged` (`{"missedEvents", "lastLogSeq"}`) events.
/// A browser passes its token as `?access_token=`. The connection is
/// served until the client goes away, stops taking what it is sent, or
/// the service's events end.
#[utoipa::path(get, path = "/ws", tag = "runs", operation_id = "websocket",
    security(("bearer" = ["viewer"]), ("access_token" = ["viewer"])),
    extensions(("x-websocket-messages" = json!({
        "description": "Each text message the server sends.",
        "oneOf": [{"$ref": "#/components/schemas/Event"}, {"$ref": "#/components/schemas/Notice"}]
    }))),
    responses(
        (status = 101, description = "Switched to the WebSocket protocol."),
    ))]
pub async fn serve_client(socket: WebSocket, service: Arc<Service>) {
    let (mut sink, mut incoming) = socket.split();
    // Subscribed first, then the snapshot: whatever changes after it
    // arrives as an event, so a client that connects while a config is
    // being saved cannot miss it.
    let mut events = service.subscribe();
    let snapshot = [
        Event::Status(Box::new(service.status())),
        Event::Config((*service.config_value()).clone()),
    ];
    let texts = snapshot
        .iter()
        .map(|event| serde_json::to_string(event).unwrap_or_default());
    if send_all(&mut sink, texts).await.is_err() {
        return;
    }
    loop {
        let first = tokio::select! {
            event = events.recv() => event,
            message = incoming.next() => match message {
                Some(Ok(message)) if message.is_close() => return,
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return,
            },
        };
        let mut batch = Batch::default();
        match first {
            Ok(published) => batch.push(published),
            Err(RecvError::Lagged(missed)) => batch.lagged(missed, &service),
            Err(RecvError::Closed) => return,
        }
        // Whatever else is already waiting goes in the same flush.
        while batch.len() < MAX_EVENTS_PER_FLUSH {
            match events.try_recv() {
                Ok(published) => batch.push(published),
                Err(TryRecvError::Lagged(missed)) => batch.lagged(missed, &service),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Closed) => return,
            }
        }
        if send_all(&mut sink, batch.texts()).await.is_err() {
            return;
        }
        tokio::time::sleep(MIN_FLUSH_INTERVAL).await;
    }
}

/// What the socket itself tells a client, besides the service's
/// [`Event`]s (same `{"type", "data"}` shape).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", content = "data", rename_all = "camelCase")]
pub enum Notice {
    /// The client fell behind and missed events; the current status
    /// follows.
    Lagged(Lagged),
}

/// How much a client missed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Lagged {
    /// Events it missed.
    pub missed_events: u64,
    /// The newest log line's `seq`, to reload from with `GET /logs?since=`.
    pub last_log_seq: u64,
}

/// The events of one flush: every event in order, but of several status
/// changes only the last (it says everything the earlier ones did).
#[derive(Default)]
struct Batch {
    items: Vec<Item>,
}

enum Item {
    Shared(Arc<Published>),
    Own(String),
}

impl Batch {
    fn len(&self) -> usize {
        self.items.len()
    }

    fn push(&mut self, published: Arc<Published>) {
        if matches!(published.event(), Event::Status(_)) {
            self.items.retain(
                |item| !matches!(item, Item::Shared(p) if matches!(p.event(), Event::Status(_))),
            );
        }
        self.items.push(Item::Shared(published));
    }

    /// The client missed `missed` events: it is told so, and gets the
    /// status as it is now.
    fn lagged(&mut self, missed: u64, service: &Service) {
        let notice = Notice::Lagged(Lagged {
            missed_events: missed,
            last_log_seq: service.last_log_seq(),
        });
        self.items.push(Item::Own(
            serde_json::to_string(&notice).unwrap_or_default(),
        ));
        let status = Event::Status(Box::new(service.status()));
        self.items.push(Item::Own(
            serde_json::to_string(&status).unwrap_or_default(),
        ));
    }

    fn texts(&self) -> impl Iterator<Item = String> + '_ {
        self.items.iter().map(|item| match item {
            Item::Shared(published) => published.json().to_string(),
            Item::Own(text) => text.clone(),
        })
    }
}

/// Writes every text and flushes once, within [`WRITE_TIMEOUT`].
async fn send_all<S>(sink: &mut S, texts: impl Iterator<Item = String>) -> Result<(), ()>
where
    S: futures_util::Sink<Message> + Unpin,
{
    let write = async {
        for text in texts {
            sink.feed(Message::text(text)).await.map_err(|_| ())?;
        }
        sink.flush().await.map_err(|_| ())
    };
    tokio::time::timeout(WRITE_TIMEOUT, write)
        .await
        .map_err(|_| ())?
}
