//! Webhooks: the runner tells the operator's systems what happened by
//! POSTing a signed JSON event to each configured URL.
//!
//! - `config` (here): the targets and the secret, checked at startup.
//! - `events`: which hub events become which webhook events, and their
//!   JSON payload.
//! - `sign`: the `X-K6-Signature` HMAC.
//! - `retry`: the backoff schedule and the retry loop.
//! - `log`: the in-memory delivery log (`GET /api/k6/webhooks/deliveries`).
//! - `dispatch`: the watcher task, a bounded queue and a sender task per
//!   target, the HTTP client.
//!
//! Targets come from the operator only (`--webhook`, `--webhooks-file`):
//! there is no API to add one, because a webhook URL is a request the
//! runner makes on someone's behalf, from inside the operator's network;
//! whoever could add a target could make the runner call any host it can
//! reach and read run details there.
//!
//! Delivery never touches the run: the watcher reads the hub's broadcast
//! (which never waits for a subscriber), puts deliveries in each target's
//! bounded queue, which drops its oldest entry when full, and a task per
//! target sends them in order.

mod dispatch;
mod events;
mod log;
mod retry;
mod sign;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub(crate) use dispatch::{Deliveries, spawn};
pub use events::{EventKind, Payload, StepSummary};
pub use log::{DeliveryEntry, DeliveryLog, DeliveryOutcome, MAX_LOGGED_DELIVERIES};
pub use retry::{MAX_ATTEMPTS, REQUEST_TIMEOUT, backoff};
pub use sign::{SIGNATURE_HEADER, TIMESTAMP_HEADER, signature};

/// The webhook configuration of a runner: where events go and the secret
/// that signs them. Empty (the default) sends nothing.
#[derive(Debug, Clone, Default)]
pub struct WebhookConfig {
    /// Each target, in the order given.
    pub targets: Vec<Target>,
    /// The HMAC key; required when there is a target.
    pub secret: Option<Secret>,
    /// The base of each event's `link` (`https://k6.example.com`); the
    /// link is `<base>/api/k6/runs/<id>`. `None` leaves `link` out.
    pub link_base: Option<String>,
}

impl WebhookConfig {
    /// Checks that targets have a secret to be signed with.
    pub fn check(&self) -> Result<(), WebhookError> {
        if !self.targets.is_empty() && self.secret.is_none() {
            return Err(WebhookError::NoSecret);
        }
        Ok(())
    }
}

/// One URL events are POSTed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    url: reqwest::Url,
    /// Only these events (all when `None`).
    events: Option<Vec<EventKind>>,
}

impl Target {
    /// A target for `url` (http or https, no user name or password in it),
    /// for `events` (all when `None`).
    pub fn new(url: &str, events: Option<Vec<EventKind>>) -> Result<Self, WebhookError> {
        let parsed = reqwest::Url::parse(url).map_err(|source| WebhookError::Url {
            url: redact(url),
            source,
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            // Not shown: without an http(s) scheme its parts are not
            // known, and what looks like a path may be a password.
            return Err(WebhookError::Scheme {
                scheme: parsed.scheme().to_owned(),
            });
        }
        // A password in a URL ends up in logs and in the delivery log; an
        // operator who needs one puts it in the receiver's own config.
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(WebhookError::UserInfo { url: redact(url) });
        }
        if parsed.host_str().is_none() {
            return Err(WebhookError::NoHost { url: redact(url) });
        }
        Ok(Self {
            url: parsed,
            events,
        })
    }

    /// The URL.
    pub fn url(&self) -> &reqwest::Url {
        &self.url
    }

    /// The URL as the delivery log and the logs show it: without its
    /// query, which may hold a receiver's token.
    pub fn shown(&self) -> String {
        let mut url = self.url.clone();
        url.set_query(None);
        url.set_fragment(None);
        url.to_string()
    }

    /// Whether this target wants `kind`.
    pub fn wants(&self, kind: EventKind) -> bool {
        self.events
            .as_ref()
            .is_none_or(|events| events.contains(&kind))
    }
}

/// The HMAC key. Its `Debug` shows nothing of it.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// A secret from its text (surrounding whitespace, such as a file's
    /// last newline, is not part of it).
    pub fn new(text: &str, origin: &str) -> Result<Self, WebhookError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(WebhookError::EmptySecret {
                origin: origin.to_owned(),
            });
        }
        Ok(Self(text.as_bytes().to_vec()))
    }

    /// The secret in a file.
    pub fn from_file(path: &Path) -> Result<Self, WebhookError> {
        let text = std::fs::read_to_string(path).map_err(|source| WebhookError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::new(&text, &path.display().to_string())
    }

    fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// One entry of a `--webhooks-file`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct TargetEntry {
    url: String,
    #[serde(default)]
    events: Option<Vec<EventKind>>,
}

/// The targets of a `--webhooks-file`: a JSON array of
/// `{"url": "...", "events": ["run.failed", ...]}` (`events` optional:
/// all).
pub fn targets_from_file(path: &Path) -> Result<Vec<Target>, WebhookError> {
    let text = std::fs::read_to_string(path).map_err(|source| WebhookError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let entries: Vec<TargetEntry> =
        serde_json::from_str(&text).map_err(|source| WebhookError::File {
            path: path.to_path_buf(),
            source,
        })?;
    entries
        .into_iter()
        .map(|entry| Target::new(&entry.url, entry.events))
        .collect()
}

/// The URL for an error message: without user info, query or fragment,
/// or only its first characters when it does not parse.
fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.set_query(None);
            parsed.set_fragment(None);
            parsed.to_string()
        }
        Err(_) => {
            // Unparsed, it may still hold a password before an `@`: keep
            // the scheme and what follows the last `@`, up to any query.
            let url = url.split(['?', '#']).next().unwrap_or_default();
            match url.rsplit_once('@') {
                Some((before, host)) => {
                    let scheme = before.split_once("://").map_or("", |(scheme, _)| scheme);
                    format!("{scheme}://…@{host}")
                }
                None => url.chars().take(80).collect(),
            }
        }
    }
}

/// Why the webhook configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Not a URL.
    #[error("webhook URL {url} is not a URL: {source}")]
    Url {
        /// The URL, redacted.
        url: String,
        /// Why.
        #[source]
        source: url::ParseError,
    },
    /// Not http or https.
    #[error("webhook URL {scheme}:…: the scheme must be http or https, not {scheme}")]
    Scheme {
        /// Its scheme.
        scheme: String,
    },
    /// A user name or password in the URL.
    #[error(
        "webhook URL {url}: no user name or password in the URL (it would be logged); \
         receivers check the X-K6-Signature instead"
    )]
    UserInfo {
        /// The URL, redacted.
        url: String,
    },
    /// No host.
    #[error("webhook URL {url} has no host")]
    NoHost {
        /// The URL, redacted.
        url: String,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The targets file is not a JSON array of targets.
    #[error(
        "{path} is not a webhooks file (a JSON array of {{\"url\": ..., \"events\": [...]}}): {source}"
    )]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// An empty secret.
    #[error("the webhook secret from {origin} is empty")]
    EmptySecret {
        /// Where it came from.
        origin: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the webhooks' HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// Targets but no secret.
    #[error(
        "webhooks need a secret to sign them: --webhook-secret-file FILE or \
         K6_RUNNER_WEBHOOK_SECRET"
    )]
    NoSecret,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_http_or_https_without_user_info() {
        assert!(Target::new("http://127.0.0.1:9/hook", None).is_ok());
        assert!(Target::new("https://hooks.example.com/k6?token=x", None).is_ok());
        for (url, expected) in [
            ("ftp://example.com/", "scheme must be http or https"),
            ("file:///etc/passwd", "scheme must be http or https"),
            ("https://user:pw@example.com/", "no user name or password"),
            ("https://user@example.com/", "no user name or password"),
            ("not a url", "is not a URL"),
            ("http://user:pw@[::1/", "is not a URL"),
            ("user:pw@example.com", "scheme must be http or https"),
            ("pw@example.com", "is not a URL"),
        ] {
            let error = Target::new(url, None).unwrap_err().to_string();
            assert!(error.contains(expected), "{url}: {error}");
            assert!(
                !error.contains("pw"),
                "{url}: the password is echoed: {error}"
            );
        }
    }

    #[test]
    fn the_shown_url_has_no_query() {
        let target = Target::new("https://example.com/hook?token=abc", None).unwrap();
        assert_eq!(target.shown(), "https://example.com/hook");
    }

    #[test]
    fn a_target_with_events_wants_only_those() {
        let target = Target::new("http://127.0.0.1/", Some(vec![EventKind::RunFailed])).unwrap();
        assert!(target.wants(EventKind::RunFailed));
        assert!(!target.wants(EventKind::RunStarted));
        assert!(
            Target::new("http://127.0.0.1/", None)
                .unwrap()
                .wants(EventKind::StepFailed)
        );
    }

    #[test]
    fn a_targets_file_names_urls_and_events() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hooks.json");
        std::fs::write(
            &path,
            r#"[{"url": "http://127.0.0.1:1/a", "events": ["run.failed", "step.failed"]},
                {"url": "https://example.com/b"}]"#,
        )
        .unwrap();
        let targets = targets_from_file(&path).unwrap();
        assert_eq!(targets.len(), 2);
        assert!(!targets[0].wants(EventKind::RunFinished));
        assert!(targets[1].wants(EventKind::RunFinished));
        std::fs::write(
            &path,
            r#"[{"url": "http://127.0.0.1/", "events": ["run.done"]}]"#,
        )
        .unwrap();
        assert!(matches!(
            targets_from_file(&path),
            Err(WebhookError::File { .. })
        ));
    }

    #[test]
    fn targets_need_a_secret() {
        let mut config = WebhookConfig {
            targets: vec![Target::new("http://127.0.0.1/", None).unwrap()],
            ..WebhookConfig::default()
        };
        assert!(matches!(config.check(), Err(WebhookError::NoSecret)));
        config.secret = Some(Secret::new("s3cret\n", "test").unwrap());
        assert!(config.check().is_ok());
        assert!(Secret::new(" \n", "test").is_err());
        assert_eq!(format!("{:?}", config.secret), "Some(Secret(..))");
    }
}
