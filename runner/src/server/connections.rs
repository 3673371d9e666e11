//! The standalone server's connections, with limits so that slow or idle
//! clients cannot pin the runner's resources:
//!
//! - [`MAX_CONNECTIONS`] at once (WebSockets included). Past it, new
//!   connections wait in the kernel's accept queue until one ends, as in
//!   mini-redis: the runner never takes more than it can serve.
//! - [`HEADER_READ_TIMEOUT`]: a client must send a whole request head
//!   within it, or the connection is closed. hyper arms this timer as soon
//!   as it waits for a request, so it also closes a keep-alive connection
//!   that stays silent that long.
//! - [`IDLE_TIMEOUT`]: a connection on which nothing at all moves for this
//!   long is closed, whatever it is waiting for (a request body that never
//!   comes, a client that reads no response).
//!
//! A WebSocket leaves hyper once upgraded; its own write timeout
//! (`api::ws::WRITE_TIMEOUT`) closes a client that stops reading.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

/// Most connections served at once. Each costs a task and its buffers; the
/// web page uses two or three, and this leaves room for hundreds of
/// watchers while bounding what a flood of idle sockets can hold.
pub const MAX_CONNECTIONS: usize = 1_024;
/// Longest a client may take to send a request's head (slowloris): a
/// browser or curl sends it in one packet.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a connection may go without any byte read or written.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Largest request head hyper reads (beyond it hyper itself answers 431
/// without a body; the API's own, smaller limits answer in JSON first).
const MAX_HEAD_BUFFER: usize = 128 * 1024;
/// Most header fields hyper accepts in one request.
const MAX_HEADER_FIELDS: usize = 200;

/// The limits a server applies; [`Limits::default`] is the constants above.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_connections: usize,
    pub(crate) header_read_timeout: Duration,
    pub(crate) idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: MAX_CONNECTIONS,
            header_read_timeout: HEADER_READ_TIMEOUT,
            idle_timeout: IDLE_TIMEOUT,
        }
    }
}

/// Serves `service` on `listener` until `shutdown` completes; then stops
/// accepting, lets the open requests finish (at most a few seconds) and
/// returns.
pub(crate) async fn serve<S>(
    listener: TcpListener,
    service: S,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) where
    S: tower_service::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = warp::reply::Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off a
                    // moment rather than spin.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(service.clone());
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let activity = Arc::new(Activity::new());
            // The slot goes with the connection's I/O, so an upgraded
            // WebSocket keeps holding it until it closes.
            let io = Watched {
                inner: TokioIo::new(stream),
                activity: activity.clone(),
                _slot: permit,
            };
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .max_buf_size(MAX_HEAD_BUFFER)
                .max_headers(MAX_HEADER_FIELDS)
                .keep_alive(true)
                .serve_connection(io, service)
                .with_upgrades();
            tokio::pin!(connection);
            let mut idle_check = tokio::time::interval(limits.idle_timeout / 4);
            let mut closing = false;
            loop {
                tokio::select! {
                    _ = connection.as_mut() => break,
                    _ = stopping.changed(), if !closing => {
                        closing = true;
                        connection.as_mut().graceful_shutdown();
                    }
                    _ = idle_check.tick(), if !closing => {
                        if activity.idle_for() >= limits.idle_timeout {
                            closing = true;
                            connection.as_mut().graceful_shutdown();
                        }
                    }
                }
            }
        });
    }
    let _ = stop.send(true);
    // The open requests end by themselves (they are short); give them a
    // moment, then return regardless.
    let _ = tokio::time::timeout(
        Duration::from_secs(5),
        slots.acquire_many(u32::try_from(limits.max_connections).unwrap_or(u32::MAX)),
    )
    .await;
}

/// When a connection last moved a byte.
struct Activity {
    started: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(now, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(last)
    }
}

/// The connection's I/O, noting every byte moved, and holding the
/// connection's slot.
struct Watched<T> {
    inner: T,
    activity: Arc<Activity>,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl<T: Read + Unpin> Read for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if polled.is_ready() {
            self.activity.touch();
        }
        polled
    }
}

impl<T: Write + Unpin> Write for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    use warp::Filter;

    use super::*;

    /// Past the cap a new connection waits: it is answered once another
    /// one ends, not before.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn past_the_cap_a_connection_waits_for_a_free_slot() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let limits = Limits {
            max_connections: 1,
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(30),
        };
        let routes = warp::any().map(|| "ok");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, warp::service(routes), limits, async {
            let _ = stopped.await;
        }));
        let answered = tokio::task::spawn_blocking(move || {
            let first = TcpStream::connect(addr).unwrap();
            // Let the server take the first connection into its one slot.
            std::thread::sleep(Duration::from_millis(200));
            let mut second = TcpStream::connect(addr).unwrap();
            second
                .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
            second
                .set_read_timeout(Some(Duration::from_millis(500)))
                .unwrap();
            let mut buffer = [0u8; 256];
            let early = second.read(&mut buffer);
            assert!(early.is_err(), "answered while the only slot was taken");
            drop(first);
            second
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let n = second.read(&mut buffer).unwrap();
            String::from_utf8_lossy(&buffer[..n]).into_owned()
        })
        .await
        .unwrap();
        assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
        let _ = stop.send(());
        server.await.unwrap();
    }
}
