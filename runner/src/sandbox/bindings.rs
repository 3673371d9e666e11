//! Host bindings generated from the WIT contract (`wit/v0.2.0`): the same
//! source the core is built from, so host and core cannot drift apart.
#![allow(missing_docs)]

wasmtime::component::bindgen!({
    path: "../wit/v0.2.0",
    world: "core",
});
