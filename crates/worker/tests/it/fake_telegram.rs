//! A fake Telegram Bot API: answers `sendMessage` from a script of (status, body) and records
//! every request. The only fake in the tests: the real API cannot be reached from here.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Request {
    pub token: String,
    pub body: Value,
    pub at: Instant,
}

#[derive(Default)]
struct Script {
    answers: VecDeque<(u16, Value)>,
    requests: Vec<Request>,
}

pub struct FakeTelegram {
    pub url: String,
    script: Arc<Mutex<Script>>,
    stop: CancellationToken,
}

/// A successful `sendMessage` answer.
pub fn sent(message_id: i64) -> (u16, Value) {
    (
        200,
        json!({"ok": true, "result": {"message_id": message_id, "chat": {"id": 42, "type": "private"}, "text": "..."}}),
    )
}

/// An error answer as Telegram gives it.
pub fn error(status: u16, description: &str, retry_after: Option<u64>) -> (u16, Value) {
    let mut body = json!({"ok": false, "error_code": status, "description": description});
    if let Some(seconds) = retry_after {
        body["parameters"] = json!({"retry_after": seconds});
    }
    (status, body)
}

impl FakeTelegram {
    pub async fn start(answers: Vec<(u16, Value)>) -> Self {
        let script = Arc::new(Mutex::new(Script { answers: answers.into(), requests: Vec::new() }));
        let app = axum::Router::new().route("/{bot}/sendMessage", post(send_message)).with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = CancellationToken::new();
        let until = stop.clone();
        tokio::spawn(async move {
            axum::serve(listener, app).with_graceful_shutdown(until.cancelled_owned()).await.unwrap()
        });
        Self { url, script, stop }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.script.lock().unwrap().requests.clone()
    }
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A redirect to `to` (the path of the request is kept), as a hijacked or misconfigured
/// `TELEGRAM_API_URL` could answer.
pub fn redirect(to: &str) -> (u16, Value) {
    (307, json!({"location": to}))
}

async fn send_message(
    State(script): State<Arc<Mutex<Script>>>,
    Path(bot): Path<String>,
    Json(body): Json<Value>,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let mut script = script.lock().unwrap();
    script.requests.push(Request { token: bot.trim_start_matches("bot").to_string(), body, at: Instant::now() });
    let (status, answer) =
        script.answers.pop_front().unwrap_or_else(|| error(500, "the fake ran out of answers", None));
    let status = StatusCode::from_u16(status).unwrap();
    match answer["location"].as_str() {
        Some(to) => (status, [("location", format!("{to}/{bot}/sendMessage"))]).into_response(),
        None => (status, Json(answer)).into_response(),
    }
}
