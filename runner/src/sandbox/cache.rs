//! The precompiled-component cache: Cranelift compiles the core once per
//! (component digest, engine build); later starts load the native code
//! directly (about 0.2 ms instead of hundreds of ms).

use std::hash::{Hash, Hasher};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

/// Loads the compiled form of `bytes` from `dir` if a usable copy is there,
/// or compiles it and stores it for next time. A cache that cannot be read
/// or written only costs compile time; it is never an error.
pub fn load_or_compile(
    engine: &Engine,
    bytes: &[u8],
    digest: &str,
    dir: &Path,
) -> wasmtime::Result<Component> {
    let path = entry_path(engine, digest, dir);
    if let Some(component) = load_trusted(engine, &path) {
        return Ok(component);
    }
    let compiled = engine.precompile_component(bytes)?;
    if let Err(error) = store(dir, &path, &compiled) {
        tracing::warn!(cache = %path.display(), %error, "cannot write the precompiled-component cache");
    }
    deserialize(engine, &compiled)
}

/// `<digest>-<engine compatibility hash>.cwasm`: a new core or a new
/// wasmtime build never picks up a stale entry.
fn entry_path(engine: &Engine, digest: &str, dir: &Path) -> PathBuf {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    dir.join(format!("{digest}-{:016x}.cwasm", hasher.finish()))
}

/// Precompiled code is native code: only a file nobody else could have
/// written is loaded (owned by us, not group- or world-writable).
fn load_trusted(engine: &Engine, path: &Path) -> Option<Component> {
    let metadata = std::fs::metadata(path).ok()?;
    let ours = std::os::unix::fs::MetadataExt::uid(&metadata) == nix::unistd::geteuid().as_raw();
    if !metadata.is_file() || !ours || metadata.permissions().mode() & 0o022 != 0 {
        tracing::warn!(cache = %path.display(), "ignoring a precompiled component that is not a private file of this user");
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    match deserialize(engine, &bytes) {
        Ok(component) => Some(component),
        Err(error) => {
            tracing::warn!(cache = %path.display(), %error, "ignoring an unusable precompiled component");
            None
        }
    }
}

fn store(dir: &Path, path: &Path, compiled: &[u8]) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut file, compiled)?;
    file.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[allow(unsafe_code)]
fn deserialize(engine: &Engine, compiled: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: `compiled` is either what `precompile_component` just produced
    // on this engine, or a cache file this user wrote with mode 0600 in a
    // 0700 folder (checked in `load_trusted`); wasmtime itself rejects bytes
    // from another engine configuration or version.
    unsafe { Component::deserialize(engine, compiled) }
}
