//! The k6 control plane as one object: config, catalogue, runs, status.
//! The REST API, the CLI and embedding hosts all drive this.
//!
//! - `setup`: everything the service needs, built and checked before it
//!   exists (so no half-made service is ever seen).
//! - `config_store`: the current config, typed and as shared JSON.
//! - `configs`: reading, storing and resetting the config; the catalogue.
//! - `runs`: starting, stopping and reading runs.
//! - `run_slot`: the one owner of "a run is active".
//! - `recovery`: what a restart cleans up after a runner that died.
//! - `catalogue`: scanning the script directories and asking k6 about them.
//! - `ports`: free ports for k6's REST API.
//! - `export`: the config as grafana/k6-operator manifests.

mod catalogue;
mod config_store;
mod configs;
mod export;
mod ports;
mod recovery;
mod run_slot;
mod runs;
mod setup;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use tokio::sync::broadcast;

use crate::audit::{AuditEntry, AuditLog, AuditOutcome};
use crate::contract::Policy;
use crate::history::History;
use crate::history::Retention;
use crate::hub::{Hub, LogFilter, Published};
use crate::k6::{K6Binary, K6Error};
use crate::model::{FieldErrorBody, LogLine, MetricsPoint, Status};
use crate::persistence::records::RecordReader;
use crate::persistence::{DataDir, PersistError};
use crate::prometheus::{Metrics, RemoteWrite};
use crate::sandbox::{PluginSource, Sandbox, SandboxError, SharedCore};
use crate::schedules::Signals;
use crate::supervisor::StepRunner;
use crate::webhooks::{DeliveryEntry, DeliveryLog, WebhookConfig};
use catalogue::Catalogue;
use config_store::ConfigStore;
pub use export::{DEFAULT_SUITE, OperatorExport};
use run_slot::RunSlot;
pub use runs::StartedRun;

/// Default time between a stop request and SIGKILL of the step's group.
pub const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(15);

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
    /// Which ended runs the history keeps (applied at start and after
    /// every run).
    pub retention: Retention,
    /// Where k6 steps also write their metrics (k6's Prometheus
    /// remote-write output); `None` (default) leaves k6's outputs alone.
    pub k6_prometheus_rw: Option<RemoteWrite>,
    /// Where run events are POSTed (see [`crate::webhooks`]); empty
    /// (default) sends none.
    pub webhooks: WebhookConfig,
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
            retention: Retention::default(),
            k6_prometheus_rw: None,
            webhooks: WebhookConfig::default(),
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
    ScriptDir(#[from] crate::allowlist::ScriptDirError),
    /// The audit log.
    #[error("cannot open the audit log {path}: {source}")]
    Audit {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The history database.
    #[error(transparent)]
    History(#[from] crate::history::HistoryError),
    /// The stored config or the defaults could not be loaded.
    #[error("cannot load the config: {0}")]
    Config(#[from] ControlError),
    /// The template file.
    #[error("cannot read the k6_all.sh template {path}: {source}")]
    Template {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The template is not valid Handlebars.
    #[error("the k6_all.sh template {path} is not valid Handlebars: {message}")]
    TemplateSyntax {
        /// The file.
        path: PathBuf,
        /// The core's reason.
        message: String,
    },
    /// A `--pass-env` name the runner keeps to itself.
    #[error(
        "--pass-env {name}: the runner's own variables ({prefix}*, such as the tokens) are never \
         passed to scripts"
    )]
    ReservedEnv {
        /// The name.
        name: String,
        /// The reserved prefix.
        prefix: &'static str,
    },
    /// The webhook configuration.
    #[error(transparent)]
    Webhooks(#[from] crate::webhooks::WebhookError),
    /// A start-up task on a blocking thread was lost (it panicked, or
    /// the runtime is shutting down).
    #[error("start-up step \"{what}\" was aborted: {source}")]
    Aborted {
        /// What it was doing.
        what: &'static str,
        /// Why.
        #[source]
        source: tokio::task::JoinError,
    },
    /// A policy no config can pass.
    #[error(
        "the policy lets no config pass (max users {users}, longest test {test} s, scripts \
         {scripts}); each must be at least 1"
    )]
    EmptyPolicy {
        /// Its `max-users`.
        users: u32,
        /// Its `max-test-duration-seconds`.
        test: u32,
        /// Its `max-enabled-scripts`.
        scripts: u32,
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
    /// The request's parameters are not acceptable (HTTP 400).
    #[error("{message}")]
    BadRequest {
        /// Summary.
        message: String,
        /// One entry per problem, named by its parameter.
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
    /// Nothing to show (HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// Storage failed (HTTP 500, 507 for a full disk).
    #[error(transparent)]
    Storage(#[from] PersistError),
    /// The core failed (HTTP 500).
    #[error(transparent)]
    Core(#[from] SandboxError),
    /// The operator's `k6_all.sh` template failed on this config (HTTP 500).
    #[error("cannot render k6_all.sh with the operator's template: {0}")]
    Template(String),
    /// Free ports for k6's API could not be found (HTTP 500).
    #[error("cannot find free ports for k6's API: {0}")]
    Ports(#[source] std::io::Error),
}

/// The k6 control plane. Cheap to share as `Arc<Service>`.
pub struct Service {
    core: SharedCore,
    hub: Arc<Hub>,
    data: DataDir,
    catalogue: Catalogue,
    policy: Policy,
    template: Option<String>,
    k6_explicit: Option<PathBuf>,
    k6: RwLock<Result<K6Binary, K6Error>>,
    steps: Arc<StepRunner>,
    config: ConfigStore,
    runs: RunSlot,
    /// The record of the run in progress, or of the last one this runner
    /// ran: newer than the disk's while a write is being retried.
    live: Mutex<Option<RecordReader>>,
    audit: AuditLog,
    /// Every ended run, for listing and comparison; its own owner (see
    /// [`crate::history`]), told here when a run ends.
    history: History,
    retention: Retention,
    /// The Prometheus metrics (`GET /metrics`).
    metrics: Arc<Metrics>,
    /// The webhook deliveries, newest last (`GET /webhooks/deliveries`).
    webhooks: Arc<DeliveryLog>,
    /// How schedule changes and the shutdown reach the scheduler.
    schedules: Arc<Signals>,
    /// The webhook delivery tasks, for the shutdown to let them finish.
    deliveries: std::sync::OnceLock<crate::webhooks::Deliveries>,
}

impl Service {
    /// Loads the core, opens the data directory, cleans up after a runner
    /// that died mid-run, loads the stored config (setting an unusable one
    /// aside) and looks for k6. A missing k6 is not fatal: it is reported in
    /// the status and at every start.
    pub async fn start(config: ServiceConfig) -> Result<Arc<Self>, ServiceError> {
        setup::start(config).await
    }

    /// The live status.
    pub fn status(&self) -> Status {
        self.hub.status()
    }

    /// Every status change, metrics reading, batch of log lines and stored
    /// config from now on. A receiver that falls far behind skips the
    /// oldest (`RecvError::Lagged`); nothing ever waits for it.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Published>> {
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

    /// The runner's Prometheus metrics (served by
    /// [`crate::prometheus::route`]).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// How the schedules' API and the shutdown reach the scheduler.
    pub(crate) fn schedule_signals(&self) -> &Arc<Signals> {
        &self.schedules
    }

    /// The run history.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Deletes the runs beyond the retention limits, each audited.
    pub async fn apply_retention(&self) {
        match self.history.prune(self.retention).await {
            Ok(deleted) => {
                for id in deleted {
                    tracing::info!(run = %id, "run deleted by retention");
                    self.audit(AuditEntry::new(
                        "retention",
                        "run.delete",
                        AuditOutcome::Ok,
                        Some(format!("run {id}: beyond the retention limits")),
                    ));
                }
            }
            Err(error) => tracing::error!(%error, "cannot apply the retention limits"),
        }
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        self.data.root()
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

    /// The newest `limit` webhook deliveries, newest first.
    pub fn webhook_deliveries(&self, limit: usize) -> Vec<DeliveryEntry> {
        self.webhooks.newest(limit)
    }

    /// The live metrics readings of the current (or last) run.
    pub fn metrics_history(&self) -> Vec<MetricsPoint> {
        self.hub.metrics_history()
    }

    /// Kept log lines that pass `filter`, oldest first: with `since`, the
    /// first `limit` lines after it (a reader following the last `seq`
    /// misses nothing); without, the newest `limit`.
    pub fn logs(&self, filter: &LogFilter, limit: usize) -> Vec<LogLine> {
        self.hub.logs(filter, limit)
    }

    /// The sequence number of the newest log line kept.
    pub fn last_log_seq(&self) -> u64 {
        self.hub.last_log_seq()
    }

    /// k6, looked for again if it was missing (it may have been installed
    /// since the runner started).
    async fn usable_k6(&self) -> Result<K6Binary, ControlError> {
        if let Ok(binary) = &*self.k6.read().unwrap_or_else(PoisonError::into_inner) {
            return Ok(binary.clone());
        }
        let found = crate::k6::discover(self.k6_explicit.as_deref()).await;
        self.hub
            .update_status(|s| s.k6_version = found.as_ref().ok().map(|b| b.version.clone()));
        *self.k6.write().unwrap_or_else(PoisonError::into_inner) = found.clone();
        found.map_err(|error| {
            self.hub
                .update_status(|s| s.last_error = Some(error.to_string()));
            ControlError::K6Unavailable(error)
        })
    }

    /// The k6 found, if it is usable (for the catalogue's questions).
    fn k6_if_usable(&self) -> Option<K6Binary> {
        self.k6
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .ok()
            .cloned()
    }
}

/// An invalid config's refusal, with each field error.
fn invalid(message: &str, errors: Vec<crate::contract::FieldError>) -> ControlError {
    ControlError::Invalid {
        message: message.to_owned(),
        fields: errors.into_iter().map(FieldErrorBody::from).collect(),
    }
}
