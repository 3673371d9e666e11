//! The one error shape of the API: `{"error": "...", "fields": [...]}` with
//! the status code that says what went wrong, and the one place where
//! warp's own rejections become that shape.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Rejection, Reply};

use crate::model::FieldErrorBody;
use crate::service::ControlError;

/// An error response.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// JSON body.
    pub body: ErrorBody,
}

/// The challenge sent with every 401.
const BEARER_CHALLENGE: &str = "Bearer realm=\"k6-runner\"";

/// The JSON body of every error response.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// What went wrong, in words.
    pub error: String,
    /// One entry per invalid field (422, and 400 for an export's parameters).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldErrorBody>,
    /// For 500s: the id under which the details were logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl ApiError {
    /// An error with a message and no field details.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                error: message.into(),
                fields: Vec::new(),
                id: None,
            },
        }
    }

    /// A 401 (sent with a `WWW-Authenticate: Bearer` challenge).
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    /// A 500 whose details go to the log under a fresh id; the client gets
    /// the id, not the internals.
    pub fn internal(detail: &dyn std::fmt::Display) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = format!(
            "err-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        tracing::error!(error_id = %id, "{detail}");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            body: ErrorBody {
                error: format!("internal error (logged as {id})"),
                fields: Vec::new(),
                id: Some(id),
            },
        }
    }
}

impl From<ControlError> for ApiError {
    fn from(error: ControlError) -> Self {
        match error {
            ControlError::Invalid { message, fields } => Self {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                body: ErrorBody {
                    error: message,
                    fields,
                    id: None,
                },
            },
            ControlError::BadRequest { message, fields } => Self {
                status: StatusCode::BAD_REQUEST,
                body: ErrorBody {
                    error: message,
                    fields,
                    id: None,
                },
            },
            ControlError::AlreadyRunning { .. } => {
                Self::new(StatusCode::CONFLICT, error.to_string())
            }
            ControlError::K6Unavailable(_) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string())
            }
            ControlError::NotFound(_) => Self::new(StatusCode::NOT_FOUND, error.to_string()),
            // The operator must learn that the disk is full or unwritable,
            // so storage errors keep their message (paths inside the data
            // directory); 507 says "full" in HTTP's own words.
            ControlError::Storage(ref storage) => {
                let mut api = Self::internal(&error);
                if storage.is_disk_full() {
                    api.status = StatusCode::INSUFFICIENT_STORAGE;
                }
                api.body.error = format!(
                    "{storage} (logged as {})",
                    api.body.id.as_deref().unwrap_or_default()
                );
                api
            }
            ControlError::Core(_) | ControlError::Template(_) | ControlError::Ports(_) => {
                Self::internal(&error)
            }
        }
    }
}

impl Reply for ApiError {
    fn into_response(self) -> Response {
        let mut response =
            warp::reply::with_status(warp::reply::json(&self.body), self.status).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                warp::http::header::WWW_AUTHENTICATE,
                warp::http::HeaderValue::from_static(BEARER_CHALLENGE),
            );
        }
        response
    }
}

/// Turns the rejections warp raises while reading a request of ours (body
/// too large, no length, wrong content type, bad query, wrong method) into
/// the API's error shape. A plain "not found" is passed on untouched, so
/// that a host mounting these routes can still match its own.
pub async fn recover(rejection: Rejection) -> Result<Response, Rejection> {
    match request_error(&rejection) {
        Some(error) => Ok(error.into_response()),
        None => Err(rejection),
    }
}

/// The API error a rejection raised while reading a request of ours stands
/// for, or `None` for a plain "not found" (the request is not ours).
pub fn request_error(rejection: &Rejection) -> Option<ApiError> {
    let (status, message) = if let Some(e) = rejection.find::<warp::reject::PayloadTooLarge>() {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("{e}: the limit is {} bytes", super::MAX_BODY_BYTES),
        )
    } else if rejection.find::<warp::reject::LengthRequired>().is_some() {
        (
            StatusCode::LENGTH_REQUIRED,
            "a Content-Length header is required".to_owned(),
        )
    } else if let Some(e) = rejection.find::<warp::reject::UnsupportedMediaType>() {
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, e.to_string())
    } else if let Some(e) = rejection.find::<warp::reject::InvalidQuery>() {
        (StatusCode::BAD_REQUEST, e.to_string())
    } else if let Some(e) = rejection.find::<warp::reject::InvalidHeader>() {
        (StatusCode::BAD_REQUEST, e.to_string())
    } else if let Some(e) = rejection.find::<ApiError>() {
        return Some(e.clone());
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some()
        && !rejection.is_not_found()
    {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed on this path".to_owned(),
        )
    } else {
        return None;
    };
    Some(ApiError::new(status, message))
}

impl warp::reject::Reject for ApiError {}

/// A handler result as a response, whichever way it went.
pub fn respond<T: Reply>(result: Result<T, ApiError>) -> Result<Response, Infallible> {
    Ok(match result {
        Ok(reply) => reply.into_response(),
        Err(error) => error.into_response(),
    })
}
