//! History and `/events` with a real worker running the notification task (simulated send), for
//! tasks sent by a producer that records nothing; paging and trimming; event order.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{TestMonitor, product, start_worker, states, worker_settings};

/// Reads SSE events from a live `/events` response until `done` says so.
pub async fn read_events(
    response: &mut reqwest::Response,
    mut done: impl FnMut(&str, &Value) -> bool,
) -> Vec<(String, Value)> {
    let mut buffer = String::new();
    let mut seen = Vec::new();
    loop {
        let chunk = tokio::time::timeout(Duration::from_secs(30), response.chunk())
            .await
            .expect("an event within 30 s")
            .unwrap()
            .expect("stream open");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let event = block.lines().find_map(|l| l.strip_prefix("event:")).map(|e| e.trim().to_string());
            let data = block
                .lines()
                .find_map(|l| l.strip_prefix("data:"))
                .map(|d| serde_json::from_str(d.trim()).unwrap_or(Value::Null));
            if let (Some(event), Some(data)) = (event, data) {
                let stop = done(&event, &data);
                seen.push((event, data));
                if stop {
                    return seen;
                }
            }
        }
    }
}

/// Serves the monitor on a free port; returns its base URL.
pub async fn serve(app: &TestMonitor) -> (String, tokio::task::JoinHandle<Result<(), std::io::Error>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = app.router.clone();
    let shutdown = app.shutdown.clone();
    let server =
        tokio::spawn(
            async move { axum::serve(listener, router).with_graceful_shutdown(shutdown.cancelled_owned()).await },
        );
    (base, server)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_task_nobody_recorded_goes_pending_to_success_in_history_and_on_the_live_feed() {
    let app = TestMonitor::start().await;
    app.start_recorder().await;
    let (base, server) = serve(&app).await;
    let client = reqwest::Client::new();
    let mut events = client.get(format!("{base}/events")).send().await.unwrap();
    assert_eq!(events.headers()["content-type"], "text/event-stream");

    // Sent with no history record and no task-sent event: noticed in the queue.
    let message = app.send(product(7, "Phone")).await;
    let id = message.id().to_string();
    let pending = app.wait_task(&id, "the queued task noticed as PENDING", |t| t["state"] == "PENDING").await;
    assert_eq!(pending["args"][0]["id"], 7, "its arguments, as JSON, from the message");
    assert_eq!(pending["product_id"], 7, "the product it is about, from its first argument");
    let announced = json!({"id": 7, "name": "Phone", "price": 1.0, "description": null, "created_at": "2026-12-01T10:00:00", "task_id": id});
    let mut conn = app.conn.clone();
    let _: i64 = redis::cmd("PUBLISH")
        .arg(layout::keys::PRODUCT_CHANNEL)
        .arg(announced.to_string())
        .query_async(&mut conn)
        .await
        .unwrap();

    let settings = worker_settings(&app.redis.url(), "0.3", &[("NOTIFY_FAIL_FIRST_ATTEMPTS", "1")]);
    let (stop, worker) = start_worker(settings, "live-test@test");
    let seen = read_events(&mut events, |event, data| {
        event == "task" && data["task_id"] == id.as_str() && data["state"] == "SUCCESS"
    })
    .await;
    assert!(seen.iter().any(|(e, d)| e == "product" && *d == announced), "the announced product is relayed");
    assert!(
        seen.iter().any(|(e, d)| e == "worker" && d["type"] == "worker-online" && d["hostname"] == "live-test@test")
    );
    let live: Vec<&str> = seen
        .iter()
        .filter(|(e, d)| e == "task" && d["task_id"] == id.as_str())
        .map(|(_, d)| d["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        live,
        ["PENDING", "RECEIVED", "STARTED", "RETRY", "RECEIVED", "STARTED", "SUCCESS"],
        "every change, live"
    );

    let task: Value = client.get(format!("{base}/tasks/{id}")).send().await.unwrap().json().await.unwrap();
    assert_eq!(task["state"], "SUCCESS");
    assert_eq!(task["retries"], 1);
    assert_eq!(task["worker"], "live-test@test");
    assert_eq!(task["result"]["status"], "simulated");
    assert_eq!(task["error"], Value::Null);
    assert_eq!(states(&task), ["PENDING", "RECEIVED", "STARTED", "RETRY", "RECEIVED", "STARTED", "SUCCESS"]);
    let page: Value = client.get(format!("{base}/tasks?state=SUCCESS")).send().await.unwrap().json().await.unwrap();
    assert_eq!(page["tasks"].as_array().unwrap().len(), 1);
    // An enum parameter, as FastAPI has it: the exact name, with the names it takes in the error.
    let lower = client.get(format!("{base}/tasks?state=success")).send().await.unwrap();
    assert_eq!(lower.status(), 422);
    let lower: Value = lower.json().await.unwrap();
    assert_eq!(lower["detail"][0]["type"], "enum", "{lower}");
    assert!(lower["detail"][0]["msg"].as_str().unwrap().contains("'PENDING', 'RECEIVED'"), "{lower}");
    let none: Value = client.get(format!("{base}/tasks?state=FAILURE")).send().await.unwrap().json().await.unwrap();
    assert_eq!(none["tasks"], json!([]));

    stop.cancel();
    worker.await.unwrap();
    app.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("graceful shutdown ends live streams")
        .unwrap()
        .unwrap();
    app.stop().await;
}

#[tokio::test]
async fn history_pages_newest_first_and_is_bounded() {
    let options = monitor::MonitorOptions { history_max: 10, ..monitor::MonitorOptions::default() };
    let app = TestMonitor::start_with(options).await;
    let mut ids = Vec::new();
    for n in 0..14 {
        ids.push(app.send(product(n, &format!("p{n}"))).await.id().to_string());
    }
    app.start_recorder().await;
    let newest = ids.last().unwrap().clone();
    app.wait_task(&newest, "the queue noticed", |t| t["state"] == "PENDING").await;
    let first = app.get("/tasks?limit=4").await;
    let page: Vec<&str> =
        first.json["tasks"].as_array().unwrap().iter().map(|t| t["task_id"].as_str().unwrap()).collect();
    assert_eq!(page, ids.iter().rev().take(4).map(String::as_str).collect::<Vec<_>>(), "in the queue's order");
    let mut all: Vec<String> = page.iter().map(|s| s.to_string()).collect();
    let mut before = first.json["next_before"].clone();
    while let Some(cursor) = before.as_f64() {
        let next = app.get(&format!("/tasks?limit=4&before={cursor}")).await;
        all.extend(next.json["tasks"].as_array().unwrap().iter().map(|t| t["task_id"].as_str().unwrap().to_string()));
        before = next.json["next_before"].clone();
    }
    assert_eq!(all, ids.iter().rev().take(10).cloned().collect::<Vec<_>>(), "the 10 newest, each once");
    assert_eq!(app.get(&format!("/tasks/{}", ids[0])).await.status, 404, "the oldest were trimmed");
    let mut conn = app.conn.clone();
    let records: Vec<String> = redis::cmd("KEYS").arg("stackdesk:task:*").query_async(&mut conn).await.unwrap();
    assert_eq!(records.len(), 10, "trimmed records are deleted, not just unlisted");
    app.stop().await;
}

#[tokio::test]
async fn events_microseconds_apart_keep_their_order() {
    let app = TestMonitor::start().await;
    let mut conn = app.conn.clone();
    // With 14 significant digits the first is stored as ...3407, after the true time of the next two.
    let t = 1_795_501_634.340_68;
    let event = |kind: &str, at: f64| {
        let mut fields = serde_json::Map::new();
        fields.insert("uuid".into(), json!("t-1"));
        fields.insert("type".into(), json!(kind));
        fields.insert("hostname".into(), json!("w@h"));
        fields.insert("timestamp".into(), json!(at));
        taskq::Event { kind: taskq::EventKind::parse(kind), hostname: "w@h".into(), timestamp: at, clock: 1, fields }
    };
    for (kind, at) in [("task-received", t), ("task-started", t + 0.000_005), ("task-succeeded", t + 0.000_01)] {
        monitor::history::apply_event(&mut conn, &event(kind, at), 100).await.unwrap();
    }
    let task = app.get("/tasks/t-1").await.json;
    assert_eq!(task["state"], "SUCCESS");
    assert_eq!(states(&task), ["RECEIVED", "STARTED", "SUCCESS"]);
    // A late event never moves a finished task back.
    monitor::history::apply_event(&mut conn, &event("task-started", t + 0.000_007), 100).await.unwrap();
    assert_eq!(app.get("/tasks/t-1").await.json["state"], "SUCCESS");
}

#[tokio::test(flavor = "multi_thread")]
async fn open_streams_are_bounded_and_a_closed_one_frees_its_place() {
    let app = TestMonitor::start().await;
    app.start_recorder().await;
    let (base, server) = serve(&app).await;
    let client = reqwest::Client::new();
    let mut open = Vec::new();
    for _ in 0..monitor::feed::MAX_SUBSCRIBERS {
        let stream = client.get(format!("{base}/events")).send().await.unwrap();
        assert_eq!(stream.status(), 200);
        open.push(stream);
    }
    let refused = client.get(format!("{base}/events")).send().await.unwrap();
    assert_eq!(refused.status(), 503);
    let detail: Value = refused.json().await.unwrap();
    assert!(detail["detail"].as_str().unwrap().contains("live streams are open already"), "{detail}");

    drop(open.pop());
    // The server learns of a closed stream when it next writes to it: an event does that.
    test_support::wait::until("the closed stream's place to be free", Duration::from_secs(30), || {
        let (client, base) = (client.clone(), base.clone());
        let sent = app.send(product(1, "wakes the streams"));
        async move {
            sent.await;
            let again = client.get(format!("{base}/events")).send().await.unwrap();
            (again.status() == 200).then_some(())
        }
    })
    .await;
    drop(open);
    app.stop().await;
    server.await.unwrap().unwrap();
}

/// Counts the `queue` events in raw SSE bytes, and the events the `lagged` ones say were missed
/// (if any).
fn tally(raw: &[u8]) -> (usize, Option<u64>) {
    let text = String::from_utf8_lossy(raw);
    let queue = text.matches("event: queue\n").count() + text.matches("event:queue\n").count();
    // A client may fall behind more than once: each `lagged` event says how many it missed.
    let counts: Vec<u64> = text
        .split("\"missed\":")
        .skip(1)
        .filter_map(|rest| rest.split(|c: char| !c.is_ascii_digit()).next().and_then(|n| n.parse().ok()))
        .collect();
    let missed = (!counts.is_empty()).then(|| counts.iter().sum());
    (queue, missed)
}

/// How many events the never-reading client's stream is sent while it does not read.
const SENT: u64 = 20_000;

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_that_is_not_read_holds_no_more_than_the_feed_and_is_told_what_it_missed() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let app = TestMonitor::start().await;
    let (base, server) = serve(&app).await;
    let address = base.trim_start_matches("http://");
    // A client that asks for the stream and then reads nothing (a small window, so the server
    // cannot park megabytes in the kernel on its behalf).
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(address.parse().unwrap()).await.unwrap();
    stream.write_all(format!("GET /events HTTP/1.1\r\nHost: {address}\r\n\r\n").as_bytes()).await.unwrap();
    let feed = app.monitor.feed();
    test_support::wait::until("the stream to subscribe", Duration::from_secs(10), || async {
        feed.has_subscribers().then_some(())
    })
    .await;
    // 20,000 events of about a kilobyte each: 20 MB that a buffer without a bound would keep.
    let padding = "q".repeat(1000);
    for queued in 0..SENT {
        feed.send(monitor::model::LiveEvent::Queue(monitor::model::QueueDepth {
            queue: padding.clone(),
            queued,
            unacked: 0,
        }));
        if queued % 1000 == 0 {
            tokio::task::yield_now().await;
        }
    }
    // Now it reads: what was parked for it, the notice of what it missed, then the rest.
    let mut raw = Vec::new();
    let mut chunk = vec![0; 64 * 1024];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let last = format!("\"queued\":{}", SENT - 1);
    // Only the newest bytes can hold the last event (the whole is tallied once, at the end).
    while !String::from_utf8_lossy(&raw[raw.len().saturating_sub(chunk.len() + 2048)..]).contains(&last) {
        let n = tokio::time::timeout_at(deadline, stream.read(&mut chunk))
            .await
            .expect("the last event within 30 s")
            .unwrap();
        assert!(n > 0, "the stream ended before its last event");
        raw.extend_from_slice(&chunk[..n]);
    }
    let (delivered, missed) = tally(&raw);
    let missed = missed.expect("a `lagged` event telling the client it missed events");
    assert_eq!(delivered as u64 + missed, SENT, "every event either delivered or counted as missed");
    assert!(
        raw.len() < 8 * 1024 * 1024,
        "{} bytes were kept for a client that did not read ({delivered} events)",
        raw.len()
    );
    eprintln!("a client that did not read: {delivered} events delivered ({} bytes), {missed} missed", raw.len());
    drop(stream);
    app.stop().await;
    server.await.unwrap().unwrap();
}
