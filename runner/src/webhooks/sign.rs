//! The signature of a delivery: `X-K6-Signature: sha256=<hex>`, the
//! HMAC-SHA256 of `<timestamp>.<body>` under the shared secret, with the
//! timestamp (Unix seconds) in `X-K6-Timestamp`. Signing the timestamp
//! with the body lets a receiver refuse an old delivery replayed.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::Secret;

/// The header with the signature.
pub const SIGNATURE_HEADER: &str = "X-K6-Signature";
/// The header with the signed timestamp (Unix seconds).
pub const TIMESTAMP_HEADER: &str = "X-K6-Timestamp";

/// `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`.
pub fn signature(secret: &Secret, timestamp: u64, body: &[u8]) -> String {
    // HMAC takes a key of any length: `new_from_slice` cannot fail for it.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A known vector, computed independently (Python:
    /// `hmac.new(b"s3cret", b"1700000000.{\"type\":\"run.started\"}", "sha256").hexdigest()`).
    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        let secret = Secret::new("s3cret", "test").unwrap();
        assert_eq!(
            signature(&secret, 1_700_000_000, br#"{"type":"run.started"}"#),
            "sha256=4c928867e870005007d6b8253a4d27cc5e7107c96a586a016bd21523eed12c2b"
        );
    }

    /// The same, checked with `hmac` directly over the whole message.
    #[test]
    fn the_signature_matches_hmac_over_the_message() {
        let secret = Secret::new("another secret", "test").unwrap();
        let body = br#"{"runId":"20261203T101500Z"}"#;
        let mut mac = Hmac::<Sha256>::new_from_slice(b"another secret").unwrap();
        mac.update(b"1764756900.{\"runId\":\"20261203T101500Z\"}");
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(signature(&secret, 1_764_756_900, body), expected);
        assert_ne!(signature(&secret, 1_764_756_901, body), expected);
    }
}
