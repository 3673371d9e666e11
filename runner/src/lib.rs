//! The native host of the k6 control plane.
//!
//! Use it as the standalone `k6-runner` binary, or embed it in your own
//! warp app: build a [`service::Service`] from a [`service::ServiceConfig`],
//! mount [`api::routes`] (and [`ui::routes`]) under any prefix, read the
//! status or subscribe to its events, and call
//! [`service::Service::shutdown`] before exiting so no k6 outlives you.
//!
//! # Embedding
//!
//! ```no_run
//! use k6_runner::api::Auth;
//! use k6_runner::auth::{Identity, Role};
//! use k6_runner::hub::Event;
//! use k6_runner::service::{Service, ServiceConfig};
//! use warp::Filter;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Data directory and the operator's script directories (the allowlist).
//! let config = ServiceConfig::new("k6-data", vec!["scripts".into()]);
//! let k6 = Service::start(config).await?;
//!
//! // Your own auth decides who calls; the k6 routes check the role.
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
//! # Layout
//!
//! - [`contract`]: the types shared with the core, generated from the WIT.
//! - [`sandbox`]: wasmtime host of the core component (no imports, fuel and
//!   memory caps, precompiled cache).
//! - [`allowlist`]: script directories and path checks.
//! - [`auth`]: bearer tokens and roles.
//! - [`audit`]: the append-only audit log of control actions.
//! - [`k6`]: finding k6 and reading its version.
//! - [`supervisor`]: running a suite: processes, output, stop, verdicts.
//! - [`persistence`]: the data directory (config, runs, logs).
//! - [`history`]: every ended run in SQLite: listing, baselines,
//!   comparison, trends.
//! - [`report`]: offline HTML reports and JUnit XML of stored runs.
//! - [`hub`]: live status, recent logs, event broadcast.
//! - [`model`]: the JSON documents of the API and of run records.
//! - [`service`]: the control plane as one object.
//! - [`api`]: the warp REST API and WebSocket.
//! - [`prometheus`]: the runner's metrics for Prometheus (`GET /metrics`)
//!   and k6's remote-write output.
//! - [`server`]: the standalone server (API under `/api/k6`, `/metrics`,
//!   shutdown).
//! - [`headless`]: a suite run without a server (`k6-runner run`).
//! - [`demo_target`]: the example scripts' local HTTP target.
//! - [`ui`]: the web UI (static page and assets, embedded).

pub mod allowlist;
pub mod api;
pub mod audit;
pub mod auth;
pub mod contract;
pub mod demo_target;
pub mod headless;
pub mod history;
pub mod hub;
pub mod k6;
pub mod model;
pub mod persistence;
pub mod prometheus;
pub mod report;
pub mod sandbox;
pub mod server;
pub mod service;
pub mod supervisor;
pub mod ui;
