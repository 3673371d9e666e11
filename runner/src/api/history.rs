//! The run history: listing, a run's series, deleting, baselines,
//! comparison and trends.
//!
//! | method | path | role |
//! |---|---|---|
//! | GET | /runs?limit=&before=&script=&state=&from=&to= | viewer |
//! | GET | /runs/{id}/metrics | viewer |
//! | DELETE | /runs/{id} | operator (audited `run.delete`) |
//! | PUT | /runs/{id}/baseline | operator (audited `baseline.set`) |
//! | DELETE | /runs/{id}/baseline | operator (audited `baseline.clear`) |
//! | GET | /compare?base=&run= | viewer |
//! | GET | /trend?script=&metric=&stat=&limit= | viewer |

use std::convert::Infallible;
use std::sync::Arc;

use serde::Deserialize;
use utoipa::IntoParams;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::{self, Response};
use warp::{Filter, Reply};

use super::error::{ApiError, ErrorBody, respond};
use super::handlers::audit;
use super::query::query;
use super::replies::{BaselineCleared, BaselineSet, Deleted, RunPage, Trend};
use crate::auth::Identity;
use crate::history::compare::Comparison;
use crate::history::{History, HistoryError, RunFilter, StateFilter};
use crate::model::{MetricsPoint, RunRecord};
use crate::service::Service;

/// Runs per page when `limit` is not given.
pub const DEFAULT_PAGE: u32 = 50;
/// Most runs per page.
pub const MAX_PAGE: u32 = 500;
/// Points of a trend when `limit` is not given.
pub const DEFAULT_TREND_POINTS: u32 = 30;
/// Most points of a trend.
pub const MAX_TREND_POINTS: u32 = 1_000;

impl From<HistoryError> for ApiError {
    fn from(error: HistoryError) -> Self {
        ApiError::internal(&error)
    }
}

/// The history routes; `view` and `operate` check the caller's role.
pub(super) fn routes(
    service: Arc<Service>,
    view: impl Fn() -> BoxedFilter<(Identity,)>,
    operate: impl Fn(&'static str) -> BoxedFilter<(Identity,)>,
) -> BoxedFilter<(Response,)> {
    let with = move || super::with_service(service.clone());
    let list = warp::path!("runs")
        .and(warp::get())
        .and(view())
        .and(with())
        .and(query::<ListQuery>())
        .and_then(list_runs);
    let metrics = warp::path!("runs" / String / "metrics")
        .and(warp::get())
        .and(view())
        .and(with())
        .and_then(run_metrics);
    let delete = warp::path!("runs" / String)
        .and(warp::delete())
        .and(operate("run.delete"))
        .and(with())
        .and_then(delete_run);
    let set_baseline = warp::path!("runs" / String / "baseline")
        .and(warp::put())
        .and(operate("baseline.set"))
        .and(with())
        .and_then(put_baseline);
    let clear_baseline = warp::path!("runs" / String / "baseline")
        .and(warp::delete())
        .and(operate("baseline.clear"))
        .and(with())
        .and_then(delete_baseline);
    let compare = warp::path!("compare")
        .and(warp::get())
        .and(view())
        .and(with())
        .and(query::<CompareQuery>())
        .and_then(compare_runs);
    let trend = warp::path!("trend")
        .and(warp::get())
        .and(view())
        .and(with())
        .and(query::<TrendQuery>())
        .and_then(trend);
    list.or(metrics)
        .unify()
        .or(delete)
        .unify()
        .or(set_baseline)
        .unify()
        .or(clear_baseline)
        .unify()
        .or(compare)
        .unify()
        .or(trend)
        .unify()
        .boxed()
}

/// Query of `GET /runs`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Runs per page (default 50, at most 500).
    pub limit: Option<u32>,
    /// Only runs older than this run id (the previous page's last).
    pub before: Option<String>,
    /// Only runs with a step of this script.
    pub script: Option<String>,
    /// Only runs in this state (`passed`, `failed`, `stopped`,
    /// `interrupted`, `running`, `regressed`).
    pub state: Option<StateFilter>,
    /// Only runs started at or after this time (RFC 3339).
    pub from: Option<String>,
    /// Only runs started before this time (RFC 3339).
    pub to: Option<String>,
}

/// The history, newest first, a page at a time.
#[utoipa::path(get, path = "/runs", tag = "history", params(ListQuery),
    security(("bearer" = ["viewer"])),
    responses(
        (status = 200, description = "A page of runs.", body = RunPage),
        (status = 400, description = "A bad query parameter, named.", body = ErrorBody),
        (status = 500, description = "The history could not be read.", body = ErrorBody),
    ))]
pub(super) async fn list_runs(
    _who: Identity,
    service: Arc<Service>,
    q: ListQuery,
) -> Result<Response, Infallible> {
    let result = async {
        let limit = q.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
        let filter = RunFilter {
            limit,
            before: q.before,
            script: q.script,
            state: q.state,
            from: q.from.map(|t| time_param("from", &t)).transpose()?,
            to: q.to.map(|t| time_param("to", &t)).transpose()?,
        };
        let runs = service.history().list(filter).await?;
        let next_before = (runs.len() == limit as usize)
            .then(|| runs.last().map(|r| r.id.clone()))
            .flatten();
        Ok(reply::json(&RunPage { runs, next_before }))
    }
    .await;
    respond(result)
}

/// A time parameter in the form run records use (RFC 3339, seconds, UTC),
/// so that it compares as text with their start times.
fn time_param(name: &str, value: &str) -> Result<String, ApiError> {
    humantime::parse_rfc3339_weak(value)
        .map(|time| humantime::format_rfc3339_seconds(time).to_string())
        .map_err(|error| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "invalid query parameter `{name}`: {error} (expected an RFC 3339 time such as \
                     2026-12-01T08:00:00Z)"
                ),
            )
        })
}

/// A run's per-second series: the stored one, or the live one of the run
/// in progress.
#[utoipa::path(get, path = "/runs/{id}/metrics", tag = "history", params(("id" = String, Path, description = "The run's id.")),
    security(("bearer" = ["viewer"])),
    responses(
        (status = 200, description = "The readings, oldest first.", body = Vec<MetricsPoint>),
        (status = 404, description = "No such run.", body = ErrorBody),
        (status = 500, description = "The history could not be read.", body = ErrorBody),
    ))]
pub(super) async fn run_metrics(
    id: String,
    _who: Identity,
    service: Arc<Service>,
) -> Result<Response, Infallible> {
    let result = async {
        if service.history().record(&id).await?.is_none() {
            service.run_record(&id)?;
            let live: Vec<_> = service
                .metrics_history()
                .into_iter()
                .filter(|point| point.run_id == id)
                .collect();
            return Ok(reply::json(&live));
        }
        Ok(reply::json(&service.history().series(&id).await?))
    }
    .await;
    respond(result)
}

/// Deletes a run: its record, history and files. Audited as `run.delete`.
#[utoipa::path(delete, path = "/runs/{id}", tag = "history", params(("id" = String, Path, description = "The run's id.")),
    security(("bearer" = ["operator"])),
    responses(
        (status = 200, description = "Deleted.", body = Deleted),
        (status = 404, description = "No such run.", body = ErrorBody),
        (status = 409, description = "The run is in progress.", body = ErrorBody),
        (status = 500, description = "The history could not be changed.", body = ErrorBody),
    ))]
pub(super) async fn delete_run(
    id: String,
    who: Identity,
    service: Arc<Service>,
) -> Result<Response, Infallible> {
    let result = async {
        refuse_active(&service, &id)?;
        if service.history().delete(&id).await? {
            service.forget_record(&id);
            Ok(reply::json(&Deleted {
                deleted: id.clone(),
            }))
        } else {
            Err(ApiError::new(StatusCode::NOT_FOUND, format!("no run {id}")))
        }
    }
    .await;
    audit(&service, &who, "run.delete", &result, |_| {
        (Some(format!("run {id}")), None)
    });
    respond(result)
}

/// A run in progress can be neither deleted nor made a baseline.
fn refuse_active(service: &Service, id: &str) -> Result<(), ApiError> {
    let status = service.status();
    if status.is_running && status.run_id.as_deref() == Some(id) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("run {id} is in progress; stop it first"),
        ));
    }
    Ok(())
}

/// An ended run's record from the history, or a 404 saying why not.
async fn stored(history: &History, id: &str) -> Result<RunRecord, ApiError> {
    history.record(id).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no ended run {id} in the history"),
        )
    })
}

/// Makes an ended run the baseline of each of its suite entries. Audited
/// as `baseline.set`.
#[utoipa::path(put, path = "/runs/{id}/baseline", tag = "history", params(("id" = String, Path, description = "The run's id.")),
    security(("bearer" = ["operator"])),
    responses(
        (status = 200, description = "The entries it is the baseline of.", body = BaselineSet),
        (status = 404, description = "No such ended run.", body = ErrorBody),
        (status = 409, description = "The run is in progress.", body = ErrorBody),
        (status = 500, description = "The history could not be changed.", body = ErrorBody),
    ))]
pub(super) async fn put_baseline(
    id: String,
    who: Identity,
    service: Arc<Service>,
) -> Result<Response, Infallible> {
    let result = async {
        refuse_active(&service, &id)?;
        let record = stored(service.history(), &id).await?;
        let entries = service.history().set_baseline(&record).await?;
        Ok(reply::json(&BaselineSet {
            baseline: id.clone(),
            entries,
        }))
    }
    .await;
    audit(&service, &who, "baseline.set", &result, |_| {
        (Some(format!("run {id}")), None)
    });
    respond(result)
}

/// Makes a run the baseline of nothing. Audited as `baseline.clear`.
#[utoipa::path(delete, path = "/runs/{id}/baseline", tag = "history", params(("id" = String, Path, description = "The run's id.")),
    security(("bearer" = ["operator"])),
    responses(
        (status = 200, description = "The entries it was the baseline of (none: it was no baseline).", body = BaselineCleared),
        (status = 500, description = "The history could not be changed.", body = ErrorBody),
    ))]
pub(super) async fn delete_baseline(
    id: String,
    who: Identity,
    service: Arc<Service>,
) -> Result<Response, Infallible> {
    let result = async {
        let entries = service.history().clear_baseline(&id).await?;
        Ok(reply::json(&BaselineCleared {
            run: id.clone(),
            entries,
        }))
    }
    .await;
    audit(&service, &who, "baseline.clear", &result, |_| {
        (Some(format!("run {id}")), None)
    });
    respond(result)
}

/// Query of `GET /compare` (and its report).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CompareQuery {
    /// The base run.
    pub base: String,
    /// The run compared with it.
    pub run: String,
}

/// The two runs of `q` compared under the compared run's budgets.
pub(super) async fn comparison(
    history: &History,
    q: &CompareQuery,
) -> Result<(RunRecord, RunRecord, Comparison), ApiError> {
    let base = stored(history, &q.base).await?;
    let run = stored(history, &q.run).await?;
    let comparison = History::compare(&base, &run);
    Ok((base, run, comparison))
}

/// Two ended runs compared entry by entry, with the compared run's budget
/// verdicts.
#[utoipa::path(get, path = "/compare", tag = "history", params(CompareQuery),
    security(("bearer" = ["viewer"])),
    responses(
        (status = 200, description = "The comparison.", body = Comparison),
        (status = 400, description = "A bad or missing query parameter, named.", body = ErrorBody),
        (status = 404, description = "No such ended run.", body = ErrorBody),
        (status = 500, description = "The history could not be read.", body = ErrorBody),
    ))]
pub(super) async fn compare_runs(
    _who: Identity,
    service: Arc<Service>,
    q: CompareQuery,
) -> Result<Response, Infallible> {
    let result = comparison(service.history(), &q)
        .await
        .map(|(_, _, comparison)| reply::json(&comparison));
    respond(result)
}

/// Query of `GET /trend`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TrendQuery {
    /// The script.
    pub script: String,
    /// The metric (`http_req_duration`, a custom one, `name{tag:v}`).
    pub metric: String,
    /// Its statistic (`p(95)`, `avg`, `rate`, `count`…); default `p(95)`
    /// for a trend-like name, else the first of `rate`, `count`, `value`
    /// the metric has.
    pub stat: Option<String>,
    /// Points (default 30, at most 1,000).
    pub limit: Option<u32>,
}

/// One statistic of one metric of one script over the last runs.
#[utoipa::path(get, path = "/trend", tag = "history", params(TrendQuery),
    security(("bearer" = ["viewer"])),
    responses(
        (status = 200, description = "The points, oldest first.", body = Trend),
        (status = 400, description = "A bad or missing query parameter, named.", body = ErrorBody),
        (status = 500, description = "The history could not be read.", body = ErrorBody),
    ))]
pub(super) async fn trend(
    _who: Identity,
    service: Arc<Service>,
    q: TrendQuery,
) -> Result<Response, Infallible> {
    let result = async {
        let limit = q
            .limit
            .unwrap_or(DEFAULT_TREND_POINTS)
            .clamp(1, MAX_TREND_POINTS);
        let history = service.history();
        let points = match q.stat {
            Some(stat) => {
                let points = history
                    .trend(q.script.clone(), q.metric.clone(), stat.clone(), limit)
                    .await?;
                (stat, points)
            }
            None => {
                let mut found = (String::new(), Vec::new());
                for stat in ["p(95)", "rate", "count", "value"] {
                    let points = history
                        .trend(q.script.clone(), q.metric.clone(), stat.to_owned(), limit)
                        .await?;
                    if !points.is_empty() {
                        found = (stat.to_owned(), points);
                        break;
                    }
                }
                found
            }
        };
        Ok(reply::json(&Trend {
            script: q.script,
            metric: q.metric,
            stat: points.0,
            points: points.1,
        })
        .into_response())
    }
    .await;
    respond(result)
}
