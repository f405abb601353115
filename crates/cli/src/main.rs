//! `stackdesk`: the processes of the system, one subcommand each. This binary only parses flags,
//! sets up logging and signals, binds the listener and hands over to the libraries.

mod shutdown;
mod ui;
mod up;

/// mimalloc: the API and worker allocate many small, short-lived buffers (JSON, messages) across
/// threads, where it measured clearly faster than the system allocator (see README, Benchmarks).
/// Built without transparent huge pages (`no_thp`), which would otherwise double the idle RSS.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use config::Settings;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Stackdesk: the FastAPI + Celery + Redis teaching system, in Rust.
///
/// Settings come from flags, then the environment, then ./.env, then defaults
/// (see .env.example for every key).
#[derive(Debug, Parser)]
#[command(name = "stackdesk", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The products HTTP API (POST /products/ queues a notification; Swagger UI at /docs).
    Api {
        /// Where to listen (env API_HOST, default 127.0.0.1).
        #[arg(long)]
        host: Option<String>,
        /// The port (env API_PORT, default 8000).
        #[arg(long)]
        port: Option<String>,
        /// Redis for broker, results and store (env REDIS_URL).
        #[arg(long)]
        redis_url: Option<String>,
    },
    /// The task monitor alone (Flower's role): task history, live feed, workers and controls on
    /// MONITOR_PORT, for any Celery system on this Redis (ours, or Python workers started with -E).
    Monitor {
        /// The port (env MONITOR_PORT, default 5555).
        #[arg(long)]
        port: Option<String>,
        /// The Redis to watch (env REDIS_URL).
        #[arg(long)]
        redis_url: Option<String>,
    },
    /// All three, headless: redis-server, then the API, then the worker, each once the one before
    /// is ready, and the task monitor beside them; one merged log; Ctrl+C stops them in reverse
    /// order.
    Up {
        /// Processes run by someone else, only probed: any of redis, api, worker (comma separated).
        #[arg(long, value_delimiter = ',')]
        external: Vec<String>,
        /// Redis for broker, results and store (env REDIS_URL).
        #[arg(long)]
        redis_url: Option<String>,
        /// The API port (env API_PORT, default 8000).
        #[arg(long)]
        port: Option<String>,
    },
    /// The desktop app's UI in a browser: serves it on 127.0.0.1 with the control endpoint
    /// (Start/Stop, logs, settings) and prints its link, which holds this run's token.
    Ui {
        /// The built UI (`ui/dist`; `cargo xtask ui` builds it).
        #[arg(long, default_value = "ui/dist")]
        dir: std::path::PathBuf,
        /// The port of the UI and control endpoint (0: any free port).
        #[arg(long, default_value_t = 0)]
        ui_port: u16,
        /// Where settings are saved (default: the desktop app's config directory).
        #[arg(long)]
        config_dir: Option<std::path::PathBuf>,
        /// Start the stack at once (otherwise: the Start button).
        #[arg(long)]
        start: bool,
    },
    /// The worker running send_tg_notification (Celery-compatible).
    Worker {
        /// Tasks run at once (env WORKER_CONCURRENCY, default 1).
        #[arg(long)]
        concurrency: Option<String>,
        /// Redis for broker and results (env REDIS_URL).
        #[arg(long)]
        redis_url: Option<String>,
        /// The node name shown to Celery tools (default: stackdesk@HOSTNAME).
        #[arg(long)]
        hostname: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    let (flags, hostname) = flags_of(&cli.command);
    let loaded = config::Sources::gather(std::path::Path::new(".env"), flags)
        .and_then(|sources| Settings::from_sources(&sources).map(|settings| (sources, settings)));
    let (sources, settings) = match loaded {
        Ok(loaded) => loaded,
        Err(err) => {
            eprintln!("stackdesk: {err}");
            return ExitCode::from(2);
        }
    };
    // The worker and the API run on one thread: their work is waiting on Redis (and Telegram),
    // and handing each task or request between threads cost more than it gave (see README,
    // "Benchmarks"). One thread of the API already reaches most of what Redis itself can store.
    let mut builder = match cli.command {
        Command::Worker { .. } | Command::Api { .. } => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("stackdesk: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let shutdown = CancellationToken::new();
        shutdown::on_signal(shutdown.clone());
        shutdown::on_stop_pipe(shutdown.clone());
        match cli.command {
            Command::Api { .. } => run_api(&settings, shutdown).await,
            Command::Worker { .. } => run_worker(&settings, hostname, shutdown).await,
            Command::Monitor { .. } => run_monitor(&settings, shutdown).await,
            Command::Up { external, .. } => up::run(&settings, &external, shutdown).await,
            Command::Ui { dir, ui_port, config_dir, start } => {
                let options = ui::UiOptions { dir, port: ui_port, config_dir, start };
                ui::run(&sources, &settings, options, shutdown).await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("stackdesk: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The flags given, by configuration key.
fn flags_of(command: &Command) -> (HashMap<String, String>, Option<String>) {
    let mut flags = HashMap::new();
    let mut set = |key: &str, value: &Option<String>| {
        if let Some(value) = value {
            flags.insert(key.to_string(), value.clone());
        }
    };
    match command {
        Command::Api { host, port, redis_url } => {
            set("API_HOST", host);
            set("API_PORT", port);
            set("REDIS_URL", redis_url);
            (flags, None)
        }
        Command::Monitor { port, redis_url } => {
            set("MONITOR_PORT", port);
            set("REDIS_URL", redis_url);
            (flags, None)
        }
        Command::Up { redis_url, port, .. } => {
            set("REDIS_URL", redis_url);
            set("API_PORT", port);
            (flags, None)
        }
        Command::Ui { .. } => (flags, None),
        Command::Worker { concurrency, redis_url, hostname } => {
            set("WORKER_CONCURRENCY", concurrency);
            set("REDIS_URL", redis_url);
            (flags, hostname.clone())
        }
    }
}

async fn run_api(settings: &Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let addr = settings.api_addr();
    let loopback = settings.api_host == "localhost"
        || settings.api_host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        tracing::warn!(
            host = %settings.api_host,
            "API_HOST is not this machine alone: every computer that reaches {addr} can create products; keep \
             127.0.0.1 unless you mean that"
        );
    }
    let listener = tokio::net::TcpListener::bind(&addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    let broker = taskq::Broker::connect(settings.redis_url.expose(), taskq::BrokerOptions::default())
        .await
        .with_context(|| format!("cannot reach Redis at {}", settings.redis_url.redacted_url()))?;
    let options = api::ApiOptions {
        history_max: settings.task_history_max,
        cors_origins: settings.api_cors_origins.clone(),
        notifier: Some(
            worker::notify::Notifier::from_settings(settings)
                .context("setting up the notifier of the synchronous variant")?,
        ),
        ..api::ApiOptions::default()
    };
    let state = api::AppState::new(&broker, options, shutdown.clone());
    tracing::info!(%addr, redis = %settings.redis_url.redacted_url(), "API listening; Swagger UI at http://{addr}/docs");
    api::serve(listener, state, shutdown).await.context("serving HTTP")?;
    tracing::info!("API stopped");
    Ok(())
}

async fn run_monitor(settings: &Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let addr = format!("127.0.0.1:{}", settings.monitor_port);
    let listener = tokio::net::TcpListener::bind(&addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    let tracker = TaskTracker::new();
    let options = monitor::MonitorOptions::from_settings(settings);
    monitor::start(listener, settings.redis_url.expose().to_string(), options, &tracker, shutdown.clone());
    tracker.close();
    tracing::info!(%addr, redis = %settings.redis_url.redacted_url(), "monitor listening; Swagger UI at http://{addr}/docs");
    shutdown.cancelled().await;
    if tokio::time::timeout(Duration::from_secs(5), tracker.wait()).await.is_err() {
        tracing::warn!("the monitor did not stop within 5 s");
    }
    tracing::info!("monitor stopped");
    Ok(())
}

async fn run_worker(settings: &Settings, hostname: Option<String>, shutdown: CancellationToken) -> anyhow::Result<()> {
    let summary = worker::run(settings, hostname, shutdown).await?;
    tracing::info!(processed = summary.processed, restored = summary.restored, "worker stopped");
    Ok(())
}
