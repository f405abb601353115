//! `send_tg_notification` end to end: a product message in Redis, our worker, the result.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Map, Value, json};
use taskq::{Broker, BrokerOptions, Producer, SendOptions, TaskMessage};
use test_support::redis::RedisServer;
use tokio_util::sync::CancellationToken;

use crate::fake_telegram::{FakeTelegram, error, sent};

const TOKEN: &str = "123456:TEST-token";

fn settings(redis: &RedisServer, extra: &[(&str, &str)]) -> config::Settings {
    let mut env: HashMap<String, String> = HashMap::from([
        ("REDIS_URL".into(), redis.url()),
        ("TASK_RETRY_COUNTDOWN_SECS".into(), "0".into()),
        ("NOTIFY_SIMULATED_SECS".into(), "0.2".into()),
    ]);
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    config::Settings::from_sources(&config::Sources { env, ..Default::default() }).unwrap()
}

/// Settings sending to `fake` as chat 42, plus `extra`.
fn telegram_settings(redis: &RedisServer, fake: &FakeTelegram, extra: &[(&str, &str)]) -> config::Settings {
    let mut all =
        vec![("TELEGRAM_BOT_TOKEN", TOKEN), ("TELEGRAM_CHAT_ID", "42"), ("TELEGRAM_API_URL", fake.url.as_str())];
    all.extend_from_slice(extra);
    settings(redis, &all)
}

fn product() -> Value {
    json!({"id": 7, "name": "Phone", "price": 499.9, "description": null, "created_at": "2026-11-24T06:24:51.987861+00:00"})
}

/// Runs the worker with `settings`, sends one task with `args`, waits for a ready state and
/// returns the stored result.
async fn run_task(redis: &RedisServer, settings: config::Settings, args: Vec<Value>) -> Value {
    let shutdown = CancellationToken::new();
    let worker = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { worker::run(&settings, Some("notify-test@test".into()), shutdown).await }
    });
    let broker = Broker::connect(&redis.url(), BrokerOptions::default()).await.unwrap();
    let message = TaskMessage::new(worker::TASK_NAME, args, Map::new(), &SendOptions::default());
    Producer::new(broker.clone()).publish(&message).await.unwrap();
    let backend = taskq::ResultBackend::new(broker, None);
    let meta = test_support::wait::until("the task to finish", Duration::from_secs(30), || {
        let backend = backend.clone();
        let id = message.id().to_string();
        async move { backend.get(&id).await.unwrap().filter(|m| m.status.is_ready()) }
    })
    .await;
    shutdown.cancel();
    worker.await.unwrap().unwrap();
    serde_json::to_value(meta).unwrap()
}

#[tokio::test]
async fn a_sent_message_is_the_result() {
    let redis = RedisServer::start();
    let fake = FakeTelegram::start(vec![sent(9001)]).await;
    let meta = run_task(&redis, telegram_settings(&redis, &fake, &[]), vec![product()]).await;
    assert_eq!(meta["status"], "SUCCESS");
    assert_eq!(meta["result"], json!({"status": "sent", "chat_id": 42, "message_id": 9001, "product_id": 7}));
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].token, TOKEN);
    assert_eq!(requests[0].body, json!({"chat_id": "42", "text": "New product #7: Phone \u{2014} 499.9"}));
}

#[tokio::test]
async fn rate_limited_sends_wait_for_retry_after() {
    let redis = RedisServer::start();
    let fake = FakeTelegram::start(vec![error(429, "Too Many Requests: retry after 2", Some(2)), sent(1)]).await;
    let meta = run_task(&redis, telegram_settings(&redis, &fake, &[]), vec![product()]).await;
    assert_eq!(meta["status"], "SUCCESS");
    assert_eq!(meta["retries"], 1);
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    let waited = requests[1].at - requests[0].at;
    assert!(waited >= Duration::from_secs(2), "the retry came {waited:?} after the 429, before Telegram's retry_after");
}

#[tokio::test]
async fn server_errors_are_retried() {
    let redis = RedisServer::start();
    let fake = FakeTelegram::start(vec![error(500, "Internal Server Error", None), sent(2)]).await;
    let meta = run_task(&redis, telegram_settings(&redis, &fake, &[]), vec![product()]).await;
    assert_eq!(meta["status"], "SUCCESS");
    assert_eq!(meta["retries"], 1);
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn unauthorized_fails_at_once_with_telegrams_description() {
    let redis = RedisServer::start();
    let fake = FakeTelegram::start(vec![error(401, "Unauthorized", None), sent(3)]).await;
    let meta = run_task(&redis, telegram_settings(&redis, &fake, &[]), vec![product()]).await;
    assert_eq!(meta["status"], "FAILURE");
    assert_eq!(meta["retries"], 0);
    assert_eq!(
        meta["result"],
        json!({"exc_type": "RuntimeError", "exc_message": ["Telegram API error 401: Unauthorized"], "exc_module": "builtins"})
    );
    assert_eq!(fake.requests().len(), 1, "no retry after a 401");
    assert!(!meta.to_string().contains(TOKEN), "the token never appears in results");
}

#[tokio::test]
async fn an_answer_that_echoes_the_token_is_stored_masked() {
    let redis = RedisServer::start();
    let echo = format!("Bad Request: bot{TOKEN} may not write to chat 42");
    let fake = FakeTelegram::start(vec![error(400, &echo, None)]).await;
    let meta = run_task(&redis, telegram_settings(&redis, &fake, &[]), vec![product()]).await;
    assert_eq!(meta["status"], "FAILURE");
    let message = meta["result"]["exc_message"][0].as_str().unwrap();
    assert_eq!(message, "Telegram API error 400: Bad Request: bot*** may not write to chat 42");
    assert!(!meta.to_string().contains(TOKEN), "{meta}");
}

#[tokio::test]
async fn a_redirect_is_not_followed_with_the_token_in_its_path() {
    let redis = RedisServer::start();
    let elsewhere = FakeTelegram::start(vec![sent(1)]).await;
    let fake = FakeTelegram::start(vec![super::fake_telegram::redirect(&elsewhere.url)]).await;
    let meta = run_task(&redis, telegram_settings(&redis, &fake, &[("TASK_MAX_RETRIES", "0")]), vec![product()]).await;
    assert_eq!(meta["status"], "FAILURE", "{meta}");
    assert_eq!(fake.requests().len(), 1);
    assert!(elsewhere.requests().is_empty(), "the token went nowhere else");
}

#[tokio::test]
async fn unreachable_telegram_is_retried_until_failure() {
    let redis = RedisServer::start();
    let closed = format!("http://127.0.0.1:{}", test_support::redis::free_port());
    let extra = [
        ("TELEGRAM_BOT_TOKEN", TOKEN),
        ("TELEGRAM_CHAT_ID", "42"),
        ("TELEGRAM_API_URL", closed.as_str()),
        ("TASK_MAX_RETRIES", "1"),
    ];
    let meta = run_task(&redis, settings(&redis, &extra), vec![product()]).await;
    assert_eq!(meta["status"], "FAILURE");
    assert_eq!(meta["retries"], 1);
    let message = meta["result"]["exc_message"][0].as_str().unwrap();
    assert!(message.starts_with("Telegram API unreachable"), "{message}");
    assert!(!message.contains(TOKEN));
}

#[tokio::test]
async fn without_telegram_the_send_is_simulated() {
    let redis = RedisServer::start();
    let meta = run_task(&redis, settings(&redis, &[]), vec![product()]).await;
    assert_eq!(meta["status"], "SUCCESS");
    assert_eq!(
        meta["result"],
        json!({"status": "simulated", "product_id": 7, "text": "New product #7: Phone \u{2014} 499.9"})
    );
}

#[tokio::test]
async fn failure_injection_shows_retries_then_failure() {
    let redis = RedisServer::start();
    let meta = run_task(&redis, settings(&redis, &[("NOTIFY_FAIL_FIRST_ATTEMPTS", "2")]), vec![product()]).await;
    assert_eq!(meta["status"], "SUCCESS");
    assert_eq!(meta["retries"], 2);
    let meta = run_task(
        &redis,
        settings(&redis, &[("NOTIFY_FAIL_FIRST_ATTEMPTS", "9"), ("TASK_MAX_RETRIES", "3")]),
        vec![product()],
    )
    .await;
    assert_eq!(meta["status"], "FAILURE");
    assert_eq!(meta["retries"], 3);
    assert!(meta["result"]["exc_message"][0].as_str().unwrap().contains("Simulated failure of attempt 4"));
}

#[tokio::test]
async fn an_argument_that_is_not_a_product_fails_at_once_with_pythons_error() {
    let redis = RedisServer::start();
    let meta = run_task(&redis, settings(&redis, &[]), vec![json!("not a product")]).await;
    assert_eq!(meta["status"], "FAILURE");
    assert_eq!(meta["retries"], 0, "no retry can mend it");
    assert_eq!(meta["result"]["exc_type"], "TypeError");
    assert_eq!(meta["result"]["exc_message"], json!(["string indices must be integers, not 'str'"]));
    let meta = run_task(&redis, settings(&redis, &[]), vec![json!({"name": "no id"})]).await;
    assert_eq!((&meta["result"]["exc_type"], &meta["result"]["exc_message"]), (&json!("KeyError"), &json!(["'id'"])));
}

#[tokio::test]
async fn a_burst_keeps_to_one_message_a_second_per_chat() {
    let redis = RedisServer::start();
    let fake = FakeTelegram::start(vec![sent(1), sent(2), sent(3)]).await;
    let settings = telegram_settings(&redis, &fake, &[("WORKER_CONCURRENCY", "3")]);
    let shutdown = CancellationToken::new();
    let worker = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { worker::run(&settings, Some("burst@test".into()), shutdown).await }
    });
    let broker = Broker::connect(&redis.url(), BrokerOptions::default()).await.unwrap();
    let producer = Producer::new(broker);
    for _ in 0..3 {
        producer
            .publish(&TaskMessage::new(worker::TASK_NAME, vec![product()], Map::new(), &SendOptions::default()))
            .await
            .unwrap();
    }
    test_support::wait::until("three messages sent", Duration::from_secs(30), || {
        std::future::ready((fake.requests().len() == 3).then_some(()))
    })
    .await;
    let requests = fake.requests();
    for pair in requests.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap >= Duration::from_millis(950),
            "two messages to one chat {gap:?} apart, even with three tasks running at once"
        );
    }
    shutdown.cancel();
    worker.await.unwrap().unwrap();
}
