//! The host's own world: a cluster manager with an EPS-driven simulation,
//! shared app state, its own routes, WebSocket and auth. Nothing here
//! knows about k6 except the `k6` field of the state, which `main.rs`
//! keeps current from the embedded runner.

use std::convert::Infallible;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use k6_runner::auth::{Identity, MIN_SECRET_BYTES, Role, Tokens};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::broadcast;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::hyper::body::Bytes;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

/// Events per second the simulation generates unless told otherwise.
pub const DEFAULT_EPS: u64 = 100;
/// Most events per second the simulation accepts.
pub const MAX_EPS: u64 = 1_000_000;
/// How often the simulation counts its events and publishes the state.
const TICK: Duration = Duration::from_millis(250);
/// Largest request body the host reads.
const MAX_BODY_BYTES: u64 = 4096;
/// The environment variable holding the host's token. Not a flag: a
/// command line is readable by every local user.
pub const TOKEN_ENV: &str = "HOST_EXAMPLE_TOKEN";

/// What the cluster manager shows on `/api/cluster/state` and `/ws`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterState {
    /// The EPS simulation.
    pub simulation: Simulation,
    /// The embedded k6 control plane's status.
    pub k6: k6_runner::model::Status,
}

/// The simulation: a generator of events at a configured rate.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Simulation {
    /// Generating events now.
    pub running: bool,
    /// Events per second.
    pub eps: u64,
    /// Events generated since the cluster manager started.
    pub events_generated: u64,
    /// While running: when the current rate took effect, and the count then.
    #[serde(skip)]
    since: Option<(Instant, u64)>,
}

impl Simulation {
    /// Starts generating `eps` events per second from `now` (or changes the
    /// rate of a running simulation).
    pub fn start(&mut self, eps: u64, now: Instant) {
        self.catch_up(now);
        self.running = true;
        self.eps = eps;
        self.since = Some((now, self.events_generated));
    }

    /// Stops generating, counting the events due until `now`.
    pub fn stop(&mut self, now: Instant) {
        self.catch_up(now);
        self.running = false;
        self.since = None;
    }

    /// Counts the events due by `now`. They are `eps` times the time since
    /// the rate took effect, not a per-tick increment, so no fraction of an
    /// event is lost per tick: 3 EPS make 3 events a second, not 0.
    pub fn catch_up(&mut self, now: Instant) {
        if let Some((since, count)) = self.since {
            let nanos = now.saturating_duration_since(since).as_nanos();
            let due = u128::from(self.eps) * nanos / 1_000_000_000;
            self.events_generated = count.saturating_add(u64::try_from(due).unwrap_or(u64::MAX));
        }
    }
}

/// The shared app state plus its change broadcast.
pub struct App {
    state: RwLock<ClusterState>,
    changes: broadcast::Sender<ClusterState>,
}

impl App {
    /// A cluster with the simulation stopped.
    pub fn new() -> Arc<Self> {
        let (changes, _) = broadcast::channel(256);
        Arc::new(Self {
            state: RwLock::new(ClusterState::default()),
            changes,
        })
    }

    /// A copy of the state.
    pub fn state(&self) -> ClusterState {
        self.state.read().expect("state lock").clone()
    }

    /// Changes the state and broadcasts the result.
    pub fn update(&self, change: impl FnOnce(&mut ClusterState)) {
        let state = {
            let mut state = self.state.write().expect("state lock");
            change(&mut state);
            state.clone()
        };
        let _ = self.changes.send(state);
    }

    /// Runs the simulation loop: while running, count the events due and
    /// publish the state every tick.
    pub async fn simulate(self: Arc<Self>) {
        let mut tick = tokio::time::interval(TICK);
        loop {
            tick.tick().await;
            if self.state().simulation.running {
                self.update(|s| s.simulation.catch_up(Instant::now()));
            }
        }
    }
}

/// The host's own routes, each behind `who` (the host's auth):
/// `GET /api/cluster/state`; `POST /api/simulation/start` with
/// `{"eps": 500}` (an empty body or `{}` means [`DEFAULT_EPS`]);
/// `POST /api/simulation/stop`; and `GET /ws`, a WebSocket pushing the
/// state on every change.
pub fn routes(app: Arc<App>, who: BoxedFilter<(Identity,)>) -> BoxedFilter<(Response,)> {
    let with_app = warp::any().map(move || app.clone());
    // The host's routes need to know that the caller may, not who it is.
    let allowed = who.map(|_: Identity| ()).untuple_one();
    let state = warp::path!("api" / "cluster" / "state")
        .and(warp::get())
        .and(allowed.clone())
        .and(with_app.clone())
        .map(|app: Arc<App>| warp::reply::json(&app.state()).into_response());
    let start = warp::path!("api" / "simulation" / "start")
        .and(warp::post())
        .and(allowed.clone())
        .and(k6_runner::api::same_origin())
        .and(warp::header::optional::<String>("content-type"))
        .and(small_body())
        .and(with_app.clone())
        .map(|content_type: Option<String>, body: Bytes, app: Arc<App>| {
            match requested_eps(content_type.as_deref(), &body) {
                Ok(eps) => {
                    app.update(|s| s.simulation.start(eps, Instant::now()));
                    warp::reply::json(&app.state()).into_response()
                }
                Err(refusal) => refusal.reply(),
            }
        });
    let stop = warp::path!("api" / "simulation" / "stop")
        .and(warp::post())
        .and(allowed.clone())
        .and(k6_runner::api::same_origin())
        .and(with_app.clone())
        .map(|app: Arc<App>| {
            app.update(|s| s.simulation.stop(Instant::now()));
            warp::reply::json(&app.state()).into_response()
        });
    let ws = warp::path!("ws")
        .and(warp::ws())
        .and(allowed)
        .and(k6_runner::api::same_origin())
        .and(with_app)
        .map(|upgrade: warp::ws::Ws, app: Arc<App>| {
            upgrade
                .on_upgrade(move |socket| push_state(socket, app))
                .into_response()
        });
    state
        .or(start)
        .unify()
        .or(stop)
        .unify()
        .or(ws)
        .unify()
        .boxed()
}

/// The rate a start request asks for, or why it is refused: 415 for a
/// body that is not JSON, 400 for malformed JSON or a field of the wrong
/// type, 422 for a rate out of range.
fn requested_eps(content_type: Option<&str>, body: &[u8]) -> Result<u64, Refusal> {
    if body.is_empty() {
        return Ok(DEFAULT_EPS);
    }
    let is_json = content_type
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "the body must be JSON sent with Content-Type: application/json (got {})",
                content_type.unwrap_or("no Content-Type")
            ),
        ));
    }
    let bad = |message: String| Refusal::new(StatusCode::BAD_REQUEST, message);
    let body: Value = serde_json::from_slice(body)
        .map_err(|e| bad(format!("the body is not valid JSON: {e}")))?;
    let Value::Object(fields) = body else {
        return Err(bad(
            r#"the body must be a JSON object like {"eps": 500}"#.to_owned()
        ));
    };
    if let Some(unknown) = fields.keys().find(|name| *name != "eps") {
        return Err(bad(format!(
            "unknown field {unknown:?}: the only field is eps"
        )));
    }
    let out_of_range = |got: &dyn std::fmt::Display| {
        Refusal::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("eps must be a whole number from 1 to {MAX_EPS}, got {got}"),
        )
    };
    match fields.get("eps") {
        None | Some(Value::Null) => Ok(DEFAULT_EPS),
        Some(Value::Number(n)) => n
            .as_u64()
            .filter(|eps| (1..=MAX_EPS).contains(eps))
            .ok_or_else(|| out_of_range(n)),
        Some(other) => {
            let kind = match other {
                Value::Bool(_) => "a boolean",
                Value::String(_) => "a string",
                Value::Array(_) => "an array",
                _ => "an object",
            };
            Err(bad(format!(
                "eps must be a number of events per second, got {kind}: {other}"
            )))
        }
    }
}

/// The request body, at most [`MAX_BODY_BYTES`]. A request without a body
/// (`curl -X POST` sends no `Content-Length`) reads as empty; a chunked one
/// is refused, as its size is not known up front.
fn small_body() -> impl Filter<Extract = (Bytes,), Error = Rejection> + Clone {
    warp::header::optional::<u64>("content-length")
        .and(warp::header::optional::<String>("transfer-encoding"))
        .and_then(|length: Option<u64>, chunked: Option<String>| async move {
            match (length, chunked) {
                (Some(length), _) if length > MAX_BODY_BYTES => {
                    Err(warp::reject::custom(Refusal::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("the body may be at most {MAX_BODY_BYTES} bytes"),
                    )))
                }
                (None, Some(_)) => Err(warp::reject::custom(Refusal::new(
                    StatusCode::LENGTH_REQUIRED,
                    "a Content-Length header is required",
                ))),
                _ => Ok(()),
            }
        })
        .untuple_one()
        .and(warp::body::bytes())
}

/// How long one send to a `/ws` client may take: one that does not read
/// is closed then, rather than holding its task and buffers for good.
const WS_WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Sends the state now and after every change until the client leaves. A
/// client that falls behind the broadcast skips to the current state (the
/// state is whole, so nothing is lost); the publisher never waits on it.
async fn push_state(socket: warp::ws::WebSocket, app: Arc<App>) {
    let (mut sink, mut incoming) = socket.split();
    let mut changes = app.changes.subscribe();
    let mut state = app.state();
    loop {
        let Ok(text) = serde_json::to_string(&state) else {
            return;
        };
        let sent = tokio::time::timeout(WS_WRITE_TIMEOUT, sink.send(warp::ws::Message::text(text)));
        if !matches!(sent.await, Ok(Ok(()))) {
            return;
        }
        state = tokio::select! {
            change = changes.recv() => match change {
                Ok(state) => state,
                Err(broadcast::error::RecvError::Lagged(_)) => app.state(),
                Err(broadcast::error::RecvError::Closed) => return,
            },
            message = incoming.next() => match message {
                Some(Ok(message)) if !message.is_close() => continue,
                _ => return,
            },
        };
    }
}

/// The host's token from [`TOKEN_ENV`], if set: one operator,
/// `cluster-admin`, in the runner's token list (which compares secrets in
/// constant time).
pub fn token_from_env() -> anyhow::Result<Option<Tokens>> {
    match std::env::var(TOKEN_ENV) {
        Ok(secret) => operator_token(&secret).map(Some),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(error) => anyhow::bail!("{TOKEN_ENV}: {error}"),
    }
}

/// `secret` as the token of the one operator, `cluster-admin`.
fn operator_token(secret: &str) -> anyhow::Result<Tokens> {
    let secret = secret.trim();
    // The runner's list separates entries with commas and line breaks.
    anyhow::ensure!(
        secret.len() >= MIN_SECRET_BYTES && !secret.contains([',', '\n', '\r']),
        "{TOKEN_ENV} must be at least {MIN_SECRET_BYTES} bytes, without commas or line breaks"
    );
    Ok(Tokens::parse(
        &format!("cluster-admin:operator:{secret}"),
        TOKEN_ENV,
    )?)
}

/// The host's own auth. With a token, every request must carry
/// `Authorization: Bearer <token>`; a WebSocket upgrade may instead carry
/// `?access_token=<token>`, as browsers cannot set its headers. That is the
/// runner's own check, reused ([`k6_runner::api::bearer_auth`]). Without a
/// token every caller is `anonymous`, an operator. It yields who the caller
/// is, which is what the k6 routes need to know (their audit log names it).
pub fn authenticate(token: Option<Tokens>) -> BoxedFilter<(Identity,)> {
    match token {
        Some(tokens) => k6_runner::api::bearer_auth(tokens),
        None => warp::any()
            .map(|| Identity::new("anonymous", Role::Operator))
            .boxed(),
    }
}

/// A request the host refuses: the status, and why as `{"error": "..."}`.
#[derive(Debug)]
pub struct Refusal {
    status: StatusCode,
    message: String,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    fn reply(&self) -> Response {
        let body = serde_json::json!({"error": self.message});
        warp::reply::with_status(warp::reply::json(&body), self.status).into_response()
    }
}

impl warp::reject::Reject for Refusal {}

/// The host's rejection handler: the host's (and the runner's guard's)
/// refusals as they are, 405 for a known path with the wrong method, 400
/// for a bad header (such as a plain GET on a WebSocket), JSON 404
/// otherwise.
pub async fn recover(rejection: Rejection) -> Result<Response, Infallible> {
    if let Some(refusal) = rejection.find::<Refusal>() {
        return Ok(refusal.reply());
    }
    // Refused by one of the runner's filters (its token check, the
    // cross-origin and loopback-name guards).
    if let Some(error) = rejection.find::<k6_runner::api::ApiError>() {
        return Ok(error.clone().into_response());
    }
    let refusal = if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        Refusal::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed on this path",
        )
    } else if let Some(e) = rejection.find::<warp::reject::MissingHeader>() {
        Refusal::new(StatusCode::BAD_REQUEST, e.to_string())
    } else if let Some(e) = rejection.find::<warp::reject::InvalidHeader>() {
        Refusal::new(StatusCode::BAD_REQUEST, e.to_string())
    } else {
        Refusal::new(StatusCode::NOT_FOUND, "no such route")
    };
    Ok(refusal.reply())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "a-long-enough-secret";

    fn host(token: Option<&str>) -> BoxedFilter<(Response,)> {
        let who = authenticate(token.map(|secret| operator_token(secret).unwrap()));
        routes(App::new(), who).recover(recover).unify().boxed()
    }

    async fn start(content_type: Option<&str>, body: &str) -> (StatusCode, Value) {
        let mut request = warp::test::request()
            .method("POST")
            .path("/api/simulation/start")
            .header("content-length", body.len().to_string())
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.reply(&host(None)).await;
        let json = serde_json::from_slice(response.body()).unwrap();
        (response.status(), json)
    }

    #[tokio::test]
    async fn start_takes_eps_or_the_default_and_says_what_is_wrong_with_bad_input() {
        let json = Some("application/json");
        let (status, state) = start(json, r#"{"eps": 500}"#).await;
        assert_eq!(
            (status, &state["simulation"]["eps"]),
            (StatusCode::OK, &500.into())
        );
        for (content_type, body) in [(None, ""), (json, "{}"), (json, r#"{"eps": null}"#)] {
            let (status, state) = start(content_type, body).await;
            assert_eq!(status, StatusCode::OK, "{body}: {state}");
            assert_eq!(state["simulation"]["eps"], DEFAULT_EPS, "{body}");
        }
        let cases = [
            (None, r#"{"eps": 5}"#, 415, "Content-Type"),
            (Some("text/plain"), r#"{"eps": 5}"#, 415, "Content-Type"),
            (json, r#"{"eps": "lots"}"#, 400, "eps must be a number"),
            (json, r#"{"eps": true}"#, 400, "eps must be a number"),
            (json, r#"{"eps": 5"#, 400, "not valid JSON"),
            (json, "[5]", 400, "JSON object"),
            (json, r#"{"rate": 5}"#, 400, "unknown field \"rate\""),
            (
                json,
                r#"{"eps": 0}"#,
                422,
                "eps must be a whole number from 1",
            ),
            (json, r#"{"eps": -5}"#, 422, "got -5"),
            (json, r#"{"eps": 2.5}"#, 422, "got 2.5"),
            (json, r#"{"eps": 1000001}"#, 422, "got 1000001"),
        ];
        for (content_type, body, want, says) in cases {
            let (status, error) = start(content_type, body).await;
            assert_eq!(status.as_u16(), want, "{body}: {error}");
            let message = error["error"].as_str().unwrap();
            assert!(message.contains(says), "{body}: {message}");
        }
        let (status, _) = start(
            json,
            &format!(r#"{{"eps": 5, "pad": "{}"}}"#, "x".repeat(5000)),
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn a_wrong_method_on_a_host_route_is_405_and_an_unknown_path_404() {
        for (method, path, want) in [
            ("GET", "/api/simulation/start", 405),
            ("POST", "/api/cluster/state", 405),
            ("GET", "/api/nowhere", 404),
        ] {
            let response = warp::test::request()
                .method(method)
                .path(path)
                .reply(&host(None))
                .await;
            assert_eq!(response.status().as_u16(), want, "{method} {path}");
        }
    }

    #[tokio::test]
    async fn the_token_comes_in_the_header_or_on_a_websocket_upgrade_in_the_query() {
        let who = authenticate(Some(operator_token(SECRET).unwrap()));
        let ask = |header: Option<String>, query: &str, upgrade: bool| {
            let mut request = warp::test::request().path(&format!("/api/k6/ws{query}"));
            if let Some(header) = header {
                request = request.header("authorization", header);
            }
            if upgrade {
                request = request.header("upgrade", "websocket");
            }
            request.filter(&who)
        };
        let admin = Identity::new("cluster-admin", Role::Operator);
        let with_query = format!("?access_token={SECRET}");
        assert_eq!(
            ask(Some(format!("Bearer {SECRET}")), "", false).await.ok(),
            Some(admin.clone())
        );
        assert_eq!(
            ask(Some(format!("bearer {SECRET}")), "", false).await.ok(),
            Some(admin.clone())
        );
        assert_eq!(ask(None, &with_query, true).await.ok(), Some(admin));
        assert!(
            ask(None, &with_query, false).await.is_err(),
            "the query only on an upgrade"
        );
        assert!(ask(None, "", true).await.is_err());
        assert!(
            ask(Some("Bearer a-wrong-secret-123".into()), "", false)
                .await
                .is_err()
        );
        assert!(
            ask(Some(SECRET.into()), "", false).await.is_err(),
            "no scheme"
        );

        let open = authenticate(None);
        let anonymous = warp::test::request().filter(&open).await.unwrap();
        assert_eq!(anonymous, Identity::new("anonymous", Role::Operator));
    }

    #[test]
    fn a_weak_or_ambiguous_token_is_refused() {
        assert!(operator_token("short").is_err());
        assert!(operator_token("").is_err());
        assert!(operator_token("a-long-secret,with-a-comma").is_err());
        let tokens = operator_token(&format!(" {SECRET}\n")).unwrap();
        assert_eq!(tokens.identify(SECRET).unwrap().name, "cluster-admin");
    }

    #[tokio::test]
    async fn another_sites_page_may_not_drive_the_host() {
        let host = host(None);
        for (origin, want) in [
            ("http://evil.example", StatusCode::FORBIDDEN),
            ("http://127.0.0.1:9090", StatusCode::OK),
        ] {
            let response = warp::test::request()
                .method("POST")
                .path("/api/simulation/stop")
                .header("host", "127.0.0.1:9090")
                .header("origin", origin)
                .reply(&host)
                .await;
            assert_eq!(response.status(), want, "{origin}");
        }
    }

    #[test]
    fn the_simulation_counts_exactly_eps_events_per_second() {
        let t0 = Instant::now();
        let at = |millis: u64| t0 + Duration::from_millis(millis);
        let mut sim = Simulation::default();
        sim.start(3, t0);
        // Counted every 250 ms, 3 EPS is 3 events a second, not 0.
        for tick in 1..=40 {
            sim.catch_up(at(tick * 250));
        }
        assert_eq!(sim.events_generated, 30);
        // A rate that is no multiple of 4 loses nothing either.
        sim.start(7, at(10_000));
        for tick in 41..=80 {
            sim.catch_up(at(tick * 250));
        }
        assert_eq!(sim.events_generated, 30 + 70);
        // Stopping counts up to the stop, then nothing more.
        sim.stop(at(20_500));
        sim.catch_up(at(30_000));
        assert_eq!((sim.running, sim.events_generated), (false, 30 + 73));
    }
}
