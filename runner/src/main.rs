//! `k6-runner`: the standalone k6 control plane.
//!
//! Parses the command line, builds the [`Service`], and hands over to the
//! library: the server, a headless run, or a one-off core call.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use k6_runner::auth::Tokens;
use k6_runner::history::BaselineChoice;
use k6_runner::prometheus::RemoteWrite;
use k6_runner::sandbox::{PluginSource, Sandbox};
use k6_runner::webhooks::{self, Secret, Target, WebhookConfig};
use k6_runner::{ControlError, Service, ServiceConfig};

/// The environment variable that may hold the bearer tokens.
const TOKENS_ENV: &str = "K6_RUNNER_TOKENS";
/// The environment variable that may hold the webhook secret.
const WEBHOOK_SECRET_ENV: &str = "K6_RUNNER_WEBHOOK_SECRET";

/// Control plane for Grafana k6 load tests.
#[derive(Debug, Parser)]
#[command(name = "k6-runner", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the REST API and WebSocket.
    Serve(ServeArgs),
    /// Check a config file; prints its canonical form, or every field error
    /// (exit 1).
    Validate(FileArgs),
    /// Print the `k6_all.sh` a config file would run.
    Render(FileArgs),
    /// Run a config's suite without a server: progress on stderr, the run
    /// record as JSON on stdout; exit 0 only if every script passed (1
    /// if one failed; with `--baseline`, 3 if all passed but the run
    /// regressed against the baseline).
    Run(RunArgs),
    /// Print a config's suite as manifests for another engine.
    Export {
        #[command(subcommand)]
        target: ExportTarget,
    },
    /// The core component.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ExportTarget {
    /// A YAML stream for grafana/k6-operator: per k6 step a ConfigMap with
    /// its `k6 archive` and a TestRun splitting its users over
    /// `--parallelism` runner pods; the header says how to apply them in
    /// order.
    #[command(name = "k6-operator")]
    K6Operator(K6OperatorArgs),
}

#[derive(Debug, Args)]
struct K6OperatorArgs {
    /// The config file (JSON, as `PUT /api/k6/config` takes it).
    file: PathBuf,
    /// Runner pods per step (the users are split between them).
    #[arg(long, value_name = "N")]
    parallelism: u32,
    /// Namespace of every object (default: kubectl's current one).
    #[arg(long, value_name = "NS")]
    namespace: Option<String>,
    /// The runner pods' image (default: grafana/k6 of the k6 that made the
    /// archives).
    #[arg(long, value_name = "IMG")]
    runner_image: Option<String>,
    /// CPU per runner pod, request and limit (a Kubernetes quantity: 500m, 2).
    #[arg(long, value_name = "QTY")]
    runner_cpu: Option<String>,
    /// Memory per runner pod, request and limit (512Mi, 2Gi).
    #[arg(long, value_name = "QTY")]
    runner_memory: Option<String>,
    /// The suite's name in every object's name and labels.
    #[arg(long, value_name = "NAME", default_value = k6_runner::DEFAULT_SUITE)]
    suite: String,
    /// The run's id in every object's name and labels (default: the time,
    /// as a run's id).
    #[arg(long, value_name = "ID")]
    run_id: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// Print the component's digest, WIT package, imports and exports.
    Inspect(PluginArgs),
}

#[derive(Debug, Args)]
struct PluginArgs {
    /// A core component to load instead of the embedded one.
    #[arg(long, value_name = "FILE")]
    plugin: Option<PathBuf>,
    /// Refuse the component unless its sha256 is this (hex).
    #[arg(long, value_name = "HEX")]
    plugin_sha256: Option<String>,
}

#[derive(Debug, Args)]
struct CommonArgs {
    /// A directory of k6 scripts the runner may run (repeatable). Scripts
    /// are named relative to it.
    #[arg(long = "scripts-dir", value_name = "DIR", required = true)]
    scripts_dirs: Vec<PathBuf>,
    /// The k6 binary (default: `k6` on PATH).
    #[arg(long, value_name = "PATH")]
    k6: Option<PathBuf>,
    /// Most virtual users a config may ask for (default: the core's, 1000).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_users: Option<u32>,
    /// Also pass this environment variable to k6 (repeatable).
    #[arg(long = "pass-env", value_name = "NAME")]
    pass_env: Vec<String>,
    /// Seconds between a stop request and SIGKILL of the step's processes.
    #[arg(long, value_name = "SECONDS", default_value_t = 15)]
    stop_grace: u64,
    /// Size in bytes at which a step's log file is rotated (3 old parts
    /// are kept); at least 4096.
    #[arg(
        long,
        value_name = "BYTES",
        default_value_t = k6_runner::DEFAULT_STEP_LOG_MAX_BYTES,
        value_parser = clap::value_parser!(u64).range(4096..)
    )]
    step_log_max_bytes: u64,
    /// A Handlebars template for `k6_all.sh` (default: the core's).
    #[arg(long, value_name = "FILE")]
    template: Option<PathBuf>,
    /// Keep only the newest N ended runs in the history (older ones are
    /// deleted, folders included; baselines are kept); 0 keeps all.
    #[arg(long, value_name = "N", default_value_t = k6_runner::history::DEFAULT_KEEP_RUNS)]
    keep_runs: u32,
    /// Also delete runs that started more than DAYS days ago (baselines
    /// are kept). Default: no age limit.
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..))]
    keep_days: Option<u32>,
    #[command(flatten)]
    plugin: PluginArgs,
    /// Compile the core at every start instead of caching its native code.
    #[arg(long)]
    no_plugin_cache: bool,
}

/// k6's own metrics to Prometheus: runner flags, never config fields (see
/// `k6_runner::prometheus::remote_write`).
#[derive(Debug, Args)]
struct K6OutputArgs {
    /// Also send every k6 step's metrics to this Prometheus remote-write
    /// endpoint, with k6's `experimental-prometheus-rw` output (for
    /// Prometheus: http://HOST:9090/api/v1/write, served with
    /// --web.enable-remote-write-receiver).
    #[arg(long = "k6-prometheus-rw", value_name = "URL")]
    k6_prometheus_rw: Option<String>,
    /// The trend statistics k6 sends there, comma-separated: avg, min, med,
    /// max, sum, count, p(N) [default: p(95),p(99),min,max].
    #[arg(
        long = "k6-prometheus-rw-trend-stats",
        value_name = "LIST",
        requires = "k6_prometheus_rw"
    )]
    k6_prometheus_rw_trend_stats: Option<String>,
}

impl K6OutputArgs {
    /// The option, checked.
    fn remote_write(&self) -> Result<Option<RemoteWrite>> {
        self.k6_prometheus_rw
            .as_deref()
            .map(|url| RemoteWrite::new(url, self.k6_prometheus_rw_trend_stats.as_deref()))
            .transpose()
            .context("--k6-prometheus-rw")
    }
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// Where config, run records and logs are kept.
    #[arg(long, value_name = "DIR", default_value = "k6-runner-data")]
    data_dir: PathBuf,
    /// Also serve the example scripts' local HTTP target on this address.
    #[arg(long, value_name = "ADDR")]
    demo_target: Option<SocketAddr>,
    /// Bearer tokens, one `name:role:secret` per line (role: viewer or
    /// operator). Required to bind a non-loopback address. Instead of a
    /// file, `K6_RUNNER_TOKENS=name:role:secret,...` in the environment
    /// (there is no flag for the secrets themselves: a command line is
    /// readable by every user of the machine).
    #[arg(long, value_name = "FILE")]
    tokens_file: Option<PathBuf>,
    #[command(flatten)]
    k6_output: K6OutputArgs,
    #[command(flatten)]
    webhooks: WebhookArgs,
    #[command(flatten)]
    common: CommonArgs,
}

/// Webhooks: runner flags only, never over the API (see
/// `k6_runner::webhooks`).
#[derive(Debug, Args)]
struct WebhookArgs {
    /// POST every run event (run.started, run.finished, run.failed,
    /// run.regressed, step.failed) to this http(s) URL (repeatable).
    #[arg(long = "webhook", value_name = "URL")]
    webhooks: Vec<String>,
    /// More webhook targets: a JSON array of {"url": ..., "events": [...]}
    /// (`events` optional: all).
    #[arg(long, value_name = "FILE")]
    webhooks_file: Option<PathBuf>,
    /// The secret that signs each delivery (X-K6-Signature), in a file.
    /// Instead, `K6_RUNNER_WEBHOOK_SECRET` in the environment (no flag for
    /// the secret itself: a command line is readable by every user).
    #[arg(long, value_name = "FILE")]
    webhook_secret_file: Option<PathBuf>,
    /// The runner's address as receivers reach it, for each event's
    /// `link` (`<URL>/api/k6/runs/<id>`); default: the address served.
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
}

impl WebhookArgs {
    /// The webhook configuration, checked: bad URLs, an unreadable file
    /// or targets without a secret stop the runner here.
    fn config(&self) -> Result<WebhookConfig> {
        let mut targets = self
            .webhooks
            .iter()
            .map(|url| Target::new(url, None))
            .collect::<Result<Vec<_>, _>>()
            .context("--webhook")?;
        if let Some(file) = &self.webhooks_file {
            targets.extend(webhooks::targets_from_file(file).context("--webhooks-file")?);
        }
        let from_env = match std::env::var(WEBHOOK_SECRET_ENV) {
            Ok(secret) => Some(secret),
            Err(std::env::VarError::NotPresent) => None,
            Err(error) => bail!("{WEBHOOK_SECRET_ENV}: {error}"),
        };
        let secret = match (&self.webhook_secret_file, from_env) {
            (Some(_), Some(_)) => bail!(
                "both --webhook-secret-file and {WEBHOOK_SECRET_ENV} are set; give the secret \
                 one way, so that it is clear which applies"
            ),
            (Some(file), None) => Some(Secret::from_file(file)?),
            (None, Some(text)) => Some(Secret::new(&text, WEBHOOK_SECRET_ENV)?),
            (None, None) => None,
        };
        let config = WebhookConfig {
            targets,
            secret,
            link_base: self.public_url.clone(),
        };
        config.check()?;
        Ok(config)
    }
}

#[derive(Debug, Args)]
struct FileArgs {
    /// The config file (JSON, as `PUT /api/k6/config` takes it).
    file: PathBuf,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// The config file (JSON, as `PUT /api/k6/config` takes it).
    file: PathBuf,
    /// Keep the run's record and logs here (default: a temporary directory,
    /// removed afterwards).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Also serve the example scripts' local HTTP target on this address.
    #[arg(long, value_name = "ADDR")]
    demo_target: Option<SocketAddr>,
    /// Compare the run with a stored run of the data directory's history
    /// (`last`: the newest run before it; or a run id), print the
    /// comparison on stderr, and exit 3 if a regression budget is crossed.
    #[arg(long, value_name = "last|ID", requires = "data_dir")]
    baseline: Option<String>,
    #[command(flatten)]
    k6_output: K6OutputArgs,
    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("info,warp=warn,hyper=warn")
            }),
        )
        .with_writer(std::io::stderr)
        // A log line that cannot be written is dropped, and nothing else:
        // when a supervising host dies, the pipe it read our stderr from
        // is gone, and reporting that (with eprintln!) would panic the
        // task that logged, mid-request or mid-shutdown.
        .log_internal_errors(false)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", error_chain(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes in one line. The library's errors already
/// name their cause in their own message, so a cause whose text is already
/// there is not repeated.
fn error_chain(error: &anyhow::Error) -> String {
    let mut line = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !line.contains(&cause) {
            line.push_str(": ");
            line.push_str(&cause);
        }
    }
    line
}

async fn dispatch(command: Command) -> Result<ExitCode> {
    match command {
        Command::Serve(args) => serve(args).await,
        Command::Validate(args) => validate(args).await,
        Command::Render(args) => render(args).await,
        Command::Run(args) => run(args).await,
        Command::Export {
            target: ExportTarget::K6Operator(args),
        } => export_k6_operator(args).await,
        Command::Plugin {
            command: PluginCommand::Inspect(args),
        } => inspect(args),
    }
}

async fn serve(args: ServeArgs) -> Result<ExitCode> {
    let from_env = match std::env::var(TOKENS_ENV) {
        Ok(list) => Some(list),
        Err(std::env::VarError::NotPresent) => None,
        Err(error) => bail!("{TOKENS_ENV}: {error}"),
    };
    let tokens = match (&args.tokens_file, from_env) {
        (Some(_), Some(_)) => bail!(
            "both --tokens-file and {TOKENS_ENV} are set; give the tokens one way, so that \
             it is clear which apply"
        ),
        (Some(file), None) => Some(Tokens::from_file(file)?),
        (None, Some(list)) => Some(Tokens::parse(&list, TOKENS_ENV)?),
        (None, None) => None,
    };
    let auth = k6_runner::server::auth_for(args.bind, tokens)?;
    let k6_output = args.k6_output.remote_write()?;
    let mut webhooks = args.webhooks.config()?;
    if let Some(addr) = args.demo_target {
        let bound = k6_runner::demo_target::spawn(addr)
            .await
            .with_context(|| format!("binding the demo target on {addr}"))?;
        tracing::info!(%bound, "demo target listening");
    }
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("binding {}", args.bind))?;
    if webhooks.link_base.is_none() {
        webhooks.link_base = Some(format!("http://{}", listener.local_addr()?));
    }
    let service = start_service(&args.data_dir, &args.common, k6_output, webhooks).await?;
    // On stdout, for people and for scripts that bind port 0.
    println!(
        "k6 runner listening on http://{}/ (API under /api/k6)",
        listener.local_addr()?
    );
    k6_runner::server::serve(service, auth, listener, shutdown_signal()).await;
    Ok(ExitCode::SUCCESS)
}

async fn validate(args: FileArgs) -> Result<ExitCode> {
    let scratch = tempfile::tempdir().context("creating a scratch data directory")?;
    let service =
        start_service(scratch.path(), &args.common, None, WebhookConfig::default()).await?;
    match service.put_config(read_config_file(&args.file)?).await {
        Ok(json) => {
            println!("{json}");
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => report_invalid(&args.file, error),
    }
}

async fn render(args: FileArgs) -> Result<ExitCode> {
    let scratch = tempfile::tempdir().context("creating a scratch data directory")?;
    let service =
        start_service(scratch.path(), &args.common, None, WebhookConfig::default()).await?;
    if let Err(error) = service.put_config(read_config_file(&args.file)?).await {
        return report_invalid(&args.file, error);
    }
    match service.render_script().await {
        Ok(script) => {
            print!("{script}");
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => report_invalid(&args.file, error),
    }
}

async fn export_k6_operator(args: K6OperatorArgs) -> Result<ExitCode> {
    let scratch = tempfile::tempdir().context("creating a scratch data directory")?;
    let service =
        start_service(scratch.path(), &args.common, None, WebhookConfig::default()).await?;
    if let Err(error) = service.put_config(read_config_file(&args.file)?).await {
        return report_invalid(&args.file, error);
    }
    let request = k6_runner::OperatorExport {
        parallelism: args.parallelism,
        namespace: args.namespace,
        runner_image: args.runner_image,
        runner_cpu: args.runner_cpu,
        runner_memory: args.runner_memory,
        suite: Some(args.suite),
        run_id: args.run_id,
    };
    match service.export_k6_operator(request).await {
        Ok(yaml) => {
            print!("{yaml}");
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => report_invalid(&args.file, error),
    }
}

async fn run(args: RunArgs) -> Result<ExitCode> {
    let k6_output = args.k6_output.remote_write()?;
    if let Some(addr) = args.demo_target {
        k6_runner::demo_target::spawn(addr)
            .await
            .with_context(|| format!("binding the demo target on {addr}"))?;
    }
    let scratch = tempfile::tempdir().context("creating a scratch data directory")?;
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| scratch.path().to_path_buf());
    let service =
        start_service(&data_dir, &args.common, k6_output, WebhookConfig::default()).await?;
    if let Err(error) = service.put_config(read_config_file(&args.file)?).await {
        return report_invalid(&args.file, error);
    }
    let stopper = service.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        stopper.stop_run(k6_runner::contract::StopCause::Operator);
    });
    let mut stderr = std::io::stderr();
    let mut record = k6_runner::headless::run(service.clone(), &mut stderr)
        .await
        .context("running the suite")?;
    let regressed = match &args.baseline {
        None => false,
        Some(choice) => {
            let choice = match choice.as_str() {
                "last" => BaselineChoice::Last,
                id => BaselineChoice::Run(id.to_owned()),
            };
            match service
                .history()
                .judge(&record, choice.clone())
                .await
                .context("comparing with the baseline")?
            {
                Some((regression, comparisons)) => {
                    for comparison in &comparisons {
                        k6_runner::headless::print_comparison(&mut stderr, comparison);
                    }
                    record.regression = Some(regression);
                    record.regression.as_ref().is_some_and(|r| r.regressed)
                }
                None => match choice {
                    BaselineChoice::Run(id) => {
                        bail!("no ended run {id} in the history of {}", data_dir.display())
                    }
                    _ => {
                        eprintln!("no earlier run to compare with");
                        false
                    }
                },
            }
        }
    };
    println!("{}", serde_json::to_string_pretty(&record)?);
    Ok(if !k6_runner::headless::all_passed(&record) {
        ExitCode::FAILURE
    } else if regressed {
        ExitCode::from(k6_runner::headless::EXIT_REGRESSED)
    } else {
        ExitCode::SUCCESS
    })
}

fn inspect(args: PluginArgs) -> Result<ExitCode> {
    let source = PluginSource {
        file: args.plugin,
        expected_sha256: args.plugin_sha256,
        cache_dir: None,
    };
    let sandbox = Sandbox::load(&source)?;
    let info = sandbox.info();
    println!("origin:  {}", info.origin);
    println!("sha256:  {}", info.sha256);
    println!("package: {}", info.package.as_deref().unwrap_or("(none)"));
    println!(
        "imports: {}",
        if info.imports.is_empty() {
            "none".to_owned()
        } else {
            String::new()
        }
    );
    for import in &info.imports {
        println!("  {import}");
    }
    println!("exports:");
    for export in &info.exports {
        println!("  {export}");
    }
    Ok(ExitCode::SUCCESS)
}

async fn start_service(
    data_dir: &Path,
    common: &CommonArgs,
    k6_output: Option<RemoteWrite>,
    webhooks: WebhookConfig,
) -> Result<Arc<Service>> {
    let mut config = ServiceConfig::new(data_dir, common.scripts_dirs.clone());
    config.webhooks = webhooks;
    config.k6_prometheus_rw = k6_output;
    config.k6 = common.k6.clone();
    config.pass_env = common.pass_env.clone();
    config.stop_grace = Duration::from_secs(common.stop_grace);
    config.step_log_max_bytes = common.step_log_max_bytes;
    config.template = common.template.clone();
    config.retention = k6_runner::history::Retention {
        keep_runs: Some(common.keep_runs).filter(|n| *n > 0),
        keep_days: common.keep_days,
    };
    config.plugin.file = common.plugin.plugin.clone();
    config.plugin.expected_sha256 = common.plugin.plugin_sha256.clone();
    if common.no_plugin_cache {
        config.plugin.cache_dir = None;
    }
    config.max_users = common.max_users;
    Ok(Service::start(config).await?)
}

fn read_config_file(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn report_invalid(file: &Path, error: ControlError) -> Result<ExitCode> {
    match error {
        ControlError::Invalid { message, fields }
        | ControlError::BadRequest { message, fields } => {
            eprintln!("{}: {message}", file.display());
            for field in fields {
                let name = if field.field.is_empty() {
                    "(body)"
                } else {
                    field.field.as_str()
                };
                eprintln!("  {name}: {} [{}]", field.message, field.code);
            }
            Ok(ExitCode::FAILURE)
        }
        other => bail!(other),
    }
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}
