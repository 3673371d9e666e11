//! Config defaults, the default policy, validation and canonical JSON.
use crate::types::{CatalogueEntry, Config, FieldError, Policy};

/// The limits used when the host sets none (see `config.default-policy` in the WIT).
pub fn default_policy() -> Policy {
    todo!()
}

/// The config a fresh install starts with (see `config.default-config`).
pub fn default_config(catalogue: &[CatalogueEntry]) -> Config {
    let _ = catalogue;
    todo!()
}

/// Reads and checks a config; reports every problem at once.
pub fn validate(
    raw_json: &str,
    policy: &Policy,
    catalogue: &[CatalogueEntry],
) -> Result<Config, Vec<FieldError>> {
    let _ = (raw_json, policy, catalogue);
    todo!()
}

/// Canonical JSON text of a config; `validate` reads it back unchanged.
pub fn to_json(cfg: &Config) -> String {
    let _ = cfg;
    todo!()
}
