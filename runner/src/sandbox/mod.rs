//! The sandboxed core: wasmtime loads the core component with no
//! capabilities, meters every call with fuel and caps its memory.
//!
//! - `bindings`: host types and call stubs generated from the WIT.
//! - `policy`: what the component may import (no function at all).
//! - `limits`: fuel and memory caps, and the store that enforces them.
//! - `cache`: the precompiled-component cache for fast start.
//! - `instance`: one instance and its store: typed calls into the core.
//! - `shared`: the instance API handlers share, rebuilt after a trap.
//! - `parser`: a per-step log parser session with its own store.

pub(crate) mod bindings;
mod cache;
mod instance;
pub(crate) mod limits;
mod parser;
mod policy;
mod shared;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine};

use bindings::CorePre;
pub use instance::{CallCounts, CoreInstance};
use limits::StoreState;
pub use parser::{ParserSession, events_per_line};
pub use policy::ComponentInfo;
pub use shared::SharedCore;

/// The core component built from `plugin/` by `build.rs`.
pub const EMBEDDED_CORE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/k6_core.wasm"));

/// Which core component to load.
#[derive(Debug, Clone, Default)]
pub struct PluginSource {
    /// A component file to load instead of the embedded core.
    pub file: Option<PathBuf>,
    /// If set, the component's sha256 (hex) must equal this or it is refused.
    pub expected_sha256: Option<String>,
    /// Folder for precompiled components; `None` compiles at every start.
    pub cache_dir: Option<PathBuf>,
}

/// Why the core could not be loaded or called.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The component file could not be read.
    #[error("cannot read the plugin component {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The component's digest is not the pinned one.
    #[error("plugin digest mismatch for {origin}: expected sha256 {expected}, found {actual}")]
    DigestMismatch {
        /// Where the component came from.
        origin: String,
        /// The pinned digest.
        expected: String,
        /// The component's digest.
        actual: String,
    },
    /// The component imports something the sandbox does not grant.
    #[error(
        "plugin {origin} is refused: it imports {import} ({kind}); the core must import no function"
    )]
    ForbiddenImport {
        /// Where the component came from.
        origin: String,
        /// The import's name.
        import: String,
        /// What kind of item it is.
        kind: String,
    },
    /// Wasmtime could not compile or link the component.
    #[error("plugin {origin} cannot be loaded: {source:#}")]
    Load {
        /// Where the component came from.
        origin: String,
        /// Wasmtime's error.
        #[source]
        source: wasmtime::Error,
    },
    /// A store or instance could not be created.
    #[error("cannot instantiate the core: {0:#}")]
    Instantiate(#[source] wasmtime::Error),
    /// A call into the core trapped, ran out of fuel or memory, or failed.
    #[error("core call {function} failed: {source:#}")]
    Call {
        /// The exported function.
        function: &'static str,
        /// Wasmtime's error: a [`wasmtime::Trap`] (such as `OutOfFuel`)
        /// when the guest trapped.
        #[source]
        source: wasmtime::Error,
    },
    /// A call refused because an earlier call on the same instance failed
    /// and left it in an unknown state.
    #[error("core call {function} refused: the instance failed an earlier call")]
    Poisoned {
        /// The exported function.
        function: &'static str,
    },
    /// The blocking task that ran the call was lost.
    #[error("core call {function} was aborted: {source}")]
    Aborted {
        /// The exported function.
        function: &'static str,
        /// Why: the thread panicked or the runtime is shutting down.
        #[source]
        source: tokio::task::JoinError,
    },
}

/// A loaded, checked and compiled core component, ready to instantiate.
///
/// Cheap to share (`Arc`); every [`CoreInstance`] made from it has its own
/// store with its own limits.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    pre: CorePre<StoreState>,
    info: ComponentInfo,
    counts: Arc<CallCounts>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("info", &self.inner.info)
            .finish()
    }
}

impl Sandbox {
    /// Loads the core: reads it, checks the pinned digest, refuses any
    /// function import, compiles it (or takes it from the cache) and links it
    /// against an empty linker.
    pub fn load(source: &PluginSource) -> Result<Self, SandboxError> {
        let (origin, bytes) = match &source.file {
            Some(path) => (
                path.display().to_string(),
                std::fs::read(path).map_err(|source| SandboxError::Read {
                    path: path.clone(),
                    source,
                })?,
            ),
            None => ("(embedded core)".to_owned(), EMBEDDED_CORE.to_vec()),
        };
        let digest = sha256_hex(&bytes);
        if let Some(expected) = &source.expected_sha256
            && !expected.eq_ignore_ascii_case(&digest)
        {
            return Err(SandboxError::DigestMismatch {
                origin,
                expected: expected.clone(),
                actual: digest,
            });
        }
        let engine = new_engine().map_err(|e| load_error(&origin, e))?;
        let component = match &source.cache_dir {
            Some(dir) => cache::load_or_compile(&engine, &bytes, &digest, dir),
            None => Component::new(&engine, &bytes),
        }
        .map_err(|e| load_error(&origin, e))?;
        let info = ComponentInfo::read(&engine, &component, &origin, digest)?;

        let mut linker = Linker::<StoreState>::new(&engine);
        // Type-only interfaces of our own package are imported as instances
        // with no function; an empty instance satisfies them.
        for name in &info.type_only_imports {
            linker.instance(name).map_err(|e| load_error(&origin, e))?;
        }
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| load_error(&origin, e))?;
        let pre = CorePre::new(pre).map_err(|e| load_error(&origin, e))?;
        Ok(Self {
            inner: Arc::new(Inner {
                engine,
                pre,
                info,
                counts: Arc::default(),
            }),
        })
    }

    /// Digest, package, imports and exports of the loaded component.
    pub fn info(&self) -> &ComponentInfo {
        &self.inner.info
    }

    /// A fresh instance in a fresh store, limits already set.
    pub fn instantiate(&self) -> Result<CoreInstance, SandboxError> {
        CoreInstance::new(
            &self.inner.engine,
            &self.inner.pre,
            self.inner.counts.clone(),
        )
    }

    /// The calls every instance of this sandbox made, and their traps.
    pub fn call_counts(&self) -> &Arc<CallCounts> {
        &self.inner.counts
    }
}

/// The engine every core instance runs on. Fuel metering is on so that every
/// call has a deterministic instruction budget (see `limits`).
fn new_engine() -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config.consume_fuel(true);
    Engine::new(&config)
}

fn load_error(origin: &str, source: wasmtime::Error) -> SandboxError {
    SandboxError::Load {
        origin: origin.to_owned(),
        source,
    }
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The default precompiled-component cache folder inside a data dir.
pub fn cache_dir_in(data_dir: &Path) -> PathBuf {
    data_dir.join("cache")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README states the embedded core's sha256 so that policy
    /// reviewers can check the binary they audited is the one that runs.
    /// A build that gives other bytes — another toolchain, a dependency
    /// outside `Cargo.lock`, a machine path leaking in — or a core change
    /// without a README update fails here.
    #[test]
    fn readme_states_the_embedded_core_digest() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
            .expect("README.md at the workspace root");
        let digest = sha256_hex(EMBEDDED_CORE);
        assert!(
            readme.contains(&format!("`{digest}`")),
            "README.md does not state the embedded core's sha256 {digest}"
        );
    }

    /// The embedded core loads, imports only its own type-only interface
    /// and exports the four interfaces of the contract.
    #[test]
    fn embedded_core_imports_no_function() {
        let sandbox = Sandbox::load(&PluginSource::default()).expect("the embedded core loads");
        let info = sandbox.info();
        assert_eq!(info.type_only_imports, ["vudatasim:k6/types@0.2.0"]);
        assert_eq!(info.package.as_deref(), Some("vudatasim:k6@0.2.0"));
        for interface in ["config", "plan", "logs", "k6-operator"] {
            assert!(
                info.exports
                    .iter()
                    .any(|e| e.starts_with(&format!("vudatasim:k6/{interface}@0.2.0:")))
            );
        }
    }
}
