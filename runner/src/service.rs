//! The k6 control plane as one object: config, catalogue, runs, status.
//! The REST API, the CLI and embedding hosts all drive this.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, watch};
use tokio::task::JoinHandle;

use crate::allowlist::{ScriptDirError, ScriptDirs};
use crate::audit::{AuditEntry, AuditLog};
use crate::contract::{CatalogueEntry, Config, Plan, PlanContext, Policy, RenderError, StopCause};
use crate::hub::{Event, Hub};
use crate::k6::{self, K6Binary, K6Error};
use crate::model::{
    FieldErrorBody, LogLine, RunRecord, RunRecordState, RunState, ScriptInfo, Status, StepState,
    kind_name, now_rfc3339,
};
use crate::persistence::{DataDir, PersistError};
use crate::sandbox::{PluginSource, Sandbox, SandboxError, SharedCore};
use crate::supervisor::{self, Programs, SuiteRun, Supervisor, process};

/// Default time between a stop request and SIGKILL of the step's group.
pub const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(15);

/// Where `GET /script` pretends the run folder is: the rendered
/// `k6_all.sh` writes its exports next to itself.
const PREVIEW_RUN_DIR: &str = "k6-results";
/// First k6 API port in the rendered `k6_all.sh`: k6's own default.
const PREVIEW_FIRST_PORT: u16 = 6565;

/// How to build a [`Service`].
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Config, run records, logs and caches live here.
    pub data_dir: PathBuf,
    /// The operator's script directories (the allowlist).
    pub script_dirs: Vec<PathBuf>,
    /// The k6 binary; `None` looks for `k6` on `PATH`.
    pub k6: Option<PathBuf>,
    /// Limits for configs; `None` takes the core's default policy.
    pub policy: Option<Policy>,
    /// Overrides the policy's largest `globalUserCount` (`--max-users`).
    pub max_users: Option<u32>,
    /// Which core component to load.
    pub plugin: PluginSource,
    /// Extra environment variable names passed to k6.
    pub pass_env: Vec<String>,
    /// Time between a stop request and SIGKILL.
    pub stop_grace: Duration,
    /// Size at which a step's log file is rotated (3 old parts are kept).
    pub step_log_max_bytes: u64,
    /// A Handlebars template file for `k6_all.sh`; `None` uses the core's.
    pub template: Option<PathBuf>,
}

impl ServiceConfig {
    /// Defaults: k6 from `PATH`, the core's policy, the embedded core with
    /// its compiled form cached in `<data_dir>/cache`, a 15 s stop grace.
    pub fn new(data_dir: impl Into<PathBuf>, script_dirs: Vec<PathBuf>) -> Self {
        let data_dir = data_dir.into();
        Self {
            plugin: PluginSource {
                cache_dir: Some(crate::sandbox::cache_dir_in(&data_dir)),
                ..PluginSource::default()
            },
            data_dir,
            script_dirs,
            k6: None,
            policy: None,
            max_users: None,
            pass_env: Vec::new(),
            stop_grace: DEFAULT_STOP_GRACE,
            step_log_max_bytes: crate::persistence::logfile::MAX_LOG_PART_BYTES,
            template: None,
        }
    }
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The core component.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// The data directory.
    #[error(transparent)]
    Persist(#[from] PersistError),
    /// A script directory.
    #[error(transparent)]
    ScriptDir(#[from] ScriptDirError),
    /// The audit log.
    #[error("cannot open the audit log {path}: {source}")]
    Audit {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The stored config or the defaults could not be loaded.
    #[error("cannot load the config: {0}")]
    Config(#[from] ControlError),
    /// The template file.
    #[error("cannot read the k6_all.sh template {path}: {source}")]
    Template {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A setting the service cannot work with (a policy no config can
    /// pass, an environment name that must not reach scripts).
    #[error("{0}")]
    Setting(String),
    /// The template is not valid Handlebars.
    #[error("the k6_all.sh template {path} is not valid Handlebars: {message}")]
    TemplateSyntax {
        /// The file.
        path: PathBuf,
        /// The core's reason.
        message: String,
    },
}

/// Why a control action was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The request is not acceptable (HTTP 422).
    #[error("{message}")]
    Invalid {
        /// Summary.
        message: String,
        /// One entry per problem.
        fields: Vec<FieldErrorBody>,
    },
    /// A run is in progress (HTTP 409).
    #[error("a suite run is already in progress (run {run_id})")]
    AlreadyRunning {
        /// The running run.
        run_id: String,
    },
    /// k6 cannot be used (HTTP 503).
    #[error(transparent)]
    K6Unavailable(#[from] K6Error),
    /// Nothing to show yet (HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// Storage failed (HTTP 500).
    #[error(transparent)]
    Storage(#[from] PersistError),
    /// The core failed (HTTP 500).
    #[error(transparent)]
    Core(#[from] SandboxError),
    /// Something else on the runner's side failed (HTTP 500).
    #[error("{0}")]
    Internal(String),
}

/// A run that was just started.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartedRun {
    /// Its id.
    pub run_id: String,
    /// Its scripts, in order.
    pub scripts: Vec<String>,
    /// Expected length, seconds.
    pub expected_seconds: u64,
}

struct CurrentConfig {
    config: Config,
    json: String,
}

struct ActiveRun {
    id: String,
    stop: watch::Sender<Option<StopCause>>,
    /// The supervisor's task; `None` while the start is being prepared (a
    /// stop request then waits in `stop`, and the supervisor, once
    /// started, honours it before spawning anything).
    task: Option<JoinHandle<()>>,
}

/// Names of the runner's own environment variables (tokens, the run
/// marker): none is ever passed to a script.
const RUNNER_ENV_PREFIX: &str = "K6_RUNNER_";

/// The k6 control plane. Cheap to share as `Arc<Service>`.
pub struct Service {
    core: SharedCore,
    hub: Arc<Hub>,
    data: DataDir,
    dirs: ScriptDirs,
    policy: Policy,
    template: Option<String>,
    k6_explicit: Option<PathBuf>,
    k6: RwLock<Result<K6Binary, K6Error>>,
    bash: Option<PathBuf>,
    pass_env: Vec<String>,
    stop_grace: Duration,
    step_log_max_bytes: u64,
    config: RwLock<CurrentConfig>,
    run_slot: Arc<Semaphore>,
    active: Mutex<Option<ActiveRun>>,
    audit: AuditLog,
}

impl Service {
    /// Loads the core, opens the data directory, cleans up after a runner
    /// that died mid-run, loads the stored config (setting an unusable one
    /// aside) and looks for k6. A missing k6 is not fatal: it is reported in
    /// the status and at every start.
    pub async fn start(config: ServiceConfig) -> Result<Arc<Self>, ServiceError> {
        if let Some(name) = config
            .pass_env
            .iter()
            .find(|name| name.starts_with(RUNNER_ENV_PREFIX))
        {
            return Err(ServiceError::Setting(format!(
                "--pass-env {name}: the runner's own variables ({RUNNER_ENV_PREFIX}*, such as \
                 the tokens) are never passed to scripts"
            )));
        }
        let plugin = config.plugin.clone();
        let sandbox = tokio::task::spawn_blocking(move || Sandbox::load(&plugin))
            .await
            .map_err(|e| SandboxError::Aborted {
                function: "load",
                message: e.to_string(),
            })??;
        tracing::info!(sha256 = %sandbox.info().sha256, origin = %sandbox.info().origin, "core component loaded");
        let data = DataDir::open(&config.data_dir)?;
        let audit_path = data.audit_path();
        let audit = AuditLog::open(&audit_path).map_err(|source| ServiceError::Audit {
            path: audit_path,
            source,
        })?;
        let dirs = ScriptDirs::new(&config.script_dirs)?;
        let template =
            match &config.template {
                Some(path) => Some(std::fs::read_to_string(path).map_err(|source| {
                    ServiceError::Template {
                        path: path.clone(),
                        source,
                    }
                })?),
                None => None,
            };
        let core = SharedCore::new(sandbox);
        if let (Some(path), Some(text)) = (&config.template, &template) {
            check_template(&core, path, text).await?;
        }
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
            return Err(ServiceError::Setting(format!(
                "the policy lets no config pass (max users {}, longest test {} s, scripts {}); \
                 each must be at least 1",
                policy.max_users, policy.max_test_duration_seconds, policy.max_enabled_scripts
            )));
        }
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
        let placeholder = CurrentConfig {
            config: Config {
                global_user_count: 0,
                test_duration_seconds: 0,
                ramp_up_seconds: 0,
                max_duration_seconds: 0,
                enabled_scripts: Vec::new(),
                interval_seconds: 0,
            },
            json: String::new(),
        };
        let service = Arc::new(Self {
            core,
            hub,
            data,
            dirs,
            policy,
            template,
            k6_explicit: config.k6.clone(),
            k6: RwLock::new(k6),
            bash: k6::find_on_path("bash"),
            pass_env: config.pass_env.clone(),
            stop_grace: config.stop_grace,
            step_log_max_bytes: config.step_log_max_bytes,
            config: RwLock::new(placeholder),
            run_slot: Arc::new(Semaphore::new(1)),
            active: Mutex::new(None),
            audit,
        });
        service.recover_interrupted_run();
        service.show_last_run();
        service.load_config().await?;
        Ok(service)
    }

    /// The live status.
    pub fn status(&self) -> Status {
        self.hub.status()
    }

    /// Every status change, metrics reading and log line from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.hub.subscribe()
    }

    /// The limits configs are checked against.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The loaded core component.
    pub fn sandbox(&self) -> &Sandbox {
        self.core.sandbox()
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.data.root()
    }

    /// The current config and its canonical JSON.
    pub fn config(&self) -> (Config, String) {
        let current = self.config.read().unwrap_or_else(PoisonError::into_inner);
        (current.config.clone(), current.json.clone())
    }

    /// Validates `raw` and, if valid, stores it as the config. Nothing is
    /// written when it is invalid or when storing fails.
    pub async fn put_config(&self, raw: String) -> Result<String, ControlError> {
        let catalogue = self.catalogue().await?;
        let policy = self.policy.clone();
        let checked = self
            .core
            .call("config.validate", move |c| {
                c.validate(&raw, &policy, &catalogue)
            })
            .await?;
        let config = checked.map_err(|errors| invalid("the config is invalid", errors))?;
        self.store_config(config).await
    }

    /// Replaces the config with the defaults for the current catalogue.
    pub async fn reset_config(&self) -> Result<String, ControlError> {
        let catalogue = self.catalogue().await?;
        let policy = self.policy.clone();
        let config = self
            .core
            .call("config.default-config", move |c| {
                c.default_config(&catalogue, &policy)
            })
            .await?;
        self.store_config(config).await
    }

    async fn store_config(&self, config: Config) -> Result<String, ControlError> {
        self.adopt_config(config, true).await
    }

    /// Makes `config` the current one and returns its canonical JSON. With
    /// `persist`, `config.json` is written first, so that a failed write
    /// changes nothing.
    async fn adopt_config(&self, config: Config, persist: bool) -> Result<String, ControlError> {
        let for_json = config.clone();
        let json = self
            .core
            .call("config.to-json", move |c| c.to_json(&for_json))
            .await?;
        if persist {
            self.data.write_config(&json)?;
        }
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = CurrentConfig {
            config,
            json: json.clone(),
        };
        if persist && let Ok(value) = serde_json::from_str(&json) {
            self.hub.publish_config(value);
        }
        Ok(json)
    }

    /// The scripts the operator's directories offer, as the core accepts them.
    pub async fn catalogue(&self) -> Result<Vec<CatalogueEntry>, ControlError> {
        let dirs = self.dirs.clone();
        let files = tokio::task::spawn_blocking(move || dirs.scan())
            .await
            .map_err(|e| ControlError::Internal(format!("scanning the script directories: {e}")))?;
        let policy = self.policy.clone();
        Ok(self
            .core
            .call("config.catalogue", move |c| c.catalogue(&files, &policy))
            .await?)
    }

    /// The catalogue with file sizes, for `GET /scripts`.
    pub async fn scripts(&self) -> Result<Vec<ScriptInfo>, ControlError> {
        Ok(self
            .catalogue()
            .await?
            .into_iter()
            .map(|entry| ScriptInfo {
                size_bytes: std::fs::metadata(&entry.path).map(|m| m.len()).unwrap_or(0),
                kind: kind_name(entry.kind).to_owned(),
                name: entry.name,
            })
            .collect())
    }

    /// The `k6_all.sh` the current config would run.
    pub async fn render_script(&self) -> Result<String, ControlError> {
        let catalogue = self.catalogue().await?;
        let (config, _) = self.config();
        let ports = (0..config.enabled_scripts.len())
            .map(|i| PREVIEW_FIRST_PORT.saturating_add(i as u16))
            .collect();
        let context = PlanContext {
            run_dir: PREVIEW_RUN_DIR.to_owned(),
            api_ports: ports,
        };
        let template = self.template.clone();
        let rendered = self
            .core
            .call("plan.render", move |c| {
                Ok(match c.build_plan(&config, &catalogue, &context)? {
                    Ok(plan) => Ok(c.render(&plan, template.as_deref())?),
                    Err(errors) => Err(errors),
                })
            })
            .await?;
        match rendered {
            Ok(Ok(script)) => Ok(script),
            Ok(Err(RenderError::TemplateSyntax(reason) | RenderError::TemplateRender(reason))) => {
                Err(ControlError::Internal(format!(
                    "cannot render k6_all.sh with the operator's template: {reason}"
                )))
            }
            Err(errors) => Err(invalid("the current config cannot be planned", errors)),
        }
    }

    /// Starts a suite run with the current config. Refused with
    /// [`ControlError::AlreadyRunning`] while one runs; nothing is spawned
    /// when the config cannot be planned or k6 is missing. The run can be
    /// stopped from the moment it is accepted, even before its first step.
    pub async fn start_run(&self) -> Result<StartedRun, ControlError> {
        let permit = self.run_slot.clone().try_acquire_owned().map_err(|_| {
            let active = self.active.lock().unwrap_or_else(PoisonError::into_inner);
            ControlError::AlreadyRunning {
                run_id: active
                    .as_ref()
                    .map(|run| run.id.clone())
                    .unwrap_or_default(),
            }
        })?;
        let id = self.new_run_id();
        let (stop, stop_rx) = watch::channel(None);
        *self.active.lock().unwrap_or_else(PoisonError::into_inner) = Some(ActiveRun {
            id: id.clone(),
            stop,
            task: None,
        });
        match self.launch(id.clone(), permit, stop_rx).await {
            Ok((started, task)) => {
                let mut active = self.active.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(run) = active.as_mut().filter(|run| run.id == id) {
                    run.task = Some(task);
                }
                tracing::info!(run = %started.run_id, scripts = ?started.scripts, "suite run started");
                Ok(started)
            }
            Err(error) => {
                let mut active = self.active.lock().unwrap_or_else(PoisonError::into_inner);
                if active.as_ref().is_some_and(|run| run.id == id) {
                    *active = None;
                }
                drop(active);
                // A stop sent while this start was prepared may have marked
                // the status as stopping: nothing runs.
                self.hub.update_status(|s| {
                    s.state = RunState::Idle;
                    s.last_error = Some(format!("start refused: {}", refusal(&error)));
                });
                Err(error)
            }
        }
    }

    /// Plans run `id`, records it and hands it to a supervisor task, which
    /// keeps `permit` until the run is over.
    async fn launch(
        &self,
        id: String,
        permit: OwnedSemaphorePermit,
        stop_rx: watch::Receiver<Option<StopCause>>,
    ) -> Result<(StartedRun, JoinHandle<()>), ControlError> {
        let k6 = self.usable_k6().await?;
        let catalogue = self.catalogue().await?;
        let (config, config_json) = self.config();
        let run_dir = self.data.run_dir(&id);
        let ports = free_ports(config.enabled_scripts.len()).map_err(|e| {
            ControlError::Internal(format!("cannot find free ports for k6's API: {e}"))
        })?;
        let context = PlanContext {
            run_dir: run_dir.to_string_lossy().into_owned(),
            api_ports: ports,
        };
        let planned_catalogue = catalogue.clone();
        let plan = self
            .core
            .call("plan.build", move |c| {
                c.build_plan(&config, &planned_catalogue, &context)
            })
            .await?
            .map_err(|errors| invalid("the config cannot be run", errors))?;

        let config_value = serde_json::from_str(&config_json).unwrap_or(serde_json::Value::Null);
        let record = supervisor::new_record(id.clone(), &plan, config_value);
        if let Err(error) = self.record_new_run(&record) {
            // A run that cannot be recorded does not start, and leaves no
            // half-made folder behind (a full disk, for instance).
            let _ = std::fs::remove_dir_all(&run_dir);
            let _ = self.data.clear_active_run();
            return Err(error.into());
        }
        let started = StartedRun {
            run_id: id.clone(),
            scripts: plan.steps.iter().map(|s| s.script.clone()).collect(),
            expected_seconds: plan.expected_seconds,
        };
        self.hub.update_status(|s| {
            s.is_running = true;
            // Read under the hub's lock, which a stop request also takes to
            // mark the status as stopping.
            s.state = if stop_rx.borrow().is_some() {
                RunState::Stopping
            } else {
                RunState::Running
            };
            s.run_id = Some(id.clone());
            s.start_time = Some(record.started_at.clone());
            s.current_script = None;
            s.current_user_count = 0;
            s.completed_scripts.clear();
            s.failed_scripts.clear();
            s.stopped_scripts.clear();
            s.last_error = None;
            s.metrics = None;
        });

        let supervisor = Supervisor {
            core: self.core.clone(),
            hub: self.hub.clone(),
            data: self.data.clone(),
            dirs: self.dirs.clone(),
            allowed_suffixes: self.policy.allowed_suffixes.clone(),
            programs: Programs {
                k6: Some(k6.path),
                k6_missing: String::new(),
                bash: self.bash.clone(),
            },
            pass_env: self.pass_env.clone(),
            stop_grace: self.stop_grace,
            step_log_max_bytes: self.step_log_max_bytes,
        };
        let run = SuiteRun {
            record,
            plan,
            catalogue,
            run_dir,
        };
        let task = tokio::spawn(async move {
            supervisor.run(run, stop_rx).await;
            drop(permit);
        });
        Ok((started, task))
    }

    fn record_new_run(&self, record: &RunRecord) -> Result<(), PersistError> {
        self.data.create_run_dir(&record.id)?;
        self.data.write_run(record)?;
        self.data.set_active_run(&record.id)
    }

    /// Asks the current run to stop (idempotent). Returns the run's id if
    /// one was running.
    pub fn stop_run(&self, cause: StopCause) -> Option<String> {
        let active = self.active.lock().unwrap_or_else(PoisonError::into_inner);
        let run = active
            .as_ref()
            .filter(|run| run.task.as_ref().is_none_or(|task| !task.is_finished()))?;
        if run.stop.borrow().is_none() {
            let _ = run.stop.send(Some(cause));
            self.hub.update_status(|s| s.state = RunState::Stopping);
            tracing::info!(run = %run.id, ?cause, "stop requested");
        }
        Some(run.id.clone())
    }

    /// Stops any run and waits until its processes are gone and its record
    /// is written.
    pub async fn shutdown(&self) {
        self.stop_run(StopCause::Shutdown);
        let task = self
            .active
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .and_then(|run| run.task);
        if let Some(task) = task {
            let _ = task.await;
        }
        // A start still being prepared holds the run slot until its
        // supervisor (stopped before its first step) has written its record.
        drop(self.run_slot.acquire().await);
    }

    /// Appends to the audit log. A failure to write it is logged and shown
    /// in the status; it never blocks the action (a stop must always work).
    pub fn audit(&self, entry: AuditEntry) {
        if let Err(error) = self.audit.record(&entry) {
            tracing::error!(%error, action = %entry.action, "cannot write the audit log");
            self.hub.update_status(|s| {
                s.last_error = Some(format!("cannot write the audit log: {error}"))
            });
        }
    }

    /// The newest `limit` audit entries.
    pub fn audit_tail(&self, limit: usize) -> Result<Vec<AuditEntry>, ControlError> {
        self.audit.tail(limit).map_err(|source| {
            ControlError::Storage(PersistError::Io {
                action: "reading",
                path: self.data.audit_path(),
                source,
            })
        })
    }

    /// The live metrics readings of the current (or last) run.
    pub fn metrics_history(&self) -> Vec<crate::model::MetricsPoint> {
        self.hub.metrics_history()
    }

    /// Recent log lines (see [`Hub::logs`]).
    pub fn logs(
        &self,
        since: Option<u64>,
        limit: usize,
        levels: &[String],
        run_id: Option<&str>,
    ) -> Vec<LogLine> {
        self.hub.logs(since, limit, levels, run_id)
    }

    /// The record of the latest run.
    pub fn results(&self) -> Result<RunRecord, ControlError> {
        let id = self
            .data
            .last_run_id()?
            .ok_or_else(|| ControlError::NotFound("no run has been started yet".into()))?;
        Ok(self.data.read_run(&id)?)
    }

    /// k6, looked for again if it was missing (it may have been installed
    /// since the runner started).
    async fn usable_k6(&self) -> Result<K6Binary, ControlError> {
        if let Ok(binary) = &*self.k6.read().unwrap_or_else(PoisonError::into_inner) {
            return Ok(binary.clone());
        }
        let found = k6::discover(self.k6_explicit.as_deref()).await;
        self.hub
            .update_status(|s| s.k6_version = found.as_ref().ok().map(|b| b.version.clone()));
        *self.k6.write().unwrap_or_else(PoisonError::into_inner) = found.clone();
        found.map_err(|error| {
            self.hub
                .update_status(|s| s.last_error = Some(error.to_string()));
            ControlError::K6Unavailable(error)
        })
    }

    /// Loads `config.json`, or the defaults if there is none. A stored
    /// config that is unreadable or no longer valid (a script was removed,
    /// the policy was tightened) is set aside and reported, never
    /// overwritten.
    async fn load_config(&self) -> Result<(), ControlError> {
        let catalogue = self.catalogue().await?;
        let stored = match self.data.read_config() {
            Ok(stored) => stored,
            Err(PersistError::Corrupt { reason, .. }) => {
                self.set_config_aside(&reason);
                None
            }
            Err(error) => return Err(error.into()),
        };
        if let Some(raw) = stored {
            let policy = self.policy.clone();
            let for_check = catalogue.clone();
            let checked = self
                .core
                .call("config.validate", move |c| {
                    c.validate(&raw, &policy, &for_check)
                })
                .await?;
            match checked {
                Ok(config) => return self.adopt_config(config, false).await.map(drop),
                Err(errors) => {
                    let reasons: Vec<String> = errors
                        .into_iter()
                        .map(|e| format!("{}: {}", e.field, e.message))
                        .collect();
                    self.set_config_aside(&reasons.join("; "));
                }
            }
        }
        let policy = self.policy.clone();
        let config = self
            .core
            .call("config.default-config", move |c| {
                c.default_config(&catalogue, &policy)
            })
            .await?;
        self.adopt_config(config, false).await.map(drop)
    }

    fn set_config_aside(&self, reason: &str) {
        let message = match self.data.set_config_aside() {
            Ok(kept) => format!(
                "the stored config was not usable ({reason}); it was kept as {} and the defaults are in use",
                kept.display()
            ),
            Err(error) => format!(
                "the stored config was not usable ({reason}) and could not be set aside: {error}"
            ),
        };
        tracing::error!("{message}");
        self.hub.update_status(|s| s.last_error = Some(message));
    }

    /// After a runner died mid-run: kill what it left running and mark the
    /// run interrupted.
    fn recover_interrupted_run(&self) {
        let id = match self.data.active_run() {
            Ok(Some(id)) => id,
            Ok(None) => return,
            Err(error) => {
                tracing::error!(%error, "cannot read the active-run marker");
                return;
            }
        };
        let killed = process::kill_marked_processes(&self.data.run_marker(&id));
        let reason = format!(
            "the runner stopped unexpectedly during this run; {} leftover process(es) killed at the next start",
            killed.len()
        );
        tracing::warn!(run = %id, ?killed, "recovering an interrupted run");
        match self.data.read_run(&id) {
            Ok(mut record) => {
                record.state = RunRecordState::Interrupted;
                record.ended_at = Some(now_rfc3339());
                record.reason = Some(reason.clone());
                for step in &mut record.steps {
                    match step.state {
                        StepState::Running => {
                            step.state = StepState::Interrupted;
                            step.reason = Some("the runner died while this step ran".into());
                        }
                        StepState::Pending => {
                            step.state = StepState::Skipped;
                            step.reason =
                                Some("not started: the runner died before this step".into());
                        }
                        _ => {}
                    }
                }
                if let Err(error) = self.data.write_run(&record) {
                    tracing::error!(%error, "cannot mark the interrupted run");
                }
            }
            Err(error) => {
                tracing::error!(%error, run = %id, "cannot read the interrupted run's record")
            }
        }
        if let Err(error) = self.data.clear_active_run() {
            tracing::error!(%error, "cannot clear the active-run marker");
        }
        // Its start time and outcomes come with the last run's record
        // (`show_last_run`), which this run is.
        self.hub.update_status(|s| {
            s.run_id = Some(id.clone());
            s.last_error = Some(format!("run {id} was interrupted: {reason}"));
        });
    }

    /// After a restart, the status names the last run and its outcomes, as
    /// it did before (`/results` has the whole record).
    fn show_last_run(&self) {
        let record = match self.data.last_run_id() {
            Ok(Some(id)) => self.data.read_run(&id),
            Ok(None) => return,
            Err(error) => Err(error),
        };
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                tracing::warn!(%error, "cannot read the last run's record");
                return;
            }
        };
        let scripts = |wanted: &[StepState]| -> Vec<String> {
            record
                .steps
                .iter()
                .filter(|step| wanted.contains(&step.state))
                .map(|step| step.script.clone())
                .collect()
        };
        let completed = scripts(&[StepState::Completed]);
        let stopped = scripts(&[StepState::Stopped]);
        let failed = scripts(&[StepState::Failed, StepState::Interrupted]);
        self.hub.update_status(|s| {
            s.run_id = Some(record.id.clone());
            s.start_time = Some(record.started_at.clone());
            s.completed_scripts = completed;
            s.failed_scripts = failed;
            s.stopped_scripts = stopped;
        });
    }

    /// `20261125T133700Z`, with `-2`, `-3`… if a run started in the same second.
    fn new_run_id(&self) -> String {
        let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
            .to_string()
            .replace(['-', ':'], "");
        (1..)
            .map(|n| {
                if n == 1 {
                    stamp.clone()
                } else {
                    format!("{stamp}-{n}")
                }
            })
            .find(|id| !self.data.run_dir(id).exists())
            .unwrap_or(stamp)
    }
}

/// Refuses a template the core cannot compile, at startup rather than at
/// every `GET /script`. (Whether it renders a given plan, strict mode
/// decides per plan.)
async fn check_template(core: &SharedCore, path: &Path, text: &str) -> Result<(), ServiceError> {
    let text = text.to_owned();
    let empty = Plan {
        config: Config {
            global_user_count: 1,
            test_duration_seconds: 1,
            ramp_up_seconds: 0,
            max_duration_seconds: 1,
            enabled_scripts: Vec::new(),
            interval_seconds: 0,
        },
        steps: Vec::new(),
        interval_seconds: 0,
        expected_seconds: 0,
    };
    match core
        .call("plan.render", move |c| c.render(&empty, Some(&text)))
        .await?
    {
        Err(RenderError::TemplateSyntax(message)) => Err(ServiceError::TemplateSyntax {
            path: path.to_path_buf(),
            message,
        }),
        Ok(_) | Err(RenderError::TemplateRender(_)) => Ok(()),
    }
}

/// A refused start in one line for `lastError`: the reason and, for an
/// invalid config, each field's problem.
fn refusal(error: &ControlError) -> String {
    match error {
        ControlError::Invalid { message, fields } => {
            let details: Vec<String> = fields.iter().map(|field| field.message.clone()).collect();
            format!("{message}: {}", details.join("; "))
        }
        other => other.to_string(),
    }
}

fn invalid(message: &str, errors: Vec<crate::contract::FieldError>) -> ControlError {
    ControlError::Invalid {
        message: message.to_owned(),
        fields: errors.into_iter().map(FieldErrorBody::from).collect(),
    }
}

/// `count` distinct free ports on 127.0.0.1 for k6's REST API, all held
/// until every one is found. They are taken from just below the kernel's
/// ephemeral range: a port is picked when the run starts, but a later step
/// binds it perhaps hours later, and a port of the ephemeral range may by
/// then be the local end of any outgoing connection (k6 would exit 106).
/// Below that range, only another listener could take it.
fn free_ports(count: usize) -> std::io::Result<Vec<u16>> {
    const WINDOW: u16 = 10_000;
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32_768);
    let floor = ephemeral_low.saturating_sub(WINDOW).max(1_024);
    let span = u64::from(ephemeral_low.saturating_sub(floor).max(1));
    // A random starting point, so that runners on one machine rarely try
    // the same ports first.
    let offset =
        std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), 0u8)
            % span;
    let mut listeners = Vec::with_capacity(count);
    for step in 0..span {
        if listeners.len() == count {
            break;
        }
        let port = u16::try_from(u64::from(floor) + (offset + step) % span).unwrap_or(floor);
        if let Ok(listener) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            listeners.push(listener);
        }
    }
    // A machine whose ephemeral range starts low leaves no room below it:
    // the kernel's choice is the next best.
    while listeners.len() < count {
        listeners.push(std::net::TcpListener::bind(("127.0.0.1", 0))?);
    }
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// k6's API ports are distinct, bindable, and outside the ephemeral
    /// range that outgoing connections take their local ports from.
    #[test]
    fn api_ports_are_distinct_free_and_below_the_ephemeral_range() {
        let ports = free_ports(20).unwrap();
        let mut distinct = ports.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 20, "{ports:?}");
        let low: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            ports.iter().all(|&port| port < low && port >= 1024),
            "{ports:?}"
        );
        for port in ports {
            std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        }
    }
}
