//! `GET /ws`: a WebSocket that first sends the current status and the
//! stored config, then every status change, metrics reading, log line and
//! stored config as JSON
//! (`{"type": "status"|"metrics"|"log"|"config", "data": {...}}`).

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use warp::ws::{Message, WebSocket};

use crate::hub::Event;
use crate::service::Service;

/// Serves one client until it goes away or the service's events end.
pub async fn serve_client(socket: WebSocket, service: Arc<Service>) {
    let (mut sink, mut incoming) = socket.split();
    // Subscribed first, then the snapshot: whatever changes after it
    // arrives as an event, so a client that connects while a config is
    // being saved cannot miss it.
    let mut events = service.subscribe();
    let config = serde_json::from_str(&service.config().1).unwrap_or_default();
    for snapshot in [Event::Status(service.status()), Event::Config(config)] {
        if send(&mut sink, &snapshot).await.is_err() {
            return;
        }
    }
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(event) => if send(&mut sink, &event).await.is_err() { return },
                // Too slow to keep up: skip to the present, starting with
                // the current status so the client is not left stale.
                Err(RecvError::Lagged(_)) => if send(&mut sink, &Event::Status(service.status())).await.is_err() { return },
                Err(RecvError::Closed) => return,
            },
            message = incoming.next() => match message {
                Some(Ok(message)) if message.is_close() => return,
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            },
        }
    }
}

async fn send<S>(sink: &mut S, event: &Event) -> Result<(), ()>
where
    S: futures_util::Sink<Message> + Unpin,
{
    let text = serde_json::to_string(event).map_err(|_| ())?;
    sink.send(Message::text(text)).await.map_err(|_| ())
}
