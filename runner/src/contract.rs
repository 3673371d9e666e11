//! The contract types shared with the core, generated from the WIT
//! (`wit/v0.2.0`) by wasmtime's `bindgen!`. Everything the runner says to the
//! core, or hears back, has one of these types.

pub use crate::sandbox::bindings::exports::vudatasim::k6::k6_operator::{
    ExportSettings, StepArchive,
};
pub use crate::sandbox::bindings::vudatasim::k6::types::*;
