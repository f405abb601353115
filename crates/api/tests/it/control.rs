//! Revoke, retry, purge and the workers' list, with a real worker running the notification task.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::Method;
use redis::AsyncCommands;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::common::TestApp;

fn start_worker(app: &TestApp, name: &str) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let env: HashMap<String, String> =
        HashMap::from([("REDIS_URL".into(), app.redis.url()), ("NOTIFY_SIMULATED_SECS".into(), "0.05".into())]);
    let settings = config::Settings::from_sources(&config::Sources { env, ..Default::default() }).unwrap();
    let stop = CancellationToken::new();
    let (token, name) = (stop.clone(), name.to_string());
    let handle = tokio::spawn(async move {
        worker::run(&settings, Some(name), token).await.unwrap();
    });
    (stop, handle)
}

async fn state_of(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/tasks/{id}")).await.json
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_task_is_skipped_and_can_be_retried() {
    let app = TestApp::start().await;
    let created = app.post_json("/products/", &json!({"name": "Phone", "price": 1})).await;
    let id = created.json["task_id"].as_str().unwrap().to_string();

    // No worker runs yet: the revoke is remembered for the ones that start later.
    let revoked = app.request(Method::POST, &format!("/tasks/{id}/revoke"), None, "").await;
    assert_eq!(revoked.status, 202, "{}", revoked.text);
    assert_eq!(state_of(&app, &id).await["state"], "REVOKED");
    let again = app.request(Method::POST, &format!("/tasks/{id}/revoke"), None, "").await;
    assert_eq!(again.status, 409);

    let (stop, worker) = start_worker(&app, "revoke-api@test");
    let mut conn = app.conn.clone();
    test_support::wait::until("the worker to take and settle the revoked message", Duration::from_secs(20), || {
        let mut conn = conn.clone();
        async move {
            let (queued, unacked): (usize, usize) =
                redis::pipe().llen("celery").hlen("unacked").query_async(&mut conn).await.ok()?;
            (queued == 0 && unacked == 0).then_some(())
        }
    })
    .await;
    let meta: String = conn.get(taskq::result_key(&id)).await.unwrap();
    assert!(meta.contains("\"REVOKED\""), "the worker did not run it: {meta}");

    let retried = app.request(Method::POST, &format!("/tasks/{id}/retry"), None, "").await;
    assert_eq!(retried.status, 201, "{}", retried.text);
    let new_id = retried.json["task_id"].as_str().unwrap().to_string();
    assert_eq!(retried.headers["location"], format!("/tasks/{new_id}"));
    let done = test_support::wait::until("the retry to succeed", Duration::from_secs(20), || {
        let app = &app;
        let new_id = new_id.clone();
        async move { Some(state_of(app, &new_id).await).filter(|t| t["state"] == "SUCCESS") }
    })
    .await;
    assert_eq!(done["retry_of"], id.as_str());
    assert_eq!(done["args"], state_of(&app, &id).await["args"], "the same arguments");
    assert_eq!(state_of(&app, &id).await["retried_as"], new_id.as_str());
    let not_failed = app.request(Method::POST, &format!("/tasks/{new_id}/retry"), None, "").await;
    assert_eq!(not_failed.status, 409);
    assert!(not_failed.json["detail"].as_str().unwrap().contains("only failed or revoked tasks"));
    assert_eq!(app.request(Method::POST, "/tasks/nope/retry", None, "").await.status, 404);

    stop.cancel();
    worker.await.unwrap();
}

#[tokio::test]
async fn purge_empties_the_queue_and_marks_its_tasks() {
    let app = TestApp::start().await;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(
            app.post_json("/products/", &json!({"name": format!("p{n}"), "price": 1})).await.json["task_id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let purged = app.request(Method::DELETE, "/queue", None, "").await;
    assert_eq!(purged.json, json!({"queue": "celery", "purged": 3}));
    let mut conn = app.conn.clone();
    assert_eq!(conn.llen::<_, usize>("celery").await.unwrap(), 0);
    for id in ids {
        let task = state_of(&app, &id).await;
        assert_eq!(task["state"], "REVOKED");
        assert_eq!(task["error"]["message"], "purged");
    }
    assert_eq!(app.request(Method::DELETE, "/queue", None, "").await.json["purged"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn workers_are_listed_with_their_stats() {
    let app = TestApp::start().await;
    let tracker = app.start_recorder().await;
    let (stop, worker) = start_worker(&app, "listed@test");
    let listed = test_support::wait::until("the worker to be listed with stats", Duration::from_secs(20), || {
        let app = &app;
        async move {
            let workers = app.get("/workers").await.json;
            workers
                .as_array()?
                .iter()
                .find(|w| w["hostname"] == "listed@test" && w["online"] == true && w["stats"].is_object())
                .cloned()
        }
    })
    .await;
    assert_eq!(listed["sw_ident"], "stackdesk");
    assert_eq!(listed["stats"]["pool"]["max-concurrency"], 1);
    stop.cancel();
    worker.await.unwrap();
    let offline = test_support::wait::until("the worker to be listed offline", Duration::from_secs(20), || {
        let app = &app;
        async move {
            app.get("/workers")
                .await
                .json
                .as_array()?
                .iter()
                .find(|w| w["hostname"] == "listed@test" && w["online"] == false)
                .cloned()
        }
    })
    .await;
    assert_eq!(offline["last_event"], "worker-offline");
    app.shutdown.cancel();
    tracker.close();
    tracker.wait().await;
}
