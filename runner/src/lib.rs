//! k6 runner
