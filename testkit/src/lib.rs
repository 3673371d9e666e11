//! Test kit for the k6 control plane, shared by the end-to-end tests, the
//! runner's and the host example's integration tests and the benchmarks.
//!
//! - [`process`]: child processes in process groups of their own, their
//!   stdout read on a thread, stopped and reaped when dropped.
//! - [`runner`]: waiting for a `k6-runner serve` child to listen.
//! - [`world`]: a test's scripts, data directory, demo target and configs,
//!   and the real k6.
//! - [`api`]: a JSON client for the runner's API and readers of its
//!   answers.
//! - [`in_process`]: the API of a service in the test's own process,
//!   through `warp::test`.
//! - [`stand_in`]: a local stand-in for the public demo services that the
//!   scripts in `tests/corpus/` call (QuickPizza, httpbin, the old test.k6.io
//!   PHP site, test-api.k6.io, the QuickPizza "legacy" page), reachable from a
//!   bare `k6 run` through k6's `hosts` option.
//! - [`corpus`]: a typed index of the corpus entry scripts (offline or not,
//!   duration class, environment, and the verdict bare k6 gives against the
//!   stand-in).

pub mod api;
pub mod corpus;
pub mod in_process;
pub mod process;
pub mod runner;
pub mod stand_in;
pub mod world;
