//! The client for one k6 process's REST API on its 127.0.0.1 port: live
//! metrics, status, and the one polite stop request.

use std::time::Duration;

/// How long a call to k6's API may take; k6 answers in milliseconds, and a
/// slow answer must not delay the once-a-second sampling or a stop.
pub const API_TIMEOUT: Duration = Duration::from_millis(800);

/// The REST API of one k6 process.
#[derive(Debug, Clone)]
pub struct K6Api {
    client: reqwest::Client,
    base: String,
}

impl K6Api {
    /// The API on `127.0.0.1:<port>`.
    pub fn new(port: u16) -> Self {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(API_TIMEOUT)
            .build()
            .unwrap_or_default();
        Self {
            client,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// `GET /v1/metrics` body (k6 serves it as text/plain JSON).
    pub async fn metrics(&self) -> reqwest::Result<String> {
        self.get("/v1/metrics").await
    }

    /// `GET /v1/status` body.
    pub async fn status(&self) -> reqwest::Result<String> {
        self.get("/v1/status").await
    }

    async fn get(&self, path: &str) -> reqwest::Result<String> {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await
    }

    /// `PATCH /v1/status {"stopped": true}`: k6 ends the test, writes its
    /// summary and export, and exits with 103.
    pub async fn stop(&self) -> reqwest::Result<()> {
        let body = serde_json::json!({"data": {"type": "status", "id": "default", "attributes": {"stopped": true}}});
        self.client
            .patch(format!("{}/v1/status", self.base))
            .json(&body)
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }
}
