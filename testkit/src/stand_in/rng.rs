//! A small, non-cryptographic random source (splitmix64) for picking pizzas,
//! tokens and status codes. Nothing here is a secret.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static STATE: AtomicU64 = AtomicU64::new(0);

/// The next 64 random bits.
pub(crate) fn next_u64() -> u64 {
    let mut s = STATE.load(Ordering::Relaxed);
    if s == 0 {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x5eed)
            ^ (std::process::id() as u64).rotate_left(32);
        let _ = STATE.compare_exchange(0, seed | 1, Ordering::Relaxed, Ordering::Relaxed);
    }
    s = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    let mut z = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A number in `lo..=hi`.
pub(crate) fn between(lo: u64, hi: u64) -> u64 {
    lo + next_u64() % (hi - lo + 1)
}

/// One element of a non-empty slice.
pub(crate) fn pick<T>(items: &[T]) -> &T {
    &items[(next_u64() % items.len() as u64) as usize]
}

/// `n` characters from `[A-Za-z0-9]`.
pub(crate) fn alnum(n: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..n).map(|_| *pick(CHARS) as char).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn ranges() {
        for _ in 0..1000 {
            let v = super::between(2, 4);
            assert!((2..=4).contains(&v));
        }
        assert_eq!(super::alnum(16).len(), 16);
    }
}
