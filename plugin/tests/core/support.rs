//! What several test modules build their cases from: fixture files, a
//! catalogue of scripts, plain suite entries.

use std::path::{Path, PathBuf};

use k6_core::types::{CatalogueEntry, ScriptKind, SuiteEntry};

/// The folder of real k6 1.1.0 outputs.
pub fn fixture_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/k6-1.1.0")
}

/// A fixture file's text.
pub fn fixture(path: &str) -> String {
    let full = fixture_root().join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|error| panic!("{}: {error}", full.display()))
}

/// A catalogue entry for `name` below `/srv/scripts`, its kind by suffix,
/// not inspected.
pub fn entry(name: &str) -> CatalogueEntry {
    CatalogueEntry {
        name: name.to_owned(),
        path: format!("/srv/scripts/{name}"),
        root: "/srv/scripts".to_owned(),
        kind: if name.ends_with(".sh") {
            ScriptKind::LegacyWrapper
        } else {
            ScriptKind::K6Script
        },
        test: None,
    }
}

/// [`entry`] for each name.
pub fn catalogue_of(names: &[&str]) -> Vec<CatalogueEntry> {
    names.iter().map(|name| entry(name)).collect()
}

/// An entry that names its script and sets nothing else.
pub fn plain(name: &str) -> SuiteEntry {
    SuiteEntry {
        script: name.to_owned(),
        users: None,
        test_duration_seconds: None,
        ramp_up_seconds: None,
        max_duration_seconds: None,
        iterations: None,
        load: None,
        env: Vec::new(),
        args: None,
    }
}

/// [`plain`] for each name.
pub fn plain_all(names: &[&str]) -> Vec<SuiteEntry> {
    names.iter().map(|name| plain(name)).collect()
}
