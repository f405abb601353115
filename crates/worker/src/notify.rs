//! `tasks.notifications.send_tg_notification(product)`: the one task of the original system.
//!
//! What each outcome leads to is decided here, in [`outcome_of`]:
//! | what happened | task outcome |
//! |---|---|
//! | sent | SUCCESS `{"status": "sent", "chat_id", "message_id", "product_id"}` |
//! | no Telegram settings | after `NOTIFY_SIMULATED_SECS`: SUCCESS `{"status": "simulated", "product_id", "text"}` |
//! | network error, 5xx | RETRY after `TASK_RETRY_COUNTDOWN_SECS` (FAILURE once retries are used up) |
//! | 429 | RETRY after Telegram's `retry_after` |
//! | 400 / 401 / 403 | FAILURE at once, with Telegram's description |
//! | `NOTIFY_FAIL_FIRST_ATTEMPTS` not yet reached | RETRY (demo of retries and FAILURE) |
//! | called with the wrong arguments (three, none, an unknown keyword) | FAILURE, the `TypeError` Python raises |
//! | the argument is not a product (not a dict, no `id`) | FAILURE, Python's `TypeError` / `KeyError`, at once |
//!
//! The original retries *every* exception of its body (`except Exception: raise self.retry(…)`);
//! an argument that is not a product fails at once here, since no retry can mend it.

use std::time::Duration;

use serde_json::{Value, json};
use taskq::signature::{self, Signature};
use taskq::{ExceptionInfo, TaskContext, TaskError, TaskResult};

use crate::telegram::{Sent, TelegramClient, TelegramError};

/// The task's registered name, as in the original.
pub const TASK_NAME: &str = "tasks.notifications.send_tg_notification";

/// `def send_tg_notification(self, product)`, a bound task as in the original.
pub const SIGNATURE: Signature = Signature { name: "send_tg_notification", params: &["product"], bound: true };

/// Runs the notification task with the configured way of sending.
#[derive(Debug, Clone)]
pub struct Notifier {
    telegram: Option<TelegramClient>,
    simulated: Duration,
    fail_first_attempts: u32,
}

impl Notifier {
    /// Built from settings: Telegram when both token and chat are set, else simulated.
    pub fn from_settings(settings: &config::Settings) -> Result<Self, TelegramError> {
        let telegram = settings
            .telegram
            .as_ref()
            .map(|tg| TelegramClient::new(&tg.api_url, &tg.bot_token, &tg.chat_id))
            .transpose()?;
        Ok(Self {
            telegram,
            simulated: settings.notify_simulated,
            fail_first_attempts: settings.notify_fail_first_attempts,
        })
    }

    /// One attempt of the task.
    pub async fn run(&self, ctx: TaskContext) -> TaskResult {
        let bound = SIGNATURE.bind(&ctx.args, &ctx.kwargs).map_err(TaskError::Fail)?;
        let product = &bound[0];
        let product_id = signature::subscript(product, "id").map_err(TaskError::Fail)?.clone();
        let text = message_text(product);
        if ctx.retries < self.fail_first_attempts {
            let error = ExceptionInfo::runtime_error(format!(
                "Simulated failure of attempt {} of the first {} (NOTIFY_FAIL_FIRST_ATTEMPTS)",
                ctx.retries + 1,
                self.fail_first_attempts
            ));
            return Err(TaskError::Retry { after: None, error });
        }
        match &self.telegram {
            Some(client) => outcome_of(client.send_message(&text, &ctx.cancel).await, &product_id),
            None if self.simulated.is_zero() => Ok(simulated(&product_id, &text)),
            None => {
                tokio::select! {
                    () = ctx.cancel.cancelled() => Err(TaskError::Fail(ExceptionInfo::runtime_error("cancelled: the worker stopped"))),
                    () = tokio::time::sleep(self.simulated) => Ok(simulated(&product_id, &text)),
                }
            }
        }
    }
}

/// The result of a simulated send.
fn simulated(product_id: &Value, text: &str) -> Value {
    json!({"status": "simulated", "product_id": product_id, "text": text})
}

/// The notification text for a product, as Python's
/// `f"New product #{product['id']}: {product.get('name')} — {product.get('price')}"` writes it
/// (whatever the fields' types: `str()` of each), then the description on its own line.
pub fn message_text(product: &Value) -> String {
    let field = |key: &str| product.get(key).map_or_else(|| "None".to_string(), taskq::repr::str_of);
    let (id, name, price) = (field("id"), field("name"), field("price"));
    let mut text = format!("New product #{id}: {name} \u{2014} {price}");
    if let Some(description) = product.get("description").and_then(Value::as_str).filter(|d| !d.is_empty()) {
        text.push('\n');
        text.push_str(description);
    }
    text
}

/// What a Telegram answer leads to (see the module table).
pub fn outcome_of(sent: Result<Sent, TelegramError>, product_id: &Value) -> TaskResult {
    let error = |e: &TelegramError| ExceptionInfo::runtime_error(e.to_string());
    match sent {
        Ok(sent) => Ok(
            json!({"status": "sent", "chat_id": sent.chat_id, "message_id": sent.message_id, "product_id": product_id}),
        ),
        Err(e @ TelegramError::RateLimited { retry_after }) => {
            Err(TaskError::Retry { after: Some(retry_after), error: error(&e) })
        }
        Err(e @ (TelegramError::ServerError { .. } | TelegramError::Network(_))) => {
            Err(TaskError::Retry { after: None, error: error(&e) })
        }
        Err(e @ (TelegramError::Rejected { .. } | TelegramError::Client(_) | TelegramError::Cancelled)) => {
            Err(TaskError::Fail(error(&e)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_reads_like_the_originals() {
        let product = json!({"id": 2, "name": "Phone", "price": 499.9, "description": null});
        assert_eq!(message_text(&product), "New product #2: Phone \u{2014} 499.9");
        let product = json!({"id": 3, "name": "Чайник", "price": 10, "description": "стальной"});
        assert_eq!(message_text(&product), "New product #3: Чайник \u{2014} 10\nстальной");
        // Fields of any type are shown as an f-string shows them, not as JSON or repr.
        let odd = json!({"id": "NaN", "name": 5, "price": "x"});
        assert_eq!(message_text(&odd), "New product #NaN: 5 \u{2014} x");
        assert_eq!(message_text(&json!({"id": 1})), "New product #1: None \u{2014} None");
    }

    #[test]
    fn outcomes_follow_the_table() {
        let id = json!(1);
        let retry_after = outcome_of(Err(TelegramError::RateLimited { retry_after: Duration::from_secs(7) }), &id);
        assert!(matches!(retry_after, Err(TaskError::Retry { after: Some(d), .. }) if d == Duration::from_secs(7)));
        let server = outcome_of(Err(TelegramError::ServerError { status: 500, description: "oops".into() }), &id);
        assert!(matches!(server, Err(TaskError::Retry { after: None, .. })));
        let network = outcome_of(Err(TelegramError::Network("refused".into())), &id);
        assert!(matches!(network, Err(TaskError::Retry { after: None, .. })));
        let rejected = outcome_of(
            Err(TelegramError::Rejected { status: 403, description: "Forbidden: bot was blocked by the user".into() }),
            &id,
        );
        match rejected {
            Err(TaskError::Fail(e)) => {
                assert_eq!(e.message(), "Telegram API error 403: Forbidden: bot was blocked by the user")
            }
            other => panic!("{other:?}"),
        }
        let sent = outcome_of(Ok(Sent { message_id: 9, chat_id: json!(42) }), &id).unwrap();
        assert_eq!(sent, json!({"status": "sent", "chat_id": 42, "message_id": 9, "product_id": 1}));
    }
}
