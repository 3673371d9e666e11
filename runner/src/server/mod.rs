//! The standalone runner's HTTP server: the API under `/api/k6`, the
//! Prometheus metrics at `/metrics`, request logging, limits on requests
//! and connections, and graceful shutdown that stops any run first.
//!
//! - `connections`: the accept loop, with its connection cap and timeouts.

mod connections;

pub use connections::{HEADER_READ_TIMEOUT, IDLE_TIMEOUT, MAX_CONNECTIONS};

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
    match tokens {
        Some(tokens) => Ok(Auth::Tokens(tokens)),
        None if is_loopback(&addr) => Ok(Auth::Open),
        None => Err(UnprotectedBind(addr)),
    }
}

/// The standalone server's routes: the API mounted under `/api/k6`, the
/// Prometheus metrics at `/metrics` (viewer role), the web UI at `/`;
/// without tokens, only for requests addressed to a loopback name (see
/// [`loopback_host_only`]).
pub fn routes(
    service: Arc<Service>,
    auth: Auth,
) -> warp::filters::BoxedFilter<(warp::reply::Response,)> {
    let host_guard = match auth {
        Auth::Open => loopback_host_only().boxed(),
        Auth::Tokens(_) | Auth::Host(_) => warp::any().boxed(),
    };
    within_request_limits()
        .and(host_guard)
        .and(
            crate::prometheus::route(service.clone(), &auth)
                .or(warp::path("api")
                    .and(warp::path("k6"))
                    .and(crate::api::routes(service, auth)))
                .unify()
                .or(crate::ui::routes())
                .unify(),
        )
        .recover(not_found)
        .unify()
        .with(warp::log::custom(log_request))
        .map(warp::Reply::into_response)
        .boxed()
}

/// Refuses (403) a request whose `Host` is not a loopback name. Without
/// tokens the runner trusts whoever reaches it on loopback, and a web page
/// from any site can make a browser reach it there: by resolving the page's
/// own name to 127.0.0.1 (DNS rebinding) it becomes same-origin and could
/// read and drive the API. Such requests still carry that foreign name in
/// `Host`. Clients that send no `Host` (HTTP/1.0) are not browsers. A host
/// that mounts the API without auth of its own needs this filter too.
pub fn loopback_host_only() -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    warp::header::optional::<String>("host")
        .and_then(|host: Option<String>| async move {
            match host {
                Some(host) if !is_loopback_host(&host) => {
                    Err(warp::reject::custom(crate::api::ApiError::new(
                        warp::http::StatusCode::FORBIDDEN,
                        format!(
                            "this runner has no tokens, so it answers only requests addressed to \
                             this machine by a loopback name (localhost, 127.0.0.1, [::1]); \
                             Host {host:?} is refused"
                        ),
                    )))
                }
                _ => Ok(()),
            }
        })
        .untuple_one()
}

/// `localhost`, a `*.localhost` name or a loopback address, with or without
/// a port.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The standalone server's last word on a request no route took: a JSON
/// 404 (or 405) like every other API error. (The API's own filters pass
/// such requests on, so that a host mounting them can still match its own.)
async fn not_found(
    rejection: warp::Rejection,
) -> Result<warp::reply::Response, std::convert::Infallible> {
    use warp::Reply;
    if let Some(refused) = rejection.find::<crate::api::ApiError>() {
        return Ok(refused.clone().into_response());
    }
    let error = if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        crate::api::ApiError::new(
            warp::http::StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed on this path",
        )
    } else {
        crate::api::ApiError::new(warp::http::StatusCode::NOT_FOUND, "no such route")
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

/// Longest request target (path and query) accepted, in bytes.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Most bytes of request headers accepted (names and values).
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Refuses, in the API's JSON shape, a request whose target is longer than
/// [`MAX_URI_BYTES`] (414) or whose headers hold more than
/// [`MAX_HEADER_BYTES`] (431). (hyper itself refuses heads over 128 KiB,
/// with a bare 431.)
pub fn within_request_limits() -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    warp::path::full()
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::header::headers_cloned())
        .and_then(
            |path: warp::path::FullPath, query: String, headers: warp::http::HeaderMap| async move {
                let target = path.as_str().len() + query.len();
                if target > MAX_URI_BYTES {
                    return Err(warp::reject::custom(crate::api::ApiError::new(
                        warp::http::StatusCode::URI_TOO_LONG,
                        format!(
                            "the request target is {target} bytes; at most {MAX_URI_BYTES} are accepted"
                        ),
                    )));
                }
                let size: usize = headers
                    .iter()
                    .map(|(name, value)| name.as_str().len() + value.len())
                    .sum();
                if size > MAX_HEADER_BYTES {
                    return Err(warp::reject::custom(crate::api::ApiError::new(
                        warp::http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                        format!(
                            "the request headers hold {size} bytes; at most {MAX_HEADER_BYTES} are accepted"
                        ),
                    )));
                }
                Ok(())
            },
        )
        .untuple_one()
}

/// Serves until `shutdown` completes; then stops any run (waiting for its
/// processes to be gone) before returning. Connections are capped and
/// timed out (see [`MAX_CONNECTIONS`], [`HEADER_READ_TIMEOUT`],
/// [`IDLE_TIMEOUT`]).
pub async fn serve(
    service: Arc<Service>,
    auth: Auth,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let routes = warp::service(routes(service.clone(), auth));
    // The run is stopped while the API still answers (the page sees the
    // stop), then the server stops accepting.
    let stopped = async move {
        shutdown.await;
        tracing::info!("shutting down: stopping any run first");
        service.shutdown().await;
    };
    connections::serve(listener, routes, connections::Limits::default(), stopped).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_pass_and_every_other_host_is_refused() {
        for host in [
            "127.0.0.1:8080",
            "127.0.0.1",
            "127.8.9.10:1",
            "localhost:8080",
            "LOCALHOST",
            "localhost.:8080",
            "app.localhost:8080",
            "[::1]:8080",
            "[::1]",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example",
            "evil.example:8080",
            "127.0.0.1.evil.example:8080",
            "localhost.evil.example",
            "10.0.0.1:8080",
            "[::2]:8080",
            "0.0.0.0:8080",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
