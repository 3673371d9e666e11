//! Builds the core (`plugin/component`) into a zero-import WebAssembly
//! component (with `k6-wasm-build`, which the containment tests build
//! their hostile fixture with too) and leaves it in `OUT_DIR/k6_core.wasm`
//! for `include_bytes!`.
//!
//! Why a nested `cargo build`: the core is the same Rust code the native
//! tests exercise, and `cargo build`/`cargo test` at the root should need no
//! extra step once the wasm target is installed (`make setup` does that).
//!
//! It also copies the web UI's chart library (uPlot, installed from npm into
//! `runner/ui/node_modules` by `make setup`) into `OUT_DIR`, so the binary
//! embeds it and the page fetches nothing from outside at run time, and
//! watches the UI's own files (the page, its ES modules, its style), which
//! `src/ui.rs` embeds straight from `runner/ui`.

use std::env;
use std::path::{Path, PathBuf};

use wasm_build::WasmBuild;

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .parent()
        .expect("runner/ sits inside the workspace")
        .to_path_buf();
    for watched in ["plugin", "wit", "Cargo.lock", "Cargo.toml"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    copy_ui_vendor_assets(&manifest_dir);

    let component = WasmBuild {
        root: &root,
        package: "k6-core-component",
        feature: None,
    }
    .component();

    let out =
        PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("k6_core.wasm");
    std::fs::write(&out, &component).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
    // A copy at a stable path, for `wasm-tools component wit` and digests.
    let published = root.join("target").join("k6_core.component.wasm");
    std::fs::write(&published, &component)
        .unwrap_or_else(|e| panic!("writing {}: {e}", published.display()));
}

/// The files of the `uplot` npm package the UI embeds (`src/ui.rs`).
const UI_VENDOR_FILES: [&str; 2] = ["uPlot.iife.min.js", "uPlot.min.css"];

/// Copies uPlot's browser build from `runner/ui/node_modules` into `OUT_DIR`.
/// `node_modules` is installed by `scripts/setup.sh` (`npm ci` against the
/// committed lock) rather than here, so a build never reaches the network.
fn copy_ui_vendor_assets(manifest_dir: &Path) {
    let ui = manifest_dir.join("ui");
    // The page, its modules and style are embedded straight from runner/ui
    // by `include_bytes!` in src/ui.rs (rustc tracks those files). Each is
    // watched by name, found in the folder, so a new module needs no edit
    // here; the folder itself is watched (cargo scans it whole) so that a
    // file added or removed, or a reinstalled package, re-runs this script.
    println!("cargo:rerun-if-changed={}", ui.display());
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&ui)
        .unwrap_or_else(|e| panic!("reading {}: {e}", ui.display()))
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext == "html" || ext == "js" || ext == "css")
        })
        .collect();
    sources.sort();
    for source in sources {
        println!("cargo:rerun-if-changed={}", source.display());
    }
    let dist = ui.join("node_modules").join("uplot").join("dist");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for name in UI_VENDOR_FILES {
        let from = dist.join(name);
        println!("cargo:rerun-if-changed={}", from.display());
        if !from.is_file() {
            panic!(
                "the web UI's chart library is missing: {} not found. \
                 Run `make setup` (it runs `npm ci` in runner/ui).",
                from.display()
            );
        }
        std::fs::copy(&from, out.join(name))
            .unwrap_or_else(|e| panic!("copying {} into OUT_DIR: {e}", from.display()));
    }
}
