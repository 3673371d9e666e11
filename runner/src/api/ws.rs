//! `GET /ws`: a WebSocket that first sends the current status, then every
//! status change, metrics reading and log line as JSON
//! (`{"type": "status"|"metrics"|"log", "data": {...}}`).

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use warp::ws::{Message, WebSocket};

use crate::hub::Event;
use crate::service::Service;

/// Serves one client until it goes away or the service's events end.
pub async fn serve_client(socket: WebSocket, service: Arc<Service>) {
    let (mut sink, mut incoming) = socket.split();
    let mut events = service.subscribe();
    if send(&mut sink, &Event::Status(service.status()))
        .await
        .is_err()
    {
        return;
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
