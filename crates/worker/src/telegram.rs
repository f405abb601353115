//! A minimal Telegram Bot API client: `sendMessage`, with the per-chat rate limit and errors
//! classified by what they call for.

use std::sync::Arc;
use std::time::Duration;

use config::Secret;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Telegram allows about one message per second to the same chat.
pub const PER_CHAT_INTERVAL: Duration = Duration::from_secs(1);

/// Why a message was not sent, and so what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TelegramError {
    /// Telegram asked us to wait (HTTP 429 with `retry_after`).
    #[error("Telegram rate limit: retry after {retry_after:?}")]
    RateLimited {
        /// Telegram's `parameters.retry_after`.
        retry_after: Duration,
    },
    /// Telegram refused the request (400, 401, 403, 404): retrying will not help.
    #[error("Telegram API error {status}: {description}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// Telegram's `description`.
        description: String,
    },
    /// Telegram failed (5xx) or answered something that is not the Bot API.
    #[error("Telegram API error {status}: {description}")]
    ServerError {
        /// HTTP status.
        status: u16,
        /// Telegram's `description`, or what was wrong with the answer.
        description: String,
    },
    /// The request did not get an answer (DNS, connect, timeout).
    #[error("Telegram API unreachable: {0}")]
    Network(String),
    /// The client could not be built.
    #[error("cannot build the Telegram client: {0}")]
    Client(String),
    /// The send was cancelled (the worker is stopping).
    #[error("cancelled")]
    Cancelled,
}

/// A message Telegram accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// Telegram's id of the message.
    pub message_id: i64,
    /// The chat it went to, as Telegram reports it.
    pub chat_id: serde_json::Value,
}

#[derive(Deserialize)]
struct Answer {
    ok: bool,
    #[serde(default)]
    result: Option<serde_json::Value>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<Parameters>,
}

#[derive(Deserialize)]
struct Parameters {
    retry_after: Option<u64>,
}

/// Sends messages to one chat.
#[derive(Clone)]
pub struct TelegramClient {
    http: reqwest::Client,
    /// `<api_url>/bot<token>/sendMessage`: holds the token, so never logged.
    send_url: Secret,
    /// The token, to mask it wherever an answer echoes it.
    token: Secret,
    chat_id: String,
    /// When the next message to this chat may go out (shared by all clones).
    next_slot: Arc<Mutex<Instant>>,
}

impl std::fmt::Debug for TelegramClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramClient").field("chat_id", &self.chat_id).finish_non_exhaustive()
    }
}

impl TelegramClient {
    /// A client for `chat_id` through the Bot API at `api_url` with `token`.
    pub fn new(api_url: &str, token: &Secret, chat_id: &str) -> Result<Self, TelegramError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("stackdesk/", env!("CARGO_PKG_VERSION")))
            // A redirect would carry the token (it is in the path) to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| TelegramError::Client(e.to_string()))?;
        let send_url = Secret::new(format!("{}/bot{}/sendMessage", api_url.trim_end_matches('/'), token.expose()));
        Ok(Self {
            http,
            send_url,
            token: token.clone(),
            chat_id: chat_id.into(),
            next_slot: Arc::new(Mutex::new(Instant::now())),
        })
    }

    /// Sends `text`, first waiting for this chat's next free slot (about one message a second).
    pub async fn send_message(&self, text: &str, cancel: &CancellationToken) -> Result<Sent, TelegramError> {
        let slot = {
            let mut next = self.next_slot.lock().await;
            let slot = (*next).max(Instant::now());
            *next = slot + PER_CHAT_INTERVAL;
            slot
        };
        tokio::select! {
            () = cancel.cancelled() => return Err(TelegramError::Cancelled),
            () = tokio::time::sleep_until(slot) => {}
        }
        let request = self.http.post(self.send_url.expose()).json(&json!({"chat_id": self.chat_id, "text": text}));
        let response = tokio::select! {
            () = cancel.cancelled() => return Err(TelegramError::Cancelled),
            response = request.send() => response.map_err(|e| TelegramError::Network(describe(&e)))?,
        };
        let status = response.status().as_u16();
        let answer: Option<Answer> = response.json().await.ok();
        classify(status, answer).map_err(|err| err.masked(self.token.expose()))
    }
}

impl TelegramError {
    /// The error with `token` masked wherever Telegram's answer echoed it.
    fn masked(self, token: &str) -> Self {
        let mask = |text: String| if token.is_empty() { text } else { text.replace(token, "***") };
        match self {
            TelegramError::Rejected { status, description } => {
                TelegramError::Rejected { status, description: mask(description) }
            }
            TelegramError::ServerError { status, description } => {
                TelegramError::ServerError { status, description: mask(description) }
            }
            other => other,
        }
    }
}

/// A reqwest error's text without the URL (which holds the token).
fn describe(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(err);
    let mut detail = String::new();
    while let Some(inner) = source {
        detail = inner.to_string();
        source = inner.source();
    }
    if detail.is_empty() { kind.to_string() } else { format!("{kind}: {detail}") }
}

fn classify(status: u16, answer: Option<Answer>) -> Result<Sent, TelegramError> {
    let description = answer.as_ref().and_then(|a| a.description.clone()).unwrap_or_else(|| "no description".into());
    match (status, answer) {
        (200..=299, Some(Answer { ok: true, result: Some(result), .. })) => {
            let message_id = result.get("message_id").and_then(serde_json::Value::as_i64).unwrap_or_default();
            let chat_id = result.pointer("/chat/id").cloned().unwrap_or(serde_json::Value::Null);
            Ok(Sent { message_id, chat_id })
        }
        (429, answer) => {
            let seconds = answer.and_then(|a| a.parameters).and_then(|p| p.retry_after).unwrap_or(1);
            Err(TelegramError::RateLimited { retry_after: Duration::from_secs(seconds) })
        }
        (400..=499, _) => Err(TelegramError::Rejected { status, description }),
        (200..=299, _) => {
            Err(TelegramError::ServerError { status, description: "the answer is not a Bot API result".into() })
        }
        _ => Err(TelegramError::ServerError { status, description }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(json: serde_json::Value) -> Option<Answer> {
        serde_json::from_value(json).ok()
    }

    #[test]
    fn errors_are_classified_by_what_they_call_for() {
        let ok = classify(200, answer(json!({"ok": true, "result": {"message_id": 7, "chat": {"id": 42}}})));
        assert_eq!(ok, Ok(Sent { message_id: 7, chat_id: json!(42) }));
        let limited = classify(
            429,
            answer(
                json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 3", "parameters": {"retry_after": 3}}),
            ),
        );
        assert_eq!(limited, Err(TelegramError::RateLimited { retry_after: Duration::from_secs(3) }));
        let unauthorized =
            classify(401, answer(json!({"ok": false, "error_code": 401, "description": "Unauthorized"})));
        assert_eq!(unauthorized, Err(TelegramError::Rejected { status: 401, description: "Unauthorized".into() }));
        assert!(matches!(classify(502, None), Err(TelegramError::ServerError { status: 502, .. })));
        assert!(matches!(classify(200, answer(json!({"ok": false}))), Err(TelegramError::ServerError { .. })));
    }
}
