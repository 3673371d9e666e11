//! Who may do what: bearer tokens with two roles, compared in constant
//! time, never logged.
//!
//! Tokens come from a file (`--tokens-file`) or the environment
//! (`K6_RUNNER_TOKENS`), one per line or comma-separated entry, as
//! `name:role:secret` — for example `ci:viewer:Zm9v…` or
//! `alice:operator:…`. Lines starting with `#` are comments.

use std::fmt;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Shortest secret accepted: a guessable token is no token.
pub const MIN_SECRET_BYTES: usize = 16;

/// What a caller may do.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, utoipa::ToSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    /// Read: GET endpoints and the WebSocket.
    Viewer,
    /// Read and control: config changes, start, stop, the audit log.
    Operator,
}

impl Role {
    /// The role's name as written in token files.
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
        }
    }
}

/// A caller the auth let in.
#[derive(Clone, PartialEq, Eq)]
pub struct Identity {
    /// The token's name (the actor in the audit log); never the secret.
    pub name: String,
    /// Its role.
    pub role: Role,
}

impl Identity {
    /// An identity a host vouches for (its own auth already ran).
    pub fn new(name: impl Into<String>, role: Role) -> Self {
        Self {
            name: name.into(),
            role,
        }
    }

    /// Whether this identity may do what `needed` allows.
    pub fn may(&self, needed: Role) -> bool {
        self.role >= needed
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.role.name())
    }
}

/// Why a token list could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// A line is not `name:role:secret`.
    #[error("{source_name} entry {entry}: expected name:role:secret")]
    Shape {
        /// File or variable.
        source_name: String,
        /// 1-based entry number.
        entry: usize,
    },
    /// The role is neither `viewer` nor `operator`.
    #[error("{source_name} entry {entry}: role {role:?} is not viewer or operator")]
    Role {
        /// File or variable.
        source_name: String,
        /// 1-based entry number.
        entry: usize,
        /// The role given.
        role: String,
    },
    /// The secret is too short.
    #[error(
        "{source_name} entry {entry} ({name}): the secret must be at least {MIN_SECRET_BYTES} bytes"
    )]
    Weak {
        /// File or variable.
        source_name: String,
        /// 1-based entry number.
        entry: usize,
        /// The token's name.
        name: String,
    },
    /// Two tokens have the same name.
    #[error("{source_name}: the token name {name:?} is used twice")]
    DuplicateName {
        /// File or variable.
        source_name: String,
        /// The name.
        name: String,
    },
    /// Tokens were asked for, but none is given: serving would leave the
    /// API open (or shut to everyone) when the operator meant to protect it.
    #[error(
        "{source_name} holds no token; give at least one `name:role:secret` entry \
         (or no tokens option at all to serve without auth on a loopback address)"
    )]
    Empty {
        /// File or variable.
        source_name: String,
    },
    /// The file could not be read.
    #[error("cannot read the tokens file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

struct Entry {
    name: String,
    role: Role,
    digest: [u8; 32],
}

/// The configured tokens. Secrets are kept only as SHA-256 digests, so
/// comparing is constant-time whatever the presented length.
#[derive(Clone)]
pub struct Tokens {
    entries: Arc<Vec<Entry>>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|e| (&e.name, e.role)))
            .finish()
    }
}

impl Tokens {
    /// Reads `name:role:secret` entries separated by newlines or commas.
    /// `source_name` names the file or variable in errors.
    pub fn parse(text: &str, source_name: &str) -> Result<Self, TokenError> {
        let mut entries: Vec<Entry> = Vec::new();
        let items = text
            .split(['\n', ','])
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'));
        for (index, item) in items.enumerate() {
            let entry = index + 1;
            let source_name = source_name.to_owned();
            let mut parts = item.splitn(3, ':');
            let (Some(name), Some(role), Some(secret)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(TokenError::Shape { source_name, entry });
            };
            let (name, role) = (name.trim(), role.trim());
            if name.is_empty() || secret.is_empty() {
                return Err(TokenError::Shape { source_name, entry });
            }
            let role = match role {
                "viewer" => Role::Viewer,
                "operator" => Role::Operator,
                other => {
                    return Err(TokenError::Role {
                        source_name,
                        entry,
                        role: other.to_owned(),
                    });
                }
            };
            if secret.len() < MIN_SECRET_BYTES {
                return Err(TokenError::Weak {
                    source_name,
                    entry,
                    name: name.to_owned(),
                });
            }
            if entries.iter().any(|e| e.name == name) {
                return Err(TokenError::DuplicateName {
                    source_name,
                    name: name.to_owned(),
                });
            }
            entries.push(Entry {
                name: name.to_owned(),
                role,
                digest: Sha256::digest(secret.as_bytes()).into(),
            });
        }
        if entries.is_empty() {
            return Err(TokenError::Empty {
                source_name: source_name.to_owned(),
            });
        }
        Ok(Self {
            entries: Arc::new(entries),
        })
    }

    /// Reads a tokens file.
    pub fn from_file(path: &std::path::Path) -> Result<Self, TokenError> {
        let text = std::fs::read_to_string(path).map_err(|source| TokenError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// The identity whose secret is `presented`, if any. Every entry is
    /// compared, in constant time, whether or not an earlier one matched.
    pub fn identify(&self, presented: &str) -> Option<Identity> {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = None;
        for entry in self.entries.iter() {
            if bool::from(entry.digest.ct_eq(&digest)) {
                found = Some(Identity::new(entry.name.clone(), entry.role));
            }
        }
        found
    }
}

/// True for addresses only this machine can reach.
pub fn is_loopback(addr: &std::net::SocketAddr) -> bool {
    addr.ip().is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET_A: &str = "aaaaaaaaaaaaaaaaaaaa";
    const SECRET_B: &str = "bbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn tokens_are_read_from_lines_or_commas_and_identify_their_holder() {
        let tokens = Tokens::parse(
            &format!("# team\nalice:operator:{SECRET_A}\n\nci:viewer:{SECRET_B}"),
            "file",
        )
        .unwrap();
        assert_eq!(
            tokens.identify(SECRET_A),
            Some(Identity::new("alice", Role::Operator))
        );
        assert_eq!(
            tokens.identify(SECRET_B),
            Some(Identity::new("ci", Role::Viewer))
        );
        assert_eq!(tokens.identify("nope"), None);
        assert_eq!(tokens.identify(""), None);
        let env = Tokens::parse(
            &format!("alice:operator:{SECRET_A},ci:viewer:{SECRET_B}"),
            "env",
        )
        .unwrap();
        assert_eq!(env.identify(SECRET_B).unwrap().role, Role::Viewer);
    }

    #[test]
    fn secrets_may_contain_colons() {
        let tokens = Tokens::parse("svc:operator:abc:def:ghi:jkl:mnop", "env").unwrap();
        assert_eq!(tokens.identify("abc:def:ghi:jkl:mnop").unwrap().name, "svc");
    }

    #[test]
    fn bad_entries_are_refused_with_their_place() {
        assert!(matches!(
            Tokens::parse("alice", "f"),
            Err(TokenError::Shape { entry: 1, .. })
        ));
        assert!(matches!(
            Tokens::parse(&format!("a:admin:{SECRET_A}"), "f"),
            Err(TokenError::Role { .. })
        ));
        assert!(matches!(
            Tokens::parse("a:viewer:short", "f"),
            Err(TokenError::Weak { .. })
        ));
        let twice = format!("a:viewer:{SECRET_A}\na:operator:{SECRET_B}");
        assert!(matches!(
            Tokens::parse(&twice, "f"),
            Err(TokenError::DuplicateName { .. })
        ));
        // A file of comments only (every token revoked) must not open the
        // API: it is refused like any other bad tokens file.
        for empty in ["", "# all revoked\n\n", " , ,"] {
            let refused = Tokens::parse(empty, "tokens.txt").unwrap_err();
            assert!(matches!(refused, TokenError::Empty { .. }), "{empty:?}");
            assert!(refused.to_string().starts_with("tokens.txt holds no token"));
        }
    }

    #[test]
    fn operators_may_view_viewers_may_not_operate() {
        assert!(Identity::new("o", Role::Operator).may(Role::Viewer));
        assert!(!Identity::new("v", Role::Viewer).may(Role::Operator));
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let tokens = Tokens::parse(&format!("alice:operator:{SECRET_A}"), "f").unwrap();
        let shown = format!("{tokens:?} {:?}", tokens.identify(SECRET_A).unwrap());
        assert!(!shown.contains(SECRET_A), "{shown}");
    }
}
