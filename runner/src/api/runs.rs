//! `GET /runs/{id}` and `GET /runs/{id}/files/{path}`: a run's record, and
//! the files its steps left in the run's folder (snapshots, logs, k6's
//! summary exports, `handleSummary()` outputs, a wrapper's `tee` files).
//!
//! Files are served so that none can act as this origin's page: every one
//! with `X-Content-Type-Options: nosniff` and a `Content-Security-Policy`
//! of `sandbox` (an HTML report a script wrote runs in an opaque origin,
//! with no script, and cannot reach the API or the token); anything but
//! text is sent as an attachment.

use std::convert::Infallible;
use std::sync::Arc;

use warp::Reply;
use warp::filters::BoxedFilter;
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;

use super::error::{ApiError, ErrorBody, respond};
use crate::auth::Identity;
use crate::model::RunRecord;
use crate::service::{ControlError, Service};

/// Largest file served through the API; larger ones are read in the data
/// directory (step logs are rotated at 16 MiB by default, far below).
pub const MAX_SERVED_FILE_BYTES: u64 = 256 << 20;

/// The runs routes; `view` checks the caller's role.
pub(super) fn routes(
    service: Arc<Service>,
    view: impl Fn() -> BoxedFilter<(Identity,)>,
) -> BoxedFilter<(Response,)> {
    use warp::Filter;
    let with = move || super::with_service(service.clone());
    let record = warp::path!("runs" / String)
        .and(warp::get())
        .and(view())
        .and(with())
        .and_then(run_record);
    let file = warp::path!("runs" / String / "files" / ..)
        .and(warp::path::tail())
        .and(warp::get())
        .and(view())
        .and(with())
        .and_then(run_file);
    record.or(file).unify().boxed()
}

/// A run's record: the one in progress, or one of the history.
#[utoipa::path(get, path = "/runs/{id}", tag = "history",
    params(("id" = String, Path, description = "The run's id.")),
    security(("bearer" = ["viewer"])),
    responses(
        (status = 200, description = "The record.", body = RunRecord),
        (status = 404, description = "No such run.", body = ErrorBody),
    ))]
pub(super) async fn run_record(
    id: String,
    _who: Identity,
    service: Arc<Service>,
) -> Result<Response, Infallible> {
    respond(
        service
            .run_record(&id)
            .map(|record| warp::reply::json(&record))
            .map_err(ApiError::from),
    )
}

/// A file a step left in the run's folder (snapshots, logs, summary
/// exports, `handleSummary()` outputs).
///
/// Served inert: `X-Content-Type-Options: nosniff` and a sandboxing
/// `Content-Security-Policy`; shown inline when text, else an attachment.
/// `path` is relative to the run's folder and may hold `/`
/// (`01-smoke.js/summary.json`).
#[utoipa::path(get, path = "/runs/{id}/files/{path}", tag = "history",
    params(
        ("id" = String, Path, description = "The run's id."),
        ("path" = String, Path, description = "The file, relative to the run's folder; `/`-separated, percent-encoded."),
    ),
    security(("bearer" = ["viewer"])),
    responses(
        (status = 200, description = "The file, typed by its suffix.", content(
            ("application/json"), ("text/html"), ("text/csv"), ("application/xml"),
            ("text/plain"), ("application/octet-stream"),
        )),
        (status = 404, description = "No such run, or no such file of it (a path that leaves the run's folder included).", body = ErrorBody),
        (status = 409, description = "Larger than the API serves (256 MiB).", body = ErrorBody),
    ))]
pub(super) async fn run_file(
    id: String,
    tail: warp::path::Tail,
    _who: Identity,
    service: Arc<Service>,
) -> Result<Response, Infallible> {
    let path = percent_decoded(tail.as_str());
    let result = async {
        let file = service.run_file(&id, &path)?;
        let size = tokio::fs::metadata(&file)
            .await
            .map(|m| m.len())
            .map_err(|_| ControlError::NotFound(format!("run {id} has no file {path:?}")))?;
        if size > MAX_SERVED_FILE_BYTES {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "{path} is {size} bytes, more than the API serves ({MAX_SERVED_FILE_BYTES}); \
                     read it in the data directory"
                ),
            ));
        }
        let bytes = tokio::fs::read(&file)
            .await
            .map_err(|_| ControlError::NotFound(format!("run {id} has no file {path:?}")))?;
        Ok(file_reply(&path, bytes))
    }
    .await;
    respond(result)
}

/// The bytes of `path` with headers that keep them inert.
fn file_reply(path: &str, bytes: Vec<u8>) -> Response {
    let (content_type, inline) = content_type(path);
    let mut response = warp::reply::with_status(bytes, StatusCode::OK).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:",
        ),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let name = path.rsplit('/').next().unwrap_or("file");
    headers.insert(header::CONTENT_DISPOSITION, disposition(inline, name));
    response
}

/// `Content-Disposition` for a file named `name`: shown in the browser
/// (`inline`) or downloaded, the name kept to ASCII letters, digits, `.`,
/// `-`, `_` (anything else becomes `_`), so no header can be forged.
pub(super) fn disposition(inline: bool, name: &str) -> HeaderValue {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let kind = if inline { "inline" } else { "attachment" };
    HeaderValue::from_str(&format!("{kind}; filename=\"{safe}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// The content type a step's file is served with, and whether it is shown
/// in the browser (text) or downloaded.
fn content_type(path: &str) -> (&'static str, bool) {
    let suffix = path.rsplit_once('.').map(|(_, s)| s.to_ascii_lowercase());
    match suffix.as_deref() {
        Some("json") => ("application/json", true),
        Some("html" | "htm") => ("text/html; charset=utf-8", true),
        Some("csv") => ("text/csv; charset=utf-8", true),
        Some("xml") => ("application/xml", true),
        Some("txt" | "log" | "out" | "js" | "ts" | "sh" | "md") => {
            ("text/plain; charset=utf-8", true)
        }
        _ => ("application/octet-stream", false),
    }
}

/// `%xx` escapes of a URL path decoded (the service checks what is left).
fn percent_decoded(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((high * 16 + low) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_decode_and_text_is_shown_inline() {
        assert_eq!(percent_decoded("a%20b/c%2Fd"), "a b/c/d");
        assert_eq!(percent_decoded("bad%zz%4"), "bad%zz%4");
        assert_eq!(
            content_type("01-a.js/summary.json"),
            ("application/json", true)
        );
        assert!(!content_type("01-a.js/script.tar").1);
    }
}
