//! The live readings of a running step, taken once a second.

use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};

use super::output::ReadingSender;
use crate::supervisor::k6_api::LiveSampler;
use crate::supervisor::stats::ProcessSampler;

/// Live metrics sampling period.
const SAMPLE_PERIOD: Duration = Duration::from_secs(1);

/// Takes a live reading once a second (k6's metrics when it has an API,
/// and its CPU and RSS from `/proc`) and hands it to the output thread
/// without waiting. Runs beside the step loop so that a slow answer never
/// delays a stop.
pub(super) async fn sample_metrics(
    mut api: Option<LiveSampler>,
    pid: u32,
    started: Instant,
    readings: ReadingSender,
) {
    let mut process = ProcessSampler::new(pid);
    let mut tick = tokio::time::interval_at(started + SAMPLE_PERIOD, SAMPLE_PERIOD);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let Some(api) = api.as_mut() else {
        return;
    };
    loop {
        tick.tick().await;
        let Some(body) = api.reading(SAMPLE_PERIOD).await else {
            continue;
        };
        let stats = process
            .sample()
            .map(|s| (s.cpu_percent.unwrap_or(0.0), s.rss_bytes));
        let at_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        if !readings.send(at_ms, body, stats) {
            return;
        }
    }
}
