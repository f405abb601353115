//! The notification worker against a real redis-server and a fake Telegram Bot API.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod bad_calls; // a message the task cannot take, sent to Celery's worker and ours: the same end
mod fake_telegram; // a local stand-in for api.telegram.org that answers from a script
mod notify; // send_tg_notification end to end: sent, 429, 5xx, 401, simulated, failure injection
