//! Building a [`Service`]: each part made and checked in turn, the stored
//! config loaded, and only then the service itself, so that no half-made
//! service (with a placeholder config, say) ever exists.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use super::catalogue::{Catalogue, probe_env};
use super::config_store::ConfigStore;
use super::configs::ConfigParts;
use super::recovery::{recover_interrupted_run, show_last_run};
use super::run_slot::RunSlot;
use super::{Service, ServiceConfig, ServiceError};
use crate::allowlist::ScriptDirs;
use crate::audit::AuditLog;
use crate::contract::{Config, Plan, Policy, RenderError};
use crate::history::History;
use crate::hub::Hub;
use crate::k6;
use crate::persistence::DataDir;
use crate::prometheus::Metrics;
use crate::sandbox::{Sandbox, SharedCore};
use crate::supervisor::StepRunner;
use crate::webhooks::DeliveryLog;

/// Names of the runner's own environment variables (tokens, the run
/// marker): none is ever passed to a script.
const RUNNER_ENV_PREFIX: &str = "K6_RUNNER_";

/// Builds the service from `config`.
pub(super) async fn start(config: ServiceConfig) -> Result<Arc<Service>, ServiceError> {
    if let Some(name) = config
        .pass_env
        .iter()
        .find(|name| name.starts_with(RUNNER_ENV_PREFIX))
    {
        return Err(ServiceError::ReservedEnv {
            name: name.clone(),
            prefix: RUNNER_ENV_PREFIX,
        });
    }
    config.webhooks.check()?;
    let core = load_core(&config).await?;
    let (data, audit) = open_data_dir(&config.data_dir).await?;
    let dirs = ScriptDirs::new(&config.script_dirs)?;
    let template = read_template(&core, config.template.as_deref()).await?;
    let policy = policy(&core, &config).await?;
    let k6 = k6::discover(config.k6.as_deref()).await;
    match &k6 {
        Ok(binary) => {
            tracing::info!(path = %binary.path.display(), version = %binary.version, "k6 found")
        }
        Err(error) => {
            tracing::warn!(%error, "k6 is not usable; runs will fail to start until it is")
        }
    }
    let hub = Arc::new(Hub::new());
    hub.update_status(|s| s.k6_version = k6.as_ref().ok().map(|b| b.version.clone()));
    let metrics = Arc::new(Metrics::new(hub.clone(), core.sandbox()));
    let catalogue = Catalogue::new(
        dirs.clone(),
        policy.clone(),
        data.root().join("cache").join("inspect"),
        probe_env(
            k6.as_ref().ok().and_then(|b| b.path.parent()),
            &config.pass_env,
        ),
    );
    {
        let (data, hub, metrics) = (data.clone(), hub.clone(), metrics.clone());
        tokio::task::spawn_blocking(move || {
            recover_interrupted_run(&data, &hub, &metrics);
            show_last_run(&data, &hub);
        })
        .await
        .map_err(|source| ServiceError::Aborted {
            what: "recovery",
            source,
        })?;
    }
    let history = open_history(&data).await?;
    let initial = ConfigParts {
        core: &core,
        catalogue: &catalogue,
        data: &data,
        policy: &policy,
        hub: &hub,
        k6: k6.as_ref().ok().cloned(),
    }
    .load()
    .await?;
    let steps = Arc::new(StepRunner {
        core: core.clone(),
        hub: hub.clone(),
        data: data.clone(),
        dirs,
        allowed_suffixes: policy.allowed_suffixes.clone(),
        bash: k6::find_on_path("bash"),
        pass_env: config.pass_env.clone(),
        stop_grace: config.stop_grace,
        step_log_max_bytes: config.step_log_max_bytes,
        k6_output: config.k6_prometheus_rw.clone(),
        metrics: metrics.clone(),
    });
    Ok(Arc::new(Service {
        runs: RunSlot::new(hub.clone()),
        core,
        hub,
        data,
        catalogue,
        policy,
        template,
        k6_explicit: config.k6.clone(),
        k6: RwLock::new(k6),
        steps,
        config: ConfigStore::new(initial),
        live: Mutex::new(None),
        audit,
        history,
        retention: config.retention,
        metrics,
        webhooks: Arc::new(DeliveryLog::default()),
        schedules: Arc::default(),
        deliveries: std::sync::OnceLock::new(),
    }))
    .inspect(|service| {
        let pruning = service.clone();
        tokio::spawn(async move { pruning.apply_retention().await });
    })
    .and_then(|service| {
        // The delivery task holds the service weakly: the hub's broadcast
        // closes when the service is dropped, and the task ends with it.
        let weak = Arc::downgrade(&service);
        let deliveries = crate::webhooks::spawn(
            config.webhooks,
            service.subscribe(),
            move |id| weak.upgrade()?.run_record(id).ok(),
            service.webhooks.clone(),
            service.metrics.clone(),
        )?;
        // Set once, here, before anyone else holds the service.
        let _ = service.deliveries.set(deliveries);
        crate::schedules::spawn(&service);
        Ok(service)
    })
}

/// Opens the run history (importing the run folders it lacks) on a
/// blocking thread, after recovery has settled an interrupted run.
async fn open_history(data: &DataDir) -> Result<History, ServiceError> {
    let data = data.clone();
    let (history, report) = tokio::task::spawn_blocking(move || History::open(&data))
        .await
        .map_err(|source| ServiceError::Aborted {
            what: "open the history",
            source,
        })??;
    if let Some(aside) = report.set_aside {
        tracing::warn!(aside = %aside.display(), imported = report.import.imported, "the history database was rebuilt from the run folders; the unusable file is kept");
    }
    // Before the API or the scheduler can see the table empty.
    let restored = crate::schedules::restore(&history).await?;
    if restored > 0 {
        tracing::warn!(
            restored,
            "schedules restored from their copy into the history database"
        );
    }
    Ok(history)
}

/// Loads (and compiles, or takes from the cache) the core component on a
/// blocking thread.
async fn load_core(config: &ServiceConfig) -> Result<SharedCore, ServiceError> {
    let plugin = config.plugin.clone();
    let sandbox = tokio::task::spawn_blocking(move || Sandbox::load(&plugin))
        .await
        .map_err(|source| ServiceError::Aborted {
            what: "load the core",
            source,
        })??;
    tracing::info!(sha256 = %sandbox.info().sha256, origin = %sandbox.info().origin, "core component loaded");
    Ok(SharedCore::new(sandbox))
}

/// Opens (and locks) the data directory and its audit log.
async fn open_data_dir(path: &Path) -> Result<(DataDir, AuditLog), ServiceError> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let data = DataDir::open(&path)?;
        let audit_path = data.audit_path();
        let audit = AuditLog::open(&audit_path).map_err(|source| ServiceError::Audit {
            path: audit_path,
            source,
        })?;
        Ok((data, audit))
    })
    .await
    .map_err(|source| ServiceError::Aborted {
        what: "open the data directory",
        source,
    })?
}

/// The operator's `k6_all.sh` template, refused at startup if the core
/// cannot compile it (whether it renders a given plan, strict mode decides
/// per plan).
async fn read_template(
    core: &SharedCore,
    path: Option<&Path>,
) -> Result<Option<String>, ServiceError> {
    let Some(path) = path else {
        return Ok(None);
    };
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|source| ServiceError::Template {
            path: path.to_path_buf(),
            source,
        })?;
    let empty = Plan {
        config: Config {
            global_user_count: 1,
            test_duration_seconds: 1,
            ramp_up_seconds: 0,
            max_duration_seconds: 6,
            enabled_scripts: Vec::new(),
            interval_seconds: 0,
            regression_budgets: None,
        },
        steps: Vec::new(),
        interval_seconds: 0,
        expected_seconds: 0,
    };
    let checked = text.clone();
    match core
        .call("plan.render", move |c| c.render(&empty, Some(&checked)))
        .await?
    {
        Err(RenderError::TemplateSyntax(message)) => Err(ServiceError::TemplateSyntax {
            path: PathBuf::from(path),
            message,
        }),
        Ok(_) | Err(RenderError::TemplateRender(_)) => Ok(Some(text)),
    }
}

/// The policy: the host's, or the core's default, with `--max-users`.
async fn policy(core: &SharedCore, config: &ServiceConfig) -> Result<Policy, ServiceError> {
    let mut policy = match config.policy.clone() {
        Some(policy) => policy,
        None => {
            core.call("config.default-policy", |c| c.default_policy())
                .await?
        }
    };
    if let Some(max_users) = config.max_users {
        policy.max_users = max_users;
    }
    if policy.max_users == 0
        || policy.max_test_duration_seconds == 0
        || policy.max_enabled_scripts == 0
    {
        return Err(ServiceError::EmptyPolicy {
            users: policy.max_users,
            test: policy.max_test_duration_seconds,
            scripts: policy.max_enabled_scripts,
        });
    }
    Ok(policy)
}
