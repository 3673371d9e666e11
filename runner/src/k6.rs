//! Finding the k6 binary and reading its version. The binary is chosen by
//! the operator (`--k6`) or found on `PATH`, never named through the API.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long `k6 version` may take before the binary is called unusable.
const VERSION_TIMEOUT: Duration = Duration::from_secs(10);

/// Why k6 cannot be used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum K6Error {
    /// No `k6` on `PATH` and none given.
    #[error(
        "k6 not found: no `k6` on PATH ({path}); install it (`make setup` does) or pass --k6 /path/to/k6"
    )]
    NotOnPath {
        /// The PATH searched.
        path: String,
    },
    /// The given binary is missing or not executable.
    #[error("k6 binary {path} is unusable: {reason}")]
    Unusable {
        /// The binary.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// The k6 binary the runner starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct K6Binary {
    /// Absolute, resolved path.
    pub path: PathBuf,
    /// `v1.1.0`, as `k6 version` prints it.
    pub version: String,
}

/// Finds k6 (`explicit` or `PATH`) and reads its version.
pub async fn discover(explicit: Option<&Path>) -> Result<K6Binary, K6Error> {
    let path = match explicit {
        Some(path) => path.to_path_buf(),
        None => find_on_path("k6").ok_or_else(|| K6Error::NotOnPath {
            path: std::env::var("PATH").unwrap_or_default(),
        })?,
    };
    let path = path.canonicalize().map_err(|e| K6Error::Unusable {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let version = read_version(&path).await?;
    Ok(K6Binary { path, version })
}

/// The first executable `name` on `PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs `k6 version` and returns its version word (`v1.1.0`).
async fn read_version(path: &Path) -> Result<String, K6Error> {
    let unusable = |reason: String| K6Error::Unusable {
        path: path.to_path_buf(),
        reason,
    };
    let output = tokio::time::timeout(
        VERSION_TIMEOUT,
        tokio::process::Command::new(path)
            .arg("version")
            .env("K6_NO_USAGE_REPORT", "true")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .map_err(|_| {
        unusable(format!(
            "`k6 version` did not answer within {VERSION_TIMEOUT:?}"
        ))
    })?
    .map_err(|e| unusable(e.to_string()))?;
    if !output.status.success() {
        return Err(unusable(format!(
            "`k6 version` exited with {}",
            output.status
        )));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    // `k6 v1.1.0 (commit/0e3fb953be, go1.24.4, linux/amd64)`
    text.split_whitespace()
        .find(|word| word.starts_with('v') && word[1..].starts_with(|c: char| c.is_ascii_digit()))
        .map(str::to_owned)
        .ok_or_else(|| unusable(format!("unexpected `k6 version` output: {}", text.trim())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A binary that does not exist gives an error naming it, not a panic.
    #[tokio::test]
    async fn missing_binary_is_reported_with_its_path() {
        let error = discover(Some(Path::new("/no/such/k6"))).await.unwrap_err();
        assert!(error.to_string().contains("/no/such/k6"), "{error}");
    }
}
