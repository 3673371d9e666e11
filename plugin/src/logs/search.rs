//! Substring search for the parser's per-line hot paths.
//!
//! `str::find(&str)` and `str::contains(&str)` run a two-way search, which
//! on `wasm32-unknown-unknown`, where the sandboxed core runs, goes byte by
//! byte with a large per-byte cost: profiling the core in wasmtime showed
//! the `"level"` check of JSON log lines taking about a third of the time
//! spent on a `--out json` point line. Searching for one byte of the needle
//! instead goes through `memchr` (a word at a time on every target); each
//! hit is then checked in place. On x86_64 the standard library's
//! `contains` has an SSE2 path for short needles that is faster still, so
//! [`contains`] keeps it there.

/// `text.contains(needle)`, by the fastest way for the target. `anchor` is
/// the index of a byte of `needle` that is rare in the texts searched (each
/// occurrence of it costs a comparison).
pub(crate) fn contains(text: &str, needle: &str, anchor: usize) -> bool {
    // The standard library's own condition for its SIMD `contains`.
    if cfg!(all(target_arch = "x86_64", target_feature = "sse2")) {
        text.contains(needle)
    } else {
        find(text, needle, anchor).is_some()
    }
}

/// Byte offset of the first occurrence of `needle` in `text`, exactly as
/// `text.find(needle)`, through `memchr` on `needle[anchor]`, a byte that
/// is rare in the texts searched. It must be ASCII; otherwise this falls
/// back to `str::find`.
pub(crate) fn find(text: &str, needle: &str, anchor: usize) -> Option<usize> {
    let key = needle.as_bytes();
    let target = match key.get(anchor) {
        Some(&byte) if byte.is_ascii() => char::from(byte),
        _ => return text.find(needle),
    };
    let bytes = text.as_bytes();
    let mut from = 0;
    // Anchor bytes are met in increasing order, so the first window that
    // matches starts the first occurrence. `from` always follows an ASCII
    // byte (or is 0), so it is a char boundary.
    while let Some(offset) = text.get(from..)?.find(target) {
        let at = from + offset;
        if let Some(start) = at.checked_sub(anchor)
            && bytes.get(start..start + key.len()) == Some(key)
        {
            return Some(start);
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn finds_what_str_find_finds() {
        let cases = [
            ("", "..:", 2),
            ("..:", "..:", 2),
            ("http_reqs..........: 98", "..:", 2),
            ("a.: b..: c..:", "..:", 2),
            (r#"{"metric":"vus","type":"Point"}"#, "\"level\"", 3),
            (r#"{"error":"x","level":"info"}"#, "\"level\"", 3),
            ("évvv\"level\"", "\"level\"", 3),
            ("level\"", "\"level\"", 3),
            ("✓ checks....: 1", "..:", 2),
        ];
        for (text, needle, anchor) in cases {
            assert_eq!(
                find(text, needle, anchor),
                text.find(needle),
                "{text:?} {needle:?}"
            );
            assert_eq!(contains(text, needle, anchor), text.contains(needle));
        }
    }

    #[test]
    fn a_non_ascii_anchor_falls_back() {
        assert_eq!(find("a✓b", "✓", 0), Some(1));
        assert_eq!(find("ab", "b", 5), Some(1));
    }

    proptest! {
        #[test]
        fn agrees_with_str_find(
            text in "[.:vl\"e é✓a]{0,40}",
            needle in prop::sample::select(vec!["..:", "\"level\"", "v", "é.", "e\"l"]),
            anchor in 0usize..4,
        ) {
            prop_assert_eq!(find(&text, needle, anchor), text.find(needle));
            prop_assert_eq!(contains(&text, needle, anchor), text.contains(needle));
        }
    }
}
