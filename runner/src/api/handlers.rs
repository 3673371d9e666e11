//! What each route does: take the request apart, call the [`Service`],
//! shape the reply.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use serde::Deserialize;
use warp::Reply;
use warp::http::{StatusCode, header};
use warp::reply::{self, Response};

use super::error::{ApiError, respond};
use crate::contract::StopCause;
use crate::service::Service;

/// Lines returned by `GET /logs` when no limit is given.
pub const DEFAULT_LOG_LIMIT: usize = 500;
/// Most lines one `GET /logs` returns.
pub const MAX_LOG_LIMIT: usize = 5_000;

fn json_text(text: String, status: StatusCode) -> Response {
    let mut response = reply::with_status(text, status).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

/// `GET /config`
pub async fn get_config(service: Arc<Service>) -> Result<Response, Infallible> {
    Ok(json_text(service.config().1, StatusCode::OK))
}

/// `PUT /config`
pub async fn put_config(service: Arc<Service>, body: Bytes) -> Result<Response, Infallible> {
    respond(
        async {
            let text = String::from_utf8(body.to_vec()).map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("the body is not UTF-8 text: {e}"),
                )
            })?;
            let json = service.put_config(text).await?;
            Ok(json_text(json, StatusCode::OK))
        }
        .await,
    )
}

/// `POST /config/reset`
pub async fn reset_config(service: Arc<Service>) -> Result<Response, Infallible> {
    respond(
        service
            .reset_config()
            .await
            .map(|json| json_text(json, StatusCode::OK))
            .map_err(ApiError::from),
    )
}

/// `POST /start`
pub async fn start(service: Arc<Service>) -> Result<Response, Infallible> {
    respond(
        service
            .start_run()
            .await
            .map(|started| reply::with_status(reply::json(&started), StatusCode::ACCEPTED))
            .map_err(ApiError::from),
    )
}

/// `POST /stop`
pub async fn stop(service: Arc<Service>) -> Result<Response, Infallible> {
    Ok(match service.stop_run(StopCause::Operator) {
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

/// `GET /status`
pub async fn status(service: Arc<Service>) -> Result<Response, Infallible> {
    Ok(reply::json(&service.status()).into_response())
}

/// Query of `GET /logs`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    /// Only lines after this sequence number.
    pub since: Option<u64>,
    /// At most this many (newest) lines.
    pub limit: Option<usize>,
    /// Only these levels, comma-separated (`warning,error`).
    pub level: Option<String>,
    /// Only lines of this run.
    pub run: Option<String>,
}

/// `GET /logs?since=&limit=&level=&run=`
pub async fn logs(service: Arc<Service>, query: LogQuery) -> Result<Response, Infallible> {
    let levels: Vec<String> = query
        .level
        .as_deref()
        .map(|levels| {
            levels
                .split(',')
                .map(|l| l.trim().to_ascii_lowercase())
                .filter(|l| !l.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if let Some(bad) = levels
        .iter()
        .find(|l| !["debug", "info", "warning", "error"].contains(&l.as_str()))
    {
        return respond::<Response>(Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("level {bad:?} is not one of debug, info, warning, error"),
        )));
    }
    let limit = query.limit.unwrap_or(DEFAULT_LOG_LIMIT).min(MAX_LOG_LIMIT);
    let lines = service.logs(
        query.since.unwrap_or(0),
        limit,
        &levels,
        query.run.as_deref(),
    );
    let next = lines
        .last()
        .map_or(query.since.unwrap_or(0), |line| line.seq);
    Ok(reply::json(&serde_json::json!({"lines": lines, "next": next})).into_response())
}

/// `GET /results`
pub async fn results(service: Arc<Service>) -> Result<Response, Infallible> {
    respond(
        service
            .results()
            .map(|record| reply::json(&record))
            .map_err(ApiError::from),
    )
}

/// `GET /script`
pub async fn script(service: Arc<Service>) -> Result<Response, Infallible> {
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
pub async fn scripts(service: Arc<Service>) -> Result<Response, Infallible> {
    respond(
        service
            .scripts()
            .await
            .map(|scripts| reply::json(&scripts))
            .map_err(ApiError::from),
    )
}
