//! The data directory: `config.json`, one folder per run, and the marker of
//! the run in progress. Files are replaced atomically (temp file, fsync,
//! rename) and a file that cannot be read back is set aside, never
//! overwritten.
//!
//! ```text
//! <data-dir>/lock               held (flock) by the runner using the directory
//! <data-dir>/instance           this directory's id in process markers
//! <data-dir>/config.json        the current config (canonical JSON)
//! <data-dir>/active-run         id of the run in progress, while one runs
//! <data-dir>/runs/<id>/run.json the run record
//! <data-dir>/runs/<id>/NN-<name>/ one folder per step: its snapshot
//!                               (script.tar, or scripts/ for a wrapper),
//!                               output.log (rotated by size),
//!                               series.jsonl (the live readings), k6's
//!                               summary.json and whatever the step wrote
//! <data-dir>/pending/<id>.json  a run record that could not be written
//!                               into its folder (kept until it can be)
//! <data-dir>/cache/             precompiled core component, k6 inspections
//! ```

pub mod logfile;
pub mod records;
pub mod series;

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

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
    /// Another runner holds the directory's lock.
    #[error(
        "the data directory {path} is in use by another k6-runner (it holds {path}/lock); \
         give each runner its own --data-dir"
    )]
    InUse {
        /// The data directory.
        path: PathBuf,
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

/// The file holding a data directory's instance.
const INSTANCE_FILE: &str = "instance";

/// A data directory's instance: random, written once into the directory
/// (so it stays the same if the directory is moved or mounted elsewhere)
/// and read back at every open. Only called with the directory's lock held.
fn instance_of(root: &Path) -> Result<String, PersistError> {
    let path = root.join(INSTANCE_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) if is_instance(text.trim()) => return Ok(text.trim().to_owned()),
        // Unreadable as an instance: a fresh one replaces it below.
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(io("reading", &path)(error)),
    }
    let seed = (std::time::SystemTime::now(), std::process::id(), root);
    let random =
        std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), seed);
    let instance = hex::encode(&Sha256::digest(random.to_le_bytes())[..6]);
    write_atomically(&path, instance.as_bytes())?;
    Ok(instance)
}

/// Twelve lowercase hex digits.
fn is_instance(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The runner's data directory, locked for as long as any clone of it
/// lives.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
    /// The open `lock` file whose exclusive `flock` keeps a second runner
    /// out: two runners on one directory would each take the other's
    /// running processes for a crashed runner's leftovers and kill them, and
    /// overwrite each other's config. The kernel drops the lock when the
    /// process dies, however it dies.
    _lock: Arc<File>,
    /// Tells this directory's runs apart from other runners' in process
    /// markers (see [`DataDir::run_marker`]).
    instance: String,
}

impl DataDir {
    /// Opens (creating if needed) the data directory, takes its lock and
    /// checks that it is writable, so a directory another runner uses or
    /// one that cannot be written fails at startup, not mid-run.
    pub fn open(root: &Path) -> Result<Self, PersistError> {
        std::fs::create_dir_all(root.join("runs")).map_err(io("creating", root))?;
        let root = root.canonicalize().map_err(io("resolving", root))?;
        let lock_path = root.join("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .map_err(io("opening", &lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(PersistError::InUse { path: root }),
            Err(TryLockError::Error(source)) => {
                return Err(io("locking", &lock_path)(source));
            }
        }
        let probe = root.join(".write-probe");
        std::fs::write(&probe, b"ok").map_err(io("writing to", &probe))?;
        std::fs::remove_file(&probe).map_err(io("removing", &probe))?;
        let instance = instance_of(&root)?;
        Ok(Self {
            root,
            _lock: Arc::new(lock),
            instance,
        })
    }

    /// The value of the environment marker every process of run `run_id`
    /// carries: the run id and this directory's instance
    /// (`20261125T133700Z@1a2b3c4d5e6f`). Run ids are unique only within
    /// one data directory; the instance keeps a restarted runner from
    /// taking another runner's processes for its own leftovers.
    pub fn run_marker(&self, run_id: &str) -> String {
        format!("{run_id}@{}", self.instance)
    }

    /// [`DataDir::run_marker`] of the data directory at `root`, without
    /// opening it: for tools that watch a runner's processes from outside.
    pub fn run_marker_of(root: &Path, run_id: &str) -> std::io::Result<String> {
        let instance = std::fs::read_to_string(root.join(INSTANCE_FILE))?;
        Ok(format!("{run_id}@{}", instance.trim()))
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

    /// Writes a run record atomically into its run folder.
    pub fn write_run(&self, record: &RunRecord) -> Result<(), PersistError> {
        let path = self.run_dir(&record.id).join("run.json");
        write_atomically(&path, &encode(record, &path)?)?;
        // The folder's copy is current now; a pending one is stale.
        let pending = self.pending_path(&record.id);
        match std::fs::remove_file(&pending) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io("removing", &pending)(e)),
            _ => Ok(()),
        }
    }

    /// Writes a run record that could not go into its run folder to
    /// `pending/<id>.json`, where reads find it first.
    pub fn write_pending(&self, record: &RunRecord) -> Result<(), PersistError> {
        let dir = self.root.join("pending");
        std::fs::create_dir_all(&dir).map_err(io("creating", &dir))?;
        let path = self.pending_path(&record.id);
        write_atomically(&path, &encode(record, &path)?)
    }

    /// Moves every pending record into its run folder, where that works
    /// now; returns the ids still pending.
    pub fn settle_pending(&self) -> Vec<String> {
        self.pending_ids()
            .into_iter()
            .filter(|id| match self.read_run(id) {
                Ok(record) => self.write_run(&record).is_err(),
                Err(_) => true,
            })
            .collect()
    }

    fn pending_path(&self, id: &str) -> PathBuf {
        self.root.join("pending").join(format!("{id}.json"))
    }

    fn pending_ids(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.root.join("pending")) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter_map(|name| name.strip_suffix(".json").map(str::to_owned))
            .collect()
    }

    /// Reads run `id`'s record: the pending one if the run folder's copy
    /// could not be written, else the folder's.
    pub fn read_run(&self, id: &str) -> Result<RunRecord, PersistError> {
        let pending = self.pending_path(id);
        let path = if pending.is_file() {
            pending
        } else {
            self.run_dir(id).join("run.json")
        };
        let bytes = std::fs::read(&path).map_err(io("reading", &path))?;
        serde_json::from_slice(&bytes).map_err(|e| PersistError::Corrupt {
            path,
            reason: e.to_string(),
        })
    }

    /// The ids of every run that has a record, in no particular order.
    pub fn run_ids(&self) -> Result<Vec<String>, PersistError> {
        let runs = self.root.join("runs");
        let entries = std::fs::read_dir(&runs).map_err(io("listing", &runs))?;
        let mut ids: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|entry| entry.path().join("run.json").is_file())
            .filter_map(|entry| entry.file_name().into_string().ok())
            .chain(self.pending_ids())
            .collect();
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    /// The id of the newest run that has a record (ids sort by start time).
    pub fn last_run_id(&self) -> Result<Option<String>, PersistError> {
        let runs = self.root.join("runs");
        let entries = std::fs::read_dir(&runs).map_err(io("listing", &runs))?;
        Ok(entries
            .filter_map(Result::ok)
            .filter(|entry| entry.path().join("run.json").is_file())
            .filter_map(|entry| entry.file_name().into_string().ok())
            .chain(self.pending_ids())
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

/// A run record as the JSON kept on disk.
fn encode(record: &RunRecord, path: &Path) -> Result<Vec<u8>, PersistError> {
    serde_json::to_vec_pretty(record).map_err(|e| PersistError::Corrupt {
        path: path.to_path_buf(),
        reason: format!("cannot encode the run record: {e}"),
    })
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

    /// One runner per data directory: a second open is refused while the
    /// first lives (any clone of it), and works once it is gone.
    #[test]
    fn a_second_open_of_a_directory_in_use_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDir::open(dir.path()).unwrap();
        let clone = first.clone();
        drop(first);
        let refused = DataDir::open(dir.path()).unwrap_err();
        assert!(matches!(refused, PersistError::InUse { .. }), "{refused}");
        assert!(refused.to_string().contains("--data-dir"), "{refused}");
        drop(clone);
        DataDir::open(dir.path()).unwrap();
    }

    /// Run ids repeat across data directories; their process markers do
    /// not, and a directory keeps its marker when it is moved.
    #[test]
    fn run_markers_tell_data_directories_apart() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (a, b) = (
            DataDir::open(a.path()).unwrap(),
            DataDir::open(b.path()).unwrap(),
        );
        let id = "20261125T133700Z";
        assert!(a.run_marker(id).starts_with("20261125T133700Z@"));
        assert_ne!(a.run_marker(id), b.run_marker(id));
        assert_eq!(a.run_marker(id), a.clone().run_marker(id));
        assert_eq!(
            DataDir::run_marker_of(a.root(), id).unwrap(),
            a.run_marker(id)
        );
        let before = b.run_marker(id);
        let moved = tempfile::tempdir().unwrap();
        let to = moved.path().join("moved");
        std::fs::rename(b.root(), &to).unwrap();
        drop(b);
        assert_eq!(DataDir::open(&to).unwrap().run_marker(id), before);
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
