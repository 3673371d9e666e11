//! A small vuDataSim cluster manager with the k6 control plane dropped in.
//!
//! It is the tutorial for embedding `k6-runner` in a warp app: the host
//! keeps its own state, routes, WebSocket, logger and auth; the k6 routes
//! are mounted under `/api/k6` behind the same auth, and the k6 status is
//! merged into the host's state so its own WebSocket broadcasts it.
//!
//! Run it with the example scripts and their local target:
//!
//! ```sh
//! cargo run -p host-example -- --scripts-dir examples/scripts --demo-target 127.0.0.1:18080
//! ```
//!
//! Set `HOST_EXAMPLE_TOKEN` to require `Authorization: Bearer <token>` on
//! every route but the web page; without it the host listens on loopback
//! only.

mod cluster;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use k6_runner::Event;
use k6_runner::api::Auth;
use k6_runner::{Service, ServiceConfig};
use tokio::sync::broadcast::error::RecvError;
use warp::Filter;

/// A vuDataSim cluster manager embedding the k6 control plane.
#[derive(Debug, Parser)]
#[command(
    after_help = "Environment:\n  HOST_EXAMPLE_TOKEN  require `Authorization: Bearer <token>` \
    (at least 16 bytes; the WebSocket also takes ?access_token=<token>). \
    Without it, only a loopback --bind is allowed."
)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9090")]
    bind: SocketAddr,
    /// The k6 control plane's data directory.
    #[arg(long, default_value = "host-example-data")]
    data_dir: PathBuf,
    /// A directory of k6 scripts (repeatable).
    #[arg(long = "scripts-dir", required = true)]
    scripts_dirs: Vec<PathBuf>,
    /// The k6 binary (default: `k6` on PATH).
    #[arg(long)]
    k6: Option<PathBuf>,
    /// Also serve the example scripts' local HTTP target here.
    #[arg(long)]
    demo_target: Option<SocketAddr>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .init();
    let args = Args::parse();
    // Without a token, anyone who can reach the port could drive k6.
    let token = cluster::token_from_env()?;
    anyhow::ensure!(
        token.is_some() || k6_runner::auth::is_loopback(&args.bind),
        "refusing to listen on {} without a token: set {} or bind to 127.0.0.1",
        args.bind,
        cluster::TOKEN_ENV
    );
    if let Some(addr) = args.demo_target {
        k6_runner::demo_target::spawn(addr)
            .await
            .context("binding the demo target")?;
    }
    let app = cluster::App::new();
    tokio::spawn(app.clone().simulate());

    // 1. Build the k6 control plane from a config (policy and plugin left
    //    at their defaults; see `ServiceConfig`).
    let mut config = ServiceConfig::new(&args.data_dir, args.scripts_dirs);
    config.k6 = args.k6;
    let k6 = Service::start(config)
        .await
        .context("starting the k6 control plane")?;

    // 2. Keep the host's state in step: every k6 status change lands in the
    //    app state, which the host's own /ws broadcasts.
    //    Events are never waited for: one that falls behind is told so
    //    (`Lagged`), and reads the status afresh.
    let (mut events, bridge, source) = (k6.subscribe(), app.clone(), k6.clone());
    app.update(|s| s.k6 = k6.status());
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if let Event::Status(status) = event.event() {
                        bridge.update(|s| s.k6 = (**status).clone());
                    }
                }
                Err(RecvError::Lagged(_)) => bridge.update(|s| s.k6 = source.status()),
                Err(RecvError::Closed) => break,
            }
        }
    });

    // 3. Mount the k6 routes under /api/k6 next to the host's routes, and
    //    the k6 web page at / (it calls `api/k6` relative to itself). The
    //    host's own auth decides who the caller is (Auth::Host) and guards
    //    its own routes too; the host's tracing logger covers every route.
    //    Without a token, only requests addressed to a loopback name are
    //    served (a foreign page cannot reach the host through DNS rebinding).
    let guard = match &token {
        Some(_) => warp::any().boxed(),
        None => k6_runner::server::loopback_host_only().boxed(),
    };
    let who = cluster::authenticate(token);
    let k6_routes = warp::path!("api" / "k6" / ..)
        .and(k6_runner::api::routes(k6.clone(), Auth::Host(who.clone())));
    let routes = guard
        .and(
            k6_routes
                .or(cluster::routes(app.clone(), who))
                .or(k6_runner::ui::routes()),
        )
        .recover(cluster::recover)
        .with(warp::trace::request());

    // 4. On Ctrl-C or SIGTERM, stop any k6 run before the server exits.
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("binding {}", args.bind))?;
    println!(
        "cluster manager listening on http://{}/",
        listener.local_addr()?
    );
    let shutdown = async move {
        shutdown_signal().await;
        k6.shutdown().await;
    };
    warp::serve(routes)
        .incoming(listener)
        .graceful(shutdown)
        .run()
        .await;
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}
