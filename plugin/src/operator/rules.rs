//! The syntax of what an export's settings put into Kubernetes objects:
//! names, label values, image references and resource quantities. Each
//! rule is Kubernetes' own (or stricter), so that what the core renders
//! the API server accepts.

use crate::config::quoted;
use crate::types::{ErrorCode, FieldError};

use super::ExportSettings;

/// Most runner pods per step. The operator sets no limit; this one keeps a
/// typing slip (`--parallelism 10000`) from asking a cluster for
/// thousands of pods.
pub const MAX_PARALLELISM: u32 = 1000;
/// Longest suite name: with the run id and the step number the object
/// names stay within 51 characters, so the operator's job names
/// (`<name>-initializer`, `<name>-starter`, `<name>-<i>`) stay within the
/// 63 of a label value.
pub const MAX_SUITE_CHARS: usize = 20;
/// Longest run id (see [`MAX_SUITE_CHARS`]).
pub const MAX_RUN_ID_CHARS: usize = 20;
/// Longest namespace: a DNS-1123 label.
const MAX_NAMESPACE_CHARS: usize = 63;
/// Longest image reference accepted.
const MAX_IMAGE_CHARS: usize = 255;
/// Longest resource quantity accepted.
const MAX_QUANTITY_CHARS: usize = 32;
/// Longest label value Kubernetes accepts.
pub const MAX_LABEL_CHARS: usize = 63;

/// Every settings field that breaks its rule.
pub fn settings_errors(settings: &ExportSettings) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if !(1..=MAX_PARALLELISM).contains(&settings.parallelism) {
        errors.push(error(
            "parallelism",
            ErrorCode::OutOfRange,
            format!(
                "parallelism must be between 1 and {MAX_PARALLELISM} runner pods, got {}",
                settings.parallelism
            ),
        ));
    }
    if let Some(namespace) = &settings.namespace
        && !is_dns_label(namespace, MAX_NAMESPACE_CHARS)
    {
        errors.push(error(
            "namespace",
            ErrorCode::BadArgument,
            format!(
                "namespace {} is not a Kubernetes namespace name: at most \
                 {MAX_NAMESPACE_CHARS} of a-z, 0-9 and -, starting and ending with a letter or digit",
                quoted(namespace)
            ),
        ));
    }
    if let Some(image) = &settings.runner_image
        && !is_image(image)
    {
        errors.push(error(
            "runnerImage",
            ErrorCode::BadArgument,
            format!(
                "runnerImage {} is not an image reference: 1 to {MAX_IMAGE_CHARS} of A-Z, a-z, \
                 0-9 and . _ : / @ -, not starting with -",
                quoted(image)
            ),
        ));
    }
    for (field, value, example) in [
        ("runnerCpu", &settings.runner_cpu, "500m or 2"),
        ("runnerMemory", &settings.runner_memory, "512Mi or 2Gi"),
    ] {
        if let Some(value) = value
            && !is_quantity(value)
        {
            errors.push(error(
                field,
                ErrorCode::BadArgument,
                format!(
                    "{field} {} is not a positive Kubernetes quantity (such as {example})",
                    quoted(value)
                ),
            ));
        }
    }
    if !is_suite(&settings.suite) {
        errors.push(error(
            "suite",
            ErrorCode::BadArgument,
            format!(
                "suite {} must be 1 to {MAX_SUITE_CHARS} of a-z, 0-9 and -, starting with a \
                 letter and not ending with - (it is part of every object's name)",
                quoted(&settings.suite)
            ),
        ));
    }
    if !is_run_id(&settings.run_id) {
        errors.push(error(
            "runId",
            ErrorCode::BadArgument,
            format!(
                "runId {} must be 1 to {MAX_RUN_ID_CHARS} of A-Z, a-z, 0-9 and -, starting and \
                 ending with a letter or digit (it is part of every object's name)",
                quoted(&settings.run_id)
            ),
        ));
    }
    errors
}

pub(super) fn error(field: &str, code: ErrorCode, message: String) -> FieldError {
    FieldError {
        field: field.to_owned(),
        code,
        message,
    }
}

/// A DNS-1123 label of at most `max` characters.
fn is_dns_label(text: &str, max: usize) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= max
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

fn is_suite(text: &str) -> bool {
    is_dns_label(text, MAX_SUITE_CHARS) && text.as_bytes()[0].is_ascii_lowercase()
}

fn is_run_id(text: &str) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_RUN_ID_CHARS
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

fn is_image(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_IMAGE_CHARS
        && !text.starts_with('-')
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".:_/@-".contains(&b))
}

/// A positive decimal with an optional Kubernetes suffix (`m`, `k`, `M` …
/// `E`, `Ki` … `Ei`): the subset of Kubernetes' quantity syntax a person
/// writes for CPU and memory (no signs, no exponents).
fn is_quantity(text: &str) -> bool {
    if text.is_empty() || text.len() > MAX_QUANTITY_CHARS {
        return false;
    }
    let digits_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(digits_end);
    let well_formed = match number.split_once('.') {
        Some((whole, fraction)) => {
            !whole.is_empty() && !fraction.is_empty() && !fraction.contains('.')
        }
        None => !number.is_empty(),
    };
    let positive = number.bytes().any(|b| (b'1'..=b'9').contains(&b));
    let suffixes = [
        "", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei",
    ];
    well_formed && positive && suffixes.contains(&suffix)
}

/// An argument that survives the operator: it splits `spec.arguments` at
/// whitespace (`strings.Fields`) and its initializer joins them into a
/// `sh -c` line, so only characters no shell treats specially are safe.
pub fn is_safe_argument(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.,:=+/@%-".contains(&b))
}

/// `text` as a label value: characters outside `A-Z a-z 0-9 - _ .` become
/// `_`, cut to [`MAX_LABEL_CHARS`], without a leading or trailing
/// non-alphanumeric character.
pub fn label_value(text: &str) -> String {
    let mapped: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(MAX_LABEL_CHARS)
        .collect();
    mapped
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_the_ones_people_write() {
        for good in ["500m", "2", "1.5", "512Mi", "2Gi", "100k", "0.5"] {
            assert!(is_quantity(good), "{good}");
        }
        for bad in [
            "", "0", "0m", "-1", "1.", ".5", "2 Gi", "2GB", "1e3", "1..2", "m",
        ] {
            assert!(!is_quantity(bad), "{bad}");
        }
    }

    #[test]
    fn names_follow_kubernetes() {
        assert!(is_dns_label("load-tests", 63));
        for bad in ["", "Load", "-a", "a-", "a_b", "a.b", &"a".repeat(64)] {
            assert!(!is_dns_label(bad, 63), "{bad}");
        }
        assert!(is_suite("checkout2") && !is_suite("2checkout"));
        assert!(is_run_id("20261203T062500Z") && is_run_id("20261203T062500Z-2"));
        assert!(!is_run_id("a_b") && !is_run_id(&"1".repeat(21)));
    }

    #[test]
    fn only_shell_inert_arguments_are_safe() {
        assert!(is_safe_argument("--stage") && is_safe_argument("5s:10,15s:10"));
        assert!(is_safe_argument("BASE_URL=http://127.0.0.1:18080/a%20b"));
        for bad in ["", "a b", "a\tb", "$(id)", "p(99)", "a;b", "'x'", "a*"] {
            assert!(!is_safe_argument(bad), "{bad}");
        }
    }

    #[test]
    fn label_values_are_cut_and_trimmed() {
        assert_eq!(label_value("api/browse.js"), "api_browse.js");
        assert_eq!(label_value("_x_"), "x");
        assert_eq!(label_value(&"a".repeat(70)).len(), MAX_LABEL_CHARS);
    }
}
