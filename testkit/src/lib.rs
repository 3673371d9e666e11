//! Test kit for the k6 control plane.
//!
//! - [`stand_in`]: a local stand-in for the public demo services that the
//!   scripts in `tests/corpus/` call (QuickPizza, httpbin, the old test.k6.io
//!   PHP site, test-api.k6.io, the QuickPizza "legacy" page), reachable from a
//!   bare `k6 run` through k6's `hosts` option.
//! - [`corpus`]: a typed index of the corpus entry scripts (offline or not,
//!   duration class, environment, and the verdict bare k6 gives against the
//!   stand-in).

pub mod corpus;
pub mod stand_in;
