//! Line splitting and substring search for the parser's per-line hot paths.
//!
//! `str::find(&str)` runs a two-way search that goes byte by byte on
//! `wasm32-unknown-unknown`, where the sandboxed core runs: profiling the
//! core in wasmtime showed the `"level"` check of JSON log lines taking
//! about a third of the time spent on a `--out json` point line. `memchr`'s
//! `memmem` searches with SIMD wherever the target has it (SSE2/AVX2 on
//! x86_64, `simd128` in the sandbox) and builds each needle's searcher once.

use std::sync::OnceLock;

use memchr::memmem::Finder;

/// A needle searched for in many lines, its searcher built at first use.
pub(crate) struct Needle {
    text: &'static str,
    finder: OnceLock<Finder<'static>>,
}

impl Needle {
    /// A needle for `text`; nothing is built until the first search.
    pub(crate) const fn new(text: &'static str) -> Self {
        Self {
            text,
            finder: OnceLock::new(),
        }
    }

    /// Byte offset of the first occurrence in `text`, as `text.find(..)`.
    pub(crate) fn find(&self, text: &str) -> Option<usize> {
        self.finder
            .get_or_init(|| Finder::new(self.text))
            .find(text.as_bytes())
    }

    /// Whether `text` holds the needle, as `text.contains(..)`.
    pub(crate) fn is_in(&self, text: &str) -> bool {
        self.find(text).is_some()
    }
}

/// The lines of `text`, each ended by `\n` (the last may omit it), as
/// `text.split_terminator('\n')`. The line ends are found with `memchr`,
/// SIMD where the target has it; `str::split` goes a machine word at a time,
/// which is four bytes on wasm32.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = &str> {
    let unterminated = !text.is_empty() && !text.ends_with('\n');
    let mut start = 0;
    memchr::memchr_iter(b'\n', text.as_bytes())
        .chain(unterminated.then_some(text.len()))
        .map(move |end| {
            // `\n` is ASCII, so both ends are char boundaries.
            let line = text.get(start..end).unwrap_or_default();
            start = end + 1;
            line
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    static PADDING: Needle = Needle::new("..:");
    static LEVEL: Needle = Needle::new("\"level\"");

    #[test]
    fn finds_what_str_find_finds() {
        let cases = [
            "",
            "..:",
            "http_reqs..........: 98",
            "a.: b..: c..:",
            r#"{"metric":"vus","type":"Point"}"#,
            r#"{"error":"x","level":"info"}"#,
            "évvv\"level\"",
            "level\"",
            "✓ checks....: 1",
        ];
        for text in cases {
            assert_eq!(PADDING.find(text), text.find("..:"), "{text:?}");
            assert_eq!(LEVEL.is_in(text), text.contains("\"level\""), "{text:?}");
        }
    }

    #[test]
    fn splits_lines_as_split_terminator() {
        for text in ["", "\n", "a", "a\n", "a\nb", "\n\né\n", "a\r\nb\n\n"] {
            assert_eq!(
                lines(text).collect::<Vec<_>>(),
                text.split_terminator('\n').collect::<Vec<_>>(),
                "{text:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn lines_agree_with_split_terminator(text in "[a\n\ré]{0,40}") {
            prop_assert_eq!(
                lines(&text).collect::<Vec<_>>(),
                text.split_terminator('\n').collect::<Vec<_>>()
            );
        }

        #[test]
        fn agrees_with_str_find(text in "[.:vl\"e é✓a]{0,40}") {
            prop_assert_eq!(PADDING.find(&text), text.find("..:"));
            prop_assert_eq!(LEVEL.is_in(&text), text.contains("\"level\""));
        }
    }
}
