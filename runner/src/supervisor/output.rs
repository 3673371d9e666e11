//! Reading a step's stdout and stderr line by line, with a cap on line
//! length, and always draining: k6 dies of SIGPIPE if its stdout reader
//! goes away, so the reader runs until the pipe closes.

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::mpsc;

use crate::contract::OutputStream;

/// Longest line kept, in bytes; the rest of a longer line is dropped (a
/// runaway `console.log` must not exhaust memory).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// A line read from a step, with its stream.
pub type OutputLine = (OutputStream, String);

/// Reads `reader` to its end, sending each line (without its ending,
/// invalid UTF-8 replaced) to `lines`. If the receiver is gone it keeps
/// reading and discarding, so the process never sees a closed pipe.
pub async fn forward_lines<R: AsyncRead + Unpin>(
    reader: R,
    stream: OutputStream,
    lines: mpsc::Sender<OutputLine>,
) {
    let mut reader = BufReader::with_capacity(16 * 1024, reader);
    let mut line: Vec<u8> = Vec::new();
    let mut overflowed = false;
    loop {
        let chunk = match reader.fill_buf().await {
            Ok([]) | Err(_) => break,
            Ok(chunk) => chunk,
        };
        let (taken, complete) = match chunk.iter().position(|&b| b == b'\n') {
            Some(at) => (&chunk[..at], at + 1),
            None => (chunk, chunk.len()),
        };
        let room = MAX_LINE_BYTES.saturating_sub(line.len());
        line.extend_from_slice(&taken[..taken.len().min(room)]);
        overflowed |= taken.len() > room;
        let ended = complete > taken.len();
        reader.consume(complete);
        if ended {
            send(&lines, stream, &mut line, &mut overflowed).await;
        }
    }
    if !line.is_empty() {
        send(&lines, stream, &mut line, &mut overflowed).await;
    }
}

async fn send(
    lines: &mpsc::Sender<OutputLine>,
    stream: OutputStream,
    line: &mut Vec<u8>,
    overflowed: &mut bool,
) {
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    let mut text = String::from_utf8_lossy(line).into_owned();
    if *overflowed {
        text.push_str(" …[line cut]");
    }
    line.clear();
    *overflowed = false;
    // A closed receiver only means nobody listens any more; keep draining.
    let _ = lines.send((stream, text)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_all(input: &'static [u8]) -> Vec<String> {
        let (tx, mut rx) = mpsc::channel(100);
        forward_lines(input, OutputStream::Stdout, tx).await;
        let mut out = Vec::new();
        while let Ok((_, line)) = rx.try_recv() {
            out.push(line);
        }
        out
    }

    #[tokio::test]
    async fn splits_lines_and_keeps_a_last_partial_line() {
        assert_eq!(read_all(b"a\r\nb\n\nc").await, ["a", "b", "", "c"]);
    }

    #[tokio::test]
    async fn cuts_overlong_lines_and_replaces_bad_utf8() {
        let mut bytes = format!("{}\nnext", "x".repeat(MAX_LINE_BYTES * 3)).into_bytes();
        bytes.extend_from_slice(b"\xff\n");
        let long: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        let lines = read_all(long).await;
        assert_eq!(lines.len(), 2);
        assert!(lines[0].len() < MAX_LINE_BYTES + 20 && lines[0].ends_with("[line cut]"));
        assert_eq!(lines[1], "next\u{fffd}");
    }
}
