//! The API under test, and each answer checked against the document.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use k6_runner::api::openapi;
use serde_json::{Value, json};
pub use testkit::in_process::{Answer, InProcess, OPERATOR, VIEWER, one_step_config};

/// A run id no run has.
pub const UNKNOWN: &str = "20260101T000000Z";

/// The document, parsed.
pub fn document() -> Value {
    serde_json::from_str(openapi::document()).expect("the document is JSON")
}

/// A validator of `schema`, a schema of the document: the document's
/// components ride along, so that its `#/components/schemas/…` refs
/// resolve as they do in the document. Stricter than the document: an
/// object may have no property its schema does not name, so that a field
/// sent but not described fails too.
pub fn validator(document: &Value, schema: &Value) -> jsonschema::Validator {
    let original = document["components"]["schemas"].clone();
    let mut components = document["components"].clone();
    closed(&mut components, &original);
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": components,
        "allOf": [schema],
    });
    jsonschema::draft202012::new(&root).unwrap_or_else(|e| panic!("{e}: {schema}"))
}

/// Every object schema in `value` that names its properties, closed to
/// others (where it does not say otherwise). An `allOf` (a flattened
/// struct) is closed as a whole, with `unevaluatedProperties`, which sees
/// the properties of every part: each part stays open, a part that is a
/// ref inlined from `schemas` (the unclosed components), since a closed
/// part would refuse its siblings' properties.
fn closed(value: &mut Value, schemas: &Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(parts)) = map.get_mut("allOf") {
                for part in parts.iter_mut() {
                    if let Some(name) = part["$ref"]
                        .as_str()
                        .and_then(|r| r.strip_prefix("#/components/schemas/"))
                    {
                        *part = schemas[name].clone();
                    }
                    if let Value::Object(part) = part {
                        part.values_mut().for_each(|v| closed(v, schemas));
                    }
                }
                map.entry("unevaluatedProperties")
                    .or_insert(Value::Bool(false));
            } else if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".to_owned(), Value::Bool(false));
            }
            for (key, inner) in map.iter_mut() {
                if key != "allOf" {
                    closed(inner, schemas);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| closed(v, schemas)),
        _ => {}
    }
}

/// Why `instance` is not valid under `validator`, one line per error.
pub fn errors_of(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect()
}

/// The routes of a service behind an operator's and a viewer's token,
/// and every operation called so far.
pub struct Checked {
    /// The document.
    pub document: Value,
    /// The API under test.
    pub api: InProcess,
    /// Every operation called so far, as `(method, path)` the way the
    /// document writes them.
    pub called: BTreeSet<(String, String)>,
}

impl Checked {
    /// The API over the example scripts, with the real k6.
    pub async fn new() -> Self {
        Self::over(InProcess::new().await)
    }

    /// The API over the example scripts, with `k6` as its k6.
    pub async fn with_k6(k6: PathBuf) -> Self {
        Self::over(InProcess::with_k6(k6).await)
    }

    fn over(api: InProcess) -> Self {
        Self {
            document: document(),
            api,
            called: BTreeSet::new(),
        }
    }

    /// A request of `method path` with `token`.
    pub fn request(method: &str, path: &str, token: Option<&str>) -> warp::test::RequestBuilder {
        InProcess::request(method, path, token)
    }

    /// `method path` (documented as `template`) with `token`.
    pub async fn call(
        &mut self,
        method: &str,
        template: &str,
        path: &str,
        token: Option<&str>,
    ) -> Answer {
        self.send(method, template, Self::request(method, path, token))
            .await
    }

    /// `request`, the operation `method template`, checked against the
    /// document.
    pub async fn send(
        &mut self,
        method: &str,
        template: &str,
        request: warp::test::RequestBuilder,
    ) -> Answer {
        let answer = self.api.send(request).await;
        self.check(method, template, &answer);
        self.called
            .insert((method.to_ascii_lowercase(), template.to_owned()));
        answer
    }

    fn check(&self, method: &str, template: &str, answer: &Answer) {
        let what = format!("{method} {template} → {}", answer.status);
        let operation = &self.document["paths"][template][method.to_ascii_lowercase()];
        assert!(operation.is_object(), "{what}: not in the document");
        let response = &operation["responses"][answer.status.to_string()];
        assert!(
            response.is_object(),
            "{what}: status not documented: {}",
            answer.body
        );
        let Some(content) = response["content"].as_object() else {
            assert!(answer.body.is_empty(), "{what}: a body, none documented");
            return;
        };
        let media = answer.content_type.split(';').next().unwrap_or("").trim();
        let documented = content
            .get(media)
            .unwrap_or_else(|| panic!("{what}: {media:?} is not one of {:?}", content.keys()));
        // A file's JSON is the step's own, not the API's: no schema.
        if documented.get("schema").is_none() || media != "application/json" {
            return;
        }
        let errors = errors_of(
            &validator(&self.document, &documented["schema"]),
            &answer.json(),
        );
        assert!(
            errors.is_empty(),
            "{what}: the body breaks its schema: {errors:#?}\n{}",
            answer.body
        );
    }

    /// `PUT /config` with `body` as JSON.
    pub async fn put_config(&mut self, body: &Value, token: &str) -> Answer {
        let request = InProcess::put_config_request(body, token);
        self.send("PUT", "/config", request).await
    }

    /// Polls `/status` until no run is active (bounded: 60 s).
    pub async fn wait_idle(&mut self) -> Value {
        self.called.insert(("get".to_owned(), "/status".to_owned()));
        self.api.wait_idle().await
    }

    /// A viewer's WebSocket.
    pub async fn socket(&self) -> warp::test::WsClient {
        warp::test::ws()
            .path(&format!("/ws?access_token={VIEWER}"))
            .handshake(self.api.routes.clone())
            .await
            .expect("a viewer's token opens the socket")
    }

    /// Every message `socket` has sent so far, each checked against the
    /// document's `x-websocket-messages`; the `type`s seen.
    pub async fn socket_messages(&self, socket: &mut warp::test::WsClient) -> BTreeSet<String> {
        let schema = &self.document["paths"]["/ws"]["get"]["x-websocket-messages"];
        let validator = validator(&self.document, schema);
        let mut seen = BTreeSet::new();
        // Bounded: a run of seconds sends far fewer.
        for _ in 0..10_000 {
            let Ok(message) = tokio::time::timeout(Duration::from_millis(500), socket.recv()).await
            else {
                return seen;
            };
            let message = message.expect("the socket stays open");
            let Ok(text) = message.to_str() else {
                continue;
            };
            let value: Value = serde_json::from_str(text).unwrap();
            let errors = errors_of(&validator, &value);
            assert!(errors.is_empty(), "{errors:#?}\n{value}");
            seen.insert(value["type"].as_str().unwrap_or_default().to_owned());
        }
        panic!("the socket does not stop sending");
    }

    /// Every operation of the document, as `(method, path)`.
    pub fn documented(&self) -> BTreeSet<(String, String)> {
        let paths = self.document["paths"].as_object().unwrap();
        paths
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .map(move |method| (method.clone(), path.clone()))
            })
            .collect()
    }
}
