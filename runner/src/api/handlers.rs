//! What each route does: take the request apart, call the [`Service`],
//! shape the reply, and audit control actions.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use serde::Deserialize;
use utoipa::IntoParams;
use warp::Reply;
use warp::http::{StatusCode, header};
use warp::reply::{self, Response};

use super::error::{ApiError, ErrorBody, respond};
use super::replies::{LiveReadings, LogPage, Stopping, WhoAmI};
use crate::audit::{AuditEntry, AuditOutcome, config_diff};
use crate::auth::Identity;
use crate::contract::StopCause;
use crate::hub::LogFilter;
use crate::model::{ConfigDocument, LogLevel, RunRecord, ScriptInfo, StartedBy, Status};
use crate::service::Service;
use crate::service::StartedRun;
use crate::webhooks::DeliveryEntry;

/// Lines returned by `GET /logs` (and entries by `GET /audit`) when no
/// limit is given.
pub const DEFAULT_LOG_LIMIT: usize = 500;
/// Most lines one `GET /logs` (or entries one `GET /audit`) returns.
pub const MAX_LOG_LIMIT: usize = 5_000;

fn json_text(text: impl Into<String>, status: StatusCode) -> Response {
    let text: String = text.into();
    let mut response = reply::with_status(text, status).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

/// Records a control action's outcome in the audit log: `ok` with
/// `detail`/`diff`, `refused` for what the caller got wrong (4xx), `error`
/// for what failed on the runner's side (5xx).
pub(super) fn audit<T>(
    service: &Service,
    who: &Identity,
    action: &str,
    result: &Result<T, ApiError>,
    ok: impl FnOnce(&T) -> (Option<String>, Option<serde_json::Value>),
) {
    let entry = match result {
        Ok(value) => {
            let (detail, diff) = ok(value);
            AuditEntry {
                diff,
                ..AuditEntry::new(&who.name, action, AuditOutcome::Ok, detail)
            }
        }
        Err(error) => {
            let outcome = if error.status.is_client_error() {
                AuditOutcome::Refused
            } else {
                AuditOutcome::Error
            };
            AuditEntry::new(&who.name, action, outcome, Some(error.body.error.clone()))
        }
    };
    service.audit(entry);
}

/// The current config.
#[utoipa::path(get, path = "/config", tag = "config",
    security(("bearer" = ["viewer"])),
    responses((status = 200, description = "The config, canonical.", body = ConfigDocument)))]
pub async fn get_config(_who: Identity, service: Arc<Service>) -> Result<Response, Infallible> {
    Ok(json_text(&*service.config_json(), StatusCode::OK))
}

/// Replaces the config.
///
/// The core checks every rule; nothing is stored unless all hold. Audited
/// as `config.update`.
#[utoipa::path(put, path = "/config", tag = "config",
    security(("bearer" = ["operator"])),
    request_body(content = ConfigDocument, content_type = "application/json"),
    responses(
        (status = 200, description = "Stored; the config as stored, canonical.", body = ConfigDocument),
        (status = 400, description = "The body is not UTF-8 text.", body = ErrorBody),
        (status = 411, description = "No Content-Length.", body = ErrorBody),
        (status = 413, description = "Larger than 64 KiB.", body = ErrorBody),
        (status = 415, description = "Not sent as application/json.", body = ErrorBody),
        (status = 422, description = "Invalid (or not JSON): every broken rule in `fields`.", body = ErrorBody),
        (status = 500, description = "Storing failed.", body = ErrorBody),
        (status = 507, description = "The disk is full.", body = ErrorBody),
    ))]
pub async fn put_config(
    who: Identity,
    service: Arc<Service>,
    body: Result<Bytes, ApiError>,
) -> Result<Response, Infallible> {
    let before = service.config_value();
    let result = async {
        let text = String::from_utf8(body?.to_vec()).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("the body is not UTF-8 text: {e}"),
            )
        })?;
        Ok(service.put_config(text).await?)
    }
    .await;
    audit(&service, &who, "config.update", &result, |_| {
        (None, Some(config_diff(&before, &service.config_value())))
    });
    respond(result.map(|json| json_text(&*json, StatusCode::OK)))
}

/// Puts the defaults back: every k6 script that runs under the global
/// load. Audited as `config.reset`.
#[utoipa::path(post, path = "/config/reset", tag = "config",
    security(("bearer" = ["operator"])),
    responses(
        (status = 200, description = "The defaults, as stored.", body = ConfigDocument),
        (status = 500, description = "Storing failed.", body = ErrorBody),
        (status = 507, description = "The disk is full.", body = ErrorBody),
    ))]
pub async fn reset_config(who: Identity, service: Arc<Service>) -> Result<Response, Infallible> {
    let before = service.config_value();
    let result = service.reset_config().await.map_err(ApiError::from);
    audit(&service, &who, "config.reset", &result, |_| {
        (None, Some(config_diff(&before, &service.config_value())))
    });
    respond(result.map(|json| json_text(&*json, StatusCode::OK)))
}

/// Starts a suite run with the current config. Audited as `run.start`.
#[utoipa::path(post, path = "/start", tag = "runs",
    security(("bearer" = ["operator"])),
    responses(
        (status = 202, description = "Started.", body = StartedRun),
        (status = 409, description = "A run is in progress.", body = ErrorBody),
        (status = 422, description = "The config cannot be planned.", body = ErrorBody),
        (status = 500, description = "The run could not be set up.", body = ErrorBody),
        (status = 503, description = "k6 is not usable.", body = ErrorBody),
        (status = 507, description = "The disk is full.", body = ErrorBody),
    ))]
pub async fn start(who: Identity, service: Arc<Service>) -> Result<Response, Infallible> {
    let by = StartedBy::Operator {
        name: who.name.clone(),
    };
    let result = service.start_run_by(by).await.map_err(ApiError::from);
    audit(&service, &who, "run.start", &result, |started| {
        (Some(format!("run {}", started.run_id)), None)
    });
    respond(result.map(|started| reply::with_status(reply::json(&started), StatusCode::ACCEPTED)))
}

/// Stops the current run (idempotent). Audited as `run.stop`.
#[utoipa::path(post, path = "/stop", tag = "runs",
    security(("bearer" = ["operator"])),
    responses(
        (status = 200, description = "No run was in progress.", body = Stopping),
        (status = 202, description = "The run is stopping.", body = Stopping),
    ))]
pub async fn stop(who: Identity, service: Arc<Service>) -> Result<Response, Infallible> {
    let stopped = service.stop_run(StopCause::Operator);
    let detail = match &stopped {
        Some(run_id) => format!("run {run_id}"),
        None => "no run was in progress".to_owned(),
    };
    service.audit(AuditEntry::new(
        &who.name,
        "run.stop",
        AuditOutcome::Ok,
        Some(detail),
    ));
    Ok(match stopped {
        Some(run_id) => reply::with_status(
            reply::json(&Stopping {
                stopping: true,
                run_id: Some(run_id),
                message: None,
            }),
            StatusCode::ACCEPTED,
        )
        .into_response(),
        None => reply::json(&Stopping {
            stopping: false,
            run_id: None,
            message: Some("no run is in progress".to_owned()),
        })
        .into_response(),
    })
}

/// The caller's name and role, so that a page shows only the actions the
/// caller may take (a viewer gets no operator buttons; the API refuses
/// them anyway).
#[utoipa::path(get, path = "/whoami", tag = "auth",
    security(("bearer" = ["viewer"])),
    responses((status = 200, description = "The caller.", body = WhoAmI)))]
pub async fn whoami(who: Identity) -> Result<Response, Infallible> {
    Ok(reply::json(&WhoAmI {
        name: who.name,
        role: who.role,
    })
    .into_response())
}

/// The live status.
#[utoipa::path(get, path = "/status", tag = "runs",
    security(("bearer" = ["viewer"])),
    responses((status = 200, description = "The status now.", body = Status)))]
pub async fn status(_who: Identity, service: Arc<Service>) -> Result<Response, Infallible> {
    Ok(reply::json(&service.status()).into_response())
}

/// Query of `GET /logs`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// Only lines after this sequence number, the oldest first; without
    /// it, the newest lines.
    pub since: Option<u64>,
    /// At most this many lines.
    pub limit: Option<usize>,
    /// Only these levels, comma-separated (`warning,error`).
    pub level: Option<String>,
    /// Only lines of this run.
    pub run: Option<String>,
}

/// Recent log lines: the newest, or those after `since`.
#[utoipa::path(get, path = "/logs", tag = "runs", params(LogQuery),
    security(("bearer" = ["viewer"])),
    responses(
        (status = 200, description = "The lines.", body = LogPage),
        (status = 400, description = "A bad query parameter, named.", body = ErrorBody),
    ))]
pub async fn logs(
    _who: Identity,
    service: Arc<Service>,
    query: LogQuery,
) -> Result<Response, Infallible> {
    let mut levels = Vec::new();
    for name in query
        .level
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        match LogLevel::parse(name) {
            Some(level) => levels.push(level),
            None => {
                return respond::<Response>(Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("level {name:?} is not one of debug, info, warning, error"),
                )));
            }
        }
    }
    let limit = query.limit.unwrap_or(DEFAULT_LOG_LIMIT).min(MAX_LOG_LIMIT);
    let filter = LogFilter {
        since: query.since,
        levels,
        run_id: query.run,
    };
    let lines = service.logs(&filter, limit);
    let next = lines
        .last()
        .map_or(query.since.unwrap_or(0), |line| line.seq);
    Ok(reply::json(&LogPage { lines, next }).into_response())
}

/// The live readings of the current (or last) run.
#[utoipa::path(get, path = "/metrics", tag = "runs",
    security(("bearer" = ["viewer"])),
    responses((status = 200, description = "The readings.", body = LiveReadings)))]
pub async fn metrics(_who: Identity, service: Arc<Service>) -> Result<Response, Infallible> {
    let points = service.metrics_history();
    Ok(reply::json(&LiveReadings { points }).into_response())
}

/// The last run's record.
#[utoipa::path(get, path = "/results", tag = "runs",
    security(("bearer" = ["viewer"])),
    responses(
        (status = 200, description = "The record.", body = RunRecord),
        (status = 404, description = "No run yet.", body = ErrorBody),
    ))]
pub async fn results(_who: Identity, service: Arc<Service>) -> Result<Response, Infallible> {
    respond(
        service
            .results()
            .map(|record| reply::json(&record))
            .map_err(ApiError::from),
    )
}

/// The suite as a shell script (`k6_all.sh`) to run by hand.
#[utoipa::path(get, path = "/script", tag = "config",
    security(("bearer" = ["viewer"])),
    responses(
        (status = 200, description = "The script.", body = String, content_type = "text/x-shellscript"),
        (status = 422, description = "The config cannot be rendered.", body = ErrorBody),
        (status = 500, description = "The catalogue could not be read.", body = ErrorBody),
    ))]
pub async fn script(_who: Identity, service: Arc<Service>) -> Result<Response, Infallible> {
    respond(
        service
            .render_script()
            .await
            .map(|text| {
                reply::with_header(
                    text,
                    header::CONTENT_TYPE,
                    "text/x-shellscript; charset=utf-8",
                )
            })
            .map_err(ApiError::from),
    )
}

/// The script catalogue.
#[utoipa::path(get, path = "/scripts", tag = "config",
    security(("bearer" = ["viewer"])),
    responses(
        (status = 200, description = "Every script of the script directories.", body = Vec<ScriptInfo>),
        (status = 500, description = "The catalogue could not be read.", body = ErrorBody),
    ))]
pub async fn scripts(_who: Identity, service: Arc<Service>) -> Result<Response, Infallible> {
    respond(
        service
            .scripts()
            .await
            .map(|scripts| reply::json(&scripts))
            .map_err(ApiError::from),
    )
}

/// Query of `GET /audit` and `GET /webhooks/deliveries`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NewestQuery {
    /// At most this many (newest) entries (audit entries or webhook
    /// deliveries).
    pub limit: Option<usize>,
}

/// The newest webhook deliveries, newest first (the log keeps
/// [`crate::webhooks::MAX_LOGGED_DELIVERIES`]).
#[utoipa::path(get, path = "/webhooks/deliveries", tag = "audit", params(NewestQuery),
    security(("bearer" = ["operator"])),
    responses(
        (status = 200, description = "The deliveries.", body = Vec<DeliveryEntry>),
        (status = 400, description = "A bad query parameter, named.", body = ErrorBody),
    ))]
pub async fn webhook_deliveries(
    _who: Identity,
    service: Arc<Service>,
    query: NewestQuery,
) -> Result<Response, Infallible> {
    let limit = query.limit.unwrap_or(DEFAULT_LOG_LIMIT);
    Ok(reply::json(&service.webhook_deliveries(limit)).into_response())
}

/// The audit log's newest entries, oldest first.
#[utoipa::path(get, path = "/audit", tag = "audit", params(NewestQuery),
    security(("bearer" = ["operator"])),
    responses(
        (status = 200, description = "The entries.", body = Vec<AuditEntry>),
        (status = 400, description = "A bad query parameter, named.", body = ErrorBody),
        (status = 500, description = "The audit log could not be read.", body = ErrorBody),
    ))]
pub async fn audit_log(
    _who: Identity,
    service: Arc<Service>,
    query: NewestQuery,
) -> Result<Response, Infallible> {
    let limit = query.limit.unwrap_or(DEFAULT_LOG_LIMIT).min(MAX_LOG_LIMIT);
    respond(
        service
            .audit_tail(limit)
            .map(|entries| reply::json(&entries))
            .map_err(ApiError::from),
    )
}
