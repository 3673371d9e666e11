//! The scheduler's view of the runner: the stored schedules, a start on
//! a schedule's behalf through the same path as `POST /start`, and a
//! fire recorded in the database, the audit log and the metrics.

use std::sync::{Arc, Weak};

use super::model::{FireOutcome, NewFire, Schedule};
use super::scheduler::{Attempt, Port};
use super::store;
use crate::audit::{AuditEntry, AuditOutcome};
use crate::history::HistoryError;
use crate::model::StartedBy;
use crate::service::{ControlError, Service};

/// The runner, held weakly: the scheduler never keeps a service alive.
pub(super) struct ServicePort {
    service: Weak<Service>,
}

impl ServicePort {
    pub(super) fn new(service: &Arc<Service>) -> Self {
        Self {
            service: Arc::downgrade(service),
        }
    }

    /// The service, unless it is gone or shutting down.
    fn service(&self) -> Option<Arc<Service>> {
        self.service
            .upgrade()
            .filter(|service| !service.schedule_signals().is_stopped())
    }
}

impl Port for ServicePort {
    async fn schedules(&self) -> Option<Result<Vec<Schedule>, HistoryError>> {
        let service = self.service()?;
        Some(service.history().call(|conn, _| store::list(conn)).await)
    }

    async fn start(&self, schedule: u64) -> Option<Attempt> {
        let service = self.service()?;
        Some(
            match service.start_run_by(StartedBy::Schedule { schedule }).await {
                Ok(started) => Attempt::Started {
                    run_id: started.run_id,
                },
                Err(ControlError::AlreadyRunning { run_id }) => Attempt::Busy { run_id },
                Err(ControlError::Invalid { message, fields }) => Attempt::Failed {
                    reason: std::iter::once(message)
                        .chain(fields.into_iter().map(|field| field.message))
                        .collect::<Vec<_>>()
                        .join("; "),
                },
                Err(error) => Attempt::Failed {
                    reason: error.to_string(),
                },
            },
        )
    }

    async fn record(&self, fire: NewFire) {
        // A fire is recorded even during a shutdown: its run may have
        // started.
        let Some(service) = self.service.upgrade() else {
            return;
        };
        service.metrics().schedule_fire(fire.outcome);
        let actor = StartedBy::Schedule {
            schedule: fire.schedule,
        }
        .actor();
        let (outcome, detail) = match (&fire.outcome, &fire.run_id, &fire.reason) {
            (FireOutcome::Started, Some(run_id), _) => {
                // Also as a start, so that the audit log's `run.start`
                // entries name every run's starter.
                service.audit(AuditEntry::new(
                    &actor,
                    "run.start",
                    AuditOutcome::Ok,
                    Some(format!("run {run_id}")),
                ));
                (AuditOutcome::Ok, format!("run {run_id} started"))
            }
            (FireOutcome::Skipped, _, reason) => (
                AuditOutcome::Refused,
                format!("skipped: {}", reason.as_deref().unwrap_or_default()),
            ),
            (_, _, reason) => (
                AuditOutcome::Error,
                format!("failed: {}", reason.as_deref().unwrap_or_default()),
            ),
        };
        service.audit(AuditEntry::new(
            &actor,
            "schedule.fire",
            outcome,
            Some(format!("due {}: {detail}", fire.due_at)),
        ));
        if let Err(error) = service
            .history()
            .call(move |conn, _| store::record_fire(conn, &fire))
            .await
        {
            tracing::error!(%error, "cannot record a schedule's fire");
        }
    }
}
