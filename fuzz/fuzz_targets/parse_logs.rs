//! `k6_core::logs::Parser` on arbitrary bytes split into lines (UTF-8,
//! lossily), fed in batches to both streams of one parser, then `summary()`.
//!
//! The first byte picks the batch size (1 to 16 lines), so batch boundaries
//! vary too. Besides not panicking, it checks the contract: one event per
//! line, in every batch; and the component's batch form (`feed_batch`, the
//! lines joined with `\n`, only non-text lines answered with their
//! positions) reads exactly like the lines one by one.

#![no_main]

use k6_core::logs::Parser;
use k6_core::types::{LineEvent, NumberedEvent, OutputStream};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let batch = usize::from(first % 16) + 1;
    let text = String::from_utf8_lossy(rest);
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let (mut parser, mut joined) = (Parser::new(), Parser::new());
    for chunk in lines.chunks(batch) {
        let as_batch: String = chunk.iter().map(|line| format!("{line}\n")).collect();
        for stream in [OutputStream::Stdout, OutputStream::Stderr] {
            let events = parser.feed(stream, chunk);
            assert_eq!(events.len(), chunk.len(), "not one event per line");
            let numbered: Vec<NumberedEvent> = events
                .into_iter()
                .zip(0..)
                .filter(|(event, _)| *event != LineEvent::Text)
                .map(|(event, line)| NumberedEvent { line, event })
                .collect();
            assert_eq!(
                joined.feed_batch(stream, &as_batch),
                numbered,
                "a batch reads unlike its lines"
            );
        }
    }
    assert_eq!(parser.summary(), joined.summary());
});
