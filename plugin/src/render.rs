//! Handlebars rendering of a plan into `k6_all.sh`.
//!
//! Safe by default: the registry's escape function is [`shell_quote`], so
//! every `{{value}}` in a template becomes exactly one shell word whatever
//! it holds (`$(…)`, backticks, quotes, newlines, globs, a leading `-`).
//! The `quote` helper does the same explicitly (`{{quote value}}`, quoted
//! once, not twice); `{{{value}}}` is the template author's explicit way to
//! write a value unquoted. Strict mode makes a name the plan lacks an error
//! rather than an empty string.
//!
//! Quoting protects a value where a shell *word* goes. A template must not
//! put values inside double quotes, a heredoc or a comment; the default
//! template ([`DEFAULT_TEMPLATE`]) never does.
//!
//! # Template context
//!
//! The plan, in camelCase:
//!
//! - `stepCount`, `intervalSeconds`, `expectedSeconds`;
//! - `config`: `globalUserCount`, `testDuration` (`1h30m`),
//!   `testDurationSeconds`, `rampUpSeconds`, `maxDurationSeconds`,
//!   `enabledScripts` (the scripts' names), `intervalSeconds`;
//! - `steps[]`: `index` (from 0), `number` (from 1), `script`, `kind`
//!   (`k6-script` / `legacy-wrapper`), `program` (`k6` / `bash`), `isK6`,
//!   `args[]`, `env[]` (`name`, `value`), `workingDir`, `stepDir`,
//!   `timeLimitSeconds`, `expectedSeconds`, `apiPort` and
//!   `summaryExportPath` (null when absent), `load` (`global` / `script`),
//!   `users`, `testDurationSeconds`, `rampUpSeconds`, `iterations` (null
//!   when the step has none), `notes[]`.

use std::sync::OnceLock;

use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, JsonRender, Output, RenderContext,
    RenderErrorReason, Template, TemplateError,
};
use serde::Serialize;
use thiserror::Error;

use crate::duration;
use crate::types::{LoadMode, Plan, Program, RenderError, ScriptKind, Step};

/// The template used when none is given: a standalone bash script.
pub const DEFAULT_TEMPLATE: &str = include_str!("../templates/k6_all.sh.hbs");

/// Name under which the template is registered (it appears in errors).
const TEMPLATE_NAME: &str = "k6_all.sh";

/// Why rendering failed, before it becomes the WIT's [`RenderError`].
#[derive(Debug, Error)]
enum Failure {
    /// The template does not compile.
    #[error("{0}")]
    Syntax(#[from] TemplateError),
    /// Rendering failed: a missing name (strict mode) or a helper error.
    #[error("{0}")]
    Render(#[from] handlebars::RenderError),
    /// A plan value holds a NUL byte, which no shell argument can carry:
    /// quoting cannot help, so the plan is refused instead.
    #[error("{0} contains a NUL byte, which no shell argument can hold")]
    Nul(String),
}

impl From<Failure> for RenderError {
    /// The one place render failures become the WIT's error.
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Syntax(e) => RenderError::TemplateSyntax(e.to_string()),
            other => RenderError::TemplateRender(other.to_string()),
        }
    }
}

/// Renders `plan` as `k6_all.sh` text, with `template` or
/// [`DEFAULT_TEMPLATE`].
///
/// # Errors
///
/// [`RenderError::TemplateSyntax`] if the template is not valid Handlebars;
/// [`RenderError::TemplateRender`] if it uses a name the plan lacks, a
/// helper fails, or a plan value holds a NUL byte.
pub fn render(plan: &Plan, template: Option<&str>) -> Result<String, RenderError> {
    render_text(plan, template).map_err(RenderError::from)
}

/// [`render`] with the internal error type.
fn render_text(plan: &Plan, template: Option<&str>) -> Result<String, Failure> {
    if let Some(place) = nul_place(plan) {
        return Err(Failure::Nul(place));
    }
    let view = PlanView::new(plan);
    Ok(match template {
        None => default_registry()?.render(TEMPLATE_NAME, &view)?,
        Some(text) => registry(text)?.render(TEMPLATE_NAME, &view)?,
    })
}

/// The registry of [`DEFAULT_TEMPLATE`], compiled once: compiling costs
/// about 0.5 ms, rendering a plan a few microseconds.
fn default_registry() -> Result<&'static Handlebars<'static>, Failure> {
    static DEFAULT: OnceLock<Handlebars<'static>> = OnceLock::new();
    if let Some(compiled) = DEFAULT.get() {
        return Ok(compiled);
    }
    let compiled = registry(DEFAULT_TEMPLATE)?;
    Ok(DEFAULT.get_or_init(|| compiled))
}

/// A strict registry holding `template` under [`TEMPLATE_NAME`], with the
/// shell-quoting escape and the `quote` helper.
fn registry(template: &str) -> Result<Handlebars<'static>, Failure> {
    let mut registry = Handlebars::new();
    registry.set_strict_mode(true);
    registry.register_escape_fn(shell_quote);
    registry.register_helper("quote", Box::new(QuoteHelper));
    registry.register_template(
        TEMPLATE_NAME,
        Template::compile_with_name(template, TEMPLATE_NAME.to_owned())?,
    );
    Ok(registry)
}

/// Quotes `text` as one POSIX shell word: inside single quotes nothing is
/// special, and a single quote itself is written `'\''` (close, escaped
/// quote, reopen). The empty string becomes `''`, still one argument.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `{{quote value}}`: writes its one parameter shell-quoted. It writes to
/// the output itself, so the escape function does not quote it again.
struct QuoteHelper;

impl HelperDef for QuoteHelper {
    fn call<'reg: 'rc, 'rc>(
        &self,
        helper: &Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc Context,
        _: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        let param = helper
            .param(0)
            .ok_or(RenderErrorReason::ParamNotFoundForIndex("quote", 0))?;
        if param.is_value_missing() {
            // Strict mode applies to helper parameters too.
            return Err(RenderErrorReason::MissingVariable(param.relative_path().cloned()).into());
        }
        out.write(&shell_quote(&param.value().render()))?;
        Ok(())
    }
}

/// Where the plan holds a NUL byte, if anywhere.
fn nul_place(plan: &Plan) -> Option<String> {
    let has_nul = |text: &str| text.contains('\0');
    if let Some(i) = plan
        .config
        .enabled_scripts
        .iter()
        .position(|entry| has_nul(&entry.script))
    {
        return Some(format!("config.enabledScripts[{i}]"));
    }
    plan.steps.iter().enumerate().find_map(|(i, step)| {
        let field = if has_nul(&step.script) {
            "script".to_owned()
        } else if has_nul(&step.working_dir) {
            "workingDir".to_owned()
        } else if has_nul(&step.step_dir) {
            "stepDir".to_owned()
        } else if let Some(a) = step.args.iter().position(|a| has_nul(a)) {
            format!("args[{a}]")
        } else if let Some(e) = step.env.iter().position(|(n, v)| has_nul(n) || has_nul(v)) {
            format!("env[{e}]")
        } else if step.summary_export_path.as_deref().is_some_and(has_nul) {
            "summaryExportPath".to_owned()
        } else if let Some(n) = step.notes.iter().position(|n| has_nul(n)) {
            format!("notes[{n}]")
        } else {
            return None;
        };
        Some(format!("steps[{i}].{field}"))
    })
}

/// The template context: the plan in camelCase, with a few derived values
/// templates need (`number`, `isK6`, `stepCount`, the formatted duration).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlanView<'a> {
    config: ConfigView<'a>,
    steps: Vec<StepView<'a>>,
    step_count: usize,
    interval_seconds: u32,
    expected_seconds: u64,
}

/// The config a plan was made from.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConfigView<'a> {
    global_user_count: u32,
    test_duration: String,
    test_duration_seconds: u32,
    ramp_up_seconds: u32,
    max_duration_seconds: u32,
    enabled_scripts: Vec<&'a str>,
    interval_seconds: u32,
}

/// One step.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StepView<'a> {
    index: u32,
    number: u64,
    script: &'a str,
    kind: &'static str,
    program: &'static str,
    is_k6: bool,
    args: &'a [String],
    env: Vec<EnvView<'a>>,
    working_dir: &'a str,
    step_dir: &'a str,
    time_limit_seconds: u32,
    expected_seconds: u32,
    api_port: Option<u16>,
    summary_export_path: Option<&'a str>,
    load: &'static str,
    users: Option<u32>,
    test_duration_seconds: Option<u32>,
    ramp_up_seconds: Option<u32>,
    iterations: Option<u32>,
    notes: &'a [String],
}

/// One environment variable of a step.
#[derive(Serialize)]
struct EnvView<'a> {
    name: &'a str,
    value: &'a str,
}

impl<'a> PlanView<'a> {
    fn new(plan: &'a Plan) -> Self {
        let cfg = &plan.config;
        Self {
            config: ConfigView {
                global_user_count: cfg.global_user_count,
                test_duration: duration::format(cfg.test_duration_seconds),
                test_duration_seconds: cfg.test_duration_seconds,
                ramp_up_seconds: cfg.ramp_up_seconds,
                max_duration_seconds: cfg.max_duration_seconds,
                enabled_scripts: cfg
                    .enabled_scripts
                    .iter()
                    .map(|entry| entry.script.as_str())
                    .collect(),
                interval_seconds: cfg.interval_seconds,
            },
            steps: plan.steps.iter().map(StepView::new).collect(),
            step_count: plan.steps.len(),
            interval_seconds: plan.interval_seconds,
            expected_seconds: plan.expected_seconds,
        }
    }
}

impl<'a> StepView<'a> {
    fn new(step: &'a Step) -> Self {
        Self {
            index: step.index,
            number: u64::from(step.index) + 1,
            script: &step.script,
            kind: match step.kind {
                ScriptKind::K6Script => "k6-script",
                ScriptKind::LegacyWrapper => "legacy-wrapper",
            },
            program: match step.program {
                Program::K6 => "k6",
                Program::Bash => "bash",
            },
            is_k6: step.program == Program::K6,
            args: &step.args,
            env: step
                .env
                .iter()
                .map(|(name, value)| EnvView { name, value })
                .collect(),
            working_dir: &step.working_dir,
            step_dir: &step.step_dir,
            time_limit_seconds: step.time_limit_seconds,
            expected_seconds: step.expected_seconds,
            api_port: step.api_port,
            summary_export_path: step.summary_export_path.as_deref(),
            load: match step.settings.load {
                LoadMode::Global => "global",
                LoadMode::Script => "script",
            },
            users: step.settings.users,
            test_duration_seconds: step.settings.test_duration_seconds,
            ramp_up_seconds: step.settings.ramp_up_seconds,
            iterations: step.settings.iterations,
            notes: &step.notes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_as_one_word() {
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$(x)`y`\n"), "'$(x)`y`\n'");
    }
}
