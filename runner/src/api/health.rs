//! `GET /health`: whether this runner is up and can run k6 — for the
//! supervisor of a runner run as a sidecar (a host in another language, a
//! systemd health check, a load balancer).
//!
//! It needs no token, so it says nothing a stranger could use: only
//! `service` (always `"k6-runner"`, so a supervisor knows the port it
//! polls is this runner's and not another program's), `ready`, and when
//! not ready a fixed `reason`. No version, path, run, config or user.
//!
//! - **200** `{"service": "k6-runner", "ready": true}`: the service is
//!   built (core loaded, data directory open and locked, config loaded)
//!   and k6 was found and its version read.
//! - **503** `{"service": "k6-runner", "ready": false, "reason": "..."}`:
//!   the runner serves, but a start would be refused with 503 because k6
//!   is not usable (the runner's log says why; k6 is looked for again at
//!   the next start). The runner is alive: a supervisor that restarts it
//!   for this gains nothing.
//!
//! No answer at all means the runner is not (yet) serving.

use std::sync::Arc;

use serde::Serialize;
use warp::filters::BoxedFilter;
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::service::Service;

/// What `GET /health` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `"k6-runner"`.
    pub service: &'static str,
    /// The runner can start a run.
    pub ready: bool,
    /// Why not, when not ready: a fixed text, never a path or a secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// The reason given while k6 is not usable.
pub const K6_NOT_USABLE: &str = "k6 is not usable (not found, or its version could not be read): \
     the runner's log says why; it is looked for again at the next start";

impl Health {
    /// The health of `service` now.
    pub fn of(service: &Service) -> Self {
        let ready = service.status().k6_version.is_some();
        Self {
            service: "k6-runner",
            ready,
            reason: (!ready).then_some(K6_NOT_USABLE),
        }
    }
}

/// Whether this runner is up and can run k6, open to every caller
/// whatever the API's auth; never cached.
///
/// `HEAD` answers the same status without the body.
#[utoipa::path(get, path = "/health", tag = "health", operation_id = "health",
    security(()),
    responses(
        (status = 200, description = "Ready: k6 was found.", body = Health),
        (status = 503, description = "Serving, but k6 is not usable: a start would be refused.", body = Health),
    ))]
pub fn route(service: Arc<Service>) -> BoxedFilter<(Response,)> {
    warp::path!("health")
        .and(warp::get().or(warp::head()).unify())
        .map(move || {
            let health = Health::of(&service);
            let status = if health.ready {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            let mut response =
                warp::reply::with_status(warp::reply::json(&health), status).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        })
        .boxed()
}
