//! The audit log: one JSON line per control action — config change (with
//! its diff), reset, start, stop, and every refused attempt — with time,
//! actor, action and outcome. Append-only, synced to disk before the
//! action's answer is sent, rotated by size so that a flood of refused
//! requests cannot fill the disk.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::now_rfc3339;
use crate::persistence::logfile::RotatingLog;

/// How much of the end of each log part `GET /audit` reads at most.
const MAX_TAIL_BYTES: u64 = 1 << 20;
/// Size at which the audit log is rotated (about 50,000 entries).
const MAX_PART_BYTES: u64 = 8 << 20;
/// Older audit parts kept (`audit.log.1` … `.4`): 40 MiB in all at most.
const KEPT_PARTS: u32 = 4;

/// One audited action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// When (RFC 3339).
    pub time: String,
    /// Who: the token's name, `anonymous` without auth, `unknown` for a
    /// request with no valid token, `retention` for its deletions,
    /// `schedule:<id>` for a schedule's fires and the runs they start.
    pub actor: String,
    /// What: `config.update`, `config.reset`, `run.start`, `run.stop`.
    pub action: String,
    /// How the attempt went.
    pub outcome: AuditOutcome,
    /// Why, for refusals and errors; the run id for starts and stops.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For config changes: each changed field with its old and new value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<Value>,
}

impl AuditEntry {
    /// An entry stamped now.
    pub fn new(actor: &str, action: &str, outcome: AuditOutcome, detail: Option<String>) -> Self {
        Self {
            time: now_rfc3339(),
            actor: actor.to_owned(),
            action: action.to_owned(),
            outcome,
            detail,
            diff: None,
        }
    }
}

/// How an audited attempt went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuditOutcome {
    /// Done.
    Ok,
    /// Refused: the caller's role, the input, or the state did not allow it.
    Refused,
    /// Tried, and failed on the runner's side.
    Error,
}

/// The append-only audit file.
pub struct AuditLog {
    path: PathBuf,
    file: Mutex<RotatingLog>,
}

impl AuditLog {
    /// Opens (creating) `path` for appending.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        Self::with_limits(path, MAX_PART_BYTES, KEPT_PARTS)
    }

    fn with_limits(path: &Path, max_part_bytes: u64, kept_parts: u32) -> std::io::Result<Self> {
        Ok(Self {
            path: path.to_path_buf(),
            file: Mutex::new(RotatingLog::with_limits(path, max_part_bytes, kept_parts)?),
        })
    }

    /// Appends one entry and syncs it to disk.
    pub fn record(&self, entry: &AuditEntry) -> std::io::Result<()> {
        let line = serde_json::to_string(entry).map_err(std::io::Error::other)?;
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        file.write_line(&line)?;
        file.sync()
    }

    /// The newest `limit` entries, oldest first (lines that do not parse
    /// are skipped), from the current part and, if it holds fewer, the
    /// part before it.
    pub fn tail(&self, limit: usize) -> std::io::Result<Vec<AuditEntry>> {
        let mut entries = tail_of(&self.path)?;
        if entries.len() < limit {
            let previous = RotatingLog::part_path(&self.path, 1);
            match tail_of(&previous) {
                Ok(mut older) => {
                    older.append(&mut entries);
                    entries = older;
                }
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
        }
        Ok(entries.split_off(entries.len().saturating_sub(limit)))
    }
}

/// The entries in the last [`MAX_TAIL_BYTES`] of one log part.
fn tail_of(path: &Path) -> std::io::Result<Vec<AuditEntry>> {
    let mut file = File::open(path)?;
    let size = file.metadata()?.len();
    let start = size.saturating_sub(MAX_TAIL_BYTES);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.take(MAX_TAIL_BYTES).read_to_end(&mut bytes)?;
    // A read that starts mid-file starts mid-line (perhaps mid-character):
    // that part is dropped; lossy decoding keeps the rest readable.
    let text = String::from_utf8_lossy(&bytes);
    let body = if start > 0 {
        text.split_once('\n').map_or("", |(_, rest)| rest)
    } else {
        &text
    };
    Ok(body
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect())
}

/// The fields that differ between two config JSON texts:
/// `{"globalUserCount": {"from": 5, "to": 10}}`.
pub fn config_diff(before: &Value, after: &Value) -> Value {
    let empty = Map::new();
    let (before, after) = (
        before.as_object().unwrap_or(&empty),
        after.as_object().unwrap_or(&empty),
    );
    let mut diff = Map::new();
    for key in before.keys().chain(after.keys()) {
        let (from, to) = (before.get(key), after.get(key));
        if from != to && !diff.contains_key(key) {
            diff.insert(
                key.clone(),
                serde_json::json!({"from": from.cloned().unwrap_or(Value::Null), "to": to.cloned().unwrap_or(Value::Null)}),
            );
        }
    }
    Value::Object(diff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_appended_and_read_back_newest_last() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(&dir.path().join("audit.log")).unwrap();
        for i in 0..5 {
            log.record(&AuditEntry::new(
                "alice",
                "run.start",
                AuditOutcome::Ok,
                Some(format!("run {i}")),
            ))
            .unwrap();
        }
        let tail = log.tail(2).unwrap();
        assert_eq!(tail.len(), 2);
        assert_eq!(tail[1].detail.as_deref(), Some("run 4"));
        let reopened = AuditLog::open(&dir.path().join("audit.log")).unwrap();
        reopened
            .record(&AuditEntry::new("bob", "run.stop", AuditOutcome::Ok, None))
            .unwrap();
        assert_eq!(
            reopened.tail(100).unwrap().len(),
            6,
            "appending never truncates"
        );
    }

    /// A flood of entries rotates the log: the disk use stays bounded, the
    /// newest entries stay readable across the rotation, and the files are
    /// private to the runner's user.
    #[test]
    fn a_flood_is_rotated_and_the_newest_entries_stay_readable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.log");
        let log = AuditLog::with_limits(&path, 4096, 2).unwrap();
        for i in 0..1000 {
            log.record(&AuditEntry::new(
                "unknown",
                "run.start",
                AuditOutcome::Refused,
                Some(format!("attempt {i}")),
            ))
            .unwrap();
        }
        let total: u64 = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|file| file.unwrap().metadata().unwrap().len())
            .sum();
        assert!(
            total <= 3 * 4096,
            "three parts of 4 KiB at most, got {total} bytes"
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // More than the current part holds: the rest comes from the part
        // before it, in order.
        let tail = log.tail(40).unwrap();
        let details: Vec<String> = tail.iter().filter_map(|e| e.detail.clone()).collect();
        let expected: Vec<String> = (960..1000).map(|i| format!("attempt {i}")).collect();
        assert_eq!(details, expected);
    }

    #[test]
    fn diff_lists_changed_fields_only() {
        let diff = config_diff(
            &serde_json::json!({"globalUserCount": 5, "testDuration": "30s", "enabledScripts": ["a.js"]}),
            &serde_json::json!({"globalUserCount": 10, "testDuration": "30s", "enabledScripts": ["a.js", "b.js"]}),
        );
        assert_eq!(
            diff,
            serde_json::json!({
                "globalUserCount": {"from": 5, "to": 10},
                "enabledScripts": {"from": ["a.js"], "to": ["a.js", "b.js"]},
            })
        );
    }
}
