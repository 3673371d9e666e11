//! The audit log: one JSON line per control action — config change (with
//! its diff), reset, start, stop, and every refused attempt — with time,
//! actor, action and outcome. Append-only, flushed to disk before the
//! action's answer is sent.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::now_rfc3339;

/// How much of the end of the log `GET /audit` reads at most.
const MAX_TAIL_BYTES: u64 = 1 << 20;

/// One audited action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// When (RFC 3339).
    pub time: String,
    /// Who: the token's name, `anonymous` without auth, `unknown` for a
    /// request with no valid token.
    pub actor: String,
    /// What: `config.update`, `config.reset`, `run.start`, `run.stop`.
    pub action: String,
    /// `ok`, `refused` or `error`.
    pub outcome: String,
    /// Why, for refusals and errors; the run id for starts and stops.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For config changes: each changed field with its old and new value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<Value>,
}

impl AuditEntry {
    /// An entry stamped now.
    pub fn new(actor: &str, action: &str, outcome: &str, detail: Option<String>) -> Self {
        Self {
            time: now_rfc3339(),
            actor: actor.to_owned(),
            action: action.to_owned(),
            outcome: outcome.to_owned(),
            detail,
            diff: None,
        }
    }
}

/// The append-only audit file.
pub struct AuditLog {
    path: PathBuf,
    file: Mutex<File>,
}

impl AuditLog {
    /// Opens (creating) `path` for appending.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    /// Appends one entry and syncs it to disk.
    pub fn record(&self, entry: &AuditEntry) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        file.write_all(&line)?;
        file.sync_data()
    }

    /// The newest `limit` entries, oldest first (lines that do not parse
    /// are skipped).
    pub fn tail(&self, limit: usize) -> std::io::Result<Vec<AuditEntry>> {
        let mut file = File::open(&self.path)?;
        let size = file.metadata()?.len();
        let start = size.saturating_sub(MAX_TAIL_BYTES);
        file.seek(SeekFrom::Start(start))?;
        let mut text = String::new();
        file.take(MAX_TAIL_BYTES).read_to_string(&mut text)?;
        // A read that starts mid-file starts mid-line: drop that part.
        let body = if start > 0 {
            text.split_once('\n').map_or("", |(_, rest)| rest)
        } else {
            &text
        };
        let entries: Vec<AuditEntry> = body
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect();
        Ok(entries[entries.len().saturating_sub(limit)..].to_vec())
    }
}

/// The fields that differ between two config JSON texts:
/// `{"globalUserCount": {"from": 5, "to": 10}}`.
pub fn config_diff(before: &str, after: &str) -> Value {
    let parse = |text: &str| serde_json::from_str::<Map<String, Value>>(text).unwrap_or_default();
    let (before, after) = (parse(before), parse(after));
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
                "ok",
                Some(format!("run {i}")),
            ))
            .unwrap();
        }
        let tail = log.tail(2).unwrap();
        assert_eq!(tail.len(), 2);
        assert_eq!(tail[1].detail.as_deref(), Some("run 4"));
        let reopened = AuditLog::open(&dir.path().join("audit.log")).unwrap();
        reopened
            .record(&AuditEntry::new("bob", "run.stop", "ok", None))
            .unwrap();
        assert_eq!(
            reopened.tail(100).unwrap().len(),
            6,
            "appending never truncates"
        );
    }

    #[test]
    fn diff_lists_changed_fields_only() {
        let diff = config_diff(
            r#"{"globalUserCount": 5, "testDuration": "30s", "enabledScripts": ["a.js"]}"#,
            r#"{"globalUserCount": 10, "testDuration": "30s", "enabledScripts": ["a.js", "b.js"]}"#,
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
