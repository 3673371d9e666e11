//! The host's own world: a cluster manager with an EPS-driven simulation,
//! shared app state, its own routes and its own WebSocket. Nothing here
//! knows about k6 except the `k6` field of the state, which `main.rs`
//! keeps current from the embedded runner.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use k6_runner::auth::{Identity, Role};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use warp::Filter;
use warp::http::StatusCode;

/// Events per second the simulation generates unless told otherwise.
pub const DEFAULT_EPS: u64 = 100;
/// Most events per second the simulation accepts.
pub const MAX_EPS: u64 = 1_000_000;
/// How often the simulation adds events and publishes the state.
const TICK: Duration = Duration::from_millis(250);

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

    /// Runs the simulation loop: while running, add `eps` events per second.
    pub async fn simulate(self: Arc<Self>) {
        let mut tick = tokio::time::interval(TICK);
        loop {
            tick.tick().await;
            if self.state().simulation.running {
                self.update(|s| {
                    s.simulation.events_generated +=
                        s.simulation.eps * TICK.as_millis() as u64 / 1000
                });
            }
        }
    }
}

/// Body of `POST /api/simulation/start`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartSimulation {
    eps: Option<u64>,
}

/// The host's own API: `GET /api/cluster/state`,
/// `POST /api/simulation/start` (`{"eps": 500}`), `POST /api/simulation/stop`.
pub fn api_routes(app: Arc<App>) -> warp::filters::BoxedFilter<(warp::reply::Response,)> {
    use warp::Reply;
    let with_app = warp::any().map(move || app.clone());
    let state = warp::path!("api" / "cluster" / "state")
        .and(warp::get())
        .and(with_app.clone())
        .map(|app: Arc<App>| warp::reply::json(&app.state()).into_response());
    let start = warp::path!("api" / "simulation" / "start")
        .and(warp::post())
        .and(with_app.clone())
        .and(warp::body::content_length_limit(4096).and(warp::body::json()).or(warp::any().map(StartSimulation::default)).unify())
        .map(|app: Arc<App>, body: StartSimulation| {
            let eps = body.eps.unwrap_or(DEFAULT_EPS);
            if eps == 0 || eps > MAX_EPS {
                let error = serde_json::json!({"error": format!("eps must be between 1 and {MAX_EPS}, got {eps}")});
                return warp::reply::with_status(warp::reply::json(&error), StatusCode::UNPROCESSABLE_ENTITY).into_response();
            }
            app.update(|s| s.simulation = Simulation { running: true, eps, ..s.simulation.clone() });
            warp::reply::json(&app.state()).into_response()
        });
    let stop = warp::path!("api" / "simulation" / "stop")
        .and(warp::post())
        .and(with_app)
        .map(|app: Arc<App>| {
            app.update(|s| s.simulation.running = false);
            warp::reply::json(&app.state()).into_response()
        });
    state.or(start).unify().or(stop).unify().boxed()
}

/// The host's own WebSocket, `GET /ws`: the state, pushed on every change.
pub fn ws_route(app: Arc<App>) -> warp::filters::BoxedFilter<(warp::reply::Response,)> {
    use warp::Reply;
    warp::path!("ws")
        .and(warp::ws())
        .map(move |upgrade: warp::ws::Ws| {
            let app = app.clone();
            upgrade
                .on_upgrade(move |socket| push_state(socket, app))
                .into_response()
        })
        .boxed()
}

/// Sends the state now and after every change until the client leaves.
async fn push_state(socket: warp::ws::WebSocket, app: Arc<App>) {
    let (mut sink, mut incoming) = socket.split();
    let mut changes = app.changes.subscribe();
    let mut state = app.state();
    loop {
        let Ok(text) = serde_json::to_string(&state) else {
            return;
        };
        if sink.send(warp::ws::Message::text(text)).await.is_err() {
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

/// The host's own auth: with a token configured, every `/api` request must
/// carry `Authorization: Bearer <token>`. It yields who the caller is,
/// which is what the k6 routes need to know (their audit log names it).
pub fn authenticate(
    token: Option<String>,
) -> impl Filter<Extract = (Identity,), Error = warp::Rejection> + Clone {
    warp::header::optional::<String>("authorization").and_then(move |header: Option<String>| {
        let allowed = match (&token, header) {
            (None, _) => true,
            (Some(token), Some(header)) => header.strip_prefix("Bearer ") == Some(token.as_str()),
            (Some(_), None) => false,
        };
        async move {
            if allowed {
                Ok(Identity::new("cluster-admin", Role::Operator))
            } else {
                Err(warp::reject::custom(Unauthorized))
            }
        }
    })
}

/// A request without the host's token.
#[derive(Debug)]
pub struct Unauthorized;

impl warp::reject::Reject for Unauthorized {}

/// The host's rejection handler: 401 for a missing token, JSON 404 otherwise.
pub async fn recover(
    rejection: warp::Rejection,
) -> Result<warp::reply::Response, std::convert::Infallible> {
    use warp::Reply;
    let (status, message) = if rejection.find::<Unauthorized>().is_some() {
        (StatusCode::UNAUTHORIZED, "missing or wrong bearer token")
    } else {
        (StatusCode::NOT_FOUND, "no such route")
    };
    Ok(warp::reply::with_status(
        warp::reply::json(&serde_json::json!({"error": message})),
        status,
    )
    .into_response())
}
