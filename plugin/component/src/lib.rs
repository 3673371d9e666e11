//! The WebAssembly component face of [`k6_core`]: wit-bindgen exports that
//! delegate to the core. No logic lives here; if some appears, move it into
//! the core.
//!
//! The exports exist only in the `wasm32` build: the canonical-ABI symbol
//! names (`vudatasim:k6/config@0.2.0#validate`) are not valid in a native
//! linker's version script, so a native `cargo build --workspace` compiles
//! the adapter's code without exporting it.

use std::cell::RefCell;

use k6_core::contract::exports::vudatasim::k6::{config, k6_operator, logs, plan};
use k6_core::types::{
    CatalogueEntry, Config, Defaults, ExitStatus, FieldError, LiveMetrics, NumberedEvent,
    OutputStream, ParseError, Plan, PlanContext, Policy, RenderError, ScriptFile, ScriptKind,
    ScriptSummary, StopCause, Verdict,
};

/// The exported component.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
struct Core;

impl config::Guest for Core {
    fn default_policy() -> Policy {
        k6_core::config::default_policy()
    }

    fn default_config(catalogue: Vec<CatalogueEntry>, policy: Policy) -> Defaults {
        k6_core::config::default_config(&catalogue, &policy)
    }

    fn validate(
        raw_json: String,
        policy: Policy,
        catalogue: Vec<CatalogueEntry>,
    ) -> Result<Config, Vec<FieldError>> {
        k6_core::config::validate(&raw_json, &policy, &catalogue)
    }

    fn to_json(cfg: Config) -> String {
        k6_core::config::to_json(&cfg)
    }

    fn catalogue(files: Vec<ScriptFile>, policy: Policy) -> Vec<CatalogueEntry> {
        k6_core::scripts::catalogue(files, &policy)
    }
}

impl plan::Guest for Core {
    fn build(
        cfg: Config,
        catalogue: Vec<CatalogueEntry>,
        context: PlanContext,
    ) -> Result<Plan, Vec<FieldError>> {
        k6_core::plan::build(&cfg, &catalogue, &context)
    }

    fn default_template() -> String {
        k6_core::render::DEFAULT_TEMPLATE.to_owned()
    }

    fn render(plan: Plan, template: Option<String>) -> Result<String, RenderError> {
        k6_core::render::render(&plan, template.as_deref())
    }

    fn judge(exit: ExitStatus, cause: StopCause, kind: ScriptKind) -> Verdict {
        k6_core::plan::judge(exit, cause, kind)
    }
}

impl k6_operator::Guest for Core {
    fn check(plan: Plan, settings: k6_operator::ExportSettings) -> Vec<FieldError> {
        k6_core::operator::check(&plan, &settings)
    }

    fn render(
        plan: Plan,
        settings: k6_operator::ExportSettings,
        archives: Vec<k6_operator::StepArchive>,
    ) -> Result<String, Vec<FieldError>> {
        k6_core::operator::render(&plan, &settings, &archives)
    }
}

impl logs::Guest for Core {
    type Parser = Parser;
}

/// The exported parser resource. The component model hands out `&self`, so
/// the core's `&mut` parser sits in a `RefCell` (a component instance is
/// single-threaded).
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
struct Parser(RefCell<k6_core::logs::Parser>);

impl logs::GuestParser for Parser {
    fn new() -> Self {
        Self(RefCell::new(k6_core::logs::Parser::new()))
    }

    fn feed(&self, source: OutputStream, lines: String) -> Vec<NumberedEvent> {
        self.0.borrow_mut().feed_batch(source, &lines)
    }

    fn feed_summary_export(&self, json: String) -> Result<(), ParseError> {
        self.0.borrow_mut().feed_summary_export(&json)
    }

    fn feed_handle_summary(&self, json: String) -> Result<(), ParseError> {
        self.0.borrow_mut().feed_handle_summary(&json)
    }

    fn feed_metrics(&self, json: String, at_ms: u64) -> Result<LiveMetrics, ParseError> {
        self.0.borrow_mut().feed_metrics(&json, at_ms)
    }

    fn summary(&self) -> ScriptSummary {
        self.0.borrow().summary()
    }
}

#[cfg(target_arch = "wasm32")]
k6_core::contract::export_core!(Core);
