//! Golden fixtures captured from Python Celery 5.7 (`tests/python/capture_golden.py`): every
//! envelope, result and event decodes into our types and re-encodes to the very same bytes, and
//! what our producer, backend and dispatcher write has Celery's shape field for field.

use serde_json::{Map, Value, json};
use taskq::backend::{RequestInfo, ResultMeta, TaskState};
use taskq::message::decode_body;
use taskq::{Envelope, ExceptionInfo, SendOptions, TaskMessage, pyjson};

fn fixtures() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/celery-5.7.0.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn items<'a>(fixtures: &'a Value, kind: &str) -> &'a Vec<Value> {
    let list = fixtures[kind].as_array().unwrap();
    assert!(!list.is_empty(), "no {kind} in the fixture file");
    list
}

fn keys(value: &Value) -> Vec<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn envelopes_round_trip_byte_for_byte() {
    let fixtures = fixtures();
    for item in items(&fixtures, "envelopes") {
        let raw = item["raw"].as_str().unwrap();
        let message = TaskMessage::decode(raw).unwrap_or_else(|e| panic!("{}: {e}", item["name"]));
        assert_eq!(message.to_json().unwrap(), raw, "{}", item["name"]);
        assert_eq!(message.queue_key(), item["queue_key"].as_str().unwrap(), "{}", item["name"]);
        let body: Value = decode_body(&message.envelope).unwrap();
        assert_eq!(pyjson::to_string(&message.body).unwrap(), pyjson::to_string(&body).unwrap());
    }
}

#[test]
fn our_messages_have_send_tasks_shape() {
    let fixtures = fixtures();
    let python = items(&fixtures, "envelopes").iter().find(|i| i["name"] == "send_task").unwrap();
    let python = TaskMessage::decode(python["raw"].as_str().unwrap()).unwrap();
    let ours = TaskMessage::new(python.task(), python.args().to_vec(), Map::new(), &SendOptions::default());
    let (ours_json, python_json): (Value, Value) = (
        serde_json::from_str(&ours.to_json().unwrap()).unwrap(),
        serde_json::from_str(&python.to_json().unwrap()).unwrap(),
    );
    assert_eq!(keys(&ours_json), keys(&python_json));
    assert_eq!(keys(&ours_json["headers"]), keys(&python_json["headers"]));
    assert_eq!(keys(&ours_json["properties"]), keys(&python_json["properties"]));
    // Same arguments → same body bytes and reprs; only ids, origin and reply_to differ.
    assert_eq!(ours_json["body"], python_json["body"]);
    for field in [
        "lang",
        "task",
        "shadow",
        "eta",
        "expires",
        "retries",
        "timelimit",
        "parent_id",
        "argsrepr",
        "kwargsrepr",
        "ignore_result",
        "stamps",
    ] {
        assert_eq!(ours_json["headers"][field], python_json["headers"][field], "headers.{field}");
    }
    assert_eq!(ours_json["headers"]["root_id"], ours_json["headers"]["id"]);
    assert_eq!(ours_json["properties"]["correlation_id"], ours_json["headers"]["id"]);
    assert_eq!(ours_json["properties"]["delivery_info"], python_json["properties"]["delivery_info"]);
}

#[test]
fn countdown_expires_and_priority_match_apply_async() {
    let fixtures = fixtures();
    let item = items(&fixtures, "envelopes").iter().find(|i| i["name"] == "countdown_expires_priority").unwrap();
    let python: Value = serde_json::from_str(item["raw"].as_str().unwrap()).unwrap();
    let options = SendOptions {
        countdown: Some(std::time::Duration::from_secs(5)),
        expires: Some(std::time::Duration::from_secs(60)),
        priority: Some(5),
        ..SendOptions::default()
    };
    let ours = TaskMessage::new("tasks.notifications.send_tg_notification", vec![], Map::new(), &options);
    let ours: Value = serde_json::from_str(&ours.to_json().unwrap()).unwrap();
    assert_eq!(keys(&ours["properties"]), keys(&python["properties"]));
    assert_eq!(ours["properties"]["expiration"], python["properties"]["expiration"]);
    assert_eq!(ours["properties"]["priority"], 5);
    let eta = taskq::time::parse_iso(ours["headers"]["eta"].as_str().unwrap()).unwrap();
    let expires = taskq::time::parse_iso(ours["headers"]["expires"].as_str().unwrap()).unwrap();
    let gap = (expires - eta).num_milliseconds();
    assert!((54_900..=55_100).contains(&gap), "expires − eta = {gap} ms, Celery's is 55 s");
}

#[test]
fn results_round_trip_byte_for_byte() {
    let fixtures = fixtures();
    for item in items(&fixtures, "results") {
        let raw = item["raw"].as_str().unwrap();
        let meta: ResultMeta = serde_json::from_str(raw).unwrap_or_else(|e| panic!("{}: {e}", item["name"]));
        assert_eq!(pyjson::to_string(&meta).unwrap(), raw, "{}", item["name"]);
        assert_eq!(item["ttl"], 86400, "Celery's default result_expires");
    }
}

#[test]
fn our_results_match_celerys_field_for_field() {
    let fixtures = fixtures();
    let find = |name: &str| -> Value {
        let item = items(&fixtures, "results").iter().find(|i| i["name"] == name).unwrap();
        serde_json::from_str(item["raw"].as_str().unwrap()).unwrap()
    };
    let success = find("success");
    let args = success["args"].as_array().unwrap().clone();
    let kwargs = Map::new();
    let mut request = RequestInfo {
        name: "tasks.notifications.send_tg_notification",
        args: &args,
        kwargs: &kwargs,
        worker: "w1@capture",
        retries: 0,
        queue: "celery",
        parent_id: None,
        group_id: None,
    };
    let id = success["task_id"].as_str().unwrap();
    let with_date = |mut ours: Value, python: &Value| {
        ours["date_done"] = python["date_done"].clone();
        ours
    };
    let ours = ResultMeta::new(id, TaskState::Success, success["result"].clone(), None, Some(&request));
    assert_eq!(with_date(json!(ours), &success), success);

    let started = find("started");
    let ours =
        ResultMeta::new(id, TaskState::Started, json!({"pid": 4242, "hostname": "w1@capture"}), None, Some(&request));
    assert_eq!(json!(ours), started);
    assert_eq!(pyjson::to_string(&ours).unwrap(), pyjson::to_string(&started).unwrap());

    let retry = find("retry");
    let error = ExceptionInfo::runtime_error("Telegram API error: 500");
    let ours = ResultMeta::new(
        id,
        TaskState::Retry,
        json!(error),
        retry["traceback"].as_str().map(str::to_string),
        Some(&request),
    );
    assert_eq!(json!(ours), retry);

    let failure = find("failure");
    request.retries = 3;
    request.parent_id = Some(id);
    let ours = ResultMeta::new(
        id,
        TaskState::Failure,
        json!(error),
        failure["traceback"].as_str().map(str::to_string),
        Some(&request),
    );
    assert_eq!(pyjson::to_string(&with_date(json!(ours), &failure)).unwrap(), pyjson::to_string(&failure).unwrap());

    let not_registered = find("not_registered");
    assert_eq!(
        not_registered["result"],
        json!(ExceptionInfo::new("celery.exceptions", "NotRegistered", "demo.missing"))
    );
}

#[test]
fn events_round_trip_and_decode() {
    let fixtures = fixtures();
    for item in items(&fixtures, "events") {
        let raw = item["raw"].as_str().unwrap();
        let envelope: Envelope = serde_json::from_str(raw).unwrap();
        assert_eq!(envelope.to_json().unwrap(), raw);
        let body: Value = decode_body(&envelope).unwrap();
        let events = taskq::events::decode_events(raw.as_bytes()).unwrap();
        assert_eq!(events.len(), 1);
        let event = &events[0];
        assert_eq!(event.hostname, "w1@capture");
        assert_eq!(taskq::events::channel_for(0, body["type"].as_str().unwrap()), item["channel"].as_str().unwrap());
        // Field order of an event dict: hostname, utcoffset, pid, clock, fields…, timestamp, type.
        let order = keys(&body);
        assert_eq!(order[..4], ["hostname", "utcoffset", "pid", "clock"]);
        assert_eq!(order[order.len() - 2..], ["timestamp", "type"]);
    }
}

#[test]
fn task_multi_batches_decode_to_each_event() {
    let batch = json!([
        {"hostname": "w@h", "clock": 1, "uuid": "a", "timestamp": 1.5, "type": "task-received"},
        {"hostname": "w@h", "clock": 2, "uuid": "a", "timestamp": 1.6, "type": "task-started"},
    ]);
    let mut headers = Map::new();
    headers.insert("hostname".into(), json!("w@h"));
    let properties = serde_json::from_value(json!({
        "delivery_mode": 1, "delivery_info": {"exchange": "celeryev", "routing_key": "task.multi"},
        "priority": 0, "body_encoding": "base64", "delivery_tag": "t"
    }))
    .unwrap();
    let envelope = Envelope::for_payload(&batch, headers, properties).unwrap();
    let events = taskq::events::decode_events(envelope.to_json().unwrap().as_bytes()).unwrap();
    let kinds: Vec<_> = events.iter().map(|e| e.kind.clone()).collect();
    assert_eq!(kinds, [taskq::EventKind::TaskReceived, taskq::EventKind::TaskStarted]);
    assert_eq!(events[1].uuid(), Some("a"));
}
