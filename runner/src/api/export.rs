//! `GET /export/k6-operator`: the stored config as grafana/k6-operator
//! manifests, the same YAML stream `k6-runner export k6-operator` prints.

use std::convert::Infallible;
use std::sync::Arc;

use serde::Deserialize;
use utoipa::IntoParams;
use warp::http::header;
use warp::reply::{self, Response};

use super::error::{ApiError, ErrorBody, respond};
use crate::auth::Identity;
use crate::model::{ErrorCode, FieldErrorBody};
use crate::service::{ControlError, OperatorExport, Service};

/// Query of `GET /export/k6-operator`. `parallelism` is read as text so
/// that a missing or malformed one is a field error like every other.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// Runner pods per step (required).
    pub parallelism: Option<String>,
    /// Namespace of every object.
    pub namespace: Option<String>,
    /// The runner pods' image.
    pub runner_image: Option<String>,
    /// CPU per runner pod.
    pub runner_cpu: Option<String>,
    /// Memory per runner pod.
    pub runner_memory: Option<String>,
    /// The suite's name.
    pub suite: Option<String>,
    /// The run's id.
    pub run_id: Option<String>,
}

impl ExportQuery {
    /// The export asked for, or a 400 naming `parallelism`.
    fn request(self) -> Result<OperatorExport, ControlError> {
        let problem = |code, message: String| ControlError::BadRequest {
            message: "the export's parameters are invalid".to_owned(),
            fields: vec![FieldErrorBody {
                field: "parallelism".to_owned(),
                code,
                message,
            }],
        };
        let parallelism = match self.parallelism.as_deref() {
            None => {
                return Err(problem(
                    ErrorCode::MissingField,
                    "parallelism is required: the number of runner pods per step".to_owned(),
                ));
            }
            Some(text) => text.parse::<u32>().map_err(|_| {
                problem(
                    ErrorCode::WrongType,
                    format!("parallelism must be a whole number of runner pods, got {text:?}"),
                )
            })?,
        };
        Ok(OperatorExport {
            parallelism,
            namespace: self.namespace,
            runner_image: self.runner_image,
            runner_cpu: self.runner_cpu,
            runner_memory: self.runner_memory,
            suite: self.suite,
            run_id: self.run_id,
        })
    }
}

/// The stored config as grafana/k6-operator manifests: the YAML stream
/// `k6-runner export k6-operator` prints.
#[utoipa::path(get, path = "/export/k6-operator", tag = "config", params(ExportQuery),
    security(("bearer" = ["viewer"])),
    responses(
        (status = 200, description = "The manifests, a YAML stream.", body = String, content_type = "application/yaml"),
        (status = 400, description = "A bad or missing parameter, named in `fields`.", body = ErrorBody),
        (status = 422, description = "The config cannot run on k6-operator (a legacy wrapper, too large), every reason in `fields`.", body = ErrorBody),
        (status = 500, description = "The scripts could not be read.", body = ErrorBody),
        (status = 503, description = "k6 is not usable (it archives the scripts).", body = ErrorBody),
    ))]
pub async fn k6_operator(
    _who: Identity,
    service: Arc<Service>,
    query: ExportQuery,
) -> Result<Response, Infallible> {
    let result = match query.request() {
        Ok(request) => service.export_k6_operator(request).await,
        Err(error) => Err(error),
    };
    respond(
        result
            .map(|yaml| reply::with_header(yaml, header::CONTENT_TYPE, "application/yaml"))
            .map_err(ApiError::from),
    )
}
