//! # stackdesk-worker
//!
//! The original system's background work: `tasks.notifications.send_tg_notification(product)`,
//! run by a Celery-compatible worker ([`taskq::Worker`]) with the seed's semantics — acks late,
//! `countdown=5`, `max_retries=3`, concurrency 1 by default.
//!
//! # Layout
//! - [`notify`]: the task itself: text of the message, simulated or real send, what each failure
//!   leads to.
//! - [`telegram`]: a minimal Bot API client (`sendMessage`) that respects Telegram's per-chat rate
//!   limit and classifies errors.
//! - [`run`] / [`registry`]: wiring the task into a worker from [`config::Settings`].

pub mod notify;
pub mod telegram;

use std::time::Duration;

use config::Settings;
use taskq::{Broker, BrokerOptions, Registry, TaskOptions, Worker, WorkerConfig, WorkerSummary};
use tokio_util::sync::CancellationToken;

pub use notify::TASK_NAME;

/// The registry of this worker: the notification task with the configured retry policy.
pub fn registry(settings: &Settings) -> Result<Registry, telegram::TelegramError> {
    let notifier = notify::Notifier::from_settings(settings)?;
    let options = TaskOptions {
        max_retries: Some(settings.task_max_retries),
        default_retry_delay: settings.task_retry_countdown,
    };
    let mut registry = Registry::new();
    registry.register(TASK_NAME, options, move |ctx| {
        let notifier = notifier.clone();
        async move { notifier.run(ctx).await }
    });
    Ok(registry)
}

/// Why the worker could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Redis could not be reached or refused us.
    #[error("cannot use Redis at {url}: {source}")]
    Redis {
        /// The Redis URL with any password masked.
        url: String,
        /// What went wrong.
        source: taskq::Error,
    },
    /// The Telegram client could not be built.
    #[error(transparent)]
    Telegram(#[from] telegram::TelegramError),
}

/// Runs the notification worker until `shutdown` fires, then shuts down gracefully.
pub async fn run(
    settings: &Settings,
    hostname: Option<String>,
    shutdown: CancellationToken,
) -> Result<WorkerSummary, RunError> {
    let redis_error = |source| RunError::Redis { url: settings.redis_url.redacted_url(), source };
    let options = BrokerOptions { visibility_timeout: settings.visibility_timeout, ..BrokerOptions::default() };
    let broker = Broker::connect(settings.redis_url.expose(), options).await.map_err(redis_error)?;
    let mut config = WorkerConfig {
        concurrency: settings.worker_concurrency,
        result_expires: settings.result_expires,
        // Enough for a Telegram call to finish when asked to stop; a longer simulated send is
        // cancelled and its message put back on the queue (it runs again on the next start).
        shutdown_timeout: Duration::from_secs(5),
        // Revokes made through the monitor while no worker ran.
        revoked_key: Some(layout::keys::REVOKED.into()),
        ..WorkerConfig::default()
    };
    if let Some(hostname) = hostname {
        config.hostname = hostname;
    }
    match &settings.telegram {
        Some(tg) => tracing::info!(chat_id = %tg.chat_id, api = %tg.api_url, "notifications go to Telegram"),
        None => tracing::info!(
            seconds = settings.notify_simulated.as_secs_f64(),
            "no Telegram settings: notifications are simulated"
        ),
    }
    Worker::new(broker, registry(settings)?, config).run(shutdown).await.map_err(redis_error)
}
