//! The "Test Telegram" button: `getMe` says whether the token is right, then a test message
//! says whether the bot may write to the chat. Each failure is explained in words a learner can
//! act on, and the token never appears in them.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use crate::error::{DeskError, Result};

/// A check that passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[ts(export_to = "TelegramCheck.ts")]
pub struct TelegramCheck {
    /// The bot's `@username`.
    pub bot: String,
    /// The chat written to.
    pub chat_id: String,
    /// The test message's id.
    pub message_id: i64,
}

/// Calls `getMe`, then sends a test message to `chat_id`, through the Bot API at `api_url`.
pub async fn check(api_url: &str, token: &str, chat_id: &str) -> Result<TelegramCheck> {
    let token = token.trim();
    let chat_id = chat_id.trim();
    if token.is_empty() {
        return Err(DeskError::Telegram("enter the bot token from @BotFather first".into()));
    }
    if chat_id.is_empty() {
        return Err(DeskError::Telegram("enter the chat id (a number, or @channelname) first".into()));
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        // A redirect would carry the token (it is in the path) to wherever it points.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| DeskError::Telegram(format!("cannot make an HTTP client: {}", e.without_url())))?;
    let base = format!("{}/bot{token}", api_url.trim_end_matches('/'));
    let masked = |err: DeskError| match err {
        DeskError::Telegram(why) => DeskError::Telegram(why.replace(token, "***")),
        other => other,
    };
    let me = call(&client, &format!("{base}/getMe"), &json!({})).await.map_err(masked)?;
    let bot = me["username"].as_str().map_or_else(|| "(no username)".to_string(), |u| format!("@{u}"));
    let sent = call(
        &client,
        &format!("{base}/sendMessage"),
        &json!({"chat_id": chat_id, "text": "Stackdesk: тестовое сообщение / test message ✅"}),
    )
    .await
    .map_err(|err| match masked(err) {
        DeskError::Telegram(why) => DeskError::Telegram(format!("the token is right ({bot}), but {why}")),
        other => other,
    })?;
    Ok(TelegramCheck { bot, chat_id: chat_id.to_string(), message_id: sent["message_id"].as_i64().unwrap_or_default() })
}

/// One Bot API call; its `result`, or why it failed.
async fn call(client: &reqwest::Client, url: &str, body: &Value) -> Result<Value> {
    let response = client.post(url).json(body).send().await.map_err(|e| {
        // Errors carry the URL, and the URL carries the token: drop it.
        let e = e.without_url();
        DeskError::Telegram(format!(
            "cannot reach the Telegram Bot API ({e}). Check the internet connection, a proxy or firewall, \
             or TELEGRAM_API_URL"
        ))
    })?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    if answer["ok"] == Value::Bool(true) {
        return Ok(answer["result"].clone());
    }
    let description = answer["description"].as_str().unwrap_or("no description").to_string();
    let why = match status.as_u16() {
        401 | 404 => format!("the bot token is wrong (Telegram says: {description}); copy it again from @BotFather"),
        400 if description.contains("chat not found") => format!(
            "the chat was not found (Telegram says: {description}); open your bot in Telegram and press Start, \
             or check the chat id"
        ),
        403 => format!("the bot may not write to this chat (Telegram says: {description})"),
        429 => format!("Telegram asks to slow down (Telegram says: {description}); try again in a minute"),
        code => format!("Telegram answered {code}: {description}"),
    };
    Err(DeskError::Telegram(why))
}
