//! Free ports for k6's REST API, one per step of a run.

/// `count` distinct free ports on 127.0.0.1 for k6's REST API, all held
/// until every one is found. They are taken from just below the kernel's
/// ephemeral range: a port is picked when the run starts, but a later step
/// binds it perhaps hours later, and a port of the ephemeral range may by
/// then be the local end of any outgoing connection (k6 would exit 106).
/// Below that range, only another listener could take it.
pub(crate) fn free_ports(count: usize) -> std::io::Result<Vec<u16>> {
    const WINDOW: u16 = 10_000;
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32_768);
    let floor = ephemeral_low.saturating_sub(WINDOW).max(1_024);
    let span = u64::from(ephemeral_low.saturating_sub(floor).max(1));
    // A random starting point, so that runners on one machine rarely try
    // the same ports first.
    let mut seed = [0u8; 8];
    getrandom::fill(&mut seed).map_err(|e| std::io::Error::other(e.to_string()))?;
    let offset = u64::from_le_bytes(seed) % span;
    let mut listeners = Vec::with_capacity(count);
    for step in 0..span {
        if listeners.len() == count {
            break;
        }
        let port = u16::try_from(u64::from(floor) + (offset + step) % span).unwrap_or(floor);
        if let Ok(listener) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            listeners.push(listener);
        }
    }
    // A machine whose ephemeral range starts low leaves no room below it:
    // the kernel's choice is the next best.
    while listeners.len() < count {
        listeners.push(std::net::TcpListener::bind(("127.0.0.1", 0))?);
    }
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// k6's API ports are distinct, bindable, and outside the ephemeral
    /// range that outgoing connections take their local ports from.
    #[test]
    fn api_ports_are_distinct_free_and_below_the_ephemeral_range() {
        let ports = free_ports(20).unwrap();
        let mut distinct = ports.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 20, "{ports:?}");
        let low: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            ports.iter().all(|&port| port < low && port >= 1024),
            "{ports:?}"
        );
        for port in ports {
            std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        }
    }
}
