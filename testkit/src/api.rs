//! A JSON client for the runner's API (directly or through a host), and
//! readers of what it answers.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::world::RUN_TIMEOUT;

/// A JSON client for an API mounted at `base` (`http://127.0.0.1:<port>/api/k6`).
pub struct Api {
    /// The API's base URL.
    pub base: String,
    client: reqwest::Client,
    token: Option<String>,
}

impl Api {
    /// A client for `base`, sending `Authorization: Bearer <token>` if given.
    pub fn new(base: String, token: Option<&str>) -> Self {
        Self {
            base,
            client: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            token: token.map(str::to_owned),
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.client.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// `GET <base><path>` as (status, JSON or text).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        read(
            self.request(reqwest::Method::GET, path)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// `POST <base><path>`.
    pub async fn post(&self, path: &str) -> (u16, Value) {
        read(
            self.request(reqwest::Method::POST, path)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// `POST <base><path>` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        read(
            self.request(reqwest::Method::POST, path)
                .json(body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// `PUT <base><path>` with a JSON body.
    pub async fn put_json(&self, path: &str, body: &Value) -> (u16, Value) {
        read(
            self.request(reqwest::Method::PUT, path)
                .json(body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// `PUT <base><path>` with no body.
    pub async fn put(&self, path: &str) -> (u16, Value) {
        read(
            self.request(reqwest::Method::PUT, path)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// `DELETE <base><path>`.
    pub async fn delete(&self, path: &str) -> (u16, Value) {
        read(
            self.request(reqwest::Method::DELETE, path)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// Sets the config, asserting it was accepted.
    pub async fn configure(&self, config: &Value) {
        let (status, body) = self.put_json("/config", config).await;
        assert_eq!(status, 200, "config refused: {body}");
    }

    /// Starts a run, asserting it was accepted; returns its id.
    pub async fn start_run(&self) -> String {
        let (status, body) = self.post("/start").await;
        assert_eq!(status, 202, "start refused: {body}");
        body["runId"].as_str().unwrap().to_owned()
    }

    /// Polls the status until `done` holds (every 100 ms, at most `timeout`).
    pub async fn wait_status(
        &self,
        timeout: Duration,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        self.wait_for("/status", timeout, what, done).await
    }

    /// Polls `GET <base><path>` until its answer passes `done` (every
    /// 100 ms, at most `timeout`) and returns that answer.
    pub async fn wait_for(
        &self,
        path: &str,
        timeout: Duration,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let until = Instant::now() + timeout;
        loop {
            let (_, answer) = self.get(path).await;
            if done(&answer) {
                return answer;
            }
            assert!(
                Instant::now() < until,
                "timed out after {timeout:?} waiting for {what}; {path} answered: {answer}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until no run is in progress and returns the last run record.
    pub async fn wait_for_results(&self) -> Value {
        self.wait_status(RUN_TIMEOUT, "the run to end", |s| s["isRunning"] == false)
            .await;
        let (status, results) = self.get("/results").await;
        assert_eq!(status, 200, "{results}");
        results
    }
}

async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A step of a run record by script name.
pub fn step<'a>(results: &'a Value, script: &str) -> &'a Value {
    results["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["script"] == script)
        .unwrap_or_else(|| panic!("no step {script} in {results}"))
}

/// The next JSON text message on a WebSocket (at most 60 s away).
pub async fn next_ws_json<S>(socket: &mut S) -> Value
where
    S: futures_util::Stream<
            Item = Result<
                tokio_tungstenite::tungstenite::Message,
                tokio_tungstenite::tungstenite::Error,
            >,
        > + Unpin,
{
    use futures_util::StreamExt;
    loop {
        let message = tokio::time::timeout(Duration::from_secs(60), socket.next())
            .await
            .expect("no WebSocket message within 60 s")
            .expect("the WebSocket closed")
            .unwrap();
        if let Ok(text) = message.to_text()
            && !text.is_empty()
        {
            return serde_json::from_str(text).unwrap();
        }
    }
}
