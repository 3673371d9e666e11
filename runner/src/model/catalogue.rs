//! The scripts the runner offers (`GET /api/k6/scripts`).

use serde::{Deserialize, Serialize};

use super::vocabulary::ScriptKind;
use crate::contract;

/// A script of the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScriptInfo {
    /// The name configs use.
    pub name: String,
    /// How it runs.
    pub kind: ScriptKind,
    /// Size in bytes.
    pub size_bytes: u64,
    /// Whether an entry naming it alone (the global load) can run it:
    /// false for helper modules and scripts of their own scenarios.
    pub runnable: bool,
    /// What k6 said about it, for k6 scripts k6 was asked about.
    pub test: Option<TestInfo>,
}

/// What k6 said about a k6 script.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestInfo {
    /// It runs under the global load (it has a `default` function).
    pub global_load: bool,
    /// It runs with its own options (`load: script`).
    pub own_load: bool,
    /// k6's reason when it does not run one way or the other.
    pub reason: Option<String>,
    /// The scenarios it defines itself (`name`, `executor`).
    pub scenarios: Vec<(String, String)>,
    /// Most VUs of its own options.
    pub max_vus: Option<u32>,
    /// Longest its own options take, graceful stops included, seconds.
    pub total_duration_seconds: Option<u32>,
}

impl From<&contract::TestFacts> for TestInfo {
    fn from(facts: &contract::TestFacts) -> Self {
        let own = facts.own_load.as_ref().ok();
        Self {
            global_load: facts.global_load.is_ok(),
            own_load: own.is_some(),
            reason: facts
                .global_load
                .as_ref()
                .err()
                .or(facts.own_load.as_ref().err())
                .cloned(),
            scenarios: own
                .map(|own| {
                    own.scenarios
                        .iter()
                        .map(|s| (s.name.clone(), s.executor.clone()))
                        .collect()
                })
                .unwrap_or_default(),
            max_vus: own.map(|own| own.max_vus).filter(|vus| *vus > 0),
            total_duration_seconds: own.and_then(|own| own.total_duration_seconds),
        }
    }
}
