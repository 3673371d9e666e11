//! Script-name rules and the catalogue of runnable scripts.
//!
//! A script name is a path relative to one of the operator's script folders
//! (`smoke.js`, `legacy/overall-1.sh`). The host resolves it inside those
//! folders and checks the result again, but the name alone must already be
//! harmless: it reaches a command line, a shell script and log lines. So it
//! is plain and short:
//!
//! - not empty, at most `policy.max-script-name-bytes` bytes;
//! - only ASCII letters, digits, `.`, `_`, `-`, and `/` between folders —
//!   no space, control character, shell metacharacter, backslash or
//!   non-ASCII character (which could hide a look-alike or a right-to-left
//!   override);
//! - relative: no leading `/`, no empty part (`a//b`), no trailing `/`, no
//!   `.` or `..` part, no part starting with `.` (hidden files) or `-` (it
//!   would be read as a command-line option);
//! - ending in a suffix that `policy.allowed-suffixes` lists **and** the core
//!   can run: `.js`, `.mjs` and `.ts` run with `k6 run` (k6 1.x strips
//!   TypeScript types itself, for the lower-case `.ts` suffix only), `.sh`
//!   is a legacy wrapper run with `bash`. Any other suffix is refused even
//!   if the policy lists it.
//!
//! Names are compared byte for byte, so `Smoke.JS` is not `smoke.js`.

use thiserror::Error;

use crate::inspect;
use crate::types::{CatalogueEntry, Policy, ScriptFile, ScriptKind};

/// The suffixes the core knows how to run. A policy can narrow this list,
/// never widen it.
pub const RUNNABLE_SUFFIXES: [(&str, ScriptKind); 4] = [
    (".js", ScriptKind::K6Script),
    (".mjs", ScriptKind::K6Script),
    (".ts", ScriptKind::K6Script),
    (".sh", ScriptKind::LegacyWrapper),
];

/// ASCII characters with a meaning to a POSIX shell. They get their own
/// message because they are the usual sign of an injection attempt.
const SHELL_METACHARACTERS: &str = "|&;<>()$`\"'*?[]{}#~=%!^";

/// Why a script name was refused. Each message completes a sentence that
/// starts with the name (`"a b.js" contains a space`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NameError {
    /// The name is empty.
    #[error("is empty; give the script's path relative to its folder, such as smoke.js")]
    Empty,
    /// Longer than `policy.max-script-name-bytes`.
    #[error("is {bytes} bytes long; the policy allows at most {max}")]
    TooLong {
        /// Length of the name in bytes.
        bytes: usize,
        /// The policy's limit.
        max: u32,
    },
    /// A control character (newline, tab, NUL, escape, …).
    #[error("contains a control character (U+{:04X})", u32::from(*.0))]
    ControlChar(char),
    /// A space.
    #[error("contains a space")]
    Space,
    /// A backslash.
    #[error("contains a backslash; separate folders with '/'")]
    Backslash,
    /// One of [`SHELL_METACHARACTERS`].
    #[error("contains '{0}', a shell metacharacter")]
    ShellMetacharacter(char),
    /// Any other ASCII character outside letters, digits, `.`, `_`, `-`, `/`.
    #[error("contains '{0}'; a name may hold only ASCII letters, digits, '.', '_', '-' and '/'")]
    OtherChar(char),
    /// A character beyond ASCII. Letters are shown; anything else (format
    /// characters, look-alike punctuation) only by code point, so it cannot
    /// disturb the message.
    #[error("contains the non-ASCII character {}", non_ascii(*.0))]
    NonAscii(char),
    /// Starts with `/`.
    #[error("is absolute; give the path relative to its script folder")]
    Absolute,
    /// Ends with `/`.
    #[error("ends with '/', which names a folder, not a script")]
    TrailingSlash,
    /// `a//b`.
    #[error("has an empty folder name ('//')")]
    EmptySegment,
    /// A `..` part.
    #[error("climbs out of its directory with '..'")]
    ClimbsOut,
    /// A `.` part (`./x.js`).
    #[error("has a '.' part ('./'); write the path without it")]
    CurrentDir,
    /// A part starting with `.` other than `.`/`..`: a hidden file or folder.
    #[error("has a part starting with '.' ('{0}'), a hidden file or folder")]
    Hidden(String),
    /// The name itself starts with `-`.
    #[error("starts with '-' (it would be read as a command-line option)")]
    LeadingDash,
    /// A later part starts with `-`.
    #[error("has a part starting with '-' ('{0}'), which would be read as a command-line option")]
    DashPart(String),
    /// No suffix at all.
    #[error("has no suffix; {}", allowed_list(.allowed))]
    NoSuffix {
        /// The suffixes that would be accepted.
        allowed: Vec<String>,
    },
    /// A suffix the policy does not list, or one the core cannot run.
    #[error("has the suffix '{suffix}', which is not allowed; {}", allowed_list(.allowed))]
    SuffixNotAllowed {
        /// The name's suffix, with its dot.
        suffix: String,
        /// The suffixes that would be accepted.
        allowed: Vec<String>,
    },
}

impl NameError {
    /// True when the name is fine except for its suffix (reported as
    /// `suffix-not-allowed` rather than `bad-script-name`).
    pub fn is_suffix(&self) -> bool {
        matches!(self, Self::NoSuffix { .. } | Self::SuffixNotAllowed { .. })
    }
}

/// `'é' (U+00E9)` for a letter or digit, `U+202E` for anything else.
fn non_ascii(c: char) -> String {
    if c.is_alphanumeric() {
        format!("'{c}' (U+{:04X})", u32::from(c))
    } else {
        format!("U+{:04X}", u32::from(c))
    }
}

/// "allowed: .js, .sh" or a note that nothing is.
fn allowed_list(allowed: &[String]) -> String {
    if allowed.is_empty() {
        "the policy allows no suffix the core can run".to_owned()
    } else {
        format!("allowed: {}", allowed.join(", "))
    }
}

/// The suffixes both the policy lists and the core can run, in policy order.
fn allowed_suffixes(policy: &Policy) -> Vec<String> {
    let mut allowed: Vec<String> = Vec::new();
    for suffix in &policy.allowed_suffixes {
        let runnable = RUNNABLE_SUFFIXES.iter().any(|(s, _)| s == suffix);
        if runnable && !allowed.contains(suffix) {
            allowed.push(suffix.clone());
        }
    }
    allowed
}

/// Checks a script name against every rule and tells how it would run.
///
/// # Errors
///
/// The first broken rule, checking in this order: empty, length, each
/// character from the left, the shape of the path from the left, the suffix.
/// Characters come before shape so that a message quoting a part of the
/// path only ever quotes harmless characters.
pub fn check_name(name: &str, policy: &Policy) -> Result<ScriptKind, NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    let too_long =
        u32::try_from(name.len()).map_or(true, |bytes| bytes > policy.max_script_name_bytes);
    if too_long {
        return Err(NameError::TooLong {
            bytes: name.len(),
            max: policy.max_script_name_bytes,
        });
    }
    if let Some(error) = name.chars().find_map(char_error) {
        return Err(error);
    }

    if name.starts_with('/') {
        return Err(NameError::Absolute);
    }
    if name.ends_with('/') {
        return Err(NameError::TrailingSlash);
    }
    for (position, part) in name.split('/').enumerate() {
        match part {
            "" => return Err(NameError::EmptySegment),
            ".." => return Err(NameError::ClimbsOut),
            "." => return Err(NameError::CurrentDir),
            _ if part.starts_with('.') => return Err(NameError::Hidden(part.to_owned())),
            _ if part.starts_with('-') && position == 0 => return Err(NameError::LeadingDash),
            _ if part.starts_with('-') => return Err(NameError::DashPart(part.to_owned())),
            _ => {}
        }
    }

    // The last part is neither empty nor hidden here, so a dot in it starts
    // a real suffix.
    let file = name.rsplit('/').next().unwrap_or(name);
    let allowed = allowed_suffixes(policy);
    let Some(dot) = file.rfind('.') else {
        return Err(NameError::NoSuffix { allowed });
    };
    let suffix = &file[dot..];
    match RUNNABLE_SUFFIXES.iter().find(|(s, _)| *s == suffix) {
        Some((_, kind)) if allowed.iter().any(|a| a == suffix) => Ok(*kind),
        _ => Err(NameError::SuffixNotAllowed {
            suffix: suffix.to_owned(),
            allowed,
        }),
    }
}

/// The rule a single character breaks, if any.
fn char_error(c: char) -> Option<NameError> {
    match c {
        'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '_' | '-' | '/' => None,
        ' ' => Some(NameError::Space),
        '\\' => Some(NameError::Backslash),
        _ if c.is_control() => Some(NameError::ControlChar(c)),
        _ if !c.is_ascii() => Some(NameError::NonAscii(c)),
        _ if SHELL_METACHARACTERS.contains(c) => Some(NameError::ShellMetacharacter(c)),
        _ => Some(NameError::OtherChar(c)),
    }
}

/// Which files may be offered as scripts (see `config.catalogue`): those
/// whose name passes [`check_name`], with the kind their suffix gives and,
/// for k6 scripts, what their inspection says ([`inspect::facts`]), sorted
/// by name (byte order); of two files with the same name, the first in
/// `files` is kept.
pub fn catalogue(files: Vec<ScriptFile>, policy: &Policy) -> Vec<CatalogueEntry> {
    let mut entries: Vec<CatalogueEntry> = files
        .into_iter()
        .filter_map(|file| {
            let kind = check_name(&file.name, policy).ok()?;
            let test = match kind {
                ScriptKind::K6Script => file.inspection.as_ref().map(inspect::facts),
                ScriptKind::LegacyWrapper => None,
            };
            Some(CatalogueEntry {
                name: file.name,
                path: file.path,
                root: file.root,
                kind,
                test,
            })
        })
        .collect();
    // A stable sort keeps equal names in input order, so `dedup_by` keeps
    // the first occurrence.
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    entries.dedup_by(|later, earlier| later.name == earlier.name);
    entries
}
