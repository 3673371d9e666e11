//! Schedules: cron patterns that start the saved config's run, managed
//! over the API (`/schedules`, see [`crate::api`]) and kept in the
//! history database.
//!
//! A schedule is a cron pattern of 5 fields (`minute hour day month
//! weekday`) or 6 (seconds first), read in an IANA time zone (`UTC` by
//! default). Each fire starts a run through the same path as
//! `POST /start`, recorded as started by the schedule (`startedBy` in the
//! run's record, `schedule:<id>` in the audit log), or is skipped while a
//! run is in progress, or fails (an invalid config, k6 missing). Every
//! fire is recorded with its outcome (the newest
//! [`MAX_FIRES_KEPT`] per schedule), audited as
//! `schedule.fire` and counted in `k6_runner_schedule_fires_total`. The
//! rules of timing are the [`scheduler`]'s.
//!
//! # Layout
//!
//! - `model`: the API's types and the checks of a schedule's body.
//! - `timing`: a pattern and zone, parsed; the next fires.
//! - `store`: the rows, in the history database.
//! - `mirror`: their copy in `schedules.json`, for a rebuilt database.
//! - `scheduler`: the task that fires them.
//! - `port`: the scheduler's view of the runner.

mod mirror;
mod model;
mod port;
pub mod scheduler;
mod store;
mod timing;

use std::sync::Arc;

use chrono::Utc;

use crate::history::HistoryError;
use crate::model::FieldErrorBody;
use crate::service::Service;
pub use mirror::{SCHEDULES_FILE, restore};
pub use model::{
    Fire, FireOutcome, MAX_CRON_BYTES, MAX_NAME_CHARS, NEXT_FIRES, NextFire, Schedule,
    ScheduleInput, ScheduleView,
};
pub use scheduler::Signals;
pub use store::MAX_FIRES_KEPT;
use timing::utc_text;

/// Why a schedule could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The body is not an acceptable schedule (HTTP 422).
    #[error("the schedule is not valid")]
    Invalid {
        /// One entry per problem, named by its field.
        fields: Vec<FieldErrorBody>,
    },
    /// No schedule has this id (HTTP 404).
    #[error("no schedule {0}")]
    NotFound(String),
    /// The database failed (HTTP 500).
    #[error(transparent)]
    History(#[from] HistoryError),
}

/// Schedule `id` as the API names it: a number, or no such schedule.
fn parse_id(id: &str) -> Result<u64, ScheduleError> {
    id.parse()
        .ok()
        .filter(|key| *key > 0)
        .ok_or_else(|| ScheduleError::NotFound(id.to_owned()))
}

/// A request body read and checked as a schedule.
fn checked(body: &[u8]) -> Result<model::CheckedInput, ScheduleError> {
    ScheduleInput::from_json(body)
        .and_then(ScheduleInput::check)
        .map_err(|fields| ScheduleError::Invalid { fields })
}

/// `schedule` as the API shows it now, with its newest fire.
async fn view(service: &Service, schedule: Schedule) -> Result<ScheduleView, ScheduleError> {
    let id = schedule.id;
    let last = service
        .history()
        .call(move |conn, _| store::last_fire(conn, id))
        .await?;
    Ok(ScheduleView::new(schedule, last, Utc::now()))
}

/// Every schedule, by id.
pub async fn list(service: &Service) -> Result<Vec<ScheduleView>, ScheduleError> {
    // One job for the schedules and their newest fires.
    let rows = service
        .history()
        .call(|conn, _| {
            store::list(conn)?
                .into_iter()
                .map(|schedule| Ok((store::last_fire(conn, schedule.id)?, schedule)))
                .collect::<Result<Vec<_>, HistoryError>>()
        })
        .await?;
    let now = Utc::now();
    Ok(rows
        .into_iter()
        .map(|(last, schedule)| ScheduleView::new(schedule, last, now))
        .collect())
}

/// Schedule `id`.
pub async fn get(service: &Service, id: &str) -> Result<ScheduleView, ScheduleError> {
    let key = parse_id(id)?;
    let schedule = service
        .history()
        .call(move |conn, _| store::get(conn, key))
        .await?
        .ok_or_else(|| ScheduleError::NotFound(id.to_owned()))?;
    view(service, schedule).await
}

/// Stores a new schedule from a request body and wakes the scheduler.
pub async fn create(service: &Service, body: &[u8]) -> Result<ScheduleView, ScheduleError> {
    let input = checked(body)?;
    let now = utc_text(Utc::now());
    let schedule = service
        .history()
        .call(move |conn, data| {
            let schedule = store::create(conn, &input, &now)?;
            mirror::save(conn, data);
            Ok(schedule)
        })
        .await?;
    service.schedule_signals().changed();
    view(service, schedule).await
}

/// Replaces schedule `id` with a request body and wakes the scheduler.
pub async fn update(
    service: &Service,
    id: &str,
    body: &[u8],
) -> Result<ScheduleView, ScheduleError> {
    let key = parse_id(id)?;
    let input = checked(body)?;
    let now = utc_text(Utc::now());
    let schedule = service
        .history()
        .call(move |conn, data| {
            let schedule = store::update(conn, key, &input, &now)?;
            mirror::save(conn, data);
            Ok(schedule)
        })
        .await?
        .ok_or_else(|| ScheduleError::NotFound(id.to_owned()))?;
    service.schedule_signals().changed();
    view(service, schedule).await
}

/// Deletes schedule `id` and its fires, and wakes the scheduler; returns
/// the id as a number.
pub async fn delete(service: &Service, id: &str) -> Result<u64, ScheduleError> {
    let key = parse_id(id)?;
    if !service
        .history()
        .call(move |conn, data| {
            let deleted = store::delete(conn, key)?;
            mirror::save(conn, data);
            Ok(deleted)
        })
        .await?
    {
        return Err(ScheduleError::NotFound(id.to_owned()));
    }
    service.schedule_signals().changed();
    Ok(key)
}

/// Schedule `id`'s newest `limit` fires, newest first.
pub async fn fires(service: &Service, id: &str, limit: u32) -> Result<Vec<Fire>, ScheduleError> {
    let key = parse_id(id)?;
    service
        .history()
        .call(move |conn, _| {
            if store::get(conn, key)?.is_none() {
                return Ok(None);
            }
            store::fires(conn, key, limit).map(Some)
        })
        .await?
        .ok_or_else(|| ScheduleError::NotFound(id.to_owned()))
}

/// Starts the scheduler of `service`: it holds the service weakly and
/// ends with it, or at [`Signals::stop`] (the service's shutdown).
pub(crate) fn spawn(service: &Arc<Service>) {
    let port = port::ServicePort::new(service);
    let signals = service.schedule_signals().clone();
    tokio::spawn(scheduler::run(port, scheduler::SystemClock, signals));
}
