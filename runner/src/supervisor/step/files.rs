//! The files a step left in its folder: k6's summary export, what its
//! `handleSummary()` wrote with relative paths, a wrapper's `tee` files.
//! Whatever changed in the folder after the step's process started, except
//! its own log, is listed in the record (and served by the files API).

use std::path::Path;
use std::time::SystemTime;

use super::snapshot::relative_to;
use crate::model::FileRecord;
use crate::persistence::series::SERIES_FILE;

/// Most files listed per step.
const MAX_LISTED: usize = 1_000;
/// Deepest folder nesting looked at.
const MAX_DEPTH: usize = 10;

/// Regular files below `step_dir` modified at or after `since`, other than
/// the step's log (`log_name` and its rotated parts), relative to
/// `run_dir`, sorted by path.
pub(crate) fn outputs(
    step_dir: &Path,
    run_dir: &Path,
    log_name: &str,
    since: SystemTime,
) -> Vec<FileRecord> {
    let mut files: Vec<FileRecord> = walkdir::WalkDir::new(step_dir)
        .max_depth(MAX_DEPTH)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_file())
        .filter(|entry| {
            let name = entry.file_name().to_string_lossy();
            !(entry.depth() == 1 && (name.starts_with(log_name) || name == SERIES_FILE))
        })
        .filter_map(|entry| {
            let meta = entry.metadata().ok()?;
            let changed = meta.modified().ok()? >= since;
            changed.then(|| FileRecord {
                path: relative_to(entry.path(), run_dir),
                size_bytes: meta.len(),
                sha256: None,
            })
        })
        .take(MAX_LISTED)
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the step wrote is listed; what was there before and its own
    /// log are not.
    #[test]
    fn lists_what_the_step_wrote() {
        let run = tempfile::tempdir().unwrap();
        let step = run.path().join("01-a.js");
        std::fs::create_dir_all(step.join("data")).unwrap();
        std::fs::write(step.join("script.tar"), "old").unwrap();
        let since = SystemTime::now();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(step.join("summary.json"), "{}").unwrap();
        std::fs::write(step.join("data/out.json"), "[1]").unwrap();
        std::fs::write(step.join("output.log"), "lines").unwrap();
        std::fs::write(step.join("output.log.1"), "older").unwrap();
        let files = outputs(&step, run.path(), "output.log", since);
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["01-a.js/data/out.json", "01-a.js/summary.json"]);
        assert_eq!(files[1].size_bytes, 2);
    }
}
