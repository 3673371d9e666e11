//! `GET /openapi.json`: the API as an OpenAPI 3.1 document, derived from
//! the code so that it cannot drift from it: each operation from its
//! handler's `#[utoipa::path]`, each body from the `ToSchema` derive of the
//! type the handler sends (the config, which the core writes, from the one
//! hand-written [`crate::model::ConfigDocument`]).
//!
//! Roles are written once, as each operation's `security` (OpenAPI 3.1
//! lets a scheme's scopes be role names): `with_roles` turns them into
//! the operation's `x-required-role` and the 401 and 403 every guarded
//! operation can answer. A route added to [`super::routes`] gets its
//! handler's `#[utoipa::path]` and one line in [`ApiDoc`]'s `paths`;
//! `tests/openapi/` fails until it has both, and a call (it says how).
//! The server's root `/metrics` (Prometheus text, outside the API's
//! mount point) is not described here.
//!
//! Open to every caller, like `/health`: it describes the API, the same
//! for every runner, and says nothing about runs, configs or users.

use std::sync::LazyLock;

use serde_json::{Value, json};
use utoipa::OpenApi;
use warp::filters::BoxedFilter;
use warp::http::{HeaderValue, header};
use warp::reply::Response;
use warp::{Filter, Reply};

use super::{export, handlers, health, history, reports, runs, schedules, ws};

/// The operations and the documents they refer to (collected from the
/// operations' bodies by utoipa; those only parameters refer to, and the
/// error body that `with_roles` adds, are listed).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "k6-runner API",
        description = "The control plane of Grafana k6 load tests: config, runs, history, \
                       reports, live status. Paths are relative to where the API is mounted \
                       (`/api/k6` by default). Every error is an `ErrorBody`."
    ),
    servers((url = "/api/k6", description = "The standalone runner's mount point")),
    paths(
        handlers::get_config,
        handlers::put_config,
        handlers::reset_config,
        handlers::start,
        handlers::stop,
        handlers::status,
        handlers::whoami,
        handlers::logs,
        handlers::metrics,
        handlers::results,
        handlers::script,
        handlers::scripts,
        handlers::audit_log,
        handlers::webhook_deliveries,
        export::k6_operator,
        runs::run_record,
        runs::run_file,
        history::list_runs,
        history::run_metrics,
        history::delete_run,
        history::put_baseline,
        history::delete_baseline,
        history::compare_runs,
        history::trend,
        reports::run_report,
        reports::junit,
        reports::compare_report,
        schedules::list_schedules,
        schedules::create_schedule,
        schedules::get_schedule,
        schedules::update_schedule,
        schedules::delete_schedule,
        schedules::schedule_fires,
        ws::serve_client,
        health::route,
        openapi_json,
    ),
    components(schemas(super::ErrorBody, crate::history::StateFilter, crate::Event, ws::Notice)),
    tags(
        (name = "config", description = "The suite's config, its scripts and exports"),
        (name = "runs", description = "Starting, stopping and watching the current run"),
        (name = "history", description = "Ended runs, their files, baselines and comparisons"),
        (name = "reports", description = "Offline reports of ended runs"),
        (name = "schedules", description = "Cron schedules that start the suite"),
        (name = "audit", description = "What operators did, and the webhooks sent (operators only)"),
        (name = "auth", description = "The caller"),
        (name = "health", description = "Readiness and this document, open to all"),
    )
)]
pub struct ApiDoc;

/// The document as JSON, built once.
pub fn document() -> &'static str {
    static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
        let mut document = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        with_roles(&mut document);
        serde_json::to_string_pretty(&document).unwrap_or_default()
    });
    &DOCUMENT
}

/// The security schemes, and for every operation that names a role in
/// its `security`: that role as `x-required-role`, and its 401 and 403.
fn with_roles(document: &mut Value) {
    document["components"]["securitySchemes"] = json!({
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "A token of the runner's token file (`name:role:secret`); its \
                            scope is the role it holds: `viewer` (reads, the WebSocket) or \
                            `operator` (also config changes, start, stop, deletes, baselines, \
                            the audit log). An operator may do everything a viewer may. \
                            Without a token file every caller is an operator."
        },
        "access_token": {
            "type": "apiKey",
            "in": "query",
            "name": "access_token",
            "description": "The bearer token, for the WebSocket only (browsers cannot set \
                            its headers)."
        }
    });
    let unauthorized = json!({
        "description": "No valid bearer token (sent with `WWW-Authenticate: Bearer`).",
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    });
    let forbidden = json!({
        "description": "The caller's role is not enough; or, for a control route or the \
                        WebSocket, the request came from another site's page (its `Origin` \
                        is not its `Host`).",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    });
    let Some(paths) = document["paths"].as_object_mut() else {
        return;
    };
    for operation in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter(|operation| operation.is_object())
    {
        let role = operation["security"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
            .flat_map(|requirement| requirement.values())
            .find_map(|scopes| scopes[0].as_str())
            .map(str::to_owned);
        let Some(role) = role else {
            continue;
        };
        operation["x-required-role"] = Value::String(role);
        let responses = &mut operation["responses"];
        responses["401"] = unauthorized.clone();
        responses["403"] = forbidden.clone();
    }
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "health", operation_id = "openapi",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document.", content_type = "application/json")))]
pub fn openapi_json() -> BoxedFilter<(Response,)> {
    warp::path!("openapi.json")
        .and(warp::get())
        .map(|| {
            let mut response = document().to_owned().into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        })
        .boxed()
}
