//! The runner's API in the test's own process: a real [`Service`] (real
//! core component, a fresh data directory, the example scripts, the real
//! k6) and its routes behind an operator's and a viewer's token, driven
//! through `warp::test`: no socket, no server process.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use k6_runner::api::{Auth, routes};
use k6_runner::auth::Tokens;
use k6_runner::{Service, ServiceConfig};
use serde_json::{Value, json};
use warp::filters::BoxedFilter;
use warp::reply::Response;

/// An operator's token.
pub const OPERATOR: &str = "operator-secret-0123456789abcdef-ok";
/// A viewer's token.
pub const VIEWER: &str = "viewer-secret-0123456789abcdef-ok";

/// Longest a run of [`one_step_config`] may take to end.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// The workspace's folder.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the test kit sits in the workspace")
        .to_path_buf()
}

/// A config of one short k6 step of the example scripts, so that a run
/// ends in seconds.
pub fn one_step_config() -> Value {
    json!({
        "globalUserCount": 1,
        "testDuration": "2s",
        "rampUpDuration": 0,
        "maxDuration": 30,
        "enabledScripts": ["smoke.js"],
        "intervalBetweenTests": 0
    })
}

/// A service over the example scripts and its routes.
pub struct InProcess {
    /// The service behind the routes.
    pub service: Arc<Service>,
    /// Every route, behind the two tokens.
    pub routes: BoxedFilter<(Response,)>,
    _dir: tempfile::TempDir,
}

impl InProcess {
    /// With the real k6 ([`crate::world::k6`]).
    pub async fn new() -> Self {
        Self::with_k6(crate::world::k6()).await
    }

    /// With `k6` as its k6 (a missing one, say).
    pub async fn with_k6(k6: PathBuf) -> Self {
        Self::start(tempfile::tempdir().unwrap(), k6).await
    }

    /// On the data directory in `dir` (`dir/data`, kept as it is), with
    /// `k6` as its k6.
    pub async fn start(dir: tempfile::TempDir, k6: PathBuf) -> Self {
        let mut config = ServiceConfig::new(
            dir.path().join("data"),
            vec![workspace_root().join("examples/scripts")],
        );
        config.k6 = Some(k6);
        config.plugin.cache_dir = None;
        let service = Service::start(config).await.unwrap();
        let tokens = Tokens::parse(
            &format!("olga:operator:{OPERATOR}\nvic:viewer:{VIEWER}"),
            "test tokens",
        )
        .unwrap();
        let routes = routes(service.clone(), Auth::Tokens(tokens));
        Self {
            service,
            routes,
            _dir: dir,
        }
    }

    /// The folder of the data directory, the service and its routes gone
    /// (call [`Service::shutdown`] first), for a restart on it.
    pub fn into_dir(self) -> tempfile::TempDir {
        self._dir
    }

    /// A request of `method path`, with `token` as its bearer token.
    pub fn request(method: &str, path: &str, token: Option<&str>) -> warp::test::RequestBuilder {
        let request = warp::test::request().method(method).path(path);
        match token {
            Some(secret) => request.header("authorization", format!("Bearer {secret}")),
            None => request,
        }
    }

    /// What the routes answer `request`.
    pub async fn send(&self, request: warp::test::RequestBuilder) -> Answer {
        let response = request.reply(&self.routes).await;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        Answer {
            status: response.status().as_u16(),
            content_type: header("content-type").unwrap_or_default(),
            challenge: header("www-authenticate"),
            body: String::from_utf8_lossy(response.body()).into_owned(),
        }
    }

    /// What the routes answer `method path` with `token`.
    pub async fn call(&self, method: &str, path: &str, token: Option<&str>) -> Answer {
        self.send(Self::request(method, path, token)).await
    }

    /// The request of `PUT /config` with `body` as JSON.
    pub fn put_config_request(body: &Value, token: &str) -> warp::test::RequestBuilder {
        Self::request("PUT", "/config", Some(token))
            .header("content-type", "application/json")
            .body(body.to_string())
    }

    /// `PUT /config` with `body` as an operator.
    pub async fn put_config(&self, body: &Value) -> Answer {
        self.send(Self::put_config_request(body, OPERATOR)).await
    }

    /// Polls `/status` until no run is active (every 100 ms, at most a
    /// minute) and returns the last status.
    pub async fn wait_idle(&self) -> Value {
        let deadline = Instant::now() + RUN_LIMIT;
        loop {
            let status = self.call("GET", "/status", Some(VIEWER)).await.json();
            if status["isRunning"] == false {
                return status;
            }
            assert!(Instant::now() < deadline, "still running: {status}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// One answer of the API.
pub struct Answer {
    /// Its status.
    pub status: u16,
    /// Its `Content-Type`, empty if none.
    pub content_type: String,
    /// Its `WWW-Authenticate`, if any.
    pub challenge: Option<String>,
    /// Its body (lossily decoded: a binary file's bytes are not checked).
    pub body: String,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.content_type, self.body)
    }
}

impl Answer {
    /// The body as JSON, which it must be.
    pub fn json(&self) -> Value {
        assert!(
            self.content_type.starts_with("application/json"),
            "{} is not JSON: {}",
            self.content_type,
            self.body
        );
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// The `error` of an error body, which every error status has.
    pub fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error message: {}", self.body))
            .to_owned()
    }
}
