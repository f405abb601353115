//! The OpenAPI document and Swagger UI, served from bundled assets.

use serde_json::json;

use crate::common::TestApp;

#[tokio::test]
async fn openapi_describes_every_endpoint() {
    let app = TestApp::start().await;
    let doc = app.get("/openapi.json").await;
    assert_eq!(doc.status, 200);
    let paths = doc.json["paths"].as_object().unwrap();
    for path in ["/products/", "/products/{product_id}", "/health", "/demo/products/sync"] {
        assert!(paths.contains_key(path), "{path} missing from {:?}", paths.keys().collect::<Vec<_>>());
    }
    for path in ["/tasks", "/tasks/{task_id}", "/events", "/queue", "/workers"] {
        assert!(!paths.contains_key(path), "{path} is the monitor's, not the API's");
    }
    let create = &doc.json["paths"]["/products/"]["post"];
    for status in ["201", "409", "413", "415", "422", "503"] {
        assert!(create["responses"].get(status).is_some(), "POST /products/ lacks {status}");
    }
    let product_in = &doc.json["components"]["schemas"]["ProductIn"];
    assert_eq!(product_in["required"], json!(["name", "price"]));
    assert_eq!(product_in["properties"]["name"]["maxLength"], 100);
}

#[tokio::test]
async fn swagger_ui_is_bundled_not_from_a_cdn() {
    let app = TestApp::start().await;
    let page = app.get("/docs/").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("swagger-ui"), "{}", page.text);
    for cdn in ["unpkg.com", "cdn.jsdelivr", "cdnjs", "https://"] {
        assert!(!page.text.contains(cdn), "the page loads something from {cdn}");
    }
    let init = app.get("/docs/swagger-initializer.js").await;
    assert_eq!(init.status, 200);
    assert!(init.text.contains("/openapi.json"), "{}", init.text);
    let bundle = app.get("/docs/swagger-ui-bundle.js").await;
    assert_eq!(bundle.status, 200);
    assert!(bundle.text.len() > 100_000, "the Swagger UI bundle is served from the binary");
}
