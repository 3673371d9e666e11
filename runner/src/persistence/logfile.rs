//! An append-only log file rotated by size, so that a long or chatty run
//! (or a flood of refused requests in the audit log) cannot fill the disk:
//! `NN-script.log`, then `.log.1` … `.log.N` for older parts. Files are
//! private to the runner's user (mode 0600): a script's output or the audit
//! trail is nobody else's business.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Size at which the current log part is rotated.
pub const MAX_LOG_PART_BYTES: u64 = 16 << 20;
/// Older parts kept; the oldest beyond this is deleted.
pub const KEPT_LOG_PARTS: u32 = 3;

/// An append-only, size-rotated log file.
pub struct RotatingLog {
    path: PathBuf,
    file: BufWriter<File>,
    written: u64,
    max_bytes: u64,
    keep: u32,
}

impl RotatingLog {
    /// Opens `path` rotating at `max_bytes` and keeping `keep` old parts.
    pub fn with_limits(path: &Path, max_bytes: u64, keep: u32) -> std::io::Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        // `mode` applies only to a new file; one an older runner made may
        // be readable by others.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        let written = file.metadata()?.len();
        Ok(Self {
            path: path.to_path_buf(),
            file: BufWriter::new(file),
            written,
            max_bytes,
            keep,
        })
    }

    /// Appends one line (a newline is added).
    pub fn write_line(&mut self, line: &str) -> std::io::Result<()> {
        if self.written > 0 && self.written + line.len() as u64 + 1 > self.max_bytes {
            self.rotate()?;
        }
        self.file.write_all(line.as_bytes())?;
        self.file.write_all(b"\n")?;
        self.written += line.len() as u64 + 1;
        Ok(())
    }

    /// Pushes buffered lines to the file.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }

    /// Pushes buffered lines to the file and the file to the disk.
    pub fn sync(&mut self) -> std::io::Result<()> {
        self.file.flush()?;
        self.file.get_ref().sync_data()
    }

    /// Older part `n` (1 is the newest of them).
    pub fn part_path(path: &Path, n: u32) -> PathBuf {
        PathBuf::from(format!("{}.{n}", path.display()))
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        self.file.flush()?;
        let part = |n: u32| Self::part_path(&self.path, n);
        let _ = std::fs::remove_file(part(self.keep));
        for n in (1..self.keep).rev() {
            let _ = std::fs::rename(part(n), part(n + 1));
        }
        if self.keep > 0 {
            std::fs::rename(&self.path, part(1))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(0o600)
            .open(&self.path)?;
        self.file = BufWriter::new(file);
        self.written = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writing past the size limit rotates, keeps `keep` old parts and
    /// drops older ones, so the total stays bounded.
    #[test]
    fn rotates_and_bounds_total_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("step.log");
        let mut log = RotatingLog::with_limits(&path, 100, 2).unwrap();
        for i in 0..100 {
            log.write_line(&format!("line {i:04} ........")).unwrap();
        }
        log.flush().unwrap();
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
        let total: u64 = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        assert!(total <= 300, "{total}");
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .ends_with("line 0099 ........\n")
        );
    }
}
