//! Script-name rules and the catalogue of runnable scripts.
use crate::types::{CatalogueEntry, Policy, ScriptFile, ScriptKind};

/// Which files may be offered as scripts (see `config.catalogue`).
pub fn catalogue(files: Vec<ScriptFile>, policy: &Policy) -> Vec<CatalogueEntry> {
    let _ = (files, policy);
    todo!()
}

/// How a script name would run, or `None` if its suffix is not allowed.
pub fn kind_of(name: &str, policy: &Policy) -> Option<ScriptKind> {
    let _ = (name, policy);
    todo!()
}
