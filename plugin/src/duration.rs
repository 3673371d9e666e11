//! The `1h30m` duration syntax.
