//! Creating, listing and reading products.

use redis::AsyncCommands;
use serde_json::{Value, json};
use taskq::TaskMessage;

use crate::common::TestApp;

#[tokio::test]
async fn create_stores_the_product_and_queues_its_task_atomically() {
    let app = TestApp::start().await;
    let answer =
        app.post_json("/products/", &json!({"name": "  Phone ", "price": 499.9, "description": "Новый"})).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let product = &answer.json;
    assert_eq!(product["id"], 1);
    assert_eq!(product["name"], "Phone");
    assert_eq!(product["price"], 499.9);
    assert_eq!(product["description"], "Новый");
    assert_eq!(answer.headers["location"], "/products/1");
    let task_id = product["task_id"].as_str().unwrap();
    assert!(taskq::time::parse_iso(product["created_at"].as_str().unwrap()).is_some());

    let mut conn = app.conn.clone();
    let queued: Vec<String> = conn.lrange("celery", 0, -1).await.unwrap();
    assert_eq!(queued.len(), 1);
    let message = TaskMessage::decode(&queued[0]).unwrap();
    assert_eq!(message.task(), "tasks.notifications.send_tg_notification");
    assert_eq!(message.id(), task_id);
    let mut expected = product.clone();
    expected.as_object_mut().unwrap().remove("task_id");
    assert_eq!(message.args(), [expected], "the task gets [product], as in the original");
    let argsrepr = message.envelope.headers.argsrepr.as_deref().unwrap();
    assert!(argsrepr.starts_with("[{'id': 1, 'name': 'Phone', "), "the id in the task's repr too: {argsrepr}");

    let stored: String = conn.get("stackdesk:product:1").await.unwrap();
    assert_eq!(serde_json::from_str::<Value>(&stored).unwrap(), *product);
    // The task is in the history from this moment, whoever monitors it.
    let record: String = conn.get(format!("stackdesk:task:{task_id}")).await.unwrap();
    let record: layout::Record = serde_json::from_str(&record).unwrap();
    assert_eq!(record.state, Some(taskq::TaskState::Pending));
    assert_eq!(record.product_id, Some(1));
    assert_eq!(record.timeline[0].state, taskq::TaskState::Pending);
    let listed: Vec<String> = conn.zrange("stackdesk:tasks", 0, -1).await.unwrap();
    assert_eq!(listed, [task_id]);
}

#[tokio::test]
async fn the_task_carries_ids_of_every_length() {
    // The script encodes the id's slot in the base64 body group by group (3 digits each): the
    // lengths around every group boundary, up to the counter's last id.
    let app = TestApp::start().await;
    let mut conn = app.conn.clone();
    const LAST: i64 = (1 << 53) - 1;
    let mut before: Vec<i64> = (1..=15).map(|digits| 10_i64.pow(digits) - 1).collect();
    before.extend([0, 10, 100, 1_000, LAST - 1]);
    for previous in before {
        let () = conn.set(layout::keys::NEXT_PRODUCT_ID, previous).await.unwrap();
        let answer = app.post_json("/products/", &json!({"name": "Phone", "price": 1.5})).await;
        assert_eq!(answer.status, 201, "after {previous}: {}", answer.text);
        let id = previous + 1;
        assert_eq!(answer.json["id"], id);
        let newest: String = conn.lindex("celery", 0).await.unwrap();
        let message = TaskMessage::decode(&newest).unwrap();
        assert_eq!(message.args()[0]["id"], id, "the body of product {id}");
        assert_eq!(message.args()[0]["name"], "Phone");
        let argsrepr = message.envelope.headers.argsrepr.as_deref().unwrap();
        assert!(argsrepr.starts_with(&format!("[{{'id': {id}, 'name': 'Phone'")), "{argsrepr}");
    }
    // Past 2^53 Lua's numbers cannot hold an id exactly: refused, and nothing changes.
    let queued: usize = conn.llen("celery").await.unwrap();
    let answer = app.post_json("/products/", &json!({"name": "Phone", "price": 1.5})).await;
    assert_eq!(answer.status, 409, "{}", answer.text);
    assert!(answer.json["detail"].as_str().unwrap().contains("2^53"), "{}", answer.text);
    let counter: i64 = conn.get(layout::keys::NEXT_PRODUCT_ID).await.unwrap();
    assert_eq!(counter, LAST, "the id is given back");
    assert_eq!(conn.llen::<_, usize>("celery").await.unwrap(), queued, "no task queued");
}

#[tokio::test]
async fn a_created_product_is_announced_for_the_monitor() {
    let app = TestApp::start().await;
    let mut announcements = app.broker.client().get_async_pubsub().await.unwrap();
    announcements.subscribe("stackdesk:events:product").await.unwrap();
    let mut messages = announcements.on_message();
    let answer = app.post_json("/products/", &json!({"name": "Phone", "price": 1})).await;
    assert_eq!(answer.status, 201);
    let message = tokio::time::timeout(std::time::Duration::from_secs(5), futures_util::StreamExt::next(&mut messages))
        .await
        .expect("an announcement within 5 s")
        .unwrap();
    let announced: Value = serde_json::from_slice(message.get_payload_bytes()).unwrap();
    assert_eq!(announced, answer.json, "the product as answered");
}

#[tokio::test]
async fn list_is_newest_first_and_paginates() {
    let app = TestApp::start().await;
    for n in 1..=5 {
        assert_eq!(app.post_json("/products", &json!({"name": format!("p{n}"), "price": n})).await.status, 201);
    }
    let names = |answer: &crate::common::Answer| -> Vec<String> {
        answer.json.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(names(&app.get("/products/").await), ["p5", "p4", "p3", "p2", "p1"]);
    assert_eq!(names(&app.get("/products/?limit=2&offset=1").await), ["p4", "p3"]);
    assert_eq!(names(&app.get("/products/?offset=10").await), Vec::<String>::new());
    let bad = app.get("/products/?limit=0&offset=x").await;
    assert_eq!(bad.status, 422);
    let kinds: Vec<&str> = bad.json["detail"].as_array().unwrap().iter().map(|d| d["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["greater_than_equal", "int_parsing"]);
    // As FastAPI: a negative offset is out of range (not unparseable), and of a repeated
    // parameter the last counts.
    let negative = app.get("/products/?offset=-5").await;
    assert_eq!(negative.status, 422);
    assert_eq!(negative.json["detail"][0]["type"], "greater_than_equal", "{}", negative.json);
    assert_eq!(negative.json["detail"][0]["loc"], json!(["query", "offset"]));
    assert_eq!(names(&app.get("/products/?limit=1&limit=3").await), ["p5", "p4", "p3"]);
}

#[tokio::test]
async fn get_answers_404_and_422_like_fastapi() {
    let app = TestApp::start().await;
    assert_eq!(app.post_json("/products/", &json!({"name": "a", "price": 1})).await.status, 201);
    let found = app.get("/products/1").await;
    assert_eq!(found.status, 200);
    assert_eq!(found.json["name"], "a");
    let missing = app.get("/products/99").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json, json!({"detail": "Product 99 not found"}));
    let bad = app.get("/products/abc").await;
    assert_eq!(bad.status, 422);
    assert_eq!(
        bad.json,
        json!({"detail": [{"type": "int_parsing", "loc": ["path", "product_id"], "msg": "Input should be a valid integer, unable to parse string as an integer", "input": "abc"}]})
    );
}

#[tokio::test]
async fn health_reports_redis() {
    let app = TestApp::start().await;
    let ok = app.get("/health").await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json, json!({"status": "ok", "redis": "ok"}));
}

#[tokio::test]
async fn redis_down_means_a_quick_503_and_nothing_stored() {
    let app = TestApp::start().await;
    app.redis.raw_command(&["SHUTDOWN", "NOSAVE"]);
    let answer = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        app.post_json("/products/", &json!({"name": "a", "price": 1})),
    )
    .await
    .expect("the API answers instead of hanging");
    assert_eq!(answer.status, 503, "{}", answer.text);
    assert_eq!(answer.json, json!({"detail": "Redis is unavailable; nothing was changed. Try again shortly."}));
    let health = tokio::time::timeout(std::time::Duration::from_secs(5), app.get("/health")).await.unwrap();
    assert_eq!(health.status, 503);
    assert!(health.json["detail"].as_str().unwrap().starts_with("Redis"), "{}", health.json);
    let list = tokio::time::timeout(std::time::Duration::from_secs(5), app.get("/products/")).await.unwrap();
    assert_eq!(list.status, 503);
}

#[tokio::test]
async fn a_request_refused_while_redis_is_paused_changes_nothing_even_after_it_resumes() {
    let app = TestApp::start().await;
    // Two requests before: Redis's clock is measured and kept (a slow first measurement is not).
    for id in [1, 2] {
        assert_eq!(app.post_json("/products/", &json!({"name": "before", "price": 1})).await.json["id"], id);
    }
    let before = app.snapshot().await;
    let scripts_before = app.redis.scripts_run();
    app.redis.pause();
    let asked = std::time::Instant::now();
    let answer = app.post_json("/products/", &json!({"name": "during", "price": 2})).await;
    assert_eq!(answer.status, 503, "{}", answer.text);
    assert!(asked.elapsed() < std::time::Duration::from_secs(3), "answered in {:?}", asked.elapsed());
    app.redis.resume();
    // On the API's own connection, so Redis has run whatever it queued before this.
    let mut conn = app.conn.clone();
    let _: String = redis::cmd("PING").query_async(&mut conn).await.unwrap();
    // The script was sent during the pause and Redis did run it, late: this is what is tested.
    assert!(app.redis.scripts_run() > scripts_before, "the refused request's script never reached Redis");
    assert_eq!(app.snapshot().await, before, "no id taken, no product, no task, no record");
    let after = app.post_json("/products/", &json!({"name": "after", "price": 3})).await;
    assert_eq!(after.json["id"], 3, "{}", after.text);
    let stored: String = conn.get("stackdesk:product:3").await.unwrap();
    assert_eq!(serde_json::from_str::<Value>(&stored).unwrap()["name"], "after");
}

#[tokio::test]
async fn cors_answers_only_the_listed_origins() {
    let app = TestApp::start_with(api::ApiOptions {
        cors_origins: vec!["tauri://localhost".into(), "http://127.0.0.1:4321".into()],
        ..api::ApiOptions::default()
    })
    .await;
    let preflight = |origin: &'static str| {
        axum::http::Request::builder()
            .method(axum::http::Method::OPTIONS)
            .uri("/products/")
            .header("host", "127.0.0.1:8000")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .body(axum::body::Body::empty())
            .unwrap()
    };
    use tower::ServiceExt as _;
    let allowed = app.router.clone().oneshot(preflight("tauri://localhost")).await.unwrap();
    assert_eq!(allowed.headers()["access-control-allow-origin"], "tauri://localhost");
    assert!(allowed.headers()["access-control-allow-methods"].to_str().unwrap().contains("POST"));
    let other = app.router.clone().oneshot(preflight("http://evil.example")).await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none(), "{:?}", other.headers());
    assert_eq!(other.status(), 403, "another site's page is refused outright");

    let request = axum::http::Request::builder()
        .method(axum::http::Method::POST)
        .uri("/products/")
        .header("host", "127.0.0.1:8000")
        .header("origin", "http://127.0.0.1:4321")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(r#"{"name":"Cup","price":3}"#))
        .unwrap();
    let created = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["access-control-allow-origin"], "http://127.0.0.1:4321");
    assert!(created.headers()["access-control-expose-headers"].to_str().unwrap().contains("location"));
}

/// Milliseconds of each step in a `Server-Timing` header.
fn timings(header: &str) -> Vec<(String, f64)> {
    header
        .split(',')
        .map(|step| {
            let (name, dur) = step.trim().split_once(";dur=").unwrap_or_else(|| panic!("bad step {step:?}"));
            (name.to_string(), dur.parse().unwrap())
        })
        .collect()
}

#[tokio::test]
async fn create_says_how_long_validation_and_the_store_step_took() {
    let app = TestApp::start().await;
    let answer = app.post_json("/products/", &json!({"name": "Cup", "price": 3})).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let steps = timings(answer.headers["server-timing"].to_str().unwrap());
    assert_eq!(steps.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["validate", "store"]);
    assert!(steps.iter().all(|(_, ms)| ms.is_finite() && *ms >= 0.0), "{steps:?}");
}

fn simulated_notifier(secs: &str, fail_first: &str) -> worker::notify::Notifier {
    let env = [("NOTIFY_SIMULATED_SECS", secs), ("NOTIFY_FAIL_FIRST_ATTEMPTS", fail_first)];
    let sources = config::Sources {
        env: env.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect(),
        ..config::Sources::default()
    };
    worker::notify::Notifier::from_settings(&config::Settings::from_sources(&sources).unwrap()).unwrap()
}

#[tokio::test]
async fn the_synchronous_variant_waits_for_the_notification_and_stores_nothing() {
    let app = TestApp::start_with(api::ApiOptions {
        notifier: Some(simulated_notifier("0.2", "0")),
        ..api::ApiOptions::default()
    })
    .await;
    let answer = app.post_json("/demo/products/sync", &json!({"name": "Cup", "price": 3})).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json["notification"]["status"], "simulated");
    assert_eq!(answer.json["notification"]["text"], "New product #None: Cup \u{2014} 3.0");
    // The client really waited for the simulated send (0.2 s), and the header says so.
    assert!(answer.json["notify_secs"].as_f64().unwrap() >= 0.2, "{}", answer.json);
    let steps = timings(answer.headers["server-timing"].to_str().unwrap());
    assert_eq!(steps[1].0, "notify");
    assert!(steps[1].1 >= 200.0, "{steps:?}");

    let mut conn = app.conn.clone();
    let queued: i64 = conn.llen("celery").await.unwrap();
    let products: i64 = conn.zcard("stackdesk:products").await.unwrap();
    assert_eq!((queued, products), (0, 0), "the synchronous variant stores nothing");

    let invalid = app.post_json("/demo/products/sync", &json!({"price": 0})).await;
    assert_eq!(invalid.status, 422);
    assert_eq!(invalid.json["detail"][0]["loc"], json!(["body", "name"]));
}

#[tokio::test]
async fn the_synchronous_variant_reports_a_failed_notification() {
    let app = TestApp::start_with(api::ApiOptions {
        notifier: Some(simulated_notifier("0", "1")),
        ..api::ApiOptions::default()
    })
    .await;
    let answer = app.post_json("/demo/products/sync", &json!({"name": "Cup", "price": 3})).await;
    assert_eq!(answer.status, 502, "{}", answer.text);
    assert!(answer.json["detail"].as_str().unwrap().contains("NOTIFY_FAIL_FIRST_ATTEMPTS"), "{}", answer.json);

    let off = TestApp::start().await;
    let answer = off.post_json("/demo/products/sync", &json!({"name": "Cup", "price": 3})).await;
    assert_eq!(answer.status, 503, "{}", answer.text);
}

#[tokio::test]
async fn dns_rebinding_and_other_sites_pages_are_refused_and_change_nothing() {
    let app = TestApp::start().await;
    let before = app.snapshot().await;
    use tower::ServiceExt as _;
    let request = |host: &str, origin: Option<&str>| {
        let mut builder = axum::http::Request::builder()
            .method(axum::http::Method::POST)
            .uri("/products/")
            .header("host", host)
            .header("content-type", "application/json");
        if let Some(origin) = origin {
            builder = builder.header("origin", origin);
        }
        builder.body(axum::body::Body::from(r#"{"name":"Cup","price":3}"#)).unwrap()
    };
    let rebound = app.router.clone().oneshot(request("evil.example", Some("http://evil.example"))).await.unwrap();
    assert_eq!(rebound.status(), 421, "a site's name in Host: DNS rebinding");
    let foreign = app.router.clone().oneshot(request("127.0.0.1:8000", Some("http://evil.example"))).await.unwrap();
    assert_eq!(foreign.status(), 403, "another site's page");
    assert_eq!(app.snapshot().await, before, "nothing stored");
    let own = app.router.clone().oneshot(request("127.0.0.1:8000", Some("http://127.0.0.1:8000"))).await.unwrap();
    assert_eq!(own.status(), 201, "the API's own Swagger UI may create a product");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_python_celery_worker_runs_the_original_task_on_our_product() {
    let app = TestApp::start().await;
    let original = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bench/python/original");
    let mut celery = test_support::python::ChildProcess::spawn(
        "celery-worker",
        std::process::Command::new(test_support::python::Venv::get().bin("celery"))
            .args(["-A", "tasks", "worker", "--pool=solo", "-n", "original@%h", "-l", "INFO"])
            .args(["--without-mingle", "--without-gossip"])
            .env("REDIS_URL", app.redis.url())
            .env("NOTIFY_SIMULATED_SECS", "0")
            .current_dir(&original),
    );
    celery.wait_for_output("ready.", std::time::Duration::from_secs(60)).await;
    // A name whose JSON escapes, quotes and non-ASCII text go through the script's base64.
    let name = "Чайник \"Ц\" \\ 🫖";
    let created = app.post_json("/products/", &json!({"name": name, "price": 12.5})).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let task_id = created.json["task_id"].as_str().unwrap().to_string();
    let conn = app.conn.clone();
    let meta: Value = test_support::wait::until("Celery to run the task", std::time::Duration::from_secs(30), || {
        let mut conn = conn.clone();
        let key = format!("celery-task-meta-{task_id}");
        async move {
            let raw: Option<String> = conn.get(&key).await.ok().flatten();
            raw.map(|r| serde_json::from_str::<Value>(&r).unwrap()).filter(|m| m["status"] == "SUCCESS")
        }
    })
    .await;
    assert_eq!(meta["result"], json!({"status": "simulated", "product_id": created.json["id"]}));
    let log = celery.output();
    assert!(log.contains(&format!("Task tasks.notifications.send_tg_notification[{task_id}] received")), "{log}");
}
