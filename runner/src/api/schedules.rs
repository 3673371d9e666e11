//! Schedules (see [`crate::schedules`]).
//!
//! | method | path | role |
//! |---|---|---|
//! | GET | /schedules | viewer |
//! | POST | /schedules | operator (audited `schedule.create`) |
//! | GET | /schedules/{id} | viewer |
//! | PUT | /schedules/{id} | operator (audited `schedule.update`) |
//! | DELETE | /schedules/{id} | operator (audited `schedule.delete`) |
//! | GET | /schedules/{id}/fires?limit= | viewer |
//!
//! Reads are the viewer's, like the run history they start runs into: a
//! schedule holds a pattern, a zone and a name, nothing an operator's
//! token or a target's address would be learnt from.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use serde::Deserialize;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::{self, Response};
use warp::{Filter, Reply};

use super::error::{ApiError, ErrorBody, respond};
use super::handlers::audit;
use super::json_body;
use super::query::query;
use super::replies::ScheduleDeleted;
use crate::audit::config_diff;
use crate::auth::Identity;
use crate::schedules::{self, Fire, MAX_FIRES_KEPT, ScheduleError, ScheduleInput, ScheduleView};
use crate::service::Service;

/// Fires per page when `limit` is not given.
pub const DEFAULT_FIRES: u32 = 50;

impl From<ScheduleError> for ApiError {
    fn from(error: ScheduleError) -> Self {
        match error {
            ScheduleError::Invalid { fields } => Self {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                body: ErrorBody {
                    error: error_text(&fields),
                    fields,
                    id: None,
                },
            },
            ScheduleError::NotFound(_) => Self::new(StatusCode::NOT_FOUND, error.to_string()),
            ScheduleError::History(history) => history.into(),
        }
    }
}

/// The summary of a refused schedule: each problem, in one line (so that
/// the audit log's detail says it too).
fn error_text(fields: &[crate::model::FieldErrorBody]) -> String {
    let problems: Vec<&str> = fields.iter().map(|f| f.message.as_str()).collect();
    format!("the schedule is not valid: {}", problems.join("; "))
}

/// The schedule routes; `view` and `operate` check the caller's role.
pub(super) fn routes(
    service: Arc<Service>,
    view: impl Fn() -> BoxedFilter<(Identity,)>,
    operate: impl Fn(&'static str) -> BoxedFilter<(Identity,)>,
) -> BoxedFilter<(Response,)> {
    let with = move || super::with_service(service.clone());
    let list = warp::path!("schedules")
        .and(warp::get())
        .and(view())
        .and(with())
        .and_then(list_schedules);
    let create = warp::path!("schedules")
        .and(warp::post())
        .and(operate("schedule.create"))
        .and(with())
        .and(json_body())
        .and_then(create_schedule);
    let get = warp::path!("schedules" / String)
        .and(warp::get())
        .and(view())
        .and(with())
        .and_then(get_schedule);
    let update = warp::path!("schedules" / String)
        .and(warp::put())
        .and(operate("schedule.update"))
        .and(with())
        .and(json_body())
        .and_then(update_schedule);
    let delete = warp::path!("schedules" / String)
        .and(warp::delete())
        .and(operate("schedule.delete"))
        .and(with())
        .and_then(delete_schedule);
    let fires = warp::path!("schedules" / String / "fires")
        .and(warp::get())
        .and(view())
        .and(with())
        .and(query::<FiresQuery>())
        .and_then(schedule_fires);
    list.or(create)
        .unify()
        .or(get)
        .unify()
        .or(update)
        .unify()
        .or(delete)
        .unify()
        .or(fires)
        .unify()
        .boxed()
}

/// Query of `GET /schedules/{id}/fires`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FiresQuery {
    /// At most this many (newest) fires: default 50, at most
    /// [`MAX_FIRES_KEPT`].
    pub limit: Option<u32>,
}

/// The schedule as the audit log's detail names it.
fn described(view: &ScheduleView) -> String {
    let s = &view.schedule;
    format!(
        "schedule {}: {:?} in {}{}",
        s.id,
        s.cron,
        s.timezone,
        if s.enabled { "" } else { ", disabled" }
    )
}

/// `GET /schedules`
#[utoipa::path(get, path = "/schedules", tag = "schedules",
    security(("bearer" = ["viewer"])),
    responses(
        (status = 200, description = "Every schedule, by id.", body = Vec<ScheduleView>),
        (status = 500, description = "The history database could not be read.", body = ErrorBody),
    ))]
pub(super) async fn list_schedules(
    _who: Identity,
    service: Arc<Service>,
) -> Result<Response, Infallible> {
    let result = schedules::list(&service).await.map_err(ApiError::from);
    respond(result.map(|views| reply::json(&views)))
}

/// `POST /schedules`: 201 with the stored schedule.
#[utoipa::path(post, path = "/schedules", tag = "schedules",
    security(("bearer" = ["operator"])),
    request_body(content = ScheduleInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Stored (audited `schedule.create`).", body = ScheduleView),
        (status = 400, description = "The body is not UTF-8 text.", body = ErrorBody),
        (status = 411, description = "No Content-Length.", body = ErrorBody),
        (status = 413, description = "Larger than 64 KiB.", body = ErrorBody),
        (status = 415, description = "Not sent as application/json.", body = ErrorBody),
        (status = 422, description = "Invalid (a bad pattern, an unknown zone, not JSON): each problem in `fields`.", body = ErrorBody),
        (status = 500, description = "Storing failed.", body = ErrorBody),
    ))]
pub(super) async fn create_schedule(
    who: Identity,
    service: Arc<Service>,
    body: Result<Bytes, ApiError>,
) -> Result<Response, Infallible> {
    let result = async { Ok(schedules::create(&service, &body?).await?) }.await;
    audit(&service, &who, "schedule.create", &result, |view| {
        (Some(described(view)), None)
    });
    respond(result.map(|view| reply::with_status(reply::json(&view), StatusCode::CREATED)))
}

/// `GET /schedules/{id}`
#[utoipa::path(get, path = "/schedules/{id}", tag = "schedules", params(("id" = String, Path, description = "The schedule's id (a whole number).")),
    security(("bearer" = ["viewer"])),
    responses(
        (status = 200, description = "The schedule.", body = ScheduleView),
        (status = 404, description = "No such schedule.", body = ErrorBody),
        (status = 500, description = "The history database could not be read.", body = ErrorBody),
    ))]
pub(super) async fn get_schedule(
    id: String,
    _who: Identity,
    service: Arc<Service>,
) -> Result<Response, Infallible> {
    let result = schedules::get(&service, &id).await.map_err(ApiError::from);
    respond(result.map(|view| reply::json(&view)))
}

/// `PUT /schedules/{id}`: the whole schedule replaced; the audit entry
/// carries what changed.
#[utoipa::path(put, path = "/schedules/{id}", tag = "schedules", params(("id" = String, Path, description = "The schedule's id (a whole number).")),
    security(("bearer" = ["operator"])),
    request_body(content = ScheduleInput, content_type = "application/json"),
    responses(
        (status = 200, description = "Replaced (audited `schedule.update`, with what changed).", body = ScheduleView),
        (status = 400, description = "The body is not UTF-8 text.", body = ErrorBody),
        (status = 404, description = "No such schedule.", body = ErrorBody),
        (status = 411, description = "No Content-Length.", body = ErrorBody),
        (status = 413, description = "Larger than 64 KiB.", body = ErrorBody),
        (status = 415, description = "Not sent as application/json.", body = ErrorBody),
        (status = 422, description = "Invalid: each problem in `fields`.", body = ErrorBody),
        (status = 500, description = "Storing failed.", body = ErrorBody),
    ))]
pub(super) async fn update_schedule(
    id: String,
    who: Identity,
    service: Arc<Service>,
    body: Result<Bytes, ApiError>,
) -> Result<Response, Infallible> {
    let before = schedules::get(&service, &id)
        .await
        .ok()
        .and_then(|view| serde_json::to_value(view.schedule).ok());
    let result = async { Ok(schedules::update(&service, &id, &body?).await?) }.await;
    audit(&service, &who, "schedule.update", &result, |view| {
        let diff = before
            .zip(serde_json::to_value(&view.schedule).ok())
            .map(|(before, after)| config_diff(&before, &after));
        (Some(described(view)), diff)
    });
    respond(result.map(|view| reply::json(&view)))
}

/// `DELETE /schedules/{id}`: the schedule and its fires.
#[utoipa::path(delete, path = "/schedules/{id}", tag = "schedules", params(("id" = String, Path, description = "The schedule's id (a whole number).")),
    security(("bearer" = ["operator"])),
    responses(
        (status = 200, description = "Deleted (audited `schedule.delete`).", body = ScheduleDeleted),
        (status = 404, description = "No such schedule.", body = ErrorBody),
        (status = 500, description = "The history database could not be changed.", body = ErrorBody),
    ))]
pub(super) async fn delete_schedule(
    id: String,
    who: Identity,
    service: Arc<Service>,
) -> Result<Response, Infallible> {
    let result = schedules::delete(&service, &id)
        .await
        .map_err(ApiError::from);
    audit(&service, &who, "schedule.delete", &result, |key| {
        (Some(format!("schedule {key}")), None)
    });
    respond(result.map(|key| reply::json(&ScheduleDeleted { deleted: key }).into_response()))
}

/// `GET /schedules/{id}/fires?limit=`: newest first.
#[utoipa::path(get, path = "/schedules/{id}/fires", tag = "schedules",
    params(("id" = String, Path, description = "The schedule's id (a whole number)."), FiresQuery),
    security(("bearer" = ["viewer"])),
    responses(
        (status = 200, description = "Its fires, newest first: started, skipped or failed, with the run or the reason.", body = Vec<Fire>),
        (status = 400, description = "A bad query parameter, named.", body = ErrorBody),
        (status = 404, description = "No such schedule.", body = ErrorBody),
        (status = 500, description = "The history database could not be read.", body = ErrorBody),
    ))]
pub(super) async fn schedule_fires(
    id: String,
    _who: Identity,
    service: Arc<Service>,
    q: FiresQuery,
) -> Result<Response, Infallible> {
    let limit = q
        .limit
        .unwrap_or(DEFAULT_FIRES)
        .clamp(1, MAX_FIRES_KEPT as u32);
    let result = schedules::fires(&service, &id, limit)
        .await
        .map_err(ApiError::from);
    respond(result.map(|fires| reply::json(&fires)))
}
