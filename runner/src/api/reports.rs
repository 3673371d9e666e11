//! The reports of stored runs (see [`crate::report`]):
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | /runs/{id}/report.html | one run, self-contained HTML |
//! | GET | /compare/report.html?base=&run= | a comparison, self-contained HTML |
//! | GET | /runs/{id}/junit.xml | thresholds and checks as JUnit test cases |
//!
//! Sent as downloads, with a policy that lets the page load nothing and
//! run no script even if opened from the runner's origin.

use std::convert::Infallible;
use std::sync::Arc;

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;

use super::error::{ApiError, ErrorBody, respond};
use super::history::{CompareQuery, comparison};
use super::query::query;
use super::runs::disposition;
use crate::auth::Identity;
use crate::report;
use crate::service::Service;

/// The report routes; `view` checks the caller's role.
pub(super) fn routes(
    service: Arc<Service>,
    view: impl Fn() -> BoxedFilter<(Identity,)>,
) -> BoxedFilter<(Response,)> {
    let with = move || super::with_service(service.clone());
    let run = warp::path!("runs" / String / "report.html")
        .and(warp::get())
        .and(view())
        .and(with())
        .and_then(run_report);
    let junit = warp::path!("runs" / String / "junit.xml")
        .and(warp::get())
        .and(view())
        .and(with())
        .and_then(junit);
    let compared = warp::path!("compare" / "report.html")
        .and(warp::get())
        .and(view())
        .and(with())
        .and(query::<CompareQuery>())
        .and_then(compare_report);
    run.or(junit).unify().or(compared).unify().boxed()
}

/// A stored run's record, or 404.
async fn stored(service: &Service, id: &str) -> Result<crate::model::RunRecord, ApiError> {
    service.history().record(id).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no ended run {id} in the history"),
        )
    })
}

/// One ended run as a self-contained HTML report, sent as a download.
#[utoipa::path(get, path = "/runs/{id}/report.html", tag = "reports",
    params(("id" = String, Path, description = "The run's id.")),
    security(("bearer" = ["viewer"])),
    responses(
        (status = 200, description = "The report.", body = String, content_type = "text/html"),
        (status = 404, description = "No such ended run.", body = ErrorBody),
        (status = 500, description = "The history could not be read.", body = ErrorBody),
    ))]
pub(super) async fn run_report(
    id: String,
    _who: Identity,
    service: Arc<Service>,
) -> Result<Response, Infallible> {
    let result = async {
        let record = stored(&service, &id).await?;
        let series = service.history().series(&id).await?;
        Ok(download(
            report::run_page(&record, &series),
            "text/html; charset=utf-8",
            &format!("k6-run-{id}.html"),
        ))
    }
    .await;
    respond(result)
}

/// An ended run's thresholds and checks as JUnit test cases, sent as a
/// download.
#[utoipa::path(get, path = "/runs/{id}/junit.xml", tag = "reports",
    params(("id" = String, Path, description = "The run's id.")),
    security(("bearer" = ["viewer"])),
    responses(
        (status = 200, description = "The JUnit XML.", body = String, content_type = "application/xml"),
        (status = 404, description = "No such ended run.", body = ErrorBody),
        (status = 500, description = "The history could not be read.", body = ErrorBody),
    ))]
pub(super) async fn junit(
    id: String,
    _who: Identity,
    service: Arc<Service>,
) -> Result<Response, Infallible> {
    let result = async {
        let record = stored(&service, &id).await?;
        Ok(download(
            report::junit_xml(&record),
            "application/xml; charset=utf-8",
            &format!("k6-run-{id}.junit.xml"),
        ))
    }
    .await;
    respond(result)
}

/// Two ended runs compared, as a self-contained HTML report sent as a
/// download.
#[utoipa::path(get, path = "/compare/report.html", tag = "reports", params(CompareQuery),
    security(("bearer" = ["viewer"])),
    responses(
        (status = 200, description = "The report.", body = String, content_type = "text/html"),
        (status = 400, description = "A bad or missing query parameter, named.", body = ErrorBody),
        (status = 404, description = "No such ended run.", body = ErrorBody),
        (status = 500, description = "The history could not be read.", body = ErrorBody),
    ))]
pub(super) async fn compare_report(
    _who: Identity,
    service: Arc<Service>,
    q: CompareQuery,
) -> Result<Response, Infallible> {
    let result = async {
        let (_, _, compared) = comparison(service.history(), &q).await?;
        let base_series = service.history().series(&q.base).await?;
        let run_series = service.history().series(&q.run).await?;
        Ok(download(
            report::comparison_page(&compared, &base_series, &run_series),
            "text/html; charset=utf-8",
            &format!("k6-compare-{}-{}.html", q.base, q.run),
        ))
    }
    .await;
    respond(result)
}

/// `body` as a download named `name` (a run id is digits, `T`, `Z`, `-`;
/// anything else is replaced).
fn download(body: String, content_type: &'static str, name: &str) -> Response {
    let mut response = Response::new(body.into());
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CONTENT_DISPOSITION, disposition(false, name));
    response
}
