//! The native host of the k6 control plane.
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
//! - [`hub`]: live status, recent logs, event broadcast.
//! - [`model`]: the JSON documents of the API and of run records.
//! - [`service`]: the control plane as one object.
//! - [`api`]: the warp REST API and WebSocket.
//! - [`server`]: the standalone server (API under `/api/k6`, shutdown).
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
pub mod hub;
pub mod k6;
pub mod model;
pub mod persistence;
pub mod sandbox;
pub mod server;
pub mod service;
pub mod supervisor;
pub mod ui;
