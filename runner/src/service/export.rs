//! The current config as grafana/k6-operator manifests: the plan made as
//! for a run, each k6 step archived as a run archives it, and the YAML the
//! core renders from both. The runner decides nothing here; it makes the
//! archives the core cannot make.

use super::{ControlError, Service, invalid};
use crate::contract::{ExportSettings, FieldError, PlanContext, PlanTarget};
use crate::model::FieldErrorBody;

/// The port put in the plan's (unused) `--address` flags: the manifests
/// carry none of them, since the operator gives every runner pod its own
/// address. 6565 is the one it uses.
const UNUSED_API_PORT: u16 = 6565;
/// The suite's name when none is given.
pub const DEFAULT_SUITE: &str = "k6-suite";

/// What an operator asks of an export (`k6-runner export k6-operator`,
/// `GET /export/k6-operator`); the core checks every field.
#[derive(Debug, Clone, Default)]
pub struct OperatorExport {
    /// Runner pods per step.
    pub parallelism: u32,
    /// Namespace of every object; none leaves it to `kubectl`.
    pub namespace: Option<String>,
    /// The runner pods' image; none is the image of the k6 found.
    pub runner_image: Option<String>,
    /// CPU per runner pod (a Kubernetes quantity), request and limit.
    pub runner_cpu: Option<String>,
    /// Memory per runner pod (a Kubernetes quantity), request and limit.
    pub runner_memory: Option<String>,
    /// The suite's name; none is [`DEFAULT_SUITE`].
    pub suite: Option<String>,
    /// The run's id; none makes one from the clock, as a run's id.
    pub run_id: Option<String>,
}

impl Service {
    /// The YAML stream of ConfigMaps and TestRuns for the current config.
    ///
    /// # Errors
    ///
    /// [`ControlError::BadRequest`] when a parameter is wrong (every field
    /// error at once, before anything is archived);
    /// [`ControlError::Invalid`] when the config cannot run on k6-operator
    /// (a legacy wrapper, an archive k6 refuses or a ConfigMap cannot
    /// hold); [`ControlError::K6Unavailable`] without a usable k6.
    pub async fn export_k6_operator(
        &self,
        request: OperatorExport,
    ) -> Result<String, ControlError> {
        let catalogue = self.catalogue().await?;
        let config = self.config();
        let scratch = tempfile::tempdir().map_err(|source| {
            ControlError::Storage(crate::persistence::PersistError::Io {
                action: "creating a scratch folder for",
                path: std::env::temp_dir(),
                source,
            })
        })?;
        let context = PlanContext {
            run_dir: scratch.path().to_string_lossy().into_owned(),
            api_ports: vec![UNUSED_API_PORT; config.enabled_scripts.len()],
            target: PlanTarget::Runner,
        };
        let plan = self
            .core
            .call("plan.build", move |c| {
                c.build_plan(&config, &catalogue, &context)
            })
            .await?
            .map_err(|errors| invalid("the current config cannot be planned", errors))?;
        let run_id = match request.run_id {
            Some(id) => id,
            None => self.new_run_id().await,
        };
        let mut settings = ExportSettings {
            parallelism: request.parallelism,
            namespace: request.namespace,
            runner_image: request.runner_image,
            runner_cpu: request.runner_cpu,
            runner_memory: request.runner_memory,
            suite: request.suite.unwrap_or_else(|| DEFAULT_SUITE.to_owned()),
            run_id,
            k6_version: None,
        };
        let (checked_plan, checked_settings) = (plan.clone(), settings.clone());
        let errors = self
            .core
            .call("k6-operator.check", move |c| {
                c.operator_check(&checked_plan, &checked_settings)
            })
            .await?;
        if !errors.is_empty() {
            return Err(refusal(errors));
        }
        let k6 = self.usable_k6().await?;
        settings.k6_version = Some(k6.version.clone());
        let marker = format!("export-{}", settings.run_id);
        let mut archives = Vec::new();
        for step in &plan.steps {
            match self
                .steps
                .export_archive(step, &k6.path, scratch.path(), &marker)
                .await
            {
                Ok(Some(archive)) => archives.push(archive),
                Ok(None) => {}
                Err(reason) => {
                    let field = format!("enabledScripts[{}]", step.index);
                    return Err(ControlError::Invalid {
                        message: "the current config cannot be exported".to_owned(),
                        fields: vec![FieldErrorBody {
                            message: format!("{field} {}: {reason}", step.script),
                            field,
                            code: crate::model::ErrorCode::NotRunnable,
                        }],
                    });
                }
            }
        }
        self.core
            .call("k6-operator.render", move |c| {
                c.operator_render(&plan, &settings, &archives)
            })
            .await?
            .map_err(refusal)
    }
}

/// A 400 when any error names a parameter (the config's fields all sit
/// under `enabledScripts`), else a 422: the config cannot be exported.
fn refusal(errors: Vec<FieldError>) -> ControlError {
    let about_parameters = errors
        .iter()
        .any(|e| !e.field.is_empty() && !e.field.starts_with("enabledScripts"));
    if about_parameters {
        ControlError::BadRequest {
            message: "the export's parameters are invalid".to_owned(),
            fields: errors.into_iter().map(FieldErrorBody::from).collect(),
        }
    } else {
        invalid(
            "the current config cannot be exported to k6-operator",
            errors,
        )
    }
}
