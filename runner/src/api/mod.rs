//! The REST API and WebSocket, as warp filters a host can mount anywhere.
//!
//! Routes (relative to where they are mounted, `/api/k6` by default):
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | /config | current config |
//! | PUT | /config | replace config (422 with field errors) |
//! | POST | /config/reset | back to defaults |
//! | POST | /start | start a suite run (409 if one runs) |
//! | POST | /stop | stop the current run (idempotent) |
//! | GET | /status | live status |
//! | GET | /whoami | the caller's name and role |
//! | GET | /logs | recent log lines (`?since=&limit=&level=&run=`) |
//! | GET | /metrics | the live readings of the current or last run |
//! | GET | /results | the last run's record |
//! | GET | /runs/{id} | a run's record |
//! | GET | /runs/{id}/files/{path} | a file a step left in the run's folder |
//! | GET | /runs | the history, newest first (`?limit=&before=&script=&state=&from=&to=`) |
//! | GET | /runs/{id}/metrics | a run's per-second series |
//! | DELETE | /runs/{id} | delete a run, its history and files (operators) |
//! | PUT, DELETE | /runs/{id}/baseline | make a run its entries' baseline, or not (operators) |
//! | GET | /compare | two runs compared (`?base=&run=`), with budget verdicts |
//! | GET | /runs/{id}/report.html, /compare/report.html | offline HTML reports |
//! | GET | /runs/{id}/junit.xml | thresholds and checks as JUnit test cases |
//! | GET | /trend | one metric of one script over the last runs (`?script=&metric=&stat=&limit=`) |
//! | GET | /script | the rendered `k6_all.sh` |
//! | GET | /scripts | the script catalogue |
//! | GET | /export/k6-operator | the config as k6-operator manifests (`?parallelism=N…`, see `export`) |
//! | WS | /ws | status, metrics and logs pushed |
//! | GET | /audit | the audit log's newest entries (operators) |
//! | GET | /webhooks/deliveries | the newest webhook deliveries, newest first (`?limit=`; operators) |
//! | GET, POST | /schedules | the schedules; a new one (operators; see `schedules`) |
//! | GET, PUT, DELETE | /schedules/{id} | a schedule; replace it, delete it (operators) |
//! | GET | /schedules/{id}/fires | its newest fires, newest first (`?limit=`) |
//! | GET | /health | readiness, open to all (see `health`) |
//! | GET | /openapi.json | this table as an OpenAPI 3.1 document, open to all (see [`openapi`]) |
//!
//! Every answer is counted in `k6_runner_api_requests_total` by its
//! route's pattern (see [`crate::prometheus`], whose [`route`](crate::prometheus::route)
//! serves the Prometheus text; the standalone server mounts it at `/metrics`).
//!
//! GET routes and the WebSocket need the viewer role; config changes,
//! start, stop, deleting runs, baselines, schedule changes, the audit log
//! and the webhook deliveries need the operator role (see [`Auth`]).
//! `/health` needs no role: it tells a supervisor whether the runner
//! can run k6, and nothing else; nor does `/openapi.json`, which
//! describes the API and nothing of the runner's state.

pub(crate) mod access;
pub(crate) mod error;
mod export;
mod handlers;
mod health;
mod history;
pub mod openapi;
mod query;
mod replies;
mod reports;
mod runs;
mod schedules;
mod ws;

use std::sync::Arc;

use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::auth::{Identity, Role};
use crate::service::Service;
pub use access::{Auth, bearer_auth, same_origin};
use access::{Needs, require};
pub use error::{ApiError, ErrorBody};

/// Largest request body accepted, in bytes. A config is a few hundred
/// bytes; this leaves room for 50 long script names and nothing more.
pub const MAX_BODY_BYTES: u64 = 64 * 1024;

/// The service, handed to each handler.
fn with_service(
    service: Arc<Service>,
) -> impl Filter<Extract = (Arc<Service>,), Error = std::convert::Infallible> + Clone {
    warp::any().map(move || service.clone())
}

/// Every route, unprefixed, with errors in the API's JSON shape and
/// callers checked by `auth`. Mount it with
/// `warp::path("api").and(warp::path("k6")).and(routes(service, auth))`.
pub fn routes(service: Arc<Service>, auth: Auth) -> BoxedFilter<(Response,)> {
    let s = || with_service(service.clone());
    let needs = |role, action, query_token| Needs {
        role,
        action,
        query_token,
    };
    let view = || require(service.clone(), &auth, needs(Role::Viewer, None, false));
    let operate = |action| {
        require(
            service.clone(),
            &auth,
            needs(Role::Operator, Some(action), false),
        )
    };

    // Caller before method: `/config` also takes PUT, and a host's own
    // auth refuses in its own words, so a refused PUT must not end up as
    // this route's 405.
    let get_config = warp::path!("config")
        .and(view())
        .and(warp::get())
        .and(s())
        .and_then(handlers::get_config);
    let put_config = warp::path!("config")
        .and(warp::put())
        .and(operate("config.update"))
        .and(s())
        .and(json_body())
        .and_then(handlers::put_config);
    let reset = warp::path!("config" / "reset")
        .and(warp::post())
        .and(operate("config.reset"))
        .and(s())
        .and_then(handlers::reset_config);
    let start = warp::path!("start")
        .and(warp::post())
        .and(operate("run.start"))
        .and(s())
        .and_then(handlers::start);
    let stop = warp::path!("stop")
        .and(warp::post())
        .and(operate("run.stop"))
        .and(s())
        .and_then(handlers::stop);
    let status = warp::path!("status")
        .and(warp::get())
        .and(view())
        .and(s())
        .and_then(handlers::status);
    let whoami = warp::path!("whoami")
        .and(warp::get())
        .and(view())
        .and_then(handlers::whoami);
    let logs = warp::path!("logs")
        .and(warp::get())
        .and(view())
        .and(s())
        .and(query::query::<handlers::LogQuery>())
        .and_then(handlers::logs);
    let metrics = warp::path!("metrics")
        .and(warp::get())
        .and(view())
        .and(s())
        .and_then(handlers::metrics);
    let results = warp::path!("results")
        .and(warp::get())
        .and(view())
        .and(s())
        .and_then(handlers::results);
    let script = warp::path!("script")
        .and(warp::get())
        .and(view())
        .and(s())
        .and_then(handlers::script);
    let export_k6_operator = warp::path!("export" / "k6-operator")
        .and(warp::get())
        .and(view())
        .and(s())
        .and(query::query::<export::ExportQuery>())
        .and_then(export::k6_operator);
    let scripts = warp::path!("scripts")
        .and(warp::get())
        .and(view())
        .and(s())
        .and_then(handlers::scripts);
    // Reads that only operators may make (not control actions, so a
    // refusal is not audited).
    let operator_read = || require(service.clone(), &auth, needs(Role::Operator, None, false));
    let audit = warp::path!("audit")
        .and(warp::get())
        .and(operator_read())
        .and(s())
        .and(query::query::<handlers::NewestQuery>())
        .and_then(handlers::audit_log);
    let deliveries = warp::path!("webhooks" / "deliveries")
        .and(warp::get())
        .and(operator_read())
        .and(s())
        .and(query::query::<handlers::NewestQuery>())
        .and_then(handlers::webhook_deliveries);
    let ws = warp::path!("ws")
        .and(warp::ws())
        .and(require(
            service.clone(),
            &auth,
            needs(Role::Viewer, None, true),
        ))
        .and(s())
        .map(
            |upgrade: warp::ws::Ws, _: Identity, service: Arc<Service>| {
                upgrade
                    .on_upgrade(move |socket| ws::serve_client(socket, service))
                    .into_response()
            },
        );

    let answered = health::route(service.clone())
        .or(openapi::openapi_json())
        .unify()
        .or(get_config)
        .unify()
        .or(put_config)
        .unify()
        .or(reset)
        .unify()
        .or(start)
        .unify()
        .or(stop)
        .unify()
        .or(status)
        .unify()
        .or(whoami)
        .unify()
        .or(logs)
        .unify()
        .or(metrics)
        .unify()
        .or(results)
        .unify()
        .or(script)
        .unify()
        .or(scripts)
        .unify()
        .or(export_k6_operator)
        .unify()
        // Boxed half-way: a chain of this many `or`s is a type deep enough
        // to overflow the compiler's recursion limit in a release build.
        .boxed()
        .or(audit)
        .unify()
        .or(deliveries)
        .unify()
        .or(ws)
        .unify()
        .or(runs::routes(service.clone(), view))
        .unify()
        .or(history::routes(service.clone(), view, operate))
        .unify()
        .or(schedules::routes(service.clone(), view, operate))
        .unify()
        .or(reports::routes(service.clone(), view))
        .unify()
        .recover(error::recover)
        .unify();
    // Counted once answered, refusals included, by the route's pattern
    // (`k6_runner_api_requests_total`); a request no route takes is not
    // the API's and goes on uncounted.
    warp::method()
        .and(warp::path::peek())
        .and(answered)
        .map(
            move |method: warp::http::Method, path: warp::path::Peek, response: Response| {
                service
                    .metrics()
                    .api_request(&method, path.as_str(), response.status());
                response
            },
        )
        .boxed()
}

/// The body of a config write: JSON by its content type, at most
/// [`MAX_BODY_BYTES`], with a length. A body refused for its type or size
/// (415, 413, 411) is the handler's `Err`, not a rejection, so that the
/// refused attempt is audited like any other.
fn json_body() -> BoxedFilter<(Result<bytes::Bytes, error::ApiError>,)> {
    json_content_type()
        .and(warp::body::content_length_limit(MAX_BODY_BYTES))
        .and(warp::body::bytes())
        .map(Ok)
        .or_else(|rejection: warp::Rejection| async move {
            match error::request_error(&rejection) {
                Some(refused) => Ok((Err(refused),)),
                None => Err(rejection),
            }
        })
        .boxed()
}

/// Refuses a body that does not say it is JSON (415), before it is read.
fn json_content_type() -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    warp::header::optional::<String>("content-type")
        .and_then(|content_type: Option<String>| async move {
            let is_json = content_type
                .as_deref()
                .and_then(|value| value.split(';').next())
                .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
            if is_json {
                Ok(())
            } else {
                Err(warp::reject::custom(error::ApiError::new(
                    warp::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    format!(
                        "the body must be JSON sent with Content-Type: application/json (got {})",
                        content_type.as_deref().unwrap_or("no Content-Type")
                    ),
                )))
            }
        })
        .untuple_one()
}
