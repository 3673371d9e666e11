//! The standalone runner's HTTP server: the API under `/api/k6`, request
//! logging, and graceful shutdown that stops any run first.

use std::future::Future;
use std::sync::Arc;

use warp::Filter;

use crate::api::Auth;
use crate::auth::{Tokens, is_loopback};
use crate::service::Service;

/// Why the server refuses to start.
#[derive(Debug, thiserror::Error)]
#[error(
    "refusing to listen on {0} without auth: anyone who can reach it could start processes on this machine. \
     Give tokens (--tokens-file FILE or K6_RUNNER_TOKENS=name:role:secret,...) or bind a loopback address (127.0.0.1)"
)]
pub struct UnprotectedBind(pub std::net::SocketAddr);

/// The auth for a server bound to `addr`: tokens if any are configured;
/// none only on a loopback address.
pub fn auth_for(
    addr: std::net::SocketAddr,
    tokens: Option<Tokens>,
) -> Result<Auth, UnprotectedBind> {
    match tokens.filter(|t| !t.is_empty()) {
        Some(tokens) => Ok(Auth::Tokens(tokens)),
        None if is_loopback(&addr) => Ok(Auth::Open),
        None => Err(UnprotectedBind(addr)),
    }
}

/// The standalone server's routes: the API mounted under `/api/k6`, the
/// web UI at `/`.
pub fn routes(
    service: Arc<Service>,
    auth: Auth,
) -> warp::filters::BoxedFilter<(warp::reply::Response,)> {
    warp::path("api")
        .and(warp::path("k6"))
        .and(crate::api::routes(service, auth))
        .or(crate::ui::routes())
        .unify()
        .recover(not_found)
        .unify()
        .with(warp::log::custom(log_request))
        .map(warp::Reply::into_response)
        .boxed()
}

/// The standalone server's last word on a request no route took: a JSON
/// 404 (or 405) like every other API error. (The API's own filters pass
/// such requests on, so that a host mounting them can still match its own.)
async fn not_found(
    rejection: warp::Rejection,
) -> Result<warp::reply::Response, std::convert::Infallible> {
    use warp::Reply;
    let error = if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        crate::api::error::ApiError::new(
            warp::http::StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed on this path",
        )
    } else {
        crate::api::error::ApiError::new(warp::http::StatusCode::NOT_FOUND, "no such route")
    };
    Ok(error.into_response())
}

fn log_request(info: warp::log::Info<'_>) {
    tracing::info!(
        target: "k6_runner::http",
        method = %info.method(),
        path = info.path(),
        status = info.status().as_u16(),
        elapsed_ms = info.elapsed().as_secs_f64() * 1000.0,
    );
}

/// Serves until `shutdown` completes; then stops any run (waiting for its
/// processes to be gone) before returning.
pub async fn serve(
    service: Arc<Service>,
    auth: Auth,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<()>();
    let stopping = service.clone();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: stopping any run first");
        stopping.shutdown().await;
        let _ = stopped_tx.send(());
    };
    warp::serve(routes(service, auth))
        .incoming(listener)
        .graceful(signal)
        .run()
        .await;
    let _ = stopped_rx.await;
}
