//! Slow, idle and oversized clients, on real sockets: a connection that
//! sends half a request head, or nothing, is closed by the runner within its
//! timeouts; so is a keep-alive connection left silent; an oversized target
//! or header block gets a JSON 414 or 431 like every other API error.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::runner::*;

/// Longest any test here waits for the runner to close a connection: the
/// header timeout (10 s) with a wide margin.
const CLOSE_WITHIN: Duration = Duration::from_secs(30);

/// Reads until the peer closes, for at most [`CLOSE_WITHIN`]. Returns what
/// was read and whether the peer closed.
fn read_until_closed(stream: &mut TcpStream) -> (Vec<u8>, bool) {
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let deadline = Instant::now() + CLOSE_WITHIN;
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    while Instant::now() < deadline {
        match stream.read(&mut buffer) {
            Ok(0) => return (seen, true),
            Ok(n) => seen.extend_from_slice(&buffer[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            // A reset is a close too.
            Err(_) => return (seen, true),
        }
    }
    (seen, false)
}

/// A client that sends half a request head and then nothing is cut off,
/// and so is one that connects and never sends a byte; the runner keeps
/// answering others meanwhile.
#[tokio::test]
async fn half_sent_and_silent_connections_are_closed() {
    let world = World::new().await;
    let runner = Runner::start(&world, &[]);
    let addr = runner.addr;
    let (half, silent) = tokio::task::spawn_blocking(move || {
        let mut half = TcpStream::connect(addr).unwrap();
        half.write_all(b"GET /api/k6/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            .unwrap();
        let mut silent = TcpStream::connect(addr).unwrap();
        let silent = std::thread::spawn(move || read_until_closed(&mut silent));
        (read_until_closed(&mut half), silent.join().unwrap())
    })
    .await
    .unwrap();
    assert!(
        half.1,
        "a half-sent head was not closed within {CLOSE_WITHIN:?}"
    );
    assert!(
        silent.1,
        "a silent connection was not closed within {CLOSE_WITHIN:?}"
    );
    assert_eq!(runner.get("/status").await.0, 200);
}

/// After an answer, a keep-alive connection that sends nothing more is
/// closed too: idle connections do not pile up.
#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let world = World::new().await;
    let runner = Runner::start(&world, &[]);
    let addr = runner.addr;
    let (seen, closed) = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"GET /api/k6/status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .unwrap();
        read_until_closed(&mut stream)
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&seen);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(closed, "an idle keep-alive connection stayed open");
}

/// Oversized requests get the API's JSON error, with the limit in words.
#[tokio::test]
async fn oversized_targets_and_headers_get_json_errors() {
    let world = World::new().await;
    let runner = Runner::start(&world, &[]);
    let client = reqwest::Client::new();
    let long = format!(
        "http://{}/api/k6/logs?run={}",
        runner.addr,
        "a".repeat(9 * 1024)
    );
    let answer = client.get(&long).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 414);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("8192"), "{body}");

    let mut request = client.get(format!("http://{}/api/k6/status", runner.addr));
    for i in 0..40 {
        request = request.header(format!("x-filler-{i}"), "v".repeat(1_000));
    }
    let answer = request.send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 431);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("32768"), "{body}");
}
