//! Every configuration key, its default and its meaning, in one table.

/// One configuration key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// The environment / `.env` name.
    pub name: &'static str,
    /// The default, as text (empty: unset).
    pub default: &'static str,
    /// What it means, for `.env.example` and `--help`.
    pub meaning: &'static str,
    /// Whether the value must never be shown.
    pub secret: bool,
}

const fn key(name: &'static str, default: &'static str, meaning: &'static str) -> Key {
    Key { name, default, meaning, secret: false }
}

/// Every key Stackdesk reads, in the order `.env.example` lists them.
pub const KEYS: &[Key] = &[
    key(
        "REDIS_URL",
        "redis://127.0.0.1:6379/0",
        "broker, result backend and store (Celery's broker_url = result_backend)",
    ),
    key("API_HOST", "127.0.0.1", "where the API listens"),
    key("API_PORT", "8000", "the API's port"),
    key(
        "API_CORS_ORIGINS",
        "",
        "web pages allowed to call the API from a browser (comma-separated origins; the desktop app sets its own)",
    ),
    key(
        "MONITOR_PORT",
        "5555",
        "where the task monitor answers while a stack runs (history, live feed, controls; Flower's port)",
    ),
    key("WORKER_CONCURRENCY", "1", "tasks run at once (the original's worker_pool=\"solo\")"),
    key("TASK_MAX_RETRIES", "3", "retries after the first attempt (the original's max_retries=3)"),
    key("TASK_RETRY_COUNTDOWN_SECS", "5", "delay before a retry (the original's self.retry(countdown=5))"),
    key(
        "RESULT_EXPIRES_SECS",
        "86400",
        "TTL of celery-task-meta-<id> (Celery's result_expires); 0 keeps results forever",
    ),
    key(
        "VISIBILITY_TIMEOUT_SECS",
        "3600",
        "when an unacknowledged message is given to another worker (kombu's visibility_timeout)",
    ),
    Key {
        name: "TELEGRAM_BOT_TOKEN",
        default: "",
        meaning: "bot token from @BotFather; with TELEGRAM_CHAT_ID, notifications really go to Telegram",
        secret: true,
    },
    key("TELEGRAM_CHAT_ID", "", "the chat to notify: a numeric id or @channelname"),
    key("TELEGRAM_API_URL", "https://api.telegram.org", "base URL of the Bot API (tests point it at a local fake)"),
    key(
        "NOTIFY_SIMULATED_SECS",
        "30",
        "without Telegram settings, how long the simulated send takes (the original's 30 s)",
    ),
    key("NOTIFY_FAIL_FIRST_ATTEMPTS", "0", "demo switch: the first N attempts of each task fail, to show retries"),
    key("TASK_HISTORY_MAX", "10000", "how many tasks the history keeps; the oldest are trimmed"),
    key(
        "STACKDESK_DATA_DIR",
        "",
        "where `up` and the app keep Redis data, logs and settings (default: the per-user app data directory)",
    ),
    key("REDIS_SERVER", "", "path of the redis-server binary to use (default: bundled, then PATH)"),
];

/// The default of `name` (empty when it has none).
pub(crate) fn default_of(name: &str) -> &'static str {
    KEYS.iter().find(|k| k.name == name).map_or("", |k| k.default)
}

/// The text of `.env.example`: every key, its default and its meaning.
pub fn env_example() -> String {
    let mut out =
        String::from("# Stackdesk configuration. Precedence: command-line flags > environment > .env > defaults.\n");
    for key in KEYS {
        out.push_str(&format!(
            "\n# {}\n{}{}={}\n",
            key.meaning,
            if key.default.is_empty() { "# " } else { "" },
            key.name,
            key.default
        ));
    }
    out
}
