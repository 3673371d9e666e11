//! What a step runs is exactly what was checked: before it starts, the
//! runner copies it into the step's folder and the step runs the copy.
//!
//! - A k6 script is archived with `k6 archive`, which bundles it with the
//!   local modules it imports and the files its init code opens. The
//!   runner reads the script itself through a file descriptor it checked
//!   (opened, then its real path looked up through `/proc/self/fd`, so no
//!   link swapped in after the check can redirect it), and refuses the
//!   archive unless the script k6 put in it is byte for byte that file.
//! - A legacy wrapper gets a copy of its whole script directory (regular
//!   files; links followed only where they stay inside the script
//!   directories), and runs from it, in the copy of its own folder, so its
//!   relative paths and the files it writes stay with the run.
//!
//! The record keeps the digest of the snapshot and of every file in it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::allowlist::ScriptDirs;
use crate::contract::{ArchiveSnapshot, DirectorySnapshot, Snapshot};
use crate::model::{FileRecord, SnapshotRecord};

/// How long `k6 archive` may take (it runs the script's init code).
const ARCHIVE_TIMEOUT: Duration = Duration::from_secs(120);
/// Largest script directory copied for a legacy wrapper, in bytes.
pub const MAX_COPY_BYTES: u64 = 64 << 20;
/// Most files copied for a legacy wrapper.
pub const MAX_COPY_FILES: usize = 10_000;
/// Files listed per snapshot in the record; the digest covers them all.
const MAX_LISTED_FILES: usize = 1_000;
/// Deepest folder nesting copied.
const MAX_COPY_DEPTH: usize = 8;

/// Why a snapshot could not be made; the step is then not started.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SnapshotError {
    /// The script is no longer allowed (moved, a link swapped in, …).
    #[error("refused: {0}")]
    Refused(#[from] crate::allowlist::PathRefused),
    /// A file could not be read or written.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `k6 archive` refused the script or failed.
    #[error("k6 could not archive the script: {0}")]
    Archive(String),
    /// The archive does not hold the script that was checked.
    #[error(
        "the script changed while it was being archived (the archive holds {found}, the checked \
         file is {expected}); it is not run"
    )]
    Changed {
        /// sha256 of the checked file.
        expected: String,
        /// sha256 of the archived script.
        found: String,
    },
    /// The script directory is too large to copy.
    #[error("the script directory {dir} is too large to copy for the wrapper: {what}")]
    TooLarge {
        /// The directory.
        dir: PathBuf,
        /// Which limit.
        what: String,
    },
}

fn io<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> SnapshotError + 'a {
    move |source| SnapshotError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// What a snapshot is made of.
pub(crate) struct SnapshotInput<'a> {
    /// The step's script, by its catalogue name.
    pub(crate) script: &'a str,
    /// The script directories (the allowlist).
    pub(crate) dirs: &'a ScriptDirs,
    /// The suffixes the policy allows.
    pub(crate) suffixes: &'a [String],
    /// The k6 binary (for `k6 archive`).
    pub(crate) k6: &'a Path,
    /// The step's environment.
    pub(crate) env: &'a [(String, String)],
    /// The run's folder; record paths are relative to it.
    pub(crate) run_dir: &'a Path,
    /// The data directory, never part of a copy.
    pub(crate) data_dir: &'a Path,
}

/// Makes `snapshot` inside the step folder.
pub(crate) async fn make(
    snapshot: &Snapshot,
    input: &SnapshotInput<'_>,
) -> Result<SnapshotRecord, SnapshotError> {
    match snapshot {
        Snapshot::K6Archive(archive) => archive_script(archive, input).await,
        Snapshot::DirectoryCopy(copy) => {
            let wrapper = input.dirs.check_script(
                &Path::new(&copy.source_dir).join(input.script),
                input.suffixes,
            )?;
            let (copy, dirs) = (copy.clone(), input.dirs.clone());
            let (run_dir, data_dir) = (input.run_dir.to_path_buf(), input.data_dir.to_path_buf());
            let name = input.script.to_owned();
            tokio::task::spawn_blocking(move || {
                copy_directory(&copy, &name, &dirs, &run_dir, &data_dir)
            })
            .await
            .map_err(|e| SnapshotError::Archive(format!("the copy was lost: {e}")))?
            .inspect(|_| tracing::debug!(wrapper = %wrapper.display(), "script directory copied"))
        }
    }
}

/// Reads an allowlisted file through a descriptor whose real path is
/// checked after opening: what is read is what was checked, whatever
/// happens to the path afterwards.
fn read_checked(path: &Path, dirs: &ScriptDirs) -> Result<(PathBuf, Vec<u8>), SnapshotError> {
    let file = std::fs::File::open(path).map_err(io("open", path))?;
    let opened = real_path_of(&file).map_err(io("resolve", path))?;
    let resolved = dirs.resolve(&opened)?;
    if resolved != opened {
        return Err(SnapshotError::Refused(
            crate::allowlist::PathRefused::OutsideScriptDirs {
                path: path.display().to_string(),
                resolved: opened.display().to_string(),
            },
        ));
    }
    let mut bytes = Vec::new();
    (&file)
        .take(MAX_COPY_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io("read", path))?;
    if bytes.len() as u64 > MAX_COPY_BYTES {
        return Err(SnapshotError::TooLarge {
            dir: path.to_path_buf(),
            what: format!("the file is larger than {MAX_COPY_BYTES} bytes"),
        });
    }
    Ok((opened, bytes))
}

/// The path the kernel has for an open file.
fn real_path_of(file: &std::fs::File) -> std::io::Result<PathBuf> {
    use std::os::fd::AsRawFd;
    std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

async fn archive_script(
    snapshot: &ArchiveSnapshot,
    input: &SnapshotInput<'_>,
) -> Result<SnapshotRecord, SnapshotError> {
    let SnapshotInput {
        dirs,
        suffixes,
        k6,
        env,
        run_dir,
        ..
    } = *input;
    let source = dirs.check_script(Path::new(&snapshot.source), suffixes)?;
    let (checked, script) = {
        let (source, dirs) = (source.clone(), dirs.clone());
        tokio::task::spawn_blocking(move || read_checked(&source, &dirs))
            .await
            .map_err(|e| SnapshotError::Archive(format!("the check was lost: {e}")))??
    };
    let archive = PathBuf::from(&snapshot.archive);
    let step_dir = archive.parent().unwrap_or(run_dir).to_path_buf();
    let mut command = tokio::process::Command::new(k6);
    command
        .args(&snapshot.args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(&step_dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let output = tokio::time::timeout(ARCHIVE_TIMEOUT, command.output())
        .await
        .map_err(|_| SnapshotError::Archive(format!("it took longer than {ARCHIVE_TIMEOUT:?}")))?
        .map_err(io("start k6 for", &archive))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let reason = stderr
            .lines()
            .rev()
            .find(|line| line.contains("level=error"))
            .unwrap_or_else(|| stderr.lines().last().unwrap_or(""))
            .trim()
            .to_owned();
        return Err(SnapshotError::Archive(format!(
            "{reason} ({})",
            output.status
        )));
    }
    let (archive_bytes, archived_script, files) = {
        let archive = archive.clone();
        tokio::task::spawn_blocking(move || read_archive(&archive))
            .await
            .map_err(|e| SnapshotError::Archive(format!("the archive check was lost: {e}")))??
    };
    let expected = hex_sha256(&script);
    let found = hex_sha256(&archived_script);
    if expected != found {
        return Err(SnapshotError::Changed { expected, found });
    }
    tracing::debug!(script = %checked.display(), files = files.len(), "script archived");
    Ok(SnapshotRecord {
        path: relative_to(&archive, run_dir),
        sha256: hex_sha256(&archive_bytes),
        script_sha256: expected,
        files,
    })
}

/// What a k6 archive holds: its own bytes, its main script (`data`) and
/// every file in it.
type ArchiveContent = (Vec<u8>, Vec<u8>, Vec<FileRecord>);

/// The archive's bytes, its main script (`data`) and its other files.
fn read_archive(path: &Path) -> Result<ArchiveContent, SnapshotError> {
    let bytes = std::fs::read(path).map_err(io("read", path))?;
    let mut script = None;
    let mut files = Vec::new();
    let mut archive = tar::Archive::new(bytes.as_slice());
    let entries = archive
        .entries()
        .map_err(|e| SnapshotError::Archive(format!("the archive cannot be read: {e}")))?;
    for entry in entries {
        let mut entry = entry
            .map_err(|e| SnapshotError::Archive(format!("the archive cannot be read: {e}")))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut content = Vec::new();
        entry
            .read_to_end(&mut content)
            .map_err(|e| SnapshotError::Archive(format!("the archive cannot be read: {e}")))?;
        if name == "data" {
            script = Some(content.clone());
        }
        if files.len() < MAX_LISTED_FILES {
            files.push(FileRecord {
                path: name,
                size_bytes: content.len() as u64,
                sha256: Some(hex_sha256(&content)),
            });
        }
    }
    let script = script
        .ok_or_else(|| SnapshotError::Archive("the archive holds no script (`data`)".to_owned()))?;
    Ok((bytes, script, files))
}

/// Copies the script directory for the wrapper `wrapper` (its name
/// relative to that directory).
fn copy_directory(
    snapshot: &DirectorySnapshot,
    wrapper: &str,
    dirs: &ScriptDirs,
    run_dir: &Path,
    data_dir: &Path,
) -> Result<SnapshotRecord, SnapshotError> {
    let source = PathBuf::from(&snapshot.source_dir);
    let target = PathBuf::from(&snapshot.target_dir);
    std::fs::create_dir_all(&target).map_err(io("create", &target))?;
    let mut copied: Vec<FileRecord> = Vec::new();
    let mut bytes_total = 0u64;
    // Hidden files and folders (`.git`) and the runner's own data
    // directory, if it lies inside, are never part of the copy.
    let walker = walkdir::WalkDir::new(&source)
        .max_depth(MAX_COPY_DEPTH)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| {
            let hidden = entry.depth() > 0 && entry.file_name().to_string_lossy().starts_with('.');
            !hidden && !entry.path().starts_with(data_dir)
        });
    for entry in walker.filter_map(Result::ok) {
        let Ok(relative) = entry.path().strip_prefix(&source) else {
            continue;
        };
        if relative.as_os_str().is_empty() {
            continue;
        }
        let destination = target.join(relative);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&destination).map_err(io("create", &destination))?;
            continue;
        }
        // A link is followed only if it stays inside the script
        // directories; anything else is not part of the copy.
        let Ok((_, content)) = read_checked(entry.path(), dirs) else {
            continue;
        };
        bytes_total += content.len() as u64;
        if copied.len() == MAX_COPY_FILES || bytes_total > MAX_COPY_BYTES {
            return Err(SnapshotError::TooLarge {
                dir: source,
                what: format!("more than {MAX_COPY_FILES} files or {MAX_COPY_BYTES} bytes"),
            });
        }
        if let Some(parent) = destination.parent() {
            std::fs::create_dir_all(parent).map_err(io("create", parent))?;
        }
        std::fs::write(&destination, &content).map_err(io("write", &destination))?;
        let mode = std::fs::metadata(entry.path())
            .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o755)
            .unwrap_or(0o644);
        std::fs::set_permissions(
            &destination,
            std::os::unix::fs::PermissionsExt::from_mode(mode),
        )
        .map_err(io("set the mode of", &destination))?;
        copied.push(FileRecord {
            path: slash_path(relative),
            size_bytes: content.len() as u64,
            sha256: Some(hex_sha256(&content)),
        });
    }
    let mut digest = Sha256::new();
    for file in &copied {
        digest.update(file.path.as_bytes());
        digest.update([0]);
        digest.update(file.sha256.as_deref().unwrap_or("").as_bytes());
        digest.update(b"\n");
    }
    let wrapper_sha256 = copied
        .iter()
        .find(|file| file.path == wrapper)
        .and_then(|file| file.sha256.clone())
        .ok_or_else(|| {
            SnapshotError::Archive(format!(
                "the wrapper {wrapper} is not part of the copy of its directory"
            ))
        })?;
    copied.truncate(MAX_LISTED_FILES);
    Ok(SnapshotRecord {
        path: relative_to(&target, run_dir),
        sha256: hex::encode(digest.finalize()),
        script_sha256: wrapper_sha256,
        files: copied,
    })
}

/// `a/b/c` for a relative path.
fn slash_path(relative: &Path) -> String {
    relative
        .components()
        .map(|part| part.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// `path` relative to `base` as a `/` path (the whole path if it is not
/// inside).
pub(crate) fn relative_to(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .map(slash_path)
        .unwrap_or_else(|_| path.display().to_string())
}
