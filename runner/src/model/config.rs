//! The schema of the config document (`GET`/`PUT /api/k6/config`, a run
//! record's `config`, the WebSocket's `config` event).
//!
//! The core writes and reads that JSON itself (`plugin/src/config`, the
//! WIT's `config` record): the runner has no Rust type of it to derive a
//! schema from, and the generated contract types take no derives. This is
//! the one hand-written schema of the API; the OpenAPI test validates real
//! configs against it, so a field the core adds without it here fails.

use std::borrow::Cow;

use serde_json::json;
use utoipa::openapi::{RefOr, schema::Schema};

/// The config document, for the OpenAPI schema only (the JSON itself is
/// the core's).
pub struct ConfigDocument;

impl utoipa::PartialSchema for ConfigDocument {
    fn schema() -> RefOr<Schema> {
        // Written as JSON Schema because that is what a reviewer compares
        // with the WIT; it is valid by construction, which a unit test checks.
        let seconds = |description: &str| json!({"type": "integer", "minimum": 0, "description": description});
        let duration = json!({
            "type": "string",
            "description": "A duration string: hours, minutes and seconds in that order (`6h`, `15m`, `1h30m`, `45s`).",
            "examples": ["30s", "1h30m"]
        });
        let entry = json!({
            "type": "object",
            "description": "An entry with its own settings; an absent field takes the global value.",
            "required": ["script"],
            "additionalProperties": false,
            "properties": {
                "script": {"type": "string", "description": "The script, relative to one of the script directories."},
                "users": {"type": "integer", "minimum": 1},
                "testDuration": duration,
                "rampUpDuration": seconds("Ramp-up, seconds."),
                "maxDuration": seconds("Wall-clock limit, seconds."),
                "iterations": {"type": "integer", "minimum": 1, "description": "Iterations shared by the users."},
                "load": {"type": "string", "enum": ["global", "script"], "description": "Whose load options apply."},
                "env": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "Variables for the script (not for secrets)."
                },
                "args": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "A legacy wrapper's arguments: literals and placeholders (`{duration}`, `{users}`, `{rampUp}`, `{maxDuration}`, `{iterations}`)."
                }
            }
        });
        let budget = |max: u32, description: &str| json!({"type": "number", "minimum": 0, "maximum": max, "description": description});
        let document = json!({
            "type": "object",
            "description": "A suite: the global load and the scripts it runs, in order. The core checks every rule (limits of the runner's policy included) and answers 422 with each broken one.",
            "required": ["globalUserCount", "testDuration", "rampUpDuration", "maxDuration", "enabledScripts", "intervalBetweenTests"],
            "additionalProperties": false,
            "properties": {
                "globalUserCount": {"type": "integer", "minimum": 1, "description": "Virtual users of every entry that sets none."},
                "testDuration": duration,
                "rampUpDuration": seconds("Seconds over which the users grow from 0; shorter than the test."),
                "maxDuration": seconds("Hard wall-clock limit of one script, seconds."),
                "enabledScripts": {
                    "type": "array",
                    "description": "The suite, in order; a script may appear more than once.",
                    "items": {"oneOf": [{"type": "string", "description": "A script with the global settings."}, entry]}
                },
                "intervalBetweenTests": seconds("Pause between two scripts, seconds."),
                "regressionBudgets": {
                    "type": "object",
                    "description": "How much worse than its baseline a run may be; an absent field keeps its default.",
                    "additionalProperties": false,
                    "properties": {
                        "latencyP95Percent": budget(1000, "Largest rise of p95 latency, percent (default 10)."),
                        "errorRatePoints": budget(100, "Largest rise of the error rate, percentage points (default 0.5)."),
                        "requestRatePercent": budget(100, "Largest fall of requests per second, percent (default 10).")
                    }
                }
            }
        });
        serde_json::from_value::<Schema>(document)
            .map(RefOr::T)
            .unwrap_or_else(|_| RefOr::T(Schema::default()))
    }
}

impl utoipa::ToSchema for ConfigDocument {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Config")
    }
}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    use super::*;

    #[test]
    fn the_schema_reads_as_written() {
        let schema = serde_json::to_value(ConfigDocument::schema()).unwrap();
        assert_eq!(schema["required"][0], "globalUserCount", "{schema}");
        assert_eq!(
            schema["properties"]["enabledScripts"]["items"]["oneOf"][1]["required"][0], "script",
            "{schema}"
        );
    }
}
