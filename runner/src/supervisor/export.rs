//! The archives of an export to k6-operator: each k6 step's snapshot made
//! exactly as a run makes it (the script checked, `k6 archive` in its own
//! process group, the archived script compared byte for byte with the
//! checked file), then read back for the core to put in a ConfigMap.

use std::path::Path;

use super::StepRunner;
use super::process;
use super::step::snapshot::{self, SnapshotInput};
use crate::contract::{Snapshot, Step, StepArchive};

/// Largest archive read back for an export: the core refuses anything
/// over a ConfigMap's 1 MiB by its size alone.
const MAX_EXPORT_ARCHIVE_BYTES: u64 = 1 << 20;

impl StepRunner {
    /// The archive of `step` (a k6 step of a plan made for the runner, its
    /// folders inside a scratch run folder `run_dir`), or why it cannot be
    /// made, in words for the operator. A step without an archive snapshot
    /// (a legacy wrapper, which the core refuses to export) gives `None`.
    pub(crate) async fn export_archive(
        &self,
        step: &Step,
        k6: &Path,
        run_dir: &Path,
        marker: &str,
    ) -> Result<Option<StepArchive>, String> {
        let Some(wanted @ Snapshot::K6Archive(archive)) = &step.snapshot else {
            return Ok(None);
        };
        tokio::fs::create_dir_all(&step.step_dir)
            .await
            .map_err(|e| format!("cannot create {}: {e}", step.step_dir))?;
        let env = process::step_env(
            k6.parent(),
            &self.pass_env,
            &step.env,
            &self.data.run_marker(marker),
        );
        let input = SnapshotInput {
            script: &step.script,
            dirs: &self.dirs,
            suffixes: &self.allowed_suffixes,
            k6,
            env: &env,
            run_dir,
            data_dir: self.data.root(),
        };
        let record = snapshot::make(wanted, &input)
            .await
            .map_err(|e| e.to_string())?;
        let path = archive.archive.clone();
        let (size_bytes, bytes) = tokio::task::spawn_blocking(move || {
            use std::io::Read;
            let file = std::fs::File::open(&path)
                .map_err(|e| format!("cannot open the archive {path}: {e}"))?;
            let size = file
                .metadata()
                .map_err(|e| format!("cannot read the size of the archive {path}: {e}"))?
                .len();
            let mut bytes = Vec::new();
            // Too large for a ConfigMap: the core refuses it by its size,
            // and its bytes need not cross into the sandbox.
            if size <= MAX_EXPORT_ARCHIVE_BYTES {
                file.take(MAX_EXPORT_ARCHIVE_BYTES)
                    .read_to_end(&mut bytes)
                    .map_err(|e| format!("cannot read the archive {path}: {e}"))?;
            }
            Ok::<_, String>((size, bytes))
        })
        .await
        .map_err(|e| format!("the archive read was lost: {e}"))??;
        Ok(Some(StepArchive {
            index: step.index,
            size_bytes,
            archive: bytes,
            sha256: record.sha256,
        }))
    }
}
