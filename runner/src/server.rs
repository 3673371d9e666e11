//! The standalone runner's HTTP server: the API under `/api/k6`, request
//! logging, and graceful shutdown that stops any run first.

use std::future::Future;
use std::sync::Arc;

use warp::Filter;

use crate::service::Service;

/// The standalone server's routes: the API mounted under `/api/k6`, the
/// web UI at `/`.
pub fn routes(service: Arc<Service>) -> warp::filters::BoxedFilter<(warp::reply::Response,)> {
    warp::path("api")
        .and(warp::path("k6"))
        .and(crate::api::routes(service))
        .or(crate::ui::routes())
        .unify()
        .with(warp::log::custom(log_request))
        .map(warp::Reply::into_response)
        .boxed()
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
    warp::serve(routes(service))
        .incoming(listener)
        .graceful(signal)
        .run()
        .await;
    let _ = stopped_rx.await;
}
