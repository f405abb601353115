//! Every kind of bad request: its status, FastAPI's shape, and Redis left exactly as it was.

use axum::http::Method;
use serde_json::{Value, json};

use crate::common::TestApp;

/// (what, content type, body, expected status, expected `type@loc` of each problem)
type Case<'a> = (&'a str, Option<&'a str>, String, u16, Vec<&'a str>);

fn kinds(detail: &Value) -> Vec<String> {
    detail
        .as_array()
        .map(|a| a.iter().map(|d| format!("{}@{}", d["type"].as_str().unwrap(), d["loc"])).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn bad_requests_are_refused_and_store_nothing() {
    let app = TestApp::start().await;
    let big = format!("{{\"name\": \"x\", \"price\": 1, \"description\": \"{}\"}}", "y".repeat(70 * 1024));
    let table: Vec<Case> = vec![
        (
            "malformed JSON",
            Some("application/json"),
            "{\"name\": \"x\",".into(),
            422,
            vec!["json_invalid@[\"body\",13]"],
        ),
        (
            "trailing garbage",
            Some("application/json"),
            "{\"name\": \"x\", \"price\": 1} x".into(),
            422,
            vec!["json_invalid@[\"body\",26]"],
        ),
        ("empty body", Some("application/json"), String::new(), 422, vec!["json_invalid@[\"body\",0]"]),
        ("no content type", None, json!({"name": "x", "price": 1}).to_string(), 415, vec![]),
        ("form content type", Some("application/x-www-form-urlencoded"), "name=x&price=1".into(), 415, vec![]),
        ("too large", Some("application/json"), big, 413, vec![]),
        ("array body", Some("application/json"), "[1]".into(), 422, vec!["model_attributes_type@[\"body\"]"]),
        (
            "missing fields",
            Some("application/json"),
            "{}".into(),
            422,
            vec!["missing@[\"body\",\"name\"]", "missing@[\"body\",\"price\"]"],
        ),
        (
            "blank name",
            Some("application/json"),
            json!({"name": "   ", "price": 1}).to_string(),
            422,
            vec!["string_too_short@[\"body\",\"name\"]"],
        ),
        (
            "long name",
            Some("application/json"),
            json!({"name": "n".repeat(101), "price": 1}).to_string(),
            422,
            vec!["string_too_long@[\"body\",\"name\"]"],
        ),
        (
            "zero price",
            Some("application/json"),
            json!({"name": "a", "price": 0}).to_string(),
            422,
            vec!["greater_than@[\"body\",\"price\"]"],
        ),
        (
            "negative price",
            Some("application/json"),
            json!({"name": "a", "price": -5}).to_string(),
            422,
            vec!["greater_than@[\"body\",\"price\"]"],
        ),
        (
            "huge price",
            Some("application/json"),
            json!({"name": "a", "price": 1e10}).to_string(),
            422,
            vec!["less_than_equal@[\"body\",\"price\"]"],
        ),
        (
            "price text",
            Some("application/json"),
            json!({"name": "a", "price": "cheap"}).to_string(),
            422,
            vec!["float_parsing@[\"body\",\"price\"]"],
        ),
        (
            "price null",
            Some("application/json"),
            json!({"name": "a", "price": null}).to_string(),
            422,
            vec!["float_type@[\"body\",\"price\"]"],
        ),
        (
            "name number",
            Some("application/json"),
            json!({"name": 5, "price": 1}).to_string(),
            422,
            vec!["string_type@[\"body\",\"name\"]"],
        ),
        (
            "long description",
            Some("application/json"),
            json!({"name": "a", "price": 1, "description": "d".repeat(1001)}).to_string(),
            422,
            vec!["string_too_long@[\"body\",\"description\"]"],
        ),
    ];
    let before = app.snapshot().await;
    for (what, content_type, body, status, expected) in table {
        let answer = app.request(Method::POST, "/products/", content_type, body).await;
        assert_eq!(answer.status.as_u16(), status, "{what}: {}", answer.text);
        let detail = &answer.json["detail"];
        if expected.is_empty() {
            assert!(detail.is_string(), "{what}: {{\"detail\": \"...\"}} expected, got {}", answer.text);
        } else {
            assert_eq!(kinds(detail), expected, "{what}");
            for item in detail.as_array().unwrap() {
                assert!(item["msg"].is_string() && item.get("input").is_some(), "{what}: {item}");
            }
        }
        assert_eq!(app.snapshot().await, before, "{what}: Redis changed");
    }
}

#[tokio::test]
async fn json_errors_say_where_and_why() {
    let app = TestApp::start().await;
    let answer = app.request(Method::POST, "/products/", Some("application/json"), "{\"name\": }").await;
    assert_eq!(answer.json["detail"][0]["msg"], "JSON decode error");
    assert_eq!(answer.json["detail"][0]["input"], json!({}));
    assert!(
        answer.json["detail"][0]["ctx"]["error"].as_str().unwrap().starts_with("expected value"),
        "{}",
        answer.text
    );
}

#[tokio::test]
async fn wrong_methods_and_paths_get_fastapis_answers() {
    let app = TestApp::start().await;
    let answer = app.request(Method::DELETE, "/products/", None, "").await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.json, json!({"detail": "Method Not Allowed"}));
    let answer = app.get("/nowhere").await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.json, json!({"detail": "Not Found"}));
    let answer = app.get("/tasks").await;
    assert_eq!(answer.status, 404, "the task history is the monitor's");
    // Starlette's redirect_slashes: the other spelling of a route's path is a 307 to it.
    let answer = app.get("/products/1/?x=1").await;
    assert_eq!(answer.status, 307);
    assert_eq!(answer.headers["location"], "http://127.0.0.1:8000/products/1?x=1");
    assert_eq!(app.get("/health/").await.headers["location"], "http://127.0.0.1:8000/health");
    assert_eq!(app.get("/nowhere/").await.status, 404);
    assert_eq!(app.get("/products/1/2").await.status, 404);
}

#[tokio::test]
async fn half_a_utf16_pair_is_named_as_such() {
    let app = TestApp::start().await;
    let body = r#"{"name": "\ud800", "price": 1}"#;
    let answer = app.request(Method::POST, "/products/", Some("application/json"), body).await;
    assert_eq!(answer.status, 422, "{}", answer.text);
    assert_eq!(answer.json["detail"][0]["type"], "json_invalid");
    let error = answer.json["detail"][0]["ctx"]["error"].as_str().unwrap();
    assert!(error.starts_with("a lone surrogate"), "{error}");
}
