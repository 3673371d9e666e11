//! When a schedule fires: its cron pattern read by `croner` in its IANA
//! time zone (`chrono-tz`).

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

use crate::model::{ErrorCode, FieldErrorBody};

/// A schedule's pattern and zone, parsed: the times it fires at.
#[derive(Debug, Clone)]
pub struct Timing {
    cron: Cron,
    zone: Tz,
}

impl Timing {
    /// Parses `cron` (5 fields, or 6 with seconds first; no year field)
    /// and `timezone` (an IANA name such as `Europe/Berlin`). Each problem
    /// is a field error naming `cron` or `timezone`.
    pub fn parse(cron: &str, timezone: &str) -> Result<Self, Vec<FieldErrorBody>> {
        let mut errors = Vec::new();
        // A 7th (year) field is croner's extension; the API promises 5 or
        // 6 fields, so it is refused rather than half-supported.
        let parser = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .build();
        let parsed = parser.parse(cron).map_err(|error| {
            errors.push(FieldErrorBody {
                field: "cron".into(),
                code: ErrorCode::BadCron,
                message: format!(
                    "{cron:?} is not a cron pattern of 5 fields (minute hour day month weekday) \
                     or 6 (seconds first): {error}"
                ),
            })
        });
        let zone = timezone.parse::<Tz>().map_err(|_| {
            errors.push(FieldErrorBody {
                field: "timezone".into(),
                code: ErrorCode::UnknownTimeZone,
                message: format!(
                    "{timezone:?} is not an IANA time zone name (such as UTC or Europe/Berlin)"
                ),
            })
        });
        match (parsed, zone) {
            (Ok(cron), Ok(zone)) => Ok(Self { cron, zone }),
            _ => Err(errors),
        }
    }

    /// The first fire strictly after `after`, if the pattern ever matches
    /// again (`0 0 30 2 *` never does).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .find_next_occurrence(&after.with_timezone(&self.zone), false)
            .ok()
            .map(|at| at.with_timezone(&Utc))
    }

    /// The next `count` fires after `after`.
    pub fn upcoming(&self, after: DateTime<Utc>, count: usize) -> Vec<DateTime<Utc>> {
        std::iter::successors(self.next_after(after), |at| self.next_after(*at))
            .take(count)
            .collect()
    }

    /// `at` as RFC 3339 in the schedule's zone (`2026-12-05T09:00:00+01:00`).
    pub fn local(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.zone)
            .to_rfc3339_opts(SecondsFormat::Secs, false)
    }
}

/// `at` as RFC 3339 in UTC, to the second (`2026-12-05T08:00:00Z`), the
/// form run records use.
pub fn utc_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn five_and_six_fields_in_a_time_zone() {
        let berlin = Timing::parse("0 9 * * *", "Europe/Berlin").unwrap();
        // 09:00 in Berlin is 08:00 UTC in winter, 07:00 in summer.
        assert_eq!(
            berlin.next_after(at("2026-12-04T12:00:00Z")),
            Some(at("2026-12-05T08:00:00Z"))
        );
        assert_eq!(
            berlin.next_after(at("2026-07-01T12:00:00Z")),
            Some(at("2026-07-02T07:00:00Z"))
        );
        assert_eq!(
            berlin.local(at("2026-12-05T08:00:00Z")),
            "2026-12-05T09:00:00+01:00"
        );
        let seconds = Timing::parse("*/3 * * * * *", "UTC").unwrap();
        assert_eq!(
            seconds.upcoming(at("2026-12-04T12:00:01Z"), 3),
            [
                at("2026-12-04T12:00:03Z"),
                at("2026-12-04T12:00:06Z"),
                at("2026-12-04T12:00:09Z")
            ]
        );
        assert_eq!(utc_text(at("2026-12-04T12:00:03Z")), "2026-12-04T12:00:03Z");
    }

    #[test]
    fn bad_patterns_and_zones_name_their_field() {
        for bad in ["", "* * * *", "61 * * * *", "0 0 * * * * 2027", "banana"] {
            let errors = Timing::parse(bad, "UTC").unwrap_err();
            assert_eq!(errors.len(), 1, "{bad:?}");
            assert_eq!(
                (errors[0].field.as_str(), errors[0].code),
                ("cron", ErrorCode::BadCron)
            );
        }
        let both = Timing::parse("nope", "Mars/Olympus").unwrap_err();
        let fields: Vec<_> = both.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            fields,
            [
                ("cron", ErrorCode::BadCron),
                ("timezone", ErrorCode::UnknownTimeZone)
            ]
        );
    }

    #[test]
    fn a_pattern_that_never_matches_has_no_next_fire() {
        let never = Timing::parse("0 0 30 2 *", "UTC").unwrap();
        assert_eq!(never.next_after(at("2026-12-04T12:00:00Z")), None);
    }
}
