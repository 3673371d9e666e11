//! A step's per-second live series, `<step-dir>/series.jsonl`: one
//! metrics reading per line, appended as k6 reports it. The file (not the
//! history database) is the source of truth: the database imports it, and
//! rebuilds from it when it must.
//!
//! Each line is flushed as it is written, so a runner killed mid-step
//! leaves every reading but perhaps a torn last line, which the reader
//! skips.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::model::MetricsPoint;

/// The series file's name inside a step folder.
pub const SERIES_FILE: &str = "series.jsonl";

/// Most readings read back from one file: a 25 h step (the policy's
/// longest) at one reading a second, with room to spare. A longer file is
/// not the runner's and is read no further.
pub const MAX_SERIES_POINTS: usize = 100_000;

/// The append-only series file of a running step.
pub struct SeriesFile {
    file: File,
}

impl SeriesFile {
    /// Creates (or appends to) the series file at `path`, private to the
    /// runner's user like the step log.
    pub fn create(path: &Path) -> std::io::Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        Ok(Self { file })
    }

    /// Appends one reading as one line, in one write (so a crash tears at
    /// most the line being written).
    pub fn append(&mut self, point: &MetricsPoint) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(point).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)
    }
}

/// The readings of a series file, oldest first; a missing file is an empty
/// series, and lines that do not parse (a torn last line) are skipped.
pub fn read_series(path: &Path) -> std::io::Result<Vec<MetricsPoint>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut points = Vec::new();
    for line in BufReader::new(file).lines() {
        if points.len() == MAX_SERIES_POINTS {
            break;
        }
        if let Ok(point) = serde_json::from_str::<MetricsPoint>(&line?) {
            points.push(point);
        }
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Readings come back in order; a torn last line (a crash mid-write)
    /// costs only that line.
    #[test]
    fn readings_round_trip_and_a_torn_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SERIES_FILE);
        let mut file = SeriesFile::create(&path).unwrap();
        for at_ms in [1_000, 2_000] {
            file.append(&MetricsPoint {
                at_ms,
                requests: at_ms / 10,
                ..MetricsPoint::default()
            })
            .unwrap();
        }
        drop(file);
        let mut torn = OpenOptions::new().append(true).open(&path).unwrap();
        torn.write_all(b"{\"runId\":\"r\",\"at").unwrap();
        let points = read_series(&path).unwrap();
        assert_eq!(
            points.iter().map(|p| p.at_ms).collect::<Vec<_>>(),
            [1_000, 2_000]
        );
        assert!(read_series(&dir.path().join("none")).unwrap().is_empty());
    }
}
