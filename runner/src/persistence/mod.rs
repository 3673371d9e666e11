//! The data directory: `config.json`, one folder per run, and the marker of
//! the run in progress. Files are replaced atomically (temp file, fsync,
//! rename) and a file that cannot be read back is set aside, never
//! overwritten.
//!
//! ```text
//! <data-dir>/config.json        the current config (canonical JSON)
//! <data-dir>/active-run         id of the run in progress, while one runs
//! <data-dir>/runs/<id>/run.json the run record
//! <data-dir>/runs/<id>/NN-*.log per-step output, rotated by size
//! <data-dir>/runs/<id>/NN-*.summary.json  k6's --summary-export
//! <data-dir>/cache/             precompiled core component
//! ```

pub mod logfile;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::model::RunRecord;

/// Why the data directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// A file operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A stored document is not what it should be.
    #[error("{path} is corrupt: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl PersistError {
    /// True when the disk (or quota) is full.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, PersistError::Io { source, .. } if source.kind() == std::io::ErrorKind::StorageFull || source.raw_os_error() == Some(nix::libc::EDQUOT))
    }
}

fn io<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> PersistError + 'a {
    move |source| PersistError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// The runner's data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// Opens (creating if needed) the data directory and checks that it is
    /// writable, so an unwritable directory fails at startup, not mid-run.
    pub fn open(root: &Path) -> Result<Self, PersistError> {
        std::fs::create_dir_all(root.join("runs")).map_err(io("creating", root))?;
        let root = root.canonicalize().map_err(io("resolving", root))?;
        let probe = root.join(".write-probe");
        std::fs::write(&probe, b"ok").map_err(io("writing to", &probe))?;
        std::fs::remove_file(&probe).map_err(io("removing", &probe))?;
        Ok(Self { root })
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `config.json`.
    pub fn config_path(&self) -> PathBuf {
        self.root.join("config.json")
    }

    /// The stored config text, if there is one.
    pub fn read_config(&self) -> Result<Option<String>, PersistError> {
        let path = self.config_path();
        match std::fs::read(&path) {
            Ok(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|e| PersistError::Corrupt {
                    path,
                    reason: format!("not UTF-8 ({e})"),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(PersistError::Io {
                action: "reading",
                path,
                source: e,
            }),
        }
    }

    /// Replaces `config.json` atomically.
    pub fn write_config(&self, json: &str) -> Result<(), PersistError> {
        write_atomically(&self.config_path(), json.as_bytes())
    }

    /// Moves an unusable `config.json` aside (`config.json.rejected-<time>`)
    /// so that it is kept for the operator and never overwritten.
    pub fn set_config_aside(&self) -> Result<PathBuf, PersistError> {
        let from = self.config_path();
        let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
            .to_string()
            .replace(':', "");
        let to = self.root.join(format!("config.json.rejected-{stamp}"));
        std::fs::rename(&from, &to).map_err(io("setting aside", &from))?;
        Ok(to)
    }

    /// The append-only audit log.
    pub fn audit_path(&self) -> PathBuf {
        self.root.join("audit.log")
    }

    /// The folder of run `id`.
    pub fn run_dir(&self, id: &str) -> PathBuf {
        self.root.join("runs").join(id)
    }

    /// Creates the folder of run `id`.
    pub fn create_run_dir(&self, id: &str) -> Result<PathBuf, PersistError> {
        let dir = self.run_dir(id);
        std::fs::create_dir_all(&dir).map_err(io("creating", &dir))?;
        Ok(dir)
    }

    /// Writes a run record atomically.
    pub fn write_run(&self, record: &RunRecord) -> Result<(), PersistError> {
        let path = self.run_dir(&record.id).join("run.json");
        let json = serde_json::to_vec_pretty(record).map_err(|e| PersistError::Corrupt {
            path: path.clone(),
            reason: format!("cannot encode the run record: {e}"),
        })?;
        write_atomically(&path, &json)
    }

    /// Reads run `id`'s record.
    pub fn read_run(&self, id: &str) -> Result<RunRecord, PersistError> {
        let path = self.run_dir(id).join("run.json");
        let bytes = std::fs::read(&path).map_err(io("reading", &path))?;
        serde_json::from_slice(&bytes).map_err(|e| PersistError::Corrupt {
            path,
            reason: e.to_string(),
        })
    }

    /// The id of the newest run that has a record (ids sort by start time).
    pub fn last_run_id(&self) -> Result<Option<String>, PersistError> {
        let runs = self.root.join("runs");
        let entries = std::fs::read_dir(&runs).map_err(io("listing", &runs))?;
        Ok(entries
            .filter_map(Result::ok)
            .filter(|entry| entry.path().join("run.json").is_file())
            .filter_map(|entry| entry.file_name().into_string().ok())
            .max())
    }

    /// Marks run `id` as in progress, for crash recovery.
    pub fn set_active_run(&self, id: &str) -> Result<(), PersistError> {
        write_atomically(&self.root.join("active-run"), id.as_bytes())
    }

    /// Clears the in-progress marker.
    pub fn clear_active_run(&self) -> Result<(), PersistError> {
        let path = self.root.join("active-run");
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(PersistError::Io {
                action: "removing",
                path,
                source: e,
            }),
            _ => Ok(()),
        }
    }

    /// The run that was in progress when the runner last stopped, if the
    /// marker is still there (the runner died during it).
    pub fn active_run(&self) -> Result<Option<String>, PersistError> {
        let path = self.root.join("active-run");
        match std::fs::read_to_string(&path) {
            Ok(id) => Ok(Some(id.trim().to_owned()).filter(|id| !id.is_empty())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(PersistError::Io {
                action: "reading",
                path,
                source: e,
            }),
        }
    }
}

/// Writes `bytes` to `path` so that readers see the old or the new file,
/// never a torn one, and the new one survives a power cut once this returns.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), PersistError> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let mut file =
        tempfile::NamedTempFile::new_in(dir).map_err(io("creating a temporary file in", dir))?;
    file.write_all(bytes).map_err(io("writing", file.path()))?;
    file.as_file().sync_all().map_err(io("syncing", path))?;
    file.persist(path).map_err(|e| PersistError::Io {
        action: "replacing",
        path: path.to_path_buf(),
        source: e.error,
    })?;
    // The rename itself is durable only once the directory is synced.
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("syncing", dir))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trips_and_a_rejected_one_is_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path()).unwrap();
        assert_eq!(data.read_config().unwrap(), None);
        data.write_config("{\"a\":1}").unwrap();
        assert_eq!(data.read_config().unwrap().as_deref(), Some("{\"a\":1}"));
        let aside = data.set_config_aside().unwrap();
        assert_eq!(std::fs::read_to_string(aside).unwrap(), "{\"a\":1}");
        assert_eq!(data.read_config().unwrap(), None);
    }

    #[test]
    fn active_run_marker_is_set_read_and_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::open(dir.path()).unwrap();
        data.set_active_run("r1").unwrap();
        assert_eq!(data.active_run().unwrap().as_deref(), Some("r1"));
        data.clear_active_run().unwrap();
        assert_eq!(data.active_run().unwrap(), None);
        data.clear_active_run().unwrap();
    }

    #[test]
    fn unwritable_data_dir_is_reported_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, "x").unwrap();
        let error = DataDir::open(&file).unwrap_err();
        assert!(error.to_string().contains("not-a-dir"), "{error}");
    }
}
