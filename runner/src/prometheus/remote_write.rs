//! k6's own metrics into Prometheus: the operator's option that runs every
//! step with k6's built-in `experimental-prometheus-rw` output.
//!
//! The option is the runner's (a flag), never the config's: the URL is a
//! place the runner's k6 processes send every sample to, so it belongs
//! with the operator who runs the runner, like the k6 binary and the script
//! directories, not with whoever may `PUT /config`. It reaches k6 as
//! environment (`K6_OUT`, `K6_PROMETHEUS_RW_SERVER_URL`,
//! `K6_PROMETHEUS_RW_TREND_STATS`), so the core's plan and the rendered
//! `k6_all.sh` stay what the config says, and a legacy wrapper's k6 gets
//! it too (unless the wrapper passes its own `--out`, which k6 lets win).

use std::fmt;
use std::str::FromStr;

use reqwest::Url;

/// Trend statistics sent when the operator names none: what Grafana's
/// k6 Prometheus dashboard (ID 19665) draws.
pub const DEFAULT_TREND_STATS: &str = "p(95),p(99),min,max";

/// The name of k6's remote-write output (`k6 run --out …`).
const K6_OUTPUT: &str = "experimental-prometheus-rw";

/// Why the remote-write option is refused.
#[derive(Debug, thiserror::Error)]
pub enum RemoteWriteError {
    /// Not a URL at all.
    #[error("the Prometheus remote-write URL {url:?} is not a URL: {reason}")]
    Url {
        /// What was given.
        url: String,
        /// The parser's reason.
        reason: String,
    },
    /// A URL k6 cannot post to.
    #[error(
        "the Prometheus remote-write URL {url} must be http:// or https:// (k6 posts the samples there)"
    )]
    Scheme {
        /// What was given.
        url: String,
    },
    /// User name or password inside the URL.
    #[error(
        "the Prometheus remote-write URL must not carry a user name or password: a command line \
         is readable by every user of the machine, and the URL is written to the step logs"
    )]
    Credentials,
    /// A trend statistic k6 does not know.
    #[error(
        "trend statistic {item:?} (in {given:?}) is not one of avg, min, med, max, sum, count \
         or p(N) with 0 < N <= 100"
    )]
    TrendStat {
        /// The whole list.
        given: String,
        /// The refused item.
        item: String,
    },
}

/// One statistic k6 sends per trend metric (`k6_http_req_duration_p95`…).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TrendStat {
    /// Mean.
    Avg,
    /// Smallest value.
    Min,
    /// Median.
    Med,
    /// Largest value.
    Max,
    /// Sum of the values.
    Sum,
    /// Number of values.
    Count,
    /// A percentile, above 0 and at most 100.
    Percentile(f64),
}

impl FromStr for TrendStat {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, ()> {
        Ok(match text {
            "avg" => Self::Avg,
            "min" => Self::Min,
            "med" => Self::Med,
            "max" => Self::Max,
            "sum" => Self::Sum,
            "count" => Self::Count,
            _ => {
                let number = text
                    .strip_prefix("p(")
                    .and_then(|rest| rest.strip_suffix(')'))
                    .ok_or(())?;
                // Digits and one point only: `p(1e1)` or `p(inf)` would
                // parse as floats but are not k6's syntax.
                if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                    return Err(());
                }
                let value: f64 = number.parse().map_err(|_| ())?;
                if !(value > 0.0 && value <= 100.0) {
                    return Err(());
                }
                Self::Percentile(value)
            }
        })
    }
}

impl fmt::Display for TrendStat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Avg => f.write_str("avg"),
            Self::Min => f.write_str("min"),
            Self::Med => f.write_str("med"),
            Self::Max => f.write_str("max"),
            Self::Sum => f.write_str("sum"),
            Self::Count => f.write_str("count"),
            Self::Percentile(value) => write!(f, "p({value})"),
        }
    }
}

/// Where k6 writes its metrics, and which trend statistics it sends.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteWrite {
    url: Url,
    trend_stats: Vec<TrendStat>,
}

impl RemoteWrite {
    /// The option for `url` (Prometheus: `http://host:9090/api/v1/write`,
    /// with `--web.enable-remote-write-receiver`) and a comma-separated
    /// list of trend statistics (default [`DEFAULT_TREND_STATS`]).
    pub fn new(url: &str, trend_stats: Option<&str>) -> Result<Self, RemoteWriteError> {
        let parsed = Url::parse(url).map_err(|error| RemoteWriteError::Url {
            url: url.to_owned(),
            reason: error.to_string(),
        })?;
        // Before anything that echoes the URL.
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(RemoteWriteError::Credentials);
        }
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(RemoteWriteError::Scheme {
                url: url.to_owned(),
            });
        }
        let given = trend_stats.unwrap_or(DEFAULT_TREND_STATS);
        let trend_stats = given
            .split(',')
            .map(str::trim)
            .map(|item| {
                item.parse().map_err(|()| RemoteWriteError::TrendStat {
                    given: given.to_owned(),
                    item: item.to_owned(),
                })
            })
            .collect::<Result<Vec<TrendStat>, _>>()?;
        Ok(Self {
            url: parsed,
            trend_stats,
        })
    }

    /// The remote-write endpoint.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The trend statistics k6 sends.
    pub fn trend_stats(&self) -> &[TrendStat] {
        &self.trend_stats
    }

    /// The variables that turn the output on for a k6 process.
    pub fn env(&self) -> Vec<(String, String)> {
        let stats: Vec<String> = self.trend_stats.iter().map(ToString::to_string).collect();
        vec![
            ("K6_OUT".into(), K6_OUTPUT.into()),
            ("K6_PROMETHEUS_RW_SERVER_URL".into(), self.url.to_string()),
            ("K6_PROMETHEUS_RW_TREND_STATS".into(), stats.join(",")),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_http_url_and_the_default_stats_become_k6_env() {
        let option = RemoteWrite::new("http://127.0.0.1:9090/api/v1/write", None).unwrap();
        assert_eq!(
            option.env(),
            [
                ("K6_OUT".to_owned(), "experimental-prometheus-rw".to_owned()),
                (
                    "K6_PROMETHEUS_RW_SERVER_URL".to_owned(),
                    "http://127.0.0.1:9090/api/v1/write".to_owned()
                ),
                (
                    "K6_PROMETHEUS_RW_TREND_STATS".to_owned(),
                    "p(95),p(99),min,max".to_owned()
                ),
            ]
        );
        let stats = RemoteWrite::new(
            "https://prom.example/api/v1/write",
            Some("avg, p(99.9),count"),
        )
        .unwrap();
        assert_eq!(
            stats.trend_stats(),
            [
                TrendStat::Avg,
                TrendStat::Percentile(99.9),
                TrendStat::Count
            ]
        );
    }

    #[test]
    fn urls_k6_cannot_use_or_that_leak_secrets_are_refused() {
        for (url, words) in [
            ("127.0.0.1:9090/api/v1/write", "is not a URL"),
            ("unix:/run/prometheus.sock", "must be http"),
            ("file:///tmp/x", "must be http"),
            ("not a url", "is not a URL"),
            (
                "http://user:secret@127.0.0.1:9090/api/v1/write",
                "user name or password",
            ),
            ("ftp://user:secret@127.0.0.1/x", "user name or password"),
        ] {
            let refused = RemoteWrite::new(url, None).unwrap_err().to_string();
            assert!(refused.contains(words), "{url}: {refused}");
            assert!(!refused.contains("secret"), "{refused}");
        }
    }

    #[test]
    fn unknown_trend_stats_are_refused_by_name() {
        for bad in [
            "p(0)", "p(101)", "p()", "p(1e1)", "p95", "mean", "", "avg,,max",
        ] {
            let refused = RemoteWrite::new("http://127.0.0.1:9090/api/v1/write", Some(bad))
                .unwrap_err()
                .to_string();
            assert!(refused.contains("is not one of"), "{bad}: {refused}");
        }
        assert_eq!(
            "p(100)".parse::<TrendStat>(),
            Ok(TrendStat::Percentile(100.0))
        );
        assert_eq!(TrendStat::Percentile(99.9).to_string(), "p(99.9)");
    }
}
