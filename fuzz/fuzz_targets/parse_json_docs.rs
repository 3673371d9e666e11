//! The JSON readers of `k6_core::logs` on the same arbitrary bytes (UTF-8,
//! lossily): `--summary-export` and `handleSummary()` documents,
//! `/v1/metrics` bodies, then `summary()`.
//!
//! The metrics body is read three times, at 1 s, again at 1 s and at 0 s, so
//! that the request rate is also computed over no time and backwards time.

#![no_main]

use k6_core::logs::Parser;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let json = String::from_utf8_lossy(data);
    let mut parser = Parser::new();
    let _ = parser.feed_summary_export(&json);
    let _ = parser.feed_handle_summary(&json);
    for at_ms in [1_000, 1_000, 0] {
        let _ = parser.feed_metrics(&json, at_ms);
    }
    let _ = parser.summary();
});
