//! Builds a workspace crate for `wasm32-unknown-unknown` with a nested
//! `cargo build` and wraps the module into a WebAssembly component with
//! `wit-component`.
//!
//! Shared by the runner's build script, which embeds the core
//! (`plugin/component`), and its containment tests, which build the
//! hostile fixture (`plugin/hostile`) the same way, so that the fixture is
//! a component exactly as the core is.
//!
//! Why `wasm32-unknown-unknown` and not `wasm32-wasip2`: the latter imports
//! 14 WASI interfaces even for pure logic; wrapping an unknown-unknown
//! module gives a component that imports no function at all.
//!
//! Everything here runs at build or test time and fails by panicking with
//! what failed and how to fix it, as a build script does.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The target every component is built for.
pub const TARGET: &str = "wasm32-unknown-unknown";
/// The workspace's profile for components (release, LTO, panic = abort).
pub const PROFILE: &str = "wasm";

/// One nested build of a package of the workspace at `root`.
///
/// Every nested build shares one target directory, `target/wasm` (the
/// outer build holds the lock on `target/` itself), so the fixture reuses
/// the dependencies the core's build compiled: both are built with the
/// same flags.
pub struct WasmBuild<'a> {
    /// The workspace root.
    pub root: &'a Path,
    /// The package to build (a `cdylib`).
    pub package: &'a str,
    /// A feature to enable, if any.
    pub feature: Option<&'a str>,
}

impl WasmBuild<'_> {
    /// The nested builds' target directory.
    pub fn target_dir(&self) -> PathBuf {
        self.root.join("target").join("wasm")
    }

    /// Runs the build and returns the component's bytes.
    ///
    /// # Panics
    ///
    /// If cargo cannot be started, the build fails (with a hint to install
    /// the wasm target), or the module is no valid component.
    pub fn component(&self) -> Vec<u8> {
        let module = self.build_module();
        let bytes = std::fs::read(&module)
            .unwrap_or_else(|e| panic!("reading the module {}: {e}", module.display()));
        wit_component::ComponentEncoder::default()
            .module(&bytes)
            .and_then(|encoder| encoder.validate(true).encode())
            .unwrap_or_else(|e| panic!("wrapping {} into a component: {e:#}", module.display()))
    }

    /// Runs `cargo build` with an environment cleaned of the outer build's
    /// settings and returns the `.wasm` module's path.
    fn build_module(&self) -> PathBuf {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(cargo);
        command
            .current_dir(self.root)
            .args(["build", "--locked", "-p", self.package])
            .args(["--target", TARGET, "--profile", PROFILE])
            .arg("--target-dir")
            .arg(self.target_dir());
        if let Some(feature) = self.feature {
            command.args(["--features", feature]);
        }
        // The outer cargo's settings (its target dir, package variables,
        // flags, a build script's own variables) must not leak into the
        // nested build.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            let outer_build_setting = (key.starts_with("CARGO_") && key != "CARGO_HOME")
                || matches!(
                    key.as_ref(),
                    "RUSTFLAGS"
                        | "RUSTC"
                        | "RUSTC_WRAPPER"
                        | "RUSTC_WORKSPACE_WRAPPER"
                        | "RUSTDOC"
                        | "MAKEFLAGS"
                        | "MFLAGS"
                        | "DEBUG"
                        | "OPT_LEVEL"
                        | "PROFILE"
                        | "TARGET"
                        | "HOST"
                        | "NUM_JOBS"
                        | "OUT_DIR"
                );
            if outer_build_setting {
                command.env_remove(key.as_ref());
            }
        }
        // Same bytes from any checkout: strip the machine's paths from
        // panic messages and debug info. `simd128` lets the core's line
        // search (`memchr`) use wasm SIMD, which wasmtime compiles to the
        // host's.
        let cargo_home = std::env::var("CARGO_HOME")
            .unwrap_or_else(|_| format!("{}/.cargo", std::env::var("HOME").unwrap_or_default()));
        let flags = [
            format!(
                "--remap-path-prefix={}=/build/vudatasim-k6",
                self.root.display()
            ),
            format!("--remap-path-prefix={cargo_home}=/build/cargo"),
            "-Ctarget-feature=+simd128".to_owned(),
        ];
        command.env("CARGO_ENCODED_RUSTFLAGS", flags.join("\u{1f}"));

        let status = command
            .status()
            .unwrap_or_else(|e| panic!("starting cargo to build {}: {e}", self.package));
        if !status.success() {
            panic!(
                "building {} ({:?}) for {TARGET} failed ({status}). Is the wasm target \
                 installed? Run `make setup` or `rustup target add {TARGET}`.",
                self.package, self.feature
            );
        }
        self.target_dir()
            .join(TARGET)
            .join(PROFILE)
            .join(format!("{}.wasm", self.package.replace('-', "_")))
    }
}
