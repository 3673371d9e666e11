//! Handlebars rendering of a plan into `k6_all.sh`.
use crate::types::{Plan, RenderError};

/// The template used when none is given.
pub const DEFAULT_TEMPLATE: &str = "";

/// Renders `plan` as `k6_all.sh` text.
pub fn render(plan: &Plan, template: Option<&str>) -> Result<String, RenderError> {
    let _ = (plan, template);
    todo!()
}
