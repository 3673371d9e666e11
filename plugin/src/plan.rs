//! The execution plan and the verdict on a finished step.
use crate::types::{CatalogueEntry, Config, ExitStatus, FieldError, Plan, PlanContext, StopCause, Verdict};

/// One step per enabled script (see `plan.build`).
pub fn build(
    cfg: &Config,
    catalogue: &[CatalogueEntry],
    context: &PlanContext,
) -> Result<Plan, Vec<FieldError>> {
    let _ = (cfg, catalogue, context);
    todo!()
}

/// The verdict on a finished step (see `plan.judge`).
pub fn judge(exit: ExitStatus, cause: StopCause) -> Verdict {
    let _ = (exit, cause);
    todo!()
}
