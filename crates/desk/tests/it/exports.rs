//! Exported diagrams on disk, through the control endpoint.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use desk::control::{self, ControlState};
use desk::{Stack, StackOptions};
use http_body_util::BodyExt as _;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;

const PORT: u16 = 47322;
const TOKEN: &str = "exports-token-0123456789";

/// The control endpoint over a stack with `env` as its environment.
fn endpoint(env: &[(&str, String)]) -> (tempfile::TempDir, axum::Router) {
    let dirs = tempfile::tempdir().unwrap();
    let mut options = StackOptions::new(dirs.path().join("config"), dirs.path().join("data"), "/nonexistent".into());
    options.env = env.iter().map(|(k, v)| ((*k).to_string(), v.clone())).collect();
    let stack = Arc::new(Stack::new(options).unwrap());
    let ui = dirs.path().join("ui");
    std::fs::create_dir_all(&ui).unwrap();
    std::fs::write(ui.join("index.html"), "<!doctype html>").unwrap();
    let assets = Arc::new(desk::assets::DirAssets::new(&ui).unwrap());
    (dirs, control::router(ControlState::new(stack, assets, TOKEN, PORT, CancellationToken::new())))
}

async fn call(router: &axum::Router, method: Method, uri: &str, body: Body) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", format!("127.0.0.1:{PORT}"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(body)
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn exports_are_saved_under_the_data_folder_and_bad_names_refused() {
    let (dirs, router) = endpoint(&[]);
    let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\"/>";
    let (status, body) = call(&router, Method::PUT, "/api/exports/lifecycle.svg", Body::from(svg)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let path = std::path::PathBuf::from(body["path"].as_str().unwrap());
    assert_eq!(path, dirs.path().join("data/exports/lifecycle.svg"));
    assert_eq!(std::fs::read_to_string(path).unwrap(), svg);
    let (status, body) = call(&router, Method::PUT, "/api/exports/..%2Fevil.svg", Body::from(svg)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["kind"], "bad_export_name");
}
