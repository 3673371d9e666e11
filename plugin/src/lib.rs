//! The k6 control plane's decision-making core.
//!
//! Pure logic: no files, network, clock, randomness or environment. The same
//! code runs natively (unit tests, benchmarks, fuzzing) and inside the
//! sandboxed WebAssembly component built from `plugin/component`.
//!
//! # Layout
//!
//! - [`contract`]: the types generated from the WIT package `vudatasim:k6@0.2.0`
//!   (`wit/v0.2.0`); every public function here speaks them.
//! - [`duration`]: the `1h30m` duration syntax of `testDuration`.
//! - [`json`]: strict JSON reading (duplicate keys are errors, not overwrites).
//! - [`scripts`]: script-name rules and the catalogue of runnable scripts.
//! - [`config`]: defaults, the default policy, validation and canonical JSON.
//! - [`plan`]: the execution plan (argv, env, time limit per script) and the
//!   verdict on a finished step.
//! - [`render`]: Handlebars rendering of the plan into `k6_all.sh`.
//! - [`logs`]: the parser of k6's output (logs, progress, summaries, REST API).
//! - [`operator`]: the plan as grafana/k6-operator manifests (ConfigMap +
//!   `TestRun` per step).

pub mod config;
pub mod contract;
pub mod duration;
pub mod inspect;
pub mod json;
pub mod logs;
pub mod operator;
pub mod plan;
pub mod render;
pub mod scripts;

pub use contract::vudatasim::k6::types;
