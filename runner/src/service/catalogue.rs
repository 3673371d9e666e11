//! The catalogue: the files of the script directories, and for each k6
//! script what k6 itself says about it (is it a test, does it run under
//! the global load, what does its own load look like), which the core
//! turns into the catalogue entries. k6 is asked once per script content:
//! the answers are kept by the file's sha256 and the k6 version, in memory
//! and in `<data-dir>/cache/inspect/`.
//!
//! Each question runs the script's init code, as `k6 run` would, with the
//! same environment allowlist as a step, in a scratch folder, bounded in
//! time; nothing is written to the script directories.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::allowlist::ScriptDirs;
use crate::contract::{CatalogueEntry, K6Inspection, K6Probe, Policy, ScriptKind};
use crate::k6::K6Binary;
use crate::sandbox::{SandboxError, SharedCore};
use crate::supervisor::process;

/// How long one k6 question may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);
/// k6 questions asked at once (each is a short k6 process).
const PROBES_AT_ONCE: usize = 2;
/// Largest script read for its digest; a larger one is not inspected.
const MAX_INSPECTED_BYTES: u64 = 16 << 20;
/// Most bytes of a probe's document kept (the WIT's limit).
const MAX_DOCUMENT_BYTES: usize = 1 << 20;
/// Most bytes of a probe's error line kept (the WIT's limit).
const MAX_ERROR_BYTES: usize = 4 << 10;
/// Bump when the questions change, so old answers are not reused.
const INSPECTION_FORMAT: u32 = 1;

/// The catalogue's source: the script directories and what k6 said.
pub(crate) struct Catalogue {
    dirs: ScriptDirs,
    policy: Policy,
    cache_dir: PathBuf,
    base_env: Vec<(String, String)>,
    answers: Mutex<HashMap<String, Arc<K6Inspection>>>,
}

impl Catalogue {
    /// A catalogue of `dirs`, keeping k6's answers below `cache_dir`.
    /// `base_env` is what a step's process gets (the allowlist).
    pub(crate) fn new(
        dirs: ScriptDirs,
        policy: Policy,
        cache_dir: PathBuf,
        base_env: Vec<(String, String)>,
    ) -> Self {
        Self {
            dirs,
            policy,
            cache_dir,
            base_env,
            answers: Mutex::new(HashMap::new()),
        }
    }

    /// The catalogue as the core decides it, with k6's answers about each
    /// k6 script when `k6` is usable.
    pub(crate) async fn entries(
        &self,
        core: &SharedCore,
        k6: Option<&K6Binary>,
    ) -> Result<Vec<CatalogueEntry>, SandboxError> {
        let dirs = self.dirs.clone();
        let mut files = tokio::task::spawn_blocking(move || dirs.scan())
            .await
            .unwrap_or_default();
        if let Some(k6) = k6 {
            let policy = self.policy.clone();
            let plain = files.clone();
            let kinds = core
                .call("config.catalogue", move |c| c.catalogue(&plain, &policy))
                .await?;
            let k6_scripts: Vec<&str> = kinds
                .iter()
                .filter(|entry| entry.kind == ScriptKind::K6Script)
                .map(|entry| entry.path.as_str())
                .collect();
            let wanted: Vec<usize> = files
                .iter()
                .enumerate()
                .filter(|(_, file)| k6_scripts.contains(&file.path.as_str()))
                .map(|(index, _)| index)
                .collect();
            let answers: Vec<(usize, Option<Arc<K6Inspection>>)> =
                futures_util::stream::iter(wanted)
                    .map(|index| {
                        let path = PathBuf::from(&files[index].path);
                        async move { (index, self.inspection(k6, &path).await) }
                    })
                    .buffer_unordered(PROBES_AT_ONCE)
                    .collect()
                    .await;
            for (index, answer) in answers {
                files[index].inspection = answer.map(|a| (*a).clone());
            }
        }
        let policy = self.policy.clone();
        core.call("config.catalogue", move |c| c.catalogue(&files, &policy))
            .await
    }

    /// What k6 says about the script at `path`, from memory, the disk
    /// cache, or k6 itself.
    async fn inspection(&self, k6: &K6Binary, path: &Path) -> Option<Arc<K6Inspection>> {
        let digest = digest_of(path).await?;
        let key = format!("{digest}-{}-{INSPECTION_FORMAT}", k6.version);
        if let Some(known) = self
            .answers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Some(known.clone());
        }
        let cached = self.cache_dir.join(format!("{key}.json"));
        let answer = match read_cached(&cached).await {
            Some(answer) => answer,
            None => {
                let answer = self.ask(k6, path).await?;
                write_cached(&cached, &answer).await;
                answer
            }
        };
        let answer = Arc::new(answer);
        self.answers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, answer.clone());
        Some(answer)
    }

    /// Asks k6 the three questions about `path`.
    async fn ask(&self, k6: &K6Binary, path: &Path) -> Option<K6Inspection> {
        let scratch = tempfile::tempdir().ok()?;
        let archive_path = scratch.path().join("probe.tar");
        let file = path.as_os_str();
        let archive = self
            .probe(
                k6,
                scratch.path(),
                &[
                    "archive".as_ref(),
                    "-O".as_ref(),
                    archive_path.as_os_str(),
                    file,
                ],
                &[],
            )
            .await;
        let archive = K6Probe {
            document: if archive.exit_code == Some(0) {
                metadata_of(&archive_path).await.unwrap_or_default()
            } else {
                String::new()
            },
            ..archive
        };
        let inspect = [
            "inspect".as_ref(),
            "--execution-requirements".as_ref(),
            file,
        ];
        let requirements = self.probe(k6, scratch.path(), &inspect, &[]).await;
        let under_global_load = self
            .probe(
                k6,
                scratch.path(),
                &inspect,
                &[("K6_VUS", "1"), ("K6_DURATION", "1s")],
            )
            .await;
        Some(K6Inspection {
            archive,
            requirements,
            under_global_load: K6Probe {
                document: String::new(),
                ..under_global_load
            },
        })
    }

    /// One bounded k6 call in `cwd`.
    async fn probe(
        &self,
        k6: &K6Binary,
        cwd: &Path,
        args: &[&std::ffi::OsStr],
        extra_env: &[(&str, &str)],
    ) -> K6Probe {
        let mut command = tokio::process::Command::new(&k6.path);
        command
            .args(args)
            .env_clear()
            .envs(self.base_env.iter().map(|(k, v)| (k, v)))
            .envs(extra_env.iter().copied())
            .current_dir(cwd)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let output = tokio::time::timeout(PROBE_TIMEOUT, command.output()).await;
        match output {
            Ok(Ok(output)) => {
                let stderr = String::from_utf8_lossy(&output.stderr);
                let error = stderr
                    .lines()
                    .rev()
                    .find(|line| {
                        line.contains("level=error") || line.contains("\"level\":\"error\"")
                    })
                    .unwrap_or_default();
                K6Probe {
                    exit_code: output.status.code(),
                    document: cut(&String::from_utf8_lossy(&output.stdout), MAX_DOCUMENT_BYTES),
                    error: cut(error, MAX_ERROR_BYTES),
                }
            }
            Ok(Err(error)) => K6Probe {
                exit_code: None,
                document: String::new(),
                error: format!("cannot start k6: {error}"),
            },
            Err(_) => K6Probe {
                exit_code: None,
                document: String::new(),
                error: format!("k6 did not answer within {PROBE_TIMEOUT:?}"),
            },
        }
    }
}

/// The base environment of a step, for the catalogue's k6 calls.
pub(crate) fn probe_env(k6_dir: Option<&Path>, pass_env: &[String]) -> Vec<(String, String)> {
    process::step_env(
        k6_dir,
        pass_env,
        &[("K6_NO_USAGE_REPORT".to_owned(), "true".to_owned())],
        "catalogue",
    )
}

/// sha256 of a file's content, if it can be read and is not too large.
async fn digest_of(path: &Path) -> Option<String> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let meta = std::fs::metadata(&path).ok()?;
        if meta.len() > MAX_INSPECTED_BYTES {
            return None;
        }
        let bytes = std::fs::read(&path).ok()?;
        Some(hex::encode(Sha256::digest(&bytes)))
    })
    .await
    .ok()
    .flatten()
}

/// The `metadata.json` of a k6 archive.
async fn metadata_of(archive: &Path) -> Option<String> {
    let archive = archive.to_path_buf();
    tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let file = std::fs::File::open(&archive).ok()?;
        let mut tar = tar::Archive::new(file);
        for entry in tar.entries().ok()? {
            let mut entry = entry.ok()?;
            if entry.path().ok()?.as_os_str() == "metadata.json" {
                let mut text = String::new();
                entry
                    .by_ref()
                    .take(MAX_DOCUMENT_BYTES as u64)
                    .read_to_string(&mut text)
                    .ok()?;
                return Some(text);
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
}

/// `text` cut to at most `max` bytes at a character boundary.
fn cut(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// An inspection as kept on disk.
#[derive(Serialize, Deserialize)]
struct CachedInspection {
    archive: CachedProbe,
    requirements: CachedProbe,
    under_global_load: CachedProbe,
}

#[derive(Serialize, Deserialize)]
struct CachedProbe {
    exit_code: Option<i32>,
    document: String,
    error: String,
}

impl From<&K6Probe> for CachedProbe {
    fn from(probe: &K6Probe) -> Self {
        Self {
            exit_code: probe.exit_code,
            document: probe.document.clone(),
            error: probe.error.clone(),
        }
    }
}

impl From<CachedProbe> for K6Probe {
    fn from(probe: CachedProbe) -> Self {
        Self {
            exit_code: probe.exit_code,
            document: probe.document,
            error: probe.error,
        }
    }
}

async fn read_cached(path: &Path) -> Option<K6Inspection> {
    let bytes = tokio::fs::read(path).await.ok()?;
    let cached: CachedInspection = serde_json::from_slice(&bytes).ok()?;
    Some(K6Inspection {
        archive: cached.archive.into(),
        requirements: cached.requirements.into(),
        under_global_load: cached.under_global_load.into(),
    })
}

async fn write_cached(path: &Path, answer: &K6Inspection) {
    let cached = CachedInspection {
        archive: (&answer.archive).into(),
        requirements: (&answer.requirements).into(),
        under_global_load: (&answer.under_global_load).into(),
    };
    let Ok(json) = serde_json::to_vec(&cached) else {
        return;
    };
    let path = path.to_path_buf();
    let written = tokio::task::spawn_blocking(move || {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        crate::persistence::write_atomically(&path, &json)
            .map_err(|e| std::io::Error::other(e.to_string()))
    })
    .await;
    // A missing cache only costs the next start the same questions.
    if let Ok(Err(error)) = written {
        tracing::debug!(%error, "cannot keep a k6 inspection");
    }
}
