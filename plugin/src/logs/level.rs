//! k6's log levels, as logrus names them in both log formats.

use crate::types::LogLevel;

/// The level a logrus level name stands for; `None` for an unknown name, so
/// a line with one is not taken for a log line.
pub(crate) fn level_of(name: &str) -> Option<LogLevel> {
    const LEVELS: [(&str, LogLevel); 8] = [
        ("trace", LogLevel::Debug),
        ("debug", LogLevel::Debug),
        ("info", LogLevel::Info),
        ("warn", LogLevel::Warning),
        ("warning", LogLevel::Warning),
        ("error", LogLevel::Error),
        ("fatal", LogLevel::Error),
        ("panic", LogLevel::Error),
    ];
    LEVELS
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(name))
        .map(|(_, level)| *level)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_logrus_level_maps_to_its_severity() {
        assert_eq!(level_of("trace"), Some(LogLevel::Debug));
        assert_eq!(level_of("debug"), Some(LogLevel::Debug));
        assert_eq!(level_of("info"), Some(LogLevel::Info));
        assert_eq!(level_of("warn"), Some(LogLevel::Warning));
        assert_eq!(level_of("warning"), Some(LogLevel::Warning));
        assert_eq!(level_of("error"), Some(LogLevel::Error));
        assert_eq!(level_of("fatal"), Some(LogLevel::Error));
        assert_eq!(level_of("panic"), Some(LogLevel::Error));
        assert_eq!(level_of("ERROR"), Some(LogLevel::Error));
        assert_eq!(level_of("notice"), None);
        assert_eq!(level_of(""), None);
    }
}
