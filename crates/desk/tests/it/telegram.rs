//! The Test Telegram button against a local fake of the Bot API (the real one cannot be reached
//! from tests): each failure is explained, and the token never appears in what is shown.

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Value, json};

const TOKEN: &str = "123:secret-token-xyzzy";

/// Serves `app` on a free port; its base URL.
async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// A Bot API that knows one token and one chat.
async fn fake_bot_api() -> String {
    let app = axum::Router::new().route(
        "/{bot}/{method}",
        post(|Path((bot, method)): Path<(String, String)>, Json(body): Json<Value>| async move {
            if bot != format!("bot{TOKEN}") {
                return (
                    StatusCode::UNAUTHORIZED,
                    Json(json!({"ok": false, "error_code": 401, "description": "Unauthorized"})),
                );
            }
            match method.as_str() {
                "getMe" => (
                    StatusCode::OK,
                    Json(json!({"ok": true, "result": {"id": 123, "is_bot": true, "username": "stackdesk_test_bot"}})),
                ),
                "sendMessage" if body["chat_id"] == "42" => {
                    (StatusCode::OK, Json(json!({"ok": true, "result": {"message_id": 7, "chat": {"id": 42}}})))
                }
                _ => (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"ok": false, "error_code": 400, "description": "Bad Request: chat not found"})),
                ),
            }
        }),
    );
    serve(app).await
}

#[tokio::test]
async fn the_check_says_what_is_wrong_in_plain_words() {
    let api = fake_bot_api().await;
    let ok = desk::telegram::check(&api, TOKEN, "42").await.unwrap();
    assert_eq!((ok.bot.as_str(), ok.chat_id.as_str(), ok.message_id), ("@stackdesk_test_bot", "42", 7));

    let wrong_token = desk::telegram::check(&api, "123:wrong-token-xyzzy", "42").await.unwrap_err().to_string();
    assert!(wrong_token.contains("token is wrong") && wrong_token.contains("@BotFather"), "{wrong_token}");
    let wrong_chat = desk::telegram::check(&api, TOKEN, "43").await.unwrap_err().to_string();
    assert!(wrong_chat.contains("@stackdesk_test_bot") && wrong_chat.contains("chat was not found"), "{wrong_chat}");
    let unreachable = desk::telegram::check("http://127.0.0.1:9", TOKEN, "42").await.unwrap_err().to_string();
    assert!(unreachable.contains("cannot reach the Telegram Bot API"), "{unreachable}");
    for message in [wrong_token, wrong_chat, unreachable] {
        assert!(!message.contains("xyzzy"), "the token leaked: {message}");
    }
    let empty = desk::telegram::check(&api, " ", "42").await.unwrap_err().to_string();
    assert!(empty.contains("enter the bot token"), "{empty}");
}

#[tokio::test]
async fn the_button_uses_what_the_stack_would_use_and_typed_values_first() {
    let api = fake_bot_api().await;
    let dirs = tempfile::tempdir().unwrap();
    let mut options =
        desk::StackOptions::new(dirs.path().join("config"), dirs.path().join("data"), "/nonexistent".into());
    options.env = [("TELEGRAM_API_URL", api.as_str()), ("TELEGRAM_BOT_TOKEN", TOKEN), ("TELEGRAM_CHAT_ID", "43")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let stack = desk::Stack::new(options).unwrap();
    // From the stack's environment (the API URL and token), with the chat typed in the form.
    let form = desk::control::TelegramTest { token: None, chat_id: Some("42".into()) };
    let ok = desk::control::test_telegram_with(&stack, form).await.unwrap();
    assert_eq!(ok.message_id, 7);
    // Nothing typed: the environment's chat, which the fake does not know.
    let err = desk::control::test_telegram_with(&stack, desk::control::TelegramTest::default()).await.unwrap_err();
    assert!(err.to_string().contains("chat was not found"), "{err}");
}

/// A Bot API gone wrong: `getMe` under `/echo` answers with the token in its description, under
/// `/moved` redirects to `elsewhere` (the token in the path it names).
async fn mischievous_bot_api(elsewhere: &str) -> String {
    let elsewhere = elsewhere.to_string();
    let app = axum::Router::new()
        .route(
            "/echo/{bot}/getMe",
            post(|Path(bot): Path<String>| async move {
                let description = format!("Bad Request: {bot} may not call getMe");
                (StatusCode::BAD_REQUEST, Json(json!({"ok": false, "error_code": 400, "description": description})))
            }),
        )
        .route(
            "/moved/{bot}/getMe",
            post(|Path(bot): Path<String>| async move {
                let location = format!("{elsewhere}/{bot}/getMe");
                (StatusCode::TEMPORARY_REDIRECT, [(axum::http::header::LOCATION, location)])
            }),
        );
    serve(app).await
}

#[tokio::test]
async fn the_check_neither_shows_an_echoed_token_nor_follows_a_redirect_with_it() {
    // Where a followed redirect would land: it counts every request that reaches it.
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = hits.clone();
    let catcher = axum::Router::new().fallback(move || {
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async { Json(json!({"ok": true, "result": {"username": "thief_bot"}})) }
    });
    let elsewhere = serve(catcher).await;
    let api = mischievous_bot_api(&elsewhere).await;

    let echoed = desk::telegram::check(&format!("{api}/echo"), TOKEN, "42").await.unwrap_err().to_string();
    assert!(echoed.contains("Telegram answered 400: Bad Request: bot*** may not call getMe"), "{echoed}");
    let moved = desk::telegram::check(&format!("{api}/moved"), TOKEN, "42").await.unwrap_err().to_string();
    assert!(moved.contains("Telegram answered 307"), "{moved}");
    for message in [echoed, moved] {
        assert!(!message.contains("xyzzy"), "the token leaked: {message}");
    }
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0, "the redirect was followed, token and all");
}
