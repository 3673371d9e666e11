//! Goal 2: the core through the sandbox next to the same code compiled
//! natively — log parsing throughput per batch size, per-call latency of
//! the control calls, the cost of one crossing, and what metering costs.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use k6_core::types as native;
use k6_runner::contract as guest;
use k6_runner::internals::{Core, CorePre};
use k6_runner::internals::{StoreState, call_fuel};
use k6_runner::sandbox::{
    ComponentInfo, CoreInstance, EMBEDDED_CORE, ParserSession, PluginSource, Sandbox,
    events_per_line, sha256_hex,
};
use wasmtime::component::{Component, Linker, ResourceAny};
use wasmtime::{Config, Engine, Store};

use crate::procs;
use crate::stats::{Sample, si, time};

/// Batch sizes fed per call, as the brief asks: one line (the worst case),
/// a hundred, and the runner's own maximum batch (1,000).
const BATCHES: [usize; 3] = [1, 100, 1_000];

/// How long the core benchmark measures.
#[derive(Debug, Clone, Copy)]
pub struct CoreOptions {
    /// Lines parsed per throughput measurement.
    pub volume: usize,
    /// Measurements per figure (the median is reported).
    pub repeats: usize,
    /// Shortest time one per-call latency measurement runs.
    pub min_time: Duration,
}

/// One corpus of real k6 output, all from one stream.
struct Corpus {
    name: &'static str,
    stdout: bool,
    lines: Vec<String>,
}

impl Corpus {
    fn mean_bytes(&self) -> f64 {
        let bytes: usize = self.lines.iter().map(String::len).sum();
        bytes as f64 / self.lines.len().max(1) as f64
    }

    /// The corpus cycled to `volume` lines, in fixture order, so that the
    /// stdout state machine sees real sequences (progress blocks, summaries).
    fn repeated(&self, volume: usize) -> Vec<String> {
        self.lines.iter().cycle().take(volume).cloned().collect()
    }
}

/// Every fixture file under `dir` whose name ends with `suffix`, sorted, so
/// runs on any machine read the same bytes in the same order.
fn fixture_files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    // The fixture tree is two levels deep; the bound only guards a symlink loop.
    let mut budget = 10_000;
    while let Some(folder) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            budget -= 1;
            if budget == 0 {
                break;
            }
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.to_string_lossy().ends_with(suffix) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Lines of every file, as the runner's reader cuts them (no `\n`, no `\r`).
fn read_lines(files: &[PathBuf]) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    for file in files {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let text = String::from_utf8_lossy(&bytes);
        lines.extend(
            text.lines()
                .map(|line| line.strip_suffix('\r').unwrap_or(line).to_owned()),
        );
    }
    Ok(lines)
}

fn corpora(fixtures: &Path) -> Result<Vec<Corpus>> {
    let corpus = |name, stdout, suffix| -> Result<Corpus> {
        let lines = read_lines(&fixture_files(fixtures, suffix))?;
        if lines.is_empty() {
            return Err(anyhow!("no {suffix} lines under {}", fixtures.display()));
        }
        Ok(Corpus {
            name,
            stdout,
            lines,
        })
    };
    Ok(vec![
        corpus("stdout: progress, summaries (`*.stdout`)", true, ".stdout")?,
        corpus("stderr: log lines (`*.stderr`)", false, ".stderr")?,
        // Fed as stdout, where `--out json=-` would put them.
        corpus(
            "`--out json` points (`*.points.head300.jsonl`)",
            true,
            ".points.head300.jsonl",
        )?,
    ])
}

fn native_stream(stdout: bool) -> native::OutputStream {
    if stdout {
        native::OutputStream::Stdout
    } else {
        native::OutputStream::Stderr
    }
}

fn guest_stream(stdout: bool) -> guest::OutputStream {
    if stdout {
        guest::OutputStream::Stdout
    } else {
        guest::OutputStream::Stderr
    }
}

/// Seconds of CPU time of this thread (see [`procs::thread_cpu_seconds`]);
/// the wall clock if the kernel does not say.
fn cpu_now() -> f64 {
    procs::thread_cpu_seconds().unwrap_or_else(|| {
        static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_secs_f64()
    })
}

/// Lines per second parsing `lines` in batches of `batch`, median of
/// `options.repeats` measurements; each measurement passes over `lines` as
/// often as it takes to run `options.min_time`. `feed` is one call with one
/// batch and returns the number of events.
fn throughput(
    options: &CoreOptions,
    lines: &[String],
    batch: usize,
    mut feed: impl FnMut(&[String]) -> Result<usize>,
) -> Result<Sample> {
    let mut sample = Sample::new();
    for _ in 0..options.repeats {
        let started = cpu_now();
        let mut passes = 0;
        // Bounded: a pass always takes some time, and at most 1,000 run.
        while passes < 1_000
            && (passes == 0 || cpu_now() - started < options.min_time.as_secs_f64())
        {
            let mut events = 0;
            for chunk in lines.chunks(batch) {
                events += feed(chunk)?;
            }
            if events != lines.len() {
                return Err(anyhow!("{events} events for {} lines", lines.len()));
            }
            passes += 1;
        }
        let elapsed = cpu_now() - started;
        sample.push((passes * lines.len()) as f64 / elapsed);
    }
    Ok(sample)
}

/// Seconds per call of `call`, median of `repeats` timed loops of at least
/// `min_time` each (the loop length is calibrated once).
fn per_call(options: &CoreOptions, mut call: impl FnMut() -> Result<()>) -> Result<Sample> {
    let mut iterations: u64 = 1;
    // Calibrate: double until one loop takes a tenth of min_time; bounded
    // at 2^30 iterations.
    for _ in 0..30 {
        let started = cpu_now();
        for _ in 0..iterations {
            call()?;
        }
        if (cpu_now() - started) * 10.0 >= options.min_time.as_secs_f64() {
            break;
        }
        iterations *= 2;
    }
    let per_loop = iterations.saturating_mul(10);
    let mut sample = Sample::new();
    for _ in 0..options.repeats {
        let started = cpu_now();
        for _ in 0..per_loop {
            call()?;
        }
        sample.push((cpu_now() - started) / per_loop as f64);
    }
    Ok(sample)
}

/// How a variant engine meters guest code.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Metering {
    /// Fuel, set before every call (what the runner does).
    Fuel,
    /// Epoch deadlines, with a ticker thread advancing the epoch.
    Epoch,
    /// None at all: the bare cost of running the core in wasmtime.
    Off,
}

impl Metering {
    fn name(self) -> &'static str {
        match self {
            Self::Fuel => "fuel (as the runner)",
            Self::Epoch => "epoch deadline",
            Self::Off => "no metering",
        }
    }
}

/// A core instance on an engine of the harness's own, built the way the
/// sandbox builds its own except for metering, so the metering's cost can
/// be measured by difference.
struct Variant {
    metering: Metering,
    engine: Engine,
    store: Store<StoreState>,
    core: Core,
}

impl Variant {
    fn new(metering: Metering) -> Result<Self> {
        let mut config = Config::new();
        match metering {
            Metering::Fuel => {
                config.consume_fuel(true);
            }
            Metering::Epoch => {
                config.epoch_interruption(true);
            }
            Metering::Off => {}
        }
        let wasm_error = |e: wasmtime::Error| anyhow!("{e:#}");
        let engine = Engine::new(&config).map_err(wasm_error)?;
        let component = Component::new(&engine, EMBEDDED_CORE).map_err(wasm_error)?;
        let info = ComponentInfo::read(&engine, &component, "bench", sha256_hex(EMBEDDED_CORE))?;
        let mut linker = Linker::<StoreState>::new(&engine);
        for name in &info.type_only_imports {
            linker.instance(name).map_err(wasm_error)?;
        }
        let pre = CorePre::new(linker.instantiate_pre(&component).map_err(wasm_error)?)
            .map_err(wasm_error)?;
        let mut store = Store::new(&engine, StoreState::limited());
        store.limiter(|state| &mut state.limits);
        match metering {
            Metering::Fuel => store.set_fuel(call_fuel(0)).map_err(wasm_error)?,
            // A deadline far away: only the checks' cost is measured.
            Metering::Epoch => store.set_epoch_deadline(1 << 40),
            Metering::Off => {}
        }
        let core = pre.instantiate(&mut store).map_err(wasm_error)?;
        Ok(Self {
            metering,
            engine,
            store,
            core,
        })
    }

    fn new_parser(&mut self) -> Result<ResourceAny> {
        self.core
            .vudatasim_k6_logs()
            .parser()
            .call_constructor(&mut self.store)
            .map_err(|e| anyhow!("{e:#}"))
    }

    fn feed(&mut self, parser: ResourceAny, stdout: bool, lines: &[String]) -> Result<usize> {
        // The batch crosses as one string, as `ParserSession::feed` sends it;
        // joining is part of the measured cost.
        let mut batch = String::with_capacity(lines.iter().map(|line| line.len() + 1).sum());
        for line in lines {
            batch.push_str(line);
            batch.push('\n');
        }
        match self.metering {
            Metering::Fuel => {
                self.store
                    .set_fuel(call_fuel(batch.len()))
                    .map_err(|e| anyhow!("{e:#}"))?;
            }
            Metering::Epoch => self.store.set_epoch_deadline(1 << 40),
            Metering::Off => {}
        }
        let events = self
            .core
            .vudatasim_k6_logs()
            .parser()
            .call_feed(&mut self.store, parser, guest_stream(stdout), &batch)
            .map_err(|e| anyhow!("{e:#}"))?;
        // Only lines that are not plain text have an entry: check that each
        // names a line of this batch, in order, and count the batch's lines.
        let events = black_box(events);
        let in_batch = events.windows(2).all(|pair| pair[0].line < pair[1].line)
            && events
                .last()
                .is_none_or(|last| (last.line as usize) < lines.len());
        if !in_batch {
            return Err(anyhow!("events outside the batch's {} lines", lines.len()));
        }
        Ok(lines.len())
    }
}

/// Advances `engine`'s epoch every 10 ms until dropped, as a runner using
/// epoch deadlines would, so the variant pays the real cost of the checks.
struct EpochTicker {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: &Engine) -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let engine = engine.clone();
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                engine.increment_epoch();
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The inputs of the control calls, for both sides.
struct ControlInputs {
    raw_config: String,
    native_catalogue: Vec<native::CatalogueEntry>,
    guest_catalogue: Vec<guest::CatalogueEntry>,
    native_context: native::PlanContext,
    guest_context: guest::PlanContext,
}

fn control_inputs() -> ControlInputs {
    // The example config: three scripts, one a legacy wrapper.
    let scripts = [
        ("smoke.js", true),
        ("api-browse.js", true),
        ("legacy/overall-1.sh", false),
    ];
    let native_catalogue = scripts
        .iter()
        .map(|(name, js)| native::CatalogueEntry {
            name: (*name).to_owned(),
            path: format!("/srv/k6/scripts/{name}"),
            root: "/srv/k6/scripts".to_owned(),
            test: None,
            kind: if *js {
                native::ScriptKind::K6Script
            } else {
                native::ScriptKind::LegacyWrapper
            },
        })
        .collect();
    let guest_catalogue = scripts
        .iter()
        .map(|(name, js)| guest::CatalogueEntry {
            name: (*name).to_owned(),
            path: format!("/srv/k6/scripts/{name}"),
            root: "/srv/k6/scripts".to_owned(),
            test: None,
            kind: if *js {
                guest::ScriptKind::K6Script
            } else {
                guest::ScriptKind::LegacyWrapper
            },
        })
        .collect();
    let run_dir = "/var/lib/k6-runner/runs/20261125T140102Z".to_owned();
    ControlInputs {
        raw_config: r#"{
  "globalUserCount": 5,
  "testDuration": "20s",
  "rampUpDuration": 5,
  "maxDuration": 90,
  "enabledScripts": ["smoke.js", "api-browse.js", "legacy/overall-1.sh"],
  "intervalBetweenTests": 5
}"#
        .to_owned(),
        native_catalogue,
        guest_catalogue,
        native_context: native::PlanContext {
            run_dir: run_dir.clone(),
            api_ports: vec![40001, 40002, 40003],
            target: native::PlanTarget::Runner,
        },
        guest_context: guest::PlanContext {
            run_dir,
            api_ports: vec![40001, 40002, 40003],
            target: guest::PlanTarget::Runner,
        },
    }
}

/// One row of the per-call table.
struct CallRow {
    name: &'static str,
    native: Sample,
    sandbox: Sample,
}

fn call_rows(options: &CoreOptions, sandbox: &Sandbox) -> Result<Vec<CallRow>> {
    let inputs = control_inputs();
    let mut instance: CoreInstance = sandbox.instantiate()?;
    let guest_policy = instance.default_policy()?;
    let native_policy = k6_core::config::default_policy();
    let native_config =
        k6_core::config::validate(&inputs.raw_config, &native_policy, &inputs.native_catalogue)
            .map_err(|e| anyhow!("the sample config is invalid: {e:?}"))?;
    let guest_config = instance
        .validate(&inputs.raw_config, &guest_policy, &inputs.guest_catalogue)?
        .map_err(|e| anyhow!("the sample config is invalid: {e:?}"))?;
    let native_plan = k6_core::plan::build(
        &native_config,
        &inputs.native_catalogue,
        &inputs.native_context,
    )
    .map_err(|e| anyhow!("no plan: {e:?}"))?;
    let guest_plan = instance
        .build_plan(
            &guest_config,
            &inputs.guest_catalogue,
            &inputs.guest_context,
        )?
        .map_err(|e| anyhow!("no plan: {e:?}"))?;
    let native_exit = native::ExitStatus {
        code: Some(99),
        signal: None,
    };
    let guest_exit = guest::ExitStatus {
        code: Some(99),
        signal: None,
    };
    let mut native_parser = k6_core::logs::Parser::new();
    let mut session = ParserSession::new(sandbox)?;
    let no_lines: Vec<String> = Vec::new();

    let mut rows = Vec::new();
    rows.push(CallRow {
        name: "`logs.parser.feed` of 0 lines (one crossing, no work)",
        native: per_call(options, || {
            black_box(native_parser.feed(native::OutputStream::Stdout, &no_lines));
            Ok(())
        })?,
        sandbox: per_call(options, || {
            black_box(session.feed(guest::OutputStream::Stdout, &no_lines)?);
            Ok(())
        })?,
    });
    rows.push(CallRow {
        name: "`plan.judge` (exit 99)",
        native: per_call(options, || {
            black_box(k6_core::plan::judge(
                native_exit,
                native::StopCause::None,
                native::ScriptKind::K6Script,
            ));
            Ok(())
        })?,
        sandbox: per_call(options, || {
            black_box(instance.judge(
                guest_exit,
                guest::StopCause::None,
                guest::ScriptKind::K6Script,
            )?);
            Ok(())
        })?,
    });
    rows.push(CallRow {
        name: "`config.validate` (example config, 3 scripts)",
        native: per_call(options, || {
            black_box(k6_core::config::validate(
                &inputs.raw_config,
                &native_policy,
                &inputs.native_catalogue,
            ))
            .map_err(|e| anyhow!("{e:?}"))?;
            Ok(())
        })?,
        sandbox: per_call(options, || {
            black_box(instance.validate(
                &inputs.raw_config,
                &guest_policy,
                &inputs.guest_catalogue,
            )?)
            .map_err(|e| anyhow!("{e:?}"))?;
            Ok(())
        })?,
    });
    rows.push(CallRow {
        name: "`plan.build` (3 steps)",
        native: per_call(options, || {
            black_box(k6_core::plan::build(
                &native_config,
                &inputs.native_catalogue,
                &inputs.native_context,
            ))
            .map_err(|e| anyhow!("{e:?}"))?;
            Ok(())
        })?,
        sandbox: per_call(options, || {
            black_box(instance.build_plan(
                &guest_config,
                &inputs.guest_catalogue,
                &inputs.guest_context,
            )?)
            .map_err(|e| anyhow!("{e:?}"))?;
            Ok(())
        })?,
    });
    rows.push(CallRow {
        name: "`plan.render` (default template, 3 steps)",
        native: per_call(options, || {
            black_box(k6_core::render::render(&native_plan, None)).map_err(|e| anyhow!("{e:?}"))?;
            Ok(())
        })?,
        sandbox: per_call(options, || {
            black_box(instance.render(&guest_plan, None)?).map_err(|e| anyhow!("{e:?}"))?;
            Ok(())
        })?,
    });
    rows.push(CallRow {
        name: "new parser (per step: `ParserSession::new` = store + instance + resource)",
        native: per_call(options, || {
            black_box(k6_core::logs::Parser::new());
            Ok(())
        })?,
        sandbox: per_call(options, || {
            black_box(ParserSession::new(sandbox)?);
            Ok(())
        })?,
    });
    Ok(rows)
}

/// Runs the core benchmark and returns its markdown section.
pub fn run(options: &CoreOptions, workspace: &Path) -> Result<String> {
    let fixtures = workspace.join("plugin/tests/fixtures/k6-1.1.0");
    let corpora = corpora(&fixtures)?;
    eprintln!("bench: core: loading the sandbox (compiling the embedded core)");
    let loading = Instant::now();
    let sandbox = Sandbox::load(&PluginSource::default())?;
    let compile = loading.elapsed();

    let mut out = String::new();
    out.push_str("### Log parser throughput (lines/s, median)\n\n");
    out.push_str(&format!(
        "Each corpus is cycled to {} lines and fed in batches, pass after pass for at least {} ms \
         of CPU per measurement; median of {} measurements. \
         Sandbox = the runner's path, `ParserSession::feed` then `events_per_line` (fuel metered, memory capped), native = \
         `k6_core::logs::Parser::feed`. Times are CPU time of the benchmark thread \
         (`CLOCK_THREAD_CPUTIME_ID`), so other load on the machine does not count.\n\n",
        options.volume,
        options.min_time.as_millis(),
        options.repeats
    ));
    out.push_str(
        "| corpus (lines, mean bytes/line) | batch | native lines/s | sandbox lines/s | sandbox ÷ native | sandbox MB/s |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    for corpus in &corpora {
        let lines = corpus.repeated(options.volume);
        for batch in BATCHES {
            eprintln!("bench: core: {} × batch {batch}", corpus.name);
            let stream = native_stream(corpus.stdout);
            let mut parser = k6_core::logs::Parser::new();
            let native = throughput(options, &lines, batch, |chunk| {
                Ok(black_box(parser.feed(stream, chunk)).len())
            })?;
            let mut session = ParserSession::new(&sandbox)?;
            let stream = guest_stream(corpus.stdout);
            let sandboxed = throughput(options, &lines, batch, |chunk| {
                Ok(events_per_line(chunk.len(), session.feed(stream, chunk)?)
                    .map(black_box)
                    .count())
            })?;
            let (n, s) = (
                native.median().unwrap_or(f64::NAN),
                sandboxed.median().unwrap_or(f64::NAN),
            );
            out.push_str(&format!(
                "| {} ({}, {:.0} B) | {batch} | {} | {} | **{:.2}** | {:.1} |\n",
                corpus.name,
                corpus.lines.len(),
                corpus.mean_bytes(),
                si(n),
                si(s),
                s / n,
                s * corpus.mean_bytes() / 1e6,
            ));
        }
    }

    eprintln!("bench: core: per-call latency");
    out.push_str("\n### Per-call latency (median)\n\n");
    out.push_str(
        "| call | native | sandbox | sandbox − native (crossing + metering) | sandbox ÷ native (speed) |\n\
         |---|---:|---:|---:|---:|\n",
    );
    for row in call_rows(options, &sandbox)? {
        let (n, s) = (
            row.native.median().unwrap_or(f64::NAN),
            row.sandbox.median().unwrap_or(f64::NAN),
        );
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.2} |\n",
            row.name,
            time(n),
            time(s),
            time(s - n),
            n / s,
        ));
    }

    eprintln!("bench: core: metering variants");
    out.push_str("\n### What metering costs (batch 1,000 lines/s, and one empty crossing)\n\n");
    out.push_str(
        "The harness builds its own engine three ways from the same embedded core \
         (`Variant` in `bench/src/sandbox_vs_native.rs`): fuel as the runner meters it, epoch deadlines \
         (with a 10 ms ticker thread), and no metering at all.\n\n",
    );
    out.push_str("| variant |");
    for corpus in &corpora {
        out.push_str(&format!(" {} |", corpus.name));
    }
    out.push_str(" empty `feed` call |\n|---|");
    for _ in &corpora {
        out.push_str("---:|");
    }
    out.push_str("---:|\n");
    let mut baseline: Option<Vec<f64>> = None;
    for metering in [Metering::Off, Metering::Epoch, Metering::Fuel] {
        let mut variant = Variant::new(metering)?;
        let _ticker =
            (metering == Metering::Epoch).then(|| EpochTicker::start(&variant.engine.clone()));
        let parser = variant.new_parser()?;
        let mut figures = Vec::new();
        for corpus in &corpora {
            let lines = corpus.repeated(options.volume);
            let sample = throughput(options, &lines, 1_000, |chunk| {
                variant.feed(parser, corpus.stdout, chunk)
            })?;
            figures.push(sample.median().unwrap_or(f64::NAN));
        }
        let no_lines: Vec<String> = Vec::new();
        let empty = per_call(options, || {
            variant.feed(parser, true, &no_lines).map(|_| ())
        })?
        .median()
        .unwrap_or(f64::NAN);
        out.push_str(&format!("| {} |", metering.name()));
        for (index, figure) in figures.iter().enumerate() {
            match &baseline {
                Some(base) => out.push_str(&format!(
                    " {} ({:+.0} %) |",
                    si(*figure),
                    (figure / base[index] - 1.0) * 100.0
                )),
                None => out.push_str(&format!(" {} |", si(*figure))),
            }
        }
        out.push_str(&format!(" {} |\n", time(empty)));
        if baseline.is_none() {
            baseline = Some(figures);
        }
    }
    // The runner's own path on the same corpora, measured right after the
    // variants: what the sandbox wrapper adds to a raw metered call.
    let mut session = ParserSession::new(&sandbox)?;
    out.push_str("| `ParserSession::feed` (the runner's path, fuel) |");
    for (index, corpus) in corpora.iter().enumerate() {
        let lines = corpus.repeated(options.volume);
        let stream = guest_stream(corpus.stdout);
        let figure = throughput(options, &lines, 1_000, |chunk| {
            Ok(events_per_line(chunk.len(), session.feed(stream, chunk)?)
                .map(black_box)
                .count())
        })?
        .median()
        .unwrap_or(f64::NAN);
        let base = baseline.as_ref().map_or(f64::NAN, |base| base[index]);
        out.push_str(&format!(
            " {} ({:+.0} %) |",
            si(figure),
            (figure / base - 1.0) * 100.0
        ));
    }
    let no_lines: Vec<String> = Vec::new();
    let empty = per_call(options, || {
        session.feed(guest::OutputStream::Stdout, &no_lines)?;
        Ok(())
    })?
    .median()
    .unwrap_or(f64::NAN);
    out.push_str(&format!(" {} |\n", time(empty)));

    // Per-line cost of the crossing itself: empty lines need no parsing and
    // no copying of text, but each is still lowered (a `realloc` call into
    // the guest), lifted back as a `text` event, and freed on both sides.
    let blank: Vec<String> = vec![String::new(); options.volume];
    let mut parser = k6_core::logs::Parser::new();
    let native_blank = throughput(options, &blank, 1_000, |chunk| {
        Ok(black_box(parser.feed(native::OutputStream::Stdout, chunk)).len())
    })?
    .median()
    .unwrap_or(f64::NAN);
    let sandbox_blank = throughput(options, &blank, 1_000, |chunk| {
        Ok(events_per_line(
            chunk.len(),
            session.feed(guest::OutputStream::Stdout, chunk)?,
        )
        .map(black_box)
        .count())
    })?
    .median()
    .unwrap_or(f64::NAN);
    out.push_str(&format!(
        "\nEmpty lines, 1,000 per call: native {} lines/s ({} per line), sandbox {} lines/s \
         ({} per line): **{} per line is the crossing itself** (lowering, lifting, freeing), \
         before any parsing or copying of text.\n",
        si(native_blank),
        time(1.0 / native_blank),
        si(sandbox_blank),
        time(1.0 / sandbox_blank),
        time(1.0 / sandbox_blank - 1.0 / native_blank),
    ));
    out.push_str(&format!(
        "\nCompiling the embedded core with Cranelift (no cache) took {} in this process.\n",
        time(compile.as_secs_f64())
    ));
    Ok(out)
}
