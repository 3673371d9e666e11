//! The current config: the typed value the runner plans with, and its
//! canonical JSON (text and parsed) that the API, the WebSocket and the
//! audit diffs share. It is parsed once, when it is stored.

use std::sync::{Arc, PoisonError, RwLock};

use crate::contract::Config;

/// One stored config, in each form it is used in.
#[derive(Debug)]
pub(crate) struct CurrentConfig {
    /// The typed config.
    pub(crate) config: Config,
    /// Its canonical JSON text.
    pub(crate) json: Arc<str>,
    /// The same, parsed.
    pub(crate) value: Arc<serde_json::Value>,
}

impl CurrentConfig {
    /// `config` with its canonical JSON `json`.
    pub(crate) fn new(config: Config, json: String) -> Self {
        let value = serde_json::from_str(&json).unwrap_or(serde_json::Value::Null);
        Self {
            config,
            json: json.into(),
            value: Arc::new(value),
        }
    }
}

/// Holds the current config; readers get it whole and never see half a
/// change.
pub(crate) struct ConfigStore {
    current: RwLock<Arc<CurrentConfig>>,
}

impl ConfigStore {
    /// A store holding `initial`.
    pub(crate) fn new(initial: CurrentConfig) -> Self {
        Self {
            current: RwLock::new(Arc::new(initial)),
        }
    }

    /// The current config.
    pub(crate) fn get(&self) -> Arc<CurrentConfig> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the current config.
    pub(crate) fn set(&self, config: CurrentConfig) -> Arc<CurrentConfig> {
        let config = Arc::new(config);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = config.clone();
        config
    }
}
