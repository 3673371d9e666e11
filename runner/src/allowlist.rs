//! Path allowlists: the operator's script directories and the programs a
//! step may start. Every path is canonicalised (symlinks resolved) before it
//! is compared, so a link cannot lead a script out of its directory.

use std::path::{Component, Path, PathBuf};

use crate::contract::ScriptFile;

/// Deepest folder nesting scanned below a script directory.
pub const MAX_SCAN_DEPTH: usize = 8;
/// Most files looked at per scan, so a huge tree cannot stall a request.
pub const MAX_SCANNED_FILES: usize = 10_000;

/// Why a path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathRefused {
    /// The path could not be resolved (missing, unreadable, dangling link).
    #[error("{path}: cannot be resolved: {reason}")]
    Unresolvable {
        /// The path asked for.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// After resolving links it lies outside every script directory.
    #[error("{path}: resolves to {resolved}, outside the script directories")]
    OutsideScriptDirs {
        /// The path asked for.
        path: String,
        /// Where it leads.
        resolved: String,
    },
    /// Not a regular file.
    #[error("{path}: not a regular file")]
    NotAFile {
        /// The path asked for.
        path: String,
    },
    /// Its suffix is not one the policy allows.
    #[error("{path}: suffix not allowed (allowed: {allowed})")]
    SuffixNotAllowed {
        /// The path asked for.
        path: String,
        /// The allowed suffixes.
        allowed: String,
    },
}

/// Why the script directories are unusable.
#[derive(Debug, thiserror::Error)]
#[error("script directory {path}: {reason}")]
pub struct ScriptDirError {
    /// The directory given.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

/// The operator's script directories, canonicalised once at startup.
#[derive(Debug, Clone)]
pub struct ScriptDirs {
    roots: Vec<PathBuf>,
}

impl ScriptDirs {
    /// Resolves each directory; each must exist and be a directory.
    pub fn new(dirs: &[PathBuf]) -> Result<Self, ScriptDirError> {
        let mut roots = Vec::with_capacity(dirs.len());
        for dir in dirs {
            let root = dir.canonicalize().map_err(|e| ScriptDirError {
                path: dir.clone(),
                reason: e.to_string(),
            })?;
            if !root.is_dir() {
                return Err(ScriptDirError {
                    path: dir.clone(),
                    reason: "not a directory".into(),
                });
            }
            if !roots.contains(&root) {
                roots.push(root);
            }
        }
        Ok(Self { roots })
    }

    /// Every regular file below the directories whose resolved path stays
    /// inside them, named relative to its directory. Files that escape
    /// through a link are left out (and logged); the core then decides which
    /// names and suffixes make the catalogue.
    pub fn scan(&self) -> Vec<ScriptFile> {
        let mut files = Vec::new();
        let mut seen = 0usize;
        for root in &self.roots {
            let walker = walkdir::WalkDir::new(root)
                .max_depth(MAX_SCAN_DEPTH)
                .follow_links(false)
                .sort_by_file_name();
            for entry in walker.into_iter().filter_map(Result::ok) {
                seen += 1;
                if seen > MAX_SCANNED_FILES {
                    tracing::warn!(
                        limit = MAX_SCANNED_FILES,
                        "script directories hold too many files; the catalogue is cut short"
                    );
                    return files;
                }
                if entry.file_type().is_dir() {
                    continue;
                }
                let Ok(relative) = entry.path().strip_prefix(root) else {
                    continue;
                };
                let Some(name) = slash_name(relative) else {
                    continue;
                };
                match self.resolve(entry.path()) {
                    Ok(path) => files.push(ScriptFile {
                        name,
                        path: path.to_string_lossy().into_owned(),
                        root: root.to_string_lossy().into_owned(),
                        inspection: None,
                    }),
                    Err(refused) => tracing::debug!(%refused, "left out of the script catalogue"),
                }
            }
        }
        files
    }

    /// Resolves `path` and checks it is a regular file inside a script
    /// directory; used at validation time (through the catalogue) and again
    /// right before a step is spawned.
    pub fn resolve(&self, path: &Path) -> Result<PathBuf, PathRefused> {
        let shown = path.display().to_string();
        let resolved = path.canonicalize().map_err(|e| PathRefused::Unresolvable {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        if !self.roots.iter().any(|root| resolved.starts_with(root)) {
            return Err(PathRefused::OutsideScriptDirs {
                path: shown,
                resolved: resolved.display().to_string(),
            });
        }
        if !resolved.is_file() {
            return Err(PathRefused::NotAFile { path: shown });
        }
        Ok(resolved)
    }

    /// [`Self::resolve`] plus a suffix check, for the script a step is about
    /// to run.
    pub fn check_script(
        &self,
        path: &Path,
        allowed_suffixes: &[String],
    ) -> Result<PathBuf, PathRefused> {
        let resolved = self.resolve(path)?;
        let name = resolved.to_string_lossy();
        if !allowed_suffixes
            .iter()
            .any(|suffix| name.ends_with(suffix.as_str()))
        {
            return Err(PathRefused::SuffixNotAllowed {
                path: path.display().to_string(),
                allowed: allowed_suffixes.join(", "),
            });
        }
        Ok(resolved)
    }
}

/// `a/b.js` from a relative path made of normal components only.
fn slash_name(relative: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for component in relative.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str()?),
            _ => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suffixes() -> Vec<String> {
        vec![".js".into(), ".sh".into()]
    }

    /// It accepts a script inside its directory, and a link that stays inside.
    #[test]
    fn accepts_files_inside_and_links_that_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/a.js"), "x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("sub/a.js"), dir.path().join("link.js"))
            .unwrap();
        let dirs = ScriptDirs::new(&[dir.path().to_path_buf()]).unwrap();
        let names: Vec<String> = dirs.scan().into_iter().map(|f| f.name).collect();
        assert_eq!(names, ["link.js", "sub/a.js"]);
        assert!(
            dirs.check_script(&dir.path().join("link.js"), &suffixes())
                .is_ok()
        );
    }

    /// It refuses a link that leads out of the script directories, `..`
    /// paths that climb out, directories, and other suffixes.
    #[test]
    fn refuses_escapes_directories_and_other_suffixes() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("evil.js"), "x").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path().join("evil.js"), dir.path().join("escape.js"))
            .unwrap();
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        std::fs::create_dir(dir.path().join("folder.js")).unwrap();
        let dirs = ScriptDirs::new(&[dir.path().to_path_buf()]).unwrap();

        assert!(dirs.scan().iter().all(|f| f.name != "escape.js"));
        assert!(matches!(
            dirs.check_script(&dir.path().join("escape.js"), &suffixes()),
            Err(PathRefused::OutsideScriptDirs { .. })
        ));
        let climbing = dir
            .path()
            .join("..")
            .join(outside.path().file_name().unwrap())
            .join("evil.js");
        assert!(matches!(
            dirs.check_script(&climbing, &suffixes()),
            Err(PathRefused::OutsideScriptDirs { .. })
        ));
        assert!(matches!(
            dirs.check_script(&dir.path().join("notes.txt"), &suffixes()),
            Err(PathRefused::SuffixNotAllowed { .. })
        ));
        assert!(matches!(
            dirs.check_script(&dir.path().join("folder.js"), &suffixes()),
            Err(PathRefused::NotAFile { .. })
        ));
        assert!(matches!(
            dirs.check_script(&dir.path().join("missing.js"), &suffixes()),
            Err(PathRefused::Unresolvable { .. })
        ));
    }

    /// A missing script directory is an error naming it.
    #[test]
    fn missing_directory_is_named() {
        let error = ScriptDirs::new(&[PathBuf::from("/no/such/dir")]).unwrap_err();
        assert!(error.to_string().contains("/no/such/dir"));
    }
}
