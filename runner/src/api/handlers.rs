//! What each route does: take the request apart, call the [`Service`],
//! shape the reply, and audit control actions.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use serde::Deserialize;
use warp::Reply;
use warp::http::{StatusCode, header};
use warp::reply::{self, Response};

use super::error::{ApiError, respond};
use crate::audit::{AuditEntry, AuditOutcome, config_diff};
use crate::auth::Identity;
use crate::contract::StopCause;
use crate::hub::LogFilter;
use crate::model::{LogLevel, StartedBy};
use crate::service::Service;

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

/// `GET /config`
pub async fn get_config(_who: Identity, service: Arc<Service>) -> Result<Response, Infallible> {
    Ok(json_text(&*service.config_json(), StatusCode::OK))
}

/// `PUT /config`
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

/// `POST /config/reset`
pub async fn reset_config(who: Identity, service: Arc<Service>) -> Result<Response, Infallible> {
    let before = service.config_value();
    let result = service.reset_config().await.map_err(ApiError::from);
    audit(&service, &who, "config.reset", &result, |_| {
        (None, Some(config_diff(&before, &service.config_value())))
    });
    respond(result.map(|json| json_text(&*json, StatusCode::OK)))
}

/// `POST /start`
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

/// `POST /stop`
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
            reply::json(&serde_json::json!({"stopping": true, "runId": run_id})),
            StatusCode::ACCEPTED,
        )
        .into_response(),
        None => {
            reply::json(&serde_json::json!({"stopping": false, "message": "no run is in progress"}))
                .into_response()
        }
    })
}

/// `GET /whoami`: the caller's name and role, so that a page shows only
/// the actions the caller may take (a viewer gets no operator buttons;
/// the API refuses them anyway).
pub async fn whoami(who: Identity) -> Result<Response, Infallible> {
    Ok(reply::json(&serde_json::json!({ "name": who.name, "role": who.role })).into_response())
}

/// `GET /status`
pub async fn status(_who: Identity, service: Arc<Service>) -> Result<Response, Infallible> {
    Ok(reply::json(&service.status()).into_response())
}

/// Query of `GET /logs`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
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

/// `GET /logs?since=&limit=&level=&run=`
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
    Ok(reply::json(&serde_json::json!({"lines": lines, "next": next})).into_response())
}

/// `GET /metrics`: the live readings of the current (or last) run.
pub async fn metrics(_who: Identity, service: Arc<Service>) -> Result<Response, Infallible> {
    Ok(reply::json(&serde_json::json!({"points": service.metrics_history()})).into_response())
}

/// `GET /results`
pub async fn results(_who: Identity, service: Arc<Service>) -> Result<Response, Infallible> {
    respond(
        service
            .results()
            .map(|record| reply::json(&record))
            .map_err(ApiError::from),
    )
}

/// `GET /script`
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

/// `GET /scripts`
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
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewestQuery {
    /// At most this many (newest) entries (audit entries or webhook
    /// deliveries).
    pub limit: Option<usize>,
}

/// `GET /webhooks/deliveries?limit=`: the newest deliveries, newest
/// first (the log keeps [`crate::webhooks::MAX_LOGGED_DELIVERIES`]).
pub async fn webhook_deliveries(
    _who: Identity,
    service: Arc<Service>,
    query: NewestQuery,
) -> Result<Response, Infallible> {
    let limit = query.limit.unwrap_or(DEFAULT_LOG_LIMIT);
    Ok(reply::json(&service.webhook_deliveries(limit)).into_response())
}

/// `GET /audit?limit=`
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
