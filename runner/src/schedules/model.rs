//! What a schedule is, as the API reads and shows it, and what each fire
//! left behind.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::timing::{Timing, utc_text};
use crate::model::{ErrorCode, FieldErrorBody};

/// Longest schedule name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest cron pattern, in bytes (a real one is a few dozen).
pub const MAX_CRON_BYTES: usize = 200;
/// How many next fires a schedule shows.
pub const NEXT_FIRES: usize = 5;

/// The body of `POST /schedules` and `PUT /schedules/{id}` (a PUT
/// replaces the whole schedule: an absent field takes its default).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScheduleInput {
    /// A name for people; none by default.
    #[serde(default)]
    pub name: Option<String>,
    /// 5 fields (`minute hour day month weekday`), or 6 with seconds
    /// first.
    pub cron: String,
    /// The IANA zone the pattern is read in; `UTC` by default.
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Whether it fires; true by default.
    #[serde(default = "default_enabled")]
    pub enabled: bool,
}

fn default_timezone() -> String {
    "UTC".to_owned()
}

fn default_enabled() -> bool {
    true
}

/// A schedule input that passed every check, ready to be stored.
#[derive(Debug, Clone)]
pub struct CheckedInput {
    /// Its name, trimmed (a blank name is none).
    pub name: Option<String>,
    /// Its pattern, trimmed.
    pub cron: String,
    /// Its zone.
    pub timezone: String,
    /// Whether it fires.
    pub enabled: bool,
}

impl ScheduleInput {
    /// Reads a request body: one JSON object of this shape, each problem
    /// (syntax, not an object, an unknown or missing field, a wrong type)
    /// a field error.
    pub fn from_json(body: &[u8]) -> Result<Self, Vec<FieldErrorBody>> {
        let refused = |field: &str, code, message: String| {
            vec![FieldErrorBody {
                field: field.to_owned(),
                code,
                message,
            }]
        };
        let value: serde_json::Value = serde_json::from_slice(body).map_err(|error| {
            refused(
                "",
                ErrorCode::MalformedJson,
                format!("the body is not JSON: {error}"),
            )
        })?;
        // Checked first: serde would read `["* * * * *"]` as a schedule.
        if !value.is_object() {
            return Err(refused(
                "",
                ErrorCode::NotAnObject,
                "the body must be a JSON object".into(),
            ));
        }
        serde_path_to_error::deserialize(value).map_err(|error| vec![body_error(&error)])
    }

    /// Checks the pattern, the zone and the name; the errors name each
    /// field that is wrong and why.
    pub fn check(self) -> Result<CheckedInput, Vec<FieldErrorBody>> {
        let cron = self.cron.trim().to_owned();
        let mut errors = Vec::new();
        if cron.len() > MAX_CRON_BYTES {
            errors.push(FieldErrorBody {
                field: "cron".into(),
                code: ErrorCode::TooLarge,
                message: format!("the pattern is longer than {MAX_CRON_BYTES} bytes"),
            });
        } else {
            match Timing::parse(&cron, &self.timezone) {
                Err(mut problems) => errors.append(&mut problems),
                Ok(timing) if timing.next_after(Utc::now()).is_none() => {
                    errors.push(FieldErrorBody {
                        field: "cron".into(),
                        code: ErrorCode::BadCron,
                        message: format!("{cron:?} never matches a date to come"),
                    });
                }
                Ok(_) => {}
            }
        }
        let name = self
            .name
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty());
        if name
            .as_ref()
            .is_some_and(|name| name.chars().count() > MAX_NAME_CHARS)
        {
            errors.push(FieldErrorBody {
                field: "name".into(),
                code: ErrorCode::TooLarge,
                message: format!("the name is longer than {MAX_NAME_CHARS} characters"),
            });
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(CheckedInput {
            name,
            cron,
            timezone: self.timezone,
            enabled: self.enabled,
        })
    }
}

/// An object serde refused, as the field error that says where and why.
fn body_error(error: &serde_path_to_error::Error<serde_json::Error>) -> FieldErrorBody {
    let text = error.inner().to_string();
    // serde names an unknown or missing field only in its message.
    let quoted = || text.split('`').nth(1).unwrap_or_default().to_owned();
    let (field, code) = if text.starts_with("unknown field") {
        (quoted(), ErrorCode::UnknownField)
    } else if text.starts_with("missing field") {
        (quoted(), ErrorCode::MissingField)
    } else {
        (error.path().to_string(), ErrorCode::WrongType)
    };
    FieldErrorBody {
        field,
        code,
        message: text,
    }
}

/// A stored schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    /// Its id (never reused after a delete).
    pub id: u64,
    /// Its name, if it has one.
    pub name: Option<String>,
    /// Its cron pattern.
    pub cron: String,
    /// The IANA zone the pattern is read in.
    pub timezone: String,
    /// Whether it fires.
    pub enabled: bool,
    /// When it was created (RFC 3339, UTC).
    pub created_at: String,
    /// When it was last changed (RFC 3339, UTC).
    pub updated_at: String,
}

impl Schedule {
    /// Its parsed timing; `None` for a stored pattern or zone this runner
    /// cannot read (one a newer time zone database had, say).
    pub fn timing(&self) -> Option<Timing> {
        Timing::parse(&self.cron, &self.timezone).ok()
    }
}

/// How a fire went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum FireOutcome {
    /// A run was started.
    Started,
    /// Not started, by rule (a run was in progress).
    Skipped,
    /// The start failed (an invalid config, k6 missing, storage).
    Failed,
}

impl FireOutcome {
    /// Its name, in the database and the metric's `outcome` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
        }
    }

    /// The outcome named `name` (the database's text).
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Started, Self::Skipped, Self::Failed]
            .into_iter()
            .find(|outcome| outcome.as_str() == name)
    }
}

/// A fire about to be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFire {
    /// The schedule.
    pub schedule: u64,
    /// The time the pattern named (RFC 3339, UTC).
    pub due_at: String,
    /// When the scheduler acted on it (RFC 3339, UTC).
    pub fired_at: String,
    /// How it went.
    pub outcome: FireOutcome,
    /// The run it started.
    pub run_id: Option<String>,
    /// Why it was skipped or failed.
    pub reason: Option<String>,
}

/// A recorded fire (`GET /schedules/{id}/fires`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Fire {
    /// Its id (newer fires have larger ones).
    pub id: u64,
    /// The schedule.
    pub schedule: u64,
    /// The time the pattern named (RFC 3339, UTC).
    pub due_at: String,
    /// When the scheduler acted on it (RFC 3339, UTC).
    pub fired_at: String,
    /// How it went.
    pub outcome: FireOutcome,
    /// The run it started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Why it was skipped or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One coming fire, in UTC and in the schedule's zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NextFire {
    /// RFC 3339, UTC (`2026-12-05T08:00:00Z`).
    pub at: String,
    /// RFC 3339 in the schedule's zone (`2026-12-05T09:00:00+01:00`).
    pub local: String,
}

/// A schedule as the API shows it: the stored fields, its next fires
/// (none while disabled) and its newest fire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleView {
    /// The stored schedule.
    #[serde(flatten)]
    pub schedule: Schedule,
    /// The next [`NEXT_FIRES`] fires from now; empty while disabled.
    pub next_fires: Vec<NextFire>,
    /// The newest fire, if it has fired.
    pub last_fire: Option<Fire>,
}

impl ScheduleView {
    /// `schedule` seen at `now`, with its newest fire.
    pub fn new(schedule: Schedule, last_fire: Option<Fire>, now: DateTime<Utc>) -> Self {
        let next_fires = match schedule.timing().filter(|_| schedule.enabled) {
            Some(timing) => timing
                .upcoming(now, NEXT_FIRES)
                .into_iter()
                .map(|at| NextFire {
                    at: utc_text(at),
                    local: timing.local(at),
                })
                .collect(),
            None => Vec::new(),
        };
        Self {
            schedule,
            next_fires,
            last_fire,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(body: &str) -> Vec<(String, ErrorCode)> {
        let errors = match ScheduleInput::from_json(body.as_bytes()) {
            Ok(input) => input.check().unwrap_err(),
            Err(errors) => errors,
        };
        errors.into_iter().map(|e| (e.field, e.code)).collect()
    }

    #[test]
    fn bodies_take_defaults_and_refuse_what_they_do_not_know() {
        let input = ScheduleInput::from_json(br#"{"cron": " 0 9 * * 1-5 ", "name": "  "}"#)
            .unwrap()
            .check()
            .unwrap();
        assert_eq!(
            (input.name, input.cron.as_str(), input.timezone.as_str()),
            (None, "0 9 * * 1-5", "UTC")
        );
        assert!(input.enabled);
        let cases = [
            (
                r#"{"cron": "* * * * *", "every": 3}"#,
                "every",
                ErrorCode::UnknownField,
            ),
            (r#"{"timezone": "UTC"}"#, "cron", ErrorCode::MissingField),
            (r#"{"cron": 5}"#, "cron", ErrorCode::WrongType),
            (
                r#"{"cron": "* * * * *", "enabled": "yes"}"#,
                "enabled",
                ErrorCode::WrongType,
            ),
            (r#"{"cron": "#, "", ErrorCode::MalformedJson),
            (r#"[1]"#, "", ErrorCode::NotAnObject),
            (r#"{"cron": "* * * * *"} {}"#, "", ErrorCode::MalformedJson),
            (r#"{"cron": "every day"}"#, "cron", ErrorCode::BadCron),
            (r#"{"cron": "0 0 30 2 *"}"#, "cron", ErrorCode::BadCron),
            (
                r#"{"cron": "* * * * *", "timezone": "Europe/Atlantis"}"#,
                "timezone",
                ErrorCode::UnknownTimeZone,
            ),
        ];
        for (body, field, code) in cases {
            assert_eq!(errors_of(body), [(field.to_owned(), code)], "{body}");
        }
        let long = format!(r#"{{"cron": "* * * * *", "name": "{}"}}"#, "n".repeat(101));
        assert_eq!(errors_of(&long), [("name".to_owned(), ErrorCode::TooLarge)]);
    }

    #[test]
    fn a_view_shows_the_next_fires_only_while_enabled() {
        let now = DateTime::parse_from_rfc3339("2026-12-04T12:00:00Z")
            .unwrap()
            .to_utc();
        let schedule = Schedule {
            id: 1,
            name: None,
            cron: "0 9 * * *".into(),
            timezone: "Europe/Berlin".into(),
            enabled: true,
            created_at: String::new(),
            updated_at: String::new(),
        };
        let view = ScheduleView::new(schedule.clone(), None, now);
        assert_eq!(view.next_fires.len(), NEXT_FIRES);
        assert_eq!(
            view.next_fires[0],
            NextFire {
                at: "2026-12-05T08:00:00Z".into(),
                local: "2026-12-05T09:00:00+01:00".into()
            }
        );
        let disabled = Schedule {
            enabled: false,
            ..schedule
        };
        assert!(ScheduleView::new(disabled, None, now).next_fires.is_empty());
    }
}
