//! A small local HTTP target for the example scripts, so that the default
//! config runs end to end on a fresh machine without touching any other
//! host. It mirrors the target the k6 fixtures were recorded against:
//!
//! | path | answer |
//! |---|---|
//! | `/fast` | 200 `ok` |
//! | `/slow` | 200 `ok` after 200 ms |
//! | `/err` | 500 `error` |
//! | `/json` | 200 `{"status":"ok","items":[1,2,3]}` |

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use warp::Filter;
use warp::http::StatusCode;

/// The target's routes.
pub fn routes() -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    let fast = warp::path!("fast").map(|| "ok");
    let slow = warp::path!("slow").then(|| async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        "ok"
    });
    let err = warp::path!("err")
        .map(|| warp::reply::with_status("error", StatusCode::INTERNAL_SERVER_ERROR));
    let json = warp::path!("json")
        .map(|| warp::reply::json(&serde_json::json!({"status": "ok", "items": [1, 2, 3]})));
    warp::get().and(fast.or(slow).or(err).or(json))
}

/// Serves the target on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    warp::serve(routes())
        .incoming(listener)
        .graceful(shutdown)
        .run()
        .await;
}

/// Binds `addr` and serves the target in a background task; returns the
/// bound address.
pub async fn spawn(addr: SocketAddr) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(serve(listener, std::future::pending()));
    Ok(bound)
}
