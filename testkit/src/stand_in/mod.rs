//! A local stand-in for the public services the corpus scripts call.
//!
//! [`StandIn::start`] binds two listeners on `127.0.0.1:0`, one meant for
//! plain HTTP and one for HTTPS. **Both sniff the first byte** of every
//! connection: `0x16` (a TLS handshake record) starts TLS, anything else is
//! plain HTTP. This matters because k6's `hosts` option maps a *host* to one
//! `ip:port` and that port replaces the URL's port for both schemes, while the
//! corpus calls some hosts (`httpbin.org`, `test.k6.io`) over `http://` and
//! over `https://`. With sniffing, one port serves both.
//!
//! TLS uses a self-signed certificate generated at start (rcgen) whose SANs
//! are the stand-in hosts plus `localhost`/`127.0.0.1`, with the rustls `ring`
//! provider. ALPN offers `h2` and `http/1.1`; hyper-util's auto builder then
//! speaks HTTP/2 or HTTP/1.1 (with upgrades, for the QuickPizza WebSocket).
//!
//! Requests are routed by the `Host` header (the `:authority` in HTTP/2), port
//! stripped:
//!
//! | host | service |
//! |---|---|
//! | `quickpizza.grafana.com` | the QuickPizza "legacy" pages under `/test.k6.io/`, QuickPizza API elsewhere |
//! | `httpbin.org`, `httpbin.test.k6.io` | the httpbin endpoints the corpus uses |
//! | `test.k6.io`, `test.staging.k6.io`, `test-k6-io-temp.k6.io` | the old test.k6.io PHP site |
//! | `test-api.k6.io` | the test-api.k6.io crocodile API |
//! | `127.0.0.1`, `localhost` (what [`StandIn::base_url`] gives) | test-api paths (`/user/`, `/auth/`, `/my/`, `/public/`), QuickPizza for every other path |
//!
//! Dropping the [`StandIn`] stops the listeners and every open connection.

mod http;
mod httpbin;
mod php_site;
mod quickpizza;
mod rng;
mod test_api;
mod tls;
mod ws;

use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use self::http::{Body, Req};

/// Which scheme(s) the corpus uses for a host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// Only `http://`.
    Http,
    /// Only `https://`.
    Https,
    /// Both `http://` and `https://`.
    Both,
}

/// The hosts the stand-in answers for, with the scheme(s) the corpus uses
/// them with. [`StandIn::k6_config`] maps `Http` hosts to the HTTP port and the
/// others to the HTTPS port (both ports serve both schemes, see the module
/// docs).
pub const HOSTS: &[(&str, Scheme)] = &[
    ("quickpizza.grafana.com", Scheme::Https),
    ("httpbin.org", Scheme::Both),
    ("httpbin.test.k6.io", Scheme::Https),
    ("test.k6.io", Scheme::Both),
    ("test.staging.k6.io", Scheme::Http),
    ("test-k6-io-temp.k6.io", Scheme::Https),
    ("test-api.k6.io", Scheme::Https),
];

/// A running stand-in. Dropping it stops everything.
pub struct StandIn {
    http_port: u16,
    https_port: u16,
    cert_pem: String,
    shutdown: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl StandIn {
    /// Starts the stand-in on two fresh ports of 127.0.0.1.
    ///
    /// # Panics
    ///
    /// If the ports cannot be bound or the certificate cannot be made; the
    /// stand-in is test infrastructure and has no useful way to go on then.
    pub fn start() -> StandIn {
        Self::try_start().expect("start the k6 stand-in")
    }

    /// Like [`StandIn::start`], with the error returned.
    pub fn try_start() -> io::Result<StandIn> {
        let http = StdListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let https = StdListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        http.set_nonblocking(true)?;
        https.set_nonblocking(true)?;
        let http_port = http.local_addr()?.port();
        let https_port = https.local_addr()?.port();

        let names: Vec<String> = HOSTS
            .iter()
            .map(|(h, _)| (*h).to_owned())
            .chain(["localhost".to_owned(), "127.0.0.1".to_owned()])
            .collect();
        let (server_config, cert_pem) = tls::server_config(names)?;
        let acceptor = TlsAcceptor::from(Arc::new(server_config));

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("k6-stand-in")
            .enable_all()
            .build()?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let state = Arc::new(State::new());

        let thread = std::thread::Builder::new()
            .name("k6-stand-in".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    let http = TcpListener::from_std(http).expect("register listener");
                    let https = TcpListener::from_std(https).expect("register listener");
                    let a = tokio::spawn(accept_loop(
                        http,
                        acceptor.clone(),
                        state.clone(),
                        shutdown_rx.clone(),
                    ));
                    let b = tokio::spawn(accept_loop(https, acceptor, state, shutdown_rx));
                    let _ = a.await;
                    let _ = b.await;
                });
                // Open connections are tasks of this runtime: shutting it down
                // drops them.
                runtime.shutdown_timeout(Duration::from_secs(1));
            })?;

        Ok(StandIn {
            http_port,
            https_port,
            cert_pem,
            shutdown,
            thread: Some(thread),
        })
    }

    /// The port meant for plain HTTP (it also accepts TLS).
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// The port meant for HTTPS (it also accepts plain HTTP).
    pub fn https_port(&self) -> u16 {
        self.https_port
    }

    /// `http://127.0.0.1:<http port>`: the value for scripts that read
    /// `__ENV.BASE_URL` (the QuickPizza and test-api `k6_tests` scripts). The
    /// address routes test-api paths to test-api and everything else to
    /// QuickPizza.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// The PEM of the self-signed certificate (for clients that verify).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Every stand-in host with the `127.0.0.1:<port>` k6 should reach it at.
    pub fn host_map(&self) -> Vec<(&'static str, SocketAddr)> {
        HOSTS
            .iter()
            .map(|&(host, scheme)| {
                let port = match scheme {
                    Scheme::Http => self.http_port,
                    Scheme::Https | Scheme::Both => self.https_port,
                };
                (host, SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            })
            .collect()
    }

    /// The k6 configuration (`--config` / `K6_CONFIG` JSON) that sends every
    /// stand-in host here and turns off certificate verification:
    /// `{"hosts": {host: "127.0.0.1:<port>", …}, "insecureSkipTLSVerify": true}`.
    ///
    /// A script that sets `options.hosts` itself replaces this map entirely
    /// (k6 does not merge them); no corpus script does.
    pub fn k6_config(&self) -> serde_json::Value {
        let hosts: serde_json::Map<String, serde_json::Value> = self
            .host_map()
            .into_iter()
            .map(|(h, a)| (h.to_owned(), a.to_string().into()))
            .collect();
        serde_json::json!({ "hosts": hosts, "insecureSkipTLSVerify": true })
    }

    /// Writes [`StandIn::k6_config`] to `dir/k6-stand-in.json` and returns the
    /// path.
    ///
    /// # Panics
    ///
    /// If the file cannot be written.
    pub fn k6_config_file(&self, dir: &Path) -> PathBuf {
        let path = dir.join("k6-stand-in.json");
        let text = serde_json::to_string_pretty(&self.k6_config()).expect("serialise config");
        std::fs::write(&path, text + "\n")
            .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Shared state of all services.
pub(crate) struct State {
    pub(crate) test_api: test_api::Db,
    pub(crate) ws: tokio::sync::broadcast::Sender<String>,
    pub(crate) pages: php_site::Pages,
}

impl State {
    fn new() -> Self {
        State {
            test_api: test_api::Db::new(),
            ws: tokio::sync::broadcast::channel(4096).0,
            pages: php_site::Pages::new(),
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    tls: TlsAcceptor,
    state: Arc<State>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // EMFILE and the like: back off a little.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(connection(stream, tls.clone(), state.clone()));
            }
            _ = shutdown.changed() => break,
        }
    }
}

/// Sniffs the first byte: TLS handshake record or plain HTTP.
async fn connection(stream: TcpStream, tls: TlsAcceptor, state: Arc<State>) {
    let mut first = [0u8; 1];
    let peeked = tokio::time::timeout(Duration::from_secs(30), stream.peek(&mut first)).await;
    if !matches!(peeked, Ok(Ok(1))) {
        return;
    }
    if first[0] == 0x16 {
        let Ok(Ok(stream)) =
            tokio::time::timeout(Duration::from_secs(10), tls.accept(stream)).await
        else {
            return;
        };
        serve(stream, true, state).await;
    } else {
        serve(stream, false, state).await;
    }
}

async fn serve<S>(stream: S, tls: bool, state: Arc<State>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req: Request<Incoming>| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(dispatch(req, tls, state).await) }
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    let _ = builder
        .serve_connection_with_upgrades(TokioIo::new(stream), service)
        .await;
}

/// The services, by host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Site {
    /// 127.0.0.1 / localhost: test-api paths, else QuickPizza.
    Local,
    /// quickpizza.grafana.com: legacy pages under /test.k6.io/, else QuickPizza.
    QuickPizzaGrafana,
    HttpBin,
    TestK6Io,
    TestApi,
    Unknown,
}

impl Site {
    fn for_host(host: &str) -> Site {
        match host {
            "127.0.0.1" | "localhost" | "[::1]" | "" => Site::Local,
            "quickpizza.grafana.com" => Site::QuickPizzaGrafana,
            "httpbin.org" | "httpbin.test.k6.io" => Site::HttpBin,
            "test.k6.io" | "test.staging.k6.io" | "test-k6-io-temp.k6.io" => Site::TestK6Io,
            "test-api.k6.io" => Site::TestApi,
            _ => Site::Unknown,
        }
    }
}

fn host_of<B>(req: &Request<B>) -> String {
    let raw = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| {
            req.headers()
                .get(hyper::header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let raw = raw.rsplit('@').next().unwrap_or_default();
    let host = if raw.starts_with('[') {
        raw.split_inclusive(']').next().unwrap_or(raw)
    } else {
        raw.split(':').next().unwrap_or(raw)
    };
    host.to_ascii_lowercase()
}

fn is_test_api_path(path: &str) -> bool {
    ["/user/", "/auth/", "/my/", "/public/"]
        .iter()
        .any(|p| path.starts_with(p))
}

async fn dispatch(req: Request<Incoming>, tls: bool, state: Arc<State>) -> Response<Body> {
    let host = host_of(&req);
    let site = Site::for_host(&host);
    let path = req.uri().path().to_owned();
    let quickpizza_here = match site {
        Site::Local => !is_test_api_path(&path),
        Site::QuickPizzaGrafana => !path.starts_with("/test.k6.io"),
        _ => false,
    };
    if quickpizza_here && path == "/ws" {
        return ws::upgrade(req, &state);
    }
    let req = match Req::read(req, host, tls).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    match site {
        Site::Local | Site::QuickPizzaGrafana if quickpizza_here => quickpizza::handle(&req),
        Site::Local => test_api::handle(&req, &state.test_api),
        Site::QuickPizzaGrafana => php_site::legacy(&req),
        Site::HttpBin => httpbin::handle(&req),
        Site::TestK6Io => php_site::handle(&req, &state.pages),
        Site::TestApi => test_api::handle(&req, &state.test_api),
        Site::Unknown => http::text(
            421,
            "text/plain",
            format!("stand-in: no service for host {:?}\n", req.host),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_parsing() {
        let r = Request::builder()
            .uri("/x")
            .header("host", "Test.K6.io:443")
            .body(())
            .unwrap();
        assert_eq!(host_of(&r), "test.k6.io");
        let r = Request::builder()
            .uri("https://httpbin.org/get")
            .body(())
            .unwrap();
        assert_eq!(host_of(&r), "httpbin.org");
        assert_eq!(Site::for_host("127.0.0.1"), Site::Local);
        assert_eq!(Site::for_host("example.com"), Site::Unknown);
    }

    #[test]
    fn drop_stops_listening() {
        let s = StandIn::start();
        let ports = [s.http_port(), s.https_port()];
        // An idle open connection must not keep it alive.
        let idle = std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, ports[0])).unwrap();
        drop(s);
        for port in ports {
            assert!(std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err());
        }
        drop(idle);
    }

    #[test]
    fn config_maps_every_host() {
        let s = StandIn::start();
        let cfg = s.k6_config();
        let hosts = cfg["hosts"].as_object().unwrap();
        assert_eq!(hosts.len(), HOSTS.len());
        assert_eq!(
            hosts["httpbin.org"],
            format!("127.0.0.1:{}", s.https_port())
        );
        assert_eq!(
            hosts["test.staging.k6.io"],
            format!("127.0.0.1:{}", s.http_port())
        );
        assert_eq!(cfg["insecureSkipTLSVerify"], true);
        let dir = tempfile::tempdir().unwrap();
        let path = s.k6_config_file(dir.path());
        let back: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert_eq!(back, cfg);
    }
}
