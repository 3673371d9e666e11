//! `k6_core::config::validate` on arbitrary bytes (read as UTF-8, lossily,
//! as the runner reads a request body), with the default policy and a small
//! catalogue.
//!
//! Besides not panicking, it checks what the contract promises: a refusal
//! names at least one broken rule, and an accepted config survives the round
//! trip through its canonical JSON (`to_json`, then `validate` again) unchanged.

#![no_main]

use std::sync::LazyLock;

use k6_core::config::{default_policy, to_json, validate};
use k6_core::scripts::catalogue;
use k6_core::types::{CatalogueEntry, Policy, ScriptFile};
use libfuzzer_sys::fuzz_target;

static POLICY: LazyLock<Policy> = LazyLock::new(default_policy);

/// The example scripts' names: enough for `enabledScripts` to be accepted,
/// refused as unknown, or refused for its suffix kind.
static CATALOGUE: LazyLock<Vec<CatalogueEntry>> = LazyLock::new(|| {
    let files = ["smoke.js", "api-browse.js", "legacy/overall-1.sh"].map(|name| ScriptFile {
        name: name.to_owned(),
        path: format!("/srv/k6/scripts/{name}"),
        root: "/srv/k6/scripts".to_owned(),
        inspection: None,
    });
    catalogue(files.to_vec(), &POLICY)
});

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    match validate(&raw, &POLICY, &CATALOGUE) {
        Ok(config) => {
            let json = to_json(&config);
            let again = validate(&json, &POLICY, &CATALOGUE)
                .unwrap_or_else(|errors| panic!("canonical JSON {json} refused: {errors:?}"));
            assert_eq!(
                again, config,
                "the round trip through {json} changed the config"
            );
            assert_eq!(to_json(&again), json, "canonical JSON is not stable");
        }
        Err(errors) => assert!(!errors.is_empty(), "refused without a reason"),
    }
});
