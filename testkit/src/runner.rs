//! The one way a test or benchmark waits for a `k6-runner serve` child:
//! the line the runner prints on stdout once it is listening.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::process::{ProcessError, ProcessGroup};

/// What `k6-runner serve` prints, followed by `http://ADDR/`, once it
/// accepts connections.
pub const LISTENING: &str = "k6 runner listening on ";

/// Longest a runner may take from spawn to listening (a debug build may
/// compile the core with Cranelift first).
pub const START_LIMIT: Duration = Duration::from_secs(60);

/// Waits at most [`START_LIMIT`] for `runner`'s [`LISTENING`] line;
/// returns when it was printed and the address it names.
pub fn wait_listening(runner: &mut ProcessGroup) -> Result<(Instant, SocketAddr), ProcessError> {
    let (at, rest) = runner.wait_for_line(LISTENING, START_LIMIT)?;
    let address = rest
        .strip_prefix("http://")
        .and_then(|url| url.split('/').next())
        .and_then(|host_port| host_port.parse().ok())
        .unwrap_or_else(|| panic!("the runner's listening line names no address: {rest:?}"));
    Ok((at, address))
}
