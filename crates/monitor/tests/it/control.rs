//! Revoke, retry, purge and the workers' list, with a real worker running the notification task.

use std::time::Duration;

use axum::http::Method;
use redis::AsyncCommands;
use serde_json::{Value, json};

use crate::common::{TestMonitor, product, start_worker, worker_settings};

async fn state_of(app: &TestMonitor, id: &str) -> Value {
    app.get(&format!("/tasks/{id}")).await.json
}

/// Sends a task as a bare producer would and waits until the monitor noticed it in the queue.
async fn queued(app: &TestMonitor, id: u64) -> String {
    let task_id = app.send(product(id, &format!("p{id}"))).await.id().to_string();
    app.wait_task(&task_id, "the task noticed in the queue", |t| t["state"] == "PENDING").await;
    task_id
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_task_is_skipped_and_can_be_retried_once() {
    let app = TestMonitor::start().await;
    app.start_recorder().await;
    let id = queued(&app, 1).await;

    // No worker runs yet: the revoke is remembered for the ones that start later.
    let revoked = app.post(&format!("/tasks/{id}/revoke")).await;
    assert_eq!(revoked.status, 202, "{}", revoked.text);
    assert_eq!(state_of(&app, &id).await["state"], "REVOKED");
    let again = app.post(&format!("/tasks/{id}/revoke")).await;
    assert_eq!(again.status, 409);

    let (stop, worker) = start_worker(worker_settings(&app.redis.url(), "0.05", &[]), "revoke-api@test");
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

    let retried = app.post(&format!("/tasks/{id}/retry")).await;
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
    let not_failed = app.post(&format!("/tasks/{new_id}/retry")).await;
    assert_eq!(not_failed.status, 409);
    assert!(not_failed.json["detail"].as_str().unwrap().contains("only failed or revoked tasks"));
    assert_eq!(app.post("/tasks/nope/retry").await.status, 404);
    let twice = app.post(&format!("/tasks/{id}/retry")).await;
    assert_eq!(twice.status, 409, "a task is retried once: {}", twice.text);
    assert!(twice.json["detail"].as_str().unwrap().contains(&new_id), "{}", twice.text);

    stop.cancel();
    worker.await.unwrap();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_concurrent_retries_of_one_task_send_it_once() {
    let app = TestMonitor::start().await;
    app.start_recorder().await;
    let id = queued(&app, 1).await;
    assert_eq!(app.post(&format!("/tasks/{id}/revoke")).await.status, 202);
    let mut conn = app.conn.clone();
    let _: () = conn.del("celery").await.unwrap();
    let path = format!("/tasks/{id}/retry");
    let answers = futures_util::future::join_all((0..20).map(|_| app.post(&path))).await;
    let created: Vec<&str> =
        answers.iter().filter(|a| a.status == 201).map(|a| a.json["task_id"].as_str().unwrap()).collect();
    assert_eq!(created.len(), 1, "{:?}", answers.iter().map(|a| (a.status, &a.text)).collect::<Vec<_>>());
    assert!(answers.iter().all(|a| a.status == 201 || a.status == 409), "the others are refused");
    assert_eq!(conn.llen::<_, usize>("celery").await.unwrap(), 1, "one message sent");
    assert_eq!(state_of(&app, &id).await["retried_as"], created[0], "linked to the one sent");
    app.stop().await;
}

#[tokio::test]
async fn purge_empties_the_queue_and_marks_its_tasks() {
    let app = TestMonitor::start().await;
    app.start_recorder().await;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(queued(&app, n).await);
    }
    let purged = app.request(Method::DELETE, "/queue").await;
    assert_eq!(purged.json, json!({"queue": "celery", "purged": 3}));
    let mut conn = app.conn.clone();
    assert_eq!(conn.llen::<_, usize>("celery").await.unwrap(), 0);
    for id in ids {
        let task = state_of(&app, &id).await;
        assert_eq!(task["state"], "REVOKED");
        assert_eq!(task["error"]["message"], "purged");
    }
    assert_eq!(app.request(Method::DELETE, "/queue").await.json["purged"], 0);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn workers_are_listed_with_their_stats() {
    let app = TestMonitor::start().await;
    app.start_recorder().await;
    let (stop, worker) = start_worker(worker_settings(&app.redis.url(), "0.05", &[]), "listed@test");
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
    app.stop().await;
}

#[tokio::test]
async fn the_controls_refuse_dns_rebinding_and_other_sites_pages() {
    let app = TestMonitor::start().await;
    let mut conn = app.conn.clone();
    let _: () = conn.lpush("celery", app.send(product(1, "p")).await.to_json().unwrap()).await.unwrap();
    use tower::ServiceExt as _;
    let purge = |host: &str, origin: &str| {
        axum::http::Request::builder()
            .method(Method::DELETE)
            .uri("/queue")
            .header("host", host)
            .header("origin", origin)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let rebound = app.router.clone().oneshot(purge("evil.example", "http://evil.example")).await.unwrap();
    assert_eq!(rebound.status(), 421);
    let foreign = app.router.clone().oneshot(purge("127.0.0.1:5555", "http://evil.example")).await.unwrap();
    assert_eq!(foreign.status(), 403);
    assert_eq!(conn.llen::<_, usize>("celery").await.unwrap(), 2, "the queue is untouched");
    app.stop().await;
}
