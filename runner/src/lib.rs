//! The native host of the k6 control plane.
//!
//! Use it as the standalone `k6-runner` binary, or embed it in your own
//! warp app: build a [`Service`] from a [`ServiceConfig`],
//! mount [`api::routes`] (and [`ui::routes`]) under any prefix, read the
//! status or subscribe to its events, and call
//! [`Service::shutdown`] before exiting so no k6 outlives you.
//!
//! # Embedding
//!
//! ```no_run
//! use k6_runner::api::Auth;
//! use k6_runner::auth::{Identity, Role};
//! use k6_runner::{Event, Service, ServiceConfig};
//! use warp::Filter;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Data directory and the operator's script directories (the allowlist).
//! let config = ServiceConfig::new("k6-data", vec!["scripts".into()]);
//! let k6 = Service::start(config).await?;
//!
//! // Your own auth decides who calls; the k6 routes check the role.
//! // (`k6_runner::api::bearer_auth` is the runner's own token check.)
//! let who = warp::header::exact("x-cluster-key", "secret")
//!     .map(|| Identity::new("cluster-admin", Role::Operator))
//!     .boxed();
//! let routes = warp::path!("api" / "k6" / ..)
//!     .and(k6_runner::api::routes(k6.clone(), Auth::Host(who)))
//!     .or(k6_runner::ui::routes())
//!     .with(warp::trace::request());
//!
//! // Follow the status in your own app state.
//! let mut events = k6.subscribe();
//! tokio::spawn(async move {
//!     while let Ok(event) = events.recv().await {
//!         if let Event::Status(status) = event.event() {
//!             println!("k6 running: {}", status.is_running);
//!         }
//!     }
//! });
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9090").await?;
//! let shutdown = async move {
//!     let _ = tokio::signal::ctrl_c().await;
//!     k6.shutdown().await; // stops any run; no k6 process is left
//! };
//! warp::serve(routes).incoming(listener).graceful(shutdown).run().await;
//! # Ok(())
//! # }
//! ```
//!
//! # What an embedder uses
//!
//! - [`Service`], built from a [`ServiceConfig`]: the control plane (start,
//!   stop, config, status, history); [`Event`]s from
//!   [`Service::subscribe`].
//! - [`api`]: the REST API and WebSocket as one warp filter, and the
//!   runner's auth filters for a host's own routes.
//! - [`ui`]: the web page. [`server`]: the standalone server around both.
//! - [`auth`]: tokens, identities and roles. [`model`]: the JSON documents
//!   of the API and of run records. [`contract`]: the types shared with the
//!   core, generated from the WIT.
//! - [`sandbox`]: the core component under its limits, for a host that
//!   calls the core itself. [`history`]: the run history's query types.
//! - [`prometheus`]: the runner's metrics for Prometheus (`GET /metrics`)
//!   and k6's remote-write output.
//! - [`webhooks`]: signed run events POSTed to the operator's URLs, and
//!   their delivery log.
//! - [`schedules`]: cron schedules that start the suite, their fires and
//!   the rule for fires missed while the runner was down.
//! - [`schedules`]: cron schedules that start runs, and the scheduler.
//! - [`headless`]: a suite run without a server (`k6-runner run`).
//!   [`demo_target`]: the example scripts' local HTTP target.
//!
//! # Inside (not public)
//!
//! `service` (the control plane's parts: config store, run slot, recovery,
//! ports), `supervisor` (processes, output, stop, verdicts), `hub` (live
//! status, recent logs, broadcast), `persistence` (the data directory),
//! `history` storage, `report` (HTML and JUnit), `allowlist` (script
//! directories and path checks), `audit`, `k6` (finding k6).

mod allowlist;
pub mod api;
mod audit;
pub mod auth;
pub mod contract;
pub mod demo_target;
pub mod headless;
pub mod history;
mod hub;
mod k6;
pub mod model;
mod persistence;
pub mod prometheus;
mod report;
pub mod sandbox;
pub mod schedules;
pub mod server;
mod service;
mod supervisor;
pub mod ui;
pub mod webhooks;

pub use hub::{Event, LogFilter, Published};
pub use service::{
    ControlError, DEFAULT_STOP_GRACE, DEFAULT_SUITE, OperatorExport, Service, ServiceConfig,
    ServiceError, StartedRun,
};

/// The default size at which a step's log file is rotated.
pub use persistence::logfile::MAX_LOG_PART_BYTES as DEFAULT_STEP_LOG_MAX_BYTES;

/// What the project's own benchmarks and tests reach into below the API.
/// Not part of it: it changes without notice.
#[doc(hidden)]
pub mod internals {
    pub use crate::persistence::DataDir;
    pub use crate::persistence::series::{SERIES_FILE, SeriesFile};
    pub use crate::sandbox::bindings::{Core, CorePre};
    pub use crate::sandbox::limits::{StoreState, call_fuel};
    pub use crate::supervisor::k6_api::{K6Api, LiveSampler};
    pub use crate::supervisor::process::{RUN_MARKER_ENV, marked_processes, step_env};
}
