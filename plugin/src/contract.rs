//! Types generated from the WIT contract (`wit/v0.2.0`), the single source of
//! truth shared with the runner.
#![allow(missing_docs)]

wit_bindgen::generate!({
    path: "../wit/v0.2.0",
    world: "core",
    pub_export_macro: true,
    export_macro_name: "export_core",
    default_bindings_module: "k6_core::contract",
    additional_derives: [PartialEq],
});
