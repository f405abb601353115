//! The control endpoint over a stack that is never started: who may call it, and what it answers.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use desk::control::{self, ControlState};
use desk::{Stack, StackOptions};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

const PORT: u16 = 47321;
const TOKEN: &str = "test-token-0123456789";

struct Fixture {
    _dirs: tempfile::TempDir,
    router: axum::Router,
}

fn fixture() -> Fixture {
    let dirs = tempfile::tempdir().unwrap();
    let ui = dirs.path().join("ui");
    std::fs::create_dir_all(&ui).unwrap();
    std::fs::write(ui.join("index.html"), "<!doctype html><title>Stackdesk</title>").unwrap();
    let mut options = StackOptions::new(dirs.path().join("config"), dirs.path().join("data"), "/nonexistent".into());
    options.env.clear();
    let stack = Arc::new(Stack::new(options).unwrap());
    let assets = Arc::new(desk::assets::DirAssets::new(&ui).unwrap());
    let state = ControlState::new(stack, assets, TOKEN, PORT, CancellationToken::new());
    Fixture { _dirs: dirs, router: control::router(state) }
}

async fn call(
    router: &axum::Router,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (StatusCode, Value, axum::http::HeaderMap) {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = match body {
        Some(json) => {
            request = request.header("content-type", "application/json");
            Body::from(json.to_string())
        }
        None => Body::empty(),
    };
    let response = router.clone().oneshot(request.body(body).unwrap()).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into())), headers)
}

const HOST: (&str, &str) = ("host", "127.0.0.1:47321");
const AUTH: (&str, &str) = ("authorization", "Bearer test-token-0123456789");

#[tokio::test]
async fn the_api_needs_the_token_the_host_and_our_own_origin() {
    let f = fixture();
    let (status, body, _) = call(&f.router, Method::GET, "/api/snapshot", &[HOST], None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("missing token"));
    let (status, _, _) = call(
        &f.router,
        Method::GET,
        "/api/snapshot",
        &[HOST, ("authorization", "Bearer wrong-token-0123456789")],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) =
        call(&f.router, Method::GET, "/api/snapshot", &[("host", "evil.example:47321"), AUTH], None).await;
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "a rebound DNS name is refused");
    let (status, _, _) =
        call(&f.router, Method::POST, "/api/stack/start", &[HOST, AUTH, ("origin", "http://evil.example")], None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another web page cannot drive the stack");

    let (status, body, _) = call(&f.router, Method::GET, "/api/snapshot", &[HOST, AUTH], None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["running"], false);
    let states: Vec<&str> =
        body["processes"].as_array().unwrap().iter().map(|p| p["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["stopped", "stopped", "stopped"]);
    assert_eq!(body["api_url"], "http://127.0.0.1:8000");
    let (status, _, _) = call(
        &f.router,
        Method::GET,
        "/api/snapshot?token=test-token-0123456789",
        &[("host", "localhost:47321"), ("origin", "http://localhost:47321")],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a token in a link's query opens nothing but the event stream");
    // The event stream takes it there (EventSource cannot set headers): its status, then the
    // stream is dropped unread.
    let stream = Request::builder()
        .uri("/api/events?token=test-token-0123456789")
        .header("host", "localhost:47321")
        .header("origin", "http://localhost:47321")
        .body(Body::empty())
        .unwrap();
    let answer = f.router.clone().oneshot(stream).await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()["content-type"], "text/event-stream");
}

#[tokio::test]
async fn the_ui_is_served_without_a_token_with_a_strict_policy() {
    let f = fixture();
    let (status, body, headers) = call(&f.router, Method::GET, "/", &[HOST], None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.as_str().unwrap().contains("<title>Stackdesk</title>"));
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("script-src 'self'") && !csp.contains("https:"),
        "{csp}"
    );
    let (status, _, _) = call(&f.router, Method::GET, "/../../etc/passwd", &[HOST], None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn wrong_settings_get_fastapi_shaped_errors_and_nothing_is_saved() {
    let f = fixture();
    let bad = json!({"values": {"API_PORT": "eighty", "WORKER_CONCURRENCY": "0", "NOT_A_KEY": "1"}});
    let (status, body, _) = call(&f.router, Method::PUT, "/api/settings", &[HOST, AUTH], Some(bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let locs: Vec<Value> = body["detail"].as_array().unwrap().iter().map(|d| d["loc"].clone()).collect();
    assert_eq!(
        locs,
        [
            json!(["body", "values", "API_PORT"]),
            json!(["body", "values", "NOT_A_KEY"]),
            json!(["body", "values", "WORKER_CONCURRENCY"])
        ]
    );
    // Typed, so that the UI words each in its language.
    let detail = body["detail"].as_array().unwrap();
    assert_eq!((&detail[0]["type"], &detail[0]["ctx"]), (&json!("whole_number"), &json!({"min": 1, "max": 65535})));
    assert_eq!((&detail[1]["type"], detail[1].get("ctx")), (&json!("not_editable"), None));
    assert_eq!(detail[2]["ctx"], json!({"min": 1, "max": 64}));
    assert_eq!(body["error"]["problems"][2]["type"], "whole_number", "the same in the error's problems");
    let (_, settings, _) = call(&f.router, Method::GET, "/api/settings", &[HOST, AUTH], None).await;
    assert_eq!(settings["values"]["API_PORT"], "8000", "nothing was saved");

    let good = json!({"values": {"API_PORT": "8123", "TELEGRAM_BOT_TOKEN": "1:tok-xyzzy", "TELEGRAM_CHAT_ID": "42"}, "language": "ru", "theme": "dark"});
    let (status, body, _) = call(&f.router, Method::PUT, "/api/settings", &[HOST, AUTH], Some(good)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["restart"], json!([]), "nothing runs, so nothing needs a restart");
    assert_eq!(body["settings"]["values"]["API_PORT"], "8123");
    assert_eq!(body["settings"]["language"], "ru");
    assert!(!body.to_string().contains("xyzzy"), "the token is never sent back");
    let (_, snapshot, _) = call(&f.router, Method::GET, "/api/snapshot", &[HOST, AUTH], None).await;
    assert_eq!(snapshot["api_url"], "http://127.0.0.1:8123");
}

#[tokio::test]
async fn failure_injection_is_switched_for_this_run_and_never_saved() {
    let f = fixture();
    let on = json!({"demo_failures": true});
    let (status, body, _) = call(&f.router, Method::PUT, "/api/settings", &[HOST, AUTH], Some(on)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["settings"]["demo_failures"], true);
    assert_eq!(body["settings"]["values"].get("NOTIFY_FAIL_FIRST_ATTEMPTS"), None, "not a setting to save");
    assert_eq!(body["settings"]["demo_failures_env"], false);
    let saved = std::fs::read_to_string(f._dirs.path().join("config").join("settings.json")).unwrap();
    assert!(!saved.contains("demo_failures") && !saved.contains("NOTIFY_FAIL_FIRST_ATTEMPTS"), "{saved}");
    let (_, settings, _) = call(&f.router, Method::GET, "/api/settings", &[HOST, AUTH], None).await;
    assert_eq!(settings["demo_failures"], true, "on for the rest of this run");
    let off = json!({"demo_failures": false});
    let (_, body, _) = call(&f.router, Method::PUT, "/api/settings", &[HOST, AUTH], Some(off)).await;
    assert_eq!(body["settings"]["demo_failures"], false);
}

#[tokio::test]
async fn single_process_actions_need_a_running_stack_and_a_real_process() {
    let f = fixture();
    let (status, body, _) = call(&f.router, Method::POST, "/api/processes/worker/stop", &[HOST, AUTH], None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["kind"], "not_running");
    let (status, body, _) = call(&f.router, Method::POST, "/api/processes/celery/stop", &[HOST, AUTH], None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("unknown variant `celery`"), "{body}");
    assert_eq!(body["error"]["kind"], "not_found");
    let (status, body, _) = call(&f.router, Method::POST, "/api/telegram/test", &[HOST, AUTH], Some(json!({}))).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("bot token"), "{body}");
}
