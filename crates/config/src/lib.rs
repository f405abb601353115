//! # stackdesk-config
//!
//! The settings of every Stackdesk process, from four layers: built-in defaults, then a `.env`
//! file, then the environment, then command-line flags (each overriding the one before). Every
//! value is parsed and checked once, at start: a bad one stops the process with a [`ConfigError`]
//! naming the key, the value and what is expected. Secrets are [`Secret`]s, which never print.
//!
//! # Layout
//! - [`Settings`]: the typed settings and [`Settings::load`].
//! - [`ConfigError`] and its [`Rule`]: what a bad value broke, in words and machine-readable.
//! - [`Sources`]: the raw layers, for callers (and tests) that assemble them themselves.
//! - [`Secret`]: a string that does not show itself in logs or errors.
//! - [`KEYS`]: every key with its default and meaning (the source of `.env.example`).

mod keys;
mod secret;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

pub use keys::{KEYS, Key, env_example};
pub use secret::Secret;

/// A setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {key}={value:?}: expected {expected}")]
pub struct ConfigError {
    /// The key, e.g. `API_PORT`.
    pub key: &'static str,
    /// The value given (`***` for secrets).
    pub value: String,
    /// What would have been accepted, in English words.
    pub expected: String,
    /// The same, machine-readable: the UI words it in its own language.
    pub rule: Rule,
}

/// What a setting must be: the rule a value broke, with its bounds. Serialised as the UI reads
/// it: `{"type": "whole_number", "ctx": {"min": 1, "max": 64}}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[serde(tag = "type", content = "ctx", rename_all = "snake_case")]
#[ts(export_to = "Rule.ts")]
pub enum Rule {
    /// A whole number from `min` to `max`.
    WholeNumber {
        /// The smallest accepted.
        min: u64,
        /// The largest accepted.
        max: u64,
    },
    /// A number of seconds (a fraction allowed) from 0 to `max`.
    Seconds {
        /// The largest accepted.
        max: u64,
    },
    /// A host name or IP address.
    Host,
    /// An `http://` or `https://` URL.
    HttpUrl,
    /// Comma-separated origins (scheme and host).
    Origins,
    /// A `redis://` URL.
    RedisUrl,
    /// A value, because `other` is set (a chat id with a bot token, and the other way round).
    RequiredWith {
        /// The key that needs this one.
        #[ts(type = "string")]
        other: &'static str,
    },
    /// A readable `.env` file of `KEY=value` lines.
    EnvFile,
    /// A port no other part of the stack uses (`other` holds it).
    DistinctPort {
        /// The key whose port it is.
        #[ts(type = "string")]
        other: &'static str,
    },
}

/// The raw layers, lowest precedence first.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Values read from a `.env` file.
    pub dotenv: HashMap<String, String>,
    /// Values from the process environment.
    pub env: HashMap<String, String>,
    /// Values from command-line flags.
    pub flags: HashMap<String, String>,
}

impl Sources {
    /// The process environment and `dotenv_path` (if it exists), plus `flags`.
    pub fn gather(dotenv_path: &Path, flags: HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut dotenv = HashMap::new();
        if dotenv_path.exists() {
            let entries = dotenvy::from_path_iter(dotenv_path).map_err(|e| ConfigError {
                key: ".env",
                value: dotenv_path.display().to_string(),
                expected: format!("a readable KEY=value file ({e})"),
                rule: Rule::EnvFile,
            })?;
            for entry in entries {
                let (key, value) = entry.map_err(|e| ConfigError {
                    key: ".env",
                    value: dotenv_path.display().to_string(),
                    expected: format!("KEY=value lines ({e})"),
                    rule: Rule::EnvFile,
                })?;
                dotenv.insert(key, value);
            }
        }
        let env = std::env::vars().filter(|(k, _)| KEYS.iter().any(|key| key.name == k)).collect();
        Ok(Self { dotenv, env, flags })
    }

    /// One map with each key's winning value (flags over environment over `.env`).
    pub fn merged(&self) -> HashMap<String, String> {
        let mut merged = self.dotenv.clone();
        merged.extend(self.env.clone());
        merged.extend(self.flags.clone());
        merged
    }

    /// The winning raw value of `key`, if any layer sets it (an empty value counts as unset).
    fn get(&self, key: &str) -> Option<&str> {
        [&self.flags, &self.env, &self.dotenv]
            .into_iter()
            .find_map(|layer| layer.get(key))
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }
}

/// Telegram Bot API settings, present only when both the token and the chat are set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Telegram {
    /// The bot token (`TELEGRAM_BOT_TOKEN`).
    pub bot_token: Secret,
    /// The chat to notify (`TELEGRAM_CHAT_ID`): a numeric id or `@channel`.
    pub chat_id: String,
    /// The Bot API base URL (`TELEGRAM_API_URL`).
    pub api_url: String,
}

/// Every Stackdesk setting, parsed and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `REDIS_URL`: broker, result backend and store.
    pub redis_url: Secret,
    /// `API_HOST`.
    pub api_host: String,
    /// `API_PORT`.
    pub api_port: u16,
    /// `API_CORS_ORIGINS`: origins whose pages may call the API from a browser; empty: none.
    pub api_cors_origins: Vec<String>,
    /// `MONITOR_PORT`: where the task monitor answers while a stack runs.
    pub monitor_port: u16,
    /// `WORKER_CONCURRENCY`: tasks run at once.
    pub worker_concurrency: usize,
    /// `TASK_MAX_RETRIES`.
    pub task_max_retries: u32,
    /// `TASK_RETRY_COUNTDOWN_SECS`.
    pub task_retry_countdown: Duration,
    /// `RESULT_EXPIRES_SECS`: TTL of results (`None` when 0: kept forever).
    pub result_expires: Option<Duration>,
    /// `VISIBILITY_TIMEOUT_SECS`.
    pub visibility_timeout: Duration,
    /// `TELEGRAM_*`, when notifications really go to Telegram.
    pub telegram: Option<Telegram>,
    /// `NOTIFY_SIMULATED_SECS`: how long a simulated send takes.
    pub notify_simulated: Duration,
    /// `NOTIFY_FAIL_FIRST_ATTEMPTS`: demo switch, the first N attempts of each task fail.
    pub notify_fail_first_attempts: u32,
    /// `TASK_HISTORY_MAX`: how many tasks the history keeps (oldest trimmed).
    pub task_history_max: usize,
    /// `STACKDESK_DATA_DIR`, when set.
    pub data_dir: Option<String>,
    /// `REDIS_SERVER`, when set.
    pub redis_server: Option<String>,
}

impl Settings {
    /// Loads from `./.env`, the environment and `flags` (key → value).
    pub fn load(flags: HashMap<String, String>) -> Result<Self, ConfigError> {
        Self::from_sources(&Sources::gather(Path::new(".env"), flags)?)
    }

    /// Parses and checks every key from `sources`.
    pub fn from_sources(sources: &Sources) -> Result<Self, ConfigError> {
        let p = Parser { sources };
        let redis_url = p.redis_url()?;
        let token = p.optional("TELEGRAM_BOT_TOKEN").map(Secret::new);
        let chat = p.optional("TELEGRAM_CHAT_ID");
        let api_url = p.url("TELEGRAM_API_URL")?;
        let telegram = match (token, chat) {
            (Some(bot_token), Some(chat_id)) => Some(Telegram { bot_token, chat_id, api_url }),
            (Some(_), None) => {
                return Err(p.error(
                    "TELEGRAM_CHAT_ID",
                    "",
                    "a chat id when TELEGRAM_BOT_TOKEN is set",
                    Rule::RequiredWith { other: "TELEGRAM_BOT_TOKEN" },
                ));
            }
            (None, Some(chat)) => {
                return Err(p.error(
                    "TELEGRAM_BOT_TOKEN",
                    "",
                    &format!("a bot token when TELEGRAM_CHAT_ID is set (to {chat})"),
                    Rule::RequiredWith { other: "TELEGRAM_CHAT_ID" },
                ));
            }
            (None, None) => None,
        };
        let result_expires = p.number::<u64>("RESULT_EXPIRES_SECS", 0, u64::MAX / 2)?;
        let (api_port, monitor_port): (u16, u16) =
            (p.number("API_PORT", 1, u16::MAX)?, p.number("MONITOR_PORT", 1, u16::MAX)?);
        let redis_port = local_port_of(redis_url.expose());
        for (other, port) in [("API_PORT", Some(api_port)), ("REDIS_URL", redis_port)] {
            if port == Some(monitor_port) {
                return Err(p.error(
                    "MONITOR_PORT",
                    &monitor_port.to_string(),
                    &format!("a port of its own ({other} uses {monitor_port})"),
                    Rule::DistinctPort { other },
                ));
            }
        }
        Ok(Self {
            redis_url,
            api_host: p.host("API_HOST")?,
            api_port,
            monitor_port,
            api_cors_origins: p.origins("API_CORS_ORIGINS")?,
            worker_concurrency: p.number("WORKER_CONCURRENCY", 1, 64)?,
            task_max_retries: p.number("TASK_MAX_RETRIES", 0, 100)?,
            task_retry_countdown: Duration::from_secs(p.number("TASK_RETRY_COUNTDOWN_SECS", 0, 86_400)?),
            result_expires: (result_expires > 0).then(|| Duration::from_secs(result_expires)),
            visibility_timeout: Duration::from_secs(p.number("VISIBILITY_TIMEOUT_SECS", 1, 30 * 86_400)?),
            telegram,
            notify_simulated: Duration::from_secs_f64(p.seconds("NOTIFY_SIMULATED_SECS", 3600)?),
            notify_fail_first_attempts: p.number("NOTIFY_FAIL_FIRST_ATTEMPTS", 0, 1000)?,
            task_history_max: p.number("TASK_HISTORY_MAX", 10, 10_000_000)?,
            data_dir: p.optional("STACKDESK_DATA_DIR"),
            redis_server: p.optional("REDIS_SERVER"),
        })
    }

    /// `API_HOST:API_PORT`.
    pub fn api_addr(&self) -> String {
        if self.api_host.contains(':') {
            format!("[{}]:{}", self.api_host, self.api_port)
        } else {
            format!("{}:{}", self.api_host, self.api_port)
        }
    }
}

/// The port of a Redis URL on this machine (6379 when it names none), `None` for another host.
fn local_port_of(url: &str) -> Option<u16> {
    let rest = url.split_once("://")?.1;
    let host_port = rest.rsplit_once('@').map_or(rest, |(_, hp)| hp).split('/').next()?;
    let (host, port) = host_port.rsplit_once(':').unwrap_or((host_port, "6379"));
    matches!(host, "127.0.0.1" | "localhost" | "[::1]").then(|| port.parse().ok()).flatten()
}

struct Parser<'a> {
    sources: &'a Sources,
}

impl Parser<'_> {
    fn raw(&self, key: &'static str) -> String {
        self.sources.get(key).map(str::to_string).unwrap_or_else(|| keys::default_of(key).to_string())
    }

    fn optional(&self, key: &'static str) -> Option<String> {
        self.sources.get(key).map(|v| v.trim().to_string())
    }

    fn error(&self, key: &'static str, value: &str, expected: &str, rule: Rule) -> ConfigError {
        let secret = KEYS.iter().any(|k| k.name == key && k.secret);
        ConfigError {
            key,
            value: if secret && !value.is_empty() { "***".into() } else { value.into() },
            expected: expected.into(),
            rule,
        }
    }

    fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy + TryInto<u64>>(
        &self,
        key: &'static str,
        min: T,
        max: T,
    ) -> Result<T, ConfigError> {
        let raw = self.raw(key);
        match raw.trim().parse::<T>() {
            Ok(v) if v >= min && v <= max => Ok(v),
            _ => {
                // Every bound used is a u64 or narrower; MAX only if one ever is not.
                let rule = Rule::WholeNumber {
                    min: min.try_into().unwrap_or(u64::MAX),
                    max: max.try_into().unwrap_or(u64::MAX),
                };
                Err(self.error(key, &raw, &format!("a whole number from {min} to {max}"), rule))
            }
        }
    }

    fn seconds(&self, key: &'static str, max: u64) -> Result<f64, ConfigError> {
        let raw = self.raw(key);
        match raw.trim().parse::<f64>() {
            #[allow(clippy::cast_precision_loss)] // the bounds are small whole numbers of seconds
            Ok(v) if v.is_finite() && (0.0..=max as f64).contains(&v) => Ok(v),
            _ => Err(self.error(key, &raw, &format!("a number of seconds from 0 to {max}"), Rule::Seconds { max })),
        }
    }

    fn host(&self, key: &'static str) -> Result<String, ConfigError> {
        let raw = self.raw(key);
        let host = raw.trim();
        let ok = !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || ".-:".contains(c));
        if ok {
            Ok(host.to_string())
        } else {
            Err(self.error(key, &raw, "a host name or IP address, e.g. 127.0.0.1", Rule::Host))
        }
    }

    fn url(&self, key: &'static str) -> Result<String, ConfigError> {
        let raw = self.raw(key);
        let url = raw.trim().trim_end_matches('/');
        if (url.starts_with("http://") || url.starts_with("https://")) && url.len() > "https://".len() {
            Ok(url.to_string())
        } else {
            Err(self.error(key, &raw, "an http:// or https:// URL", Rule::HttpUrl))
        }
    }

    fn origins(&self, key: &'static str) -> Result<Vec<String>, ConfigError> {
        let raw = self.raw(key);
        let mut origins = Vec::new();
        for origin in raw.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let rest = ["http://", "https://", "tauri://"].iter().find_map(|scheme| origin.strip_prefix(scheme));
            if rest.is_none_or(|host| host.is_empty() || host.contains('/') || host.contains('*')) {
                return Err(self.error(
                    key,
                    &raw,
                    "comma-separated origins such as http://127.0.0.1:5173 (scheme and host, no path, no wildcard)",
                    Rule::Origins,
                ));
            }
            origins.push(origin.to_string());
        }
        Ok(origins)
    }

    fn redis_url(&self) -> Result<Secret, ConfigError> {
        let raw = self.raw("REDIS_URL");
        let url = raw.trim();
        let rest = url.strip_prefix("redis://").or_else(|| url.strip_prefix("rediss://"));
        let expected = "redis://[:password@]host[:port][/db], e.g. redis://127.0.0.1:6379/0";
        // Never echo a password back: show the URL with it masked.
        let shown = Secret::new(url.to_string()).redacted_url();
        let Some(rest) = rest else {
            return Err(ConfigError {
                key: "REDIS_URL",
                value: shown,
                expected: expected.into(),
                rule: Rule::RedisUrl,
            });
        };
        // A user name alone cannot log in (Redis's AUTH takes a password), and a managed Redis
        // started for that user would refuse every client.
        let user_without_password = rest.rsplit_once('@').is_some_and(|(login, _)| match login.split_once(':') {
            Some((user, password)) => !user.is_empty() && password.is_empty(),
            None => !login.is_empty(),
        });
        if user_without_password {
            return Err(ConfigError {
                key: "REDIS_URL",
                value: shown,
                expected: "a user name with its password (redis://user:password@host:port/db), or neither".into(),
                rule: Rule::RedisUrl,
            });
        }
        let hostport = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
        let (hostport, db) = hostport.split_once('/').unwrap_or((hostport, "0"));
        let port_ok = hostport.rsplit_once(':').is_none_or(|(_, p)| p.parse::<u16>().is_ok_and(|p| p > 0));
        let host = hostport.rsplit_once(':').map_or(hostport, |(h, _)| h);
        if host.is_empty() || !port_ok || db.parse::<u32>().is_err() {
            return Err(ConfigError {
                key: "REDIS_URL",
                value: shown,
                expected: expected.into(),
                rule: Rule::RedisUrl,
            });
        }
        Ok(Secret::new(url.to_string()))
    }
}

impl Secret {
    /// The URL with any password replaced by `***` (for logs and errors).
    pub fn redacted_url(&self) -> String {
        let url = self.expose();
        match (url.find("://"), url.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => format!("{}://***@{}", &url[..scheme], &url[at + 1..]),
            _ => url.to_string(),
        }
    }
}

#[cfg(test)]
mod tests;
