//! One core instance in its own store: every export as a typed, metered
//! call.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::Store;
use wasmtime::component::ResourceAny;

use super::SandboxError;
use super::bindings::exports::vudatasim::k6::k6_operator::{ExportSettings, StepArchive};
use super::bindings::{Core, CorePre};
use super::limits::{StoreState, call_fuel};
use crate::contract::{
    CatalogueEntry, Config, Defaults, ExitStatus, FieldError, LiveMetrics, NumberedEvent,
    OutputStream, ParseError, Plan, PlanContext, Policy, RenderError, ScriptFile, ScriptKind,
    ScriptSummary, StopCause, Verdict,
};

/// How many calls entered the core, and how many of them failed inside it
/// (a trap, fuel or memory exhausted), since its [`super::Sandbox`] was
/// loaded: every instance of it counts here. Plain atomics, so that
/// counting costs a call nothing and reading them (a metrics scrape)
/// waits for no call.
#[derive(Debug, Default)]
pub struct CallCounts {
    calls: AtomicU64,
    traps: AtomicU64,
}

impl CallCounts {
    /// Calls that entered the core.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Calls that failed inside the core (each poisoned its instance).
    pub fn traps(&self) -> u64 {
        self.traps.load(Ordering::Relaxed)
    }
}

/// A core instance with its store. After a failed call (trap, fuel or
/// memory exhausted) it is poisoned: wasmtime leaves the guest in an
/// unknown state, so the owner must drop it and instantiate anew.
pub struct CoreInstance {
    store: Store<StoreState>,
    core: Core,
    poisoned: bool,
    counts: Arc<CallCounts>,
}

impl CoreInstance {
    /// A store with its limits set, and the core instantiated in it.
    pub(super) fn new(
        engine: &wasmtime::Engine,
        pre: &CorePre<StoreState>,
        counts: Arc<CallCounts>,
    ) -> Result<Self, SandboxError> {
        let mut store = Store::new(engine, StoreState::limited());
        store.limiter(|state| &mut state.limits);
        store
            .set_fuel(call_fuel(0))
            .map_err(SandboxError::Instantiate)?;
        let core = pre
            .instantiate(&mut store)
            .map_err(SandboxError::Instantiate)?;
        Ok(Self {
            store,
            core,
            poisoned: false,
            counts,
        })
    }

    /// True after a failed call; the instance must not be used again.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Runs one export with a fresh fuel budget sized to its input.
    fn call<R>(
        &mut self,
        function: &'static str,
        input_bytes: usize,
        call: impl FnOnce(&Core, &mut Store<StoreState>) -> wasmtime::Result<R>,
    ) -> Result<R, SandboxError> {
        if self.poisoned {
            return Err(SandboxError::Poisoned { function });
        }
        self.store
            .set_fuel(call_fuel(input_bytes))
            .map_err(|source| SandboxError::Call { function, source })?;
        self.counts.calls.fetch_add(1, Ordering::Relaxed);
        call(&self.core, &mut self.store).map_err(|source| {
            self.counts.traps.fetch_add(1, Ordering::Relaxed);
            self.poisoned = true;
            SandboxError::Call { function, source }
        })
    }

    /// `config.default-policy`.
    pub fn default_policy(&mut self) -> Result<Policy, SandboxError> {
        self.call("config.default-policy", 0, |core, store| {
            core.vudatasim_k6_config().call_default_policy(store)
        })
    }

    /// `config.default-config`.
    pub fn default_config(
        &mut self,
        catalogue: &[CatalogueEntry],
        policy: &Policy,
    ) -> Result<Defaults, SandboxError> {
        let size = catalogue_bytes(catalogue);
        self.call("config.default-config", size, |core, store| {
            core.vudatasim_k6_config()
                .call_default_config(store, catalogue, policy)
        })
    }

    /// `config.validate`.
    pub fn validate(
        &mut self,
        raw_json: &str,
        policy: &Policy,
        catalogue: &[CatalogueEntry],
    ) -> Result<Result<Config, Vec<FieldError>>, SandboxError> {
        let size = raw_json.len() + catalogue_bytes(catalogue);
        self.call("config.validate", size, |core, store| {
            core.vudatasim_k6_config()
                .call_validate(store, raw_json, policy, catalogue)
        })
    }

    /// `config.to-json`.
    pub fn to_json(&mut self, config: &Config) -> Result<String, SandboxError> {
        self.call("config.to-json", 0, |core, store| {
            core.vudatasim_k6_config().call_to_json(store, config)
        })
    }

    /// `config.catalogue`.
    pub fn catalogue(
        &mut self,
        files: &[ScriptFile],
        policy: &Policy,
    ) -> Result<Vec<CatalogueEntry>, SandboxError> {
        let size = files
            .iter()
            .map(|f| {
                f.name.len()
                    + f.path.len()
                    + f.root.len()
                    + f.inspection.as_ref().map_or(0, |i| {
                        [&i.archive, &i.requirements, &i.under_global_load]
                            .iter()
                            .map(|probe| probe.document.len() + probe.error.len())
                            .sum()
                    })
            })
            .sum();
        self.call("config.catalogue", size, |core, store| {
            core.vudatasim_k6_config()
                .call_catalogue(store, files, policy)
        })
    }

    /// `plan.build`.
    pub fn build_plan(
        &mut self,
        config: &Config,
        catalogue: &[CatalogueEntry],
        context: &PlanContext,
    ) -> Result<Result<Plan, Vec<FieldError>>, SandboxError> {
        let size = catalogue_bytes(catalogue) + context.run_dir.len();
        self.call("plan.build", size, |core, store| {
            core.vudatasim_k6_plan()
                .call_build(store, config, catalogue, context)
        })
    }

    /// `plan.default-template`.
    pub fn default_template(&mut self) -> Result<String, SandboxError> {
        self.call("plan.default-template", 0, |core, store| {
            core.vudatasim_k6_plan().call_default_template(store)
        })
    }

    /// `plan.render`.
    pub fn render(
        &mut self,
        plan: &Plan,
        template: Option<&str>,
    ) -> Result<Result<String, RenderError>, SandboxError> {
        let size = template.map_or(0, str::len) + plan_bytes(plan);
        self.call("plan.render", size, |core, store| {
            core.vudatasim_k6_plan().call_render(store, plan, template)
        })
    }

    /// `plan.judge`.
    pub fn judge(
        &mut self,
        exit: ExitStatus,
        cause: StopCause,
        kind: ScriptKind,
    ) -> Result<Verdict, SandboxError> {
        self.call("plan.judge", 0, |core, store| {
            core.vudatasim_k6_plan()
                .call_judge(store, exit, cause, kind)
        })
    }

    /// `k6-operator.check`.
    pub fn operator_check(
        &mut self,
        plan: &Plan,
        settings: &ExportSettings,
    ) -> Result<Vec<FieldError>, SandboxError> {
        self.call("k6-operator.check", plan_bytes(plan), |core, store| {
            core.vudatasim_k6_k6_operator()
                .call_check(store, plan, settings)
        })
    }

    /// `k6-operator.render`: fuel grows with the archives, which the core
    /// encodes byte by byte.
    pub fn operator_render(
        &mut self,
        plan: &Plan,
        settings: &ExportSettings,
        archives: &[StepArchive],
    ) -> Result<Result<String, Vec<FieldError>>, SandboxError> {
        let size = plan_bytes(plan) + archives.iter().map(|a| a.archive.len()).sum::<usize>();
        self.call("k6-operator.render", size, |core, store| {
            core.vudatasim_k6_k6_operator()
                .call_render(store, plan, settings, archives)
        })
    }

    /// `logs.parser` constructor.
    pub(super) fn new_parser(&mut self) -> Result<ResourceAny, SandboxError> {
        self.call("logs.parser.constructor", 0, |core, store| {
            core.vudatasim_k6_logs().parser().call_constructor(store)
        })
    }

    /// `logs.parser.feed`: `batch` holds the lines, each ended by `\n`.
    pub(super) fn parser_feed(
        &mut self,
        parser: ResourceAny,
        source: OutputStream,
        batch: &str,
    ) -> Result<Vec<NumberedEvent>, SandboxError> {
        self.call("logs.parser.feed", batch.len(), |core, store| {
            core.vudatasim_k6_logs()
                .parser()
                .call_feed(store, parser, source, batch)
        })
    }

    /// `logs.parser.feed-summary-export`.
    pub(super) fn parser_feed_summary_export(
        &mut self,
        parser: ResourceAny,
        json: &str,
    ) -> Result<Result<(), ParseError>, SandboxError> {
        self.call(
            "logs.parser.feed-summary-export",
            json.len(),
            |core, store| {
                core.vudatasim_k6_logs()
                    .parser()
                    .call_feed_summary_export(store, parser, json)
            },
        )
    }

    /// `logs.parser.feed-metrics`.
    pub(super) fn parser_feed_metrics(
        &mut self,
        parser: ResourceAny,
        json: &str,
        at_ms: u64,
    ) -> Result<Result<LiveMetrics, ParseError>, SandboxError> {
        self.call("logs.parser.feed-metrics", json.len(), |core, store| {
            core.vudatasim_k6_logs()
                .parser()
                .call_feed_metrics(store, parser, json, at_ms)
        })
    }

    /// `logs.parser.summary`.
    pub(super) fn parser_summary(
        &mut self,
        parser: ResourceAny,
    ) -> Result<ScriptSummary, SandboxError> {
        self.call("logs.parser.summary", 0, |core, store| {
            core.vudatasim_k6_logs()
                .parser()
                .call_summary(store, parser)
        })
    }
}

/// The bytes of a plan's arguments, which its size grows with.
fn plan_bytes(plan: &Plan) -> usize {
    plan.steps
        .iter()
        .map(|s| s.args.iter().map(String::len).sum::<usize>())
        .sum()
}

fn catalogue_bytes(catalogue: &[CatalogueEntry]) -> usize {
    catalogue
        .iter()
        .map(|entry| entry.name.len() + entry.path.len() + entry.root.len())
        .sum()
}
