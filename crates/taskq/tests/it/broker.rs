//! The broker against a real redis-server: what lands where, and kombu's ack emulation.

use std::time::Duration;

use redis::AsyncCommands;
use serde_json::{Map, Value, json};
use taskq::{Broker, BrokerOptions, Consumer, Producer, Received, Restored, SendOptions, TaskMessage};
use test_support::redis::RedisServer;
use tokio_util::sync::CancellationToken;

use crate::common;

fn message(priority: u8) -> TaskMessage {
    TaskMessage::new(
        "interop.add",
        vec![json!(priority)],
        Map::new(),
        &SendOptions { priority: Some(priority), ..SendOptions::default() },
    )
}

fn delivered(received: Vec<Received>) -> Vec<taskq::Delivery> {
    received
        .into_iter()
        .map(|r| match r {
            Received::Message(d) => d,
            other => panic!("expected a message, got {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn publish_declares_once_and_lpushes_celerys_bytes() {
    let server = RedisServer::start();
    let broker = common::broker(&server.url()).await;
    let mut redis = common::redis(&server.url()).await;
    let producer = Producer::new(broker);
    let first = message(0);
    producer.publish(&first).await.unwrap();
    producer.publish(&message(0)).await.unwrap();
    let raw: Vec<String> = redis.lrange("celery", 0, -1).await.unwrap();
    assert_eq!(raw.len(), 2);
    assert_eq!(raw[1], first.to_json().unwrap(), "LPUSH: the first message is at the right end");
    let binding: Vec<String> = redis.smembers("_kombu.binding.celery").await.unwrap();
    assert_eq!(binding, ["celery\x06\x16\x06\x16celery"]);
    let permanent: Vec<String> = redis.smembers("_kombu.binding_permanent.celery").await.unwrap();
    assert_eq!(permanent, binding);
}

#[tokio::test]
async fn receive_records_unacked_atomically_and_ack_clears_it() {
    let server = RedisServer::start();
    let broker = common::broker(&server.url()).await;
    let mut redis = common::redis(&server.url()).await;
    let sent = message(0);
    Producer::new(broker.clone()).publish(&sent).await.unwrap();
    let mut consumer = Consumer::new(broker.clone(), vec!["celery".into()]);
    let got = delivered(consumer.try_receive(4).await.unwrap());
    assert_eq!(got.len(), 1);
    let tag = &sent.envelope.properties.delivery_tag;
    assert_eq!(&got[0].delivery_tag, tag);
    let entry: String = redis.hget("unacked", tag).await.unwrap();
    assert_eq!(
        entry,
        format!("[{}, \"\", \"celery\"]", sent.to_json().unwrap()),
        "kombu's [message, exchange, routing_key]"
    );
    let score: f64 = redis.zscore("unacked_index", tag).await.unwrap();
    assert!((taskq::time::epoch_now() - score).abs() < 5.0);
    assert_eq!(redis.llen::<_, usize>("celery").await.unwrap(), 0);

    broker.ack(tag).await.unwrap();
    assert!(!redis.hexists::<_, _, bool>("unacked", tag).await.unwrap());
    assert_eq!(redis.zcard::<_, usize>("unacked_index").await.unwrap(), 0);
}

#[tokio::test]
async fn priority_zero_is_served_first_as_on_kombu_redis() {
    let server = RedisServer::start();
    let broker = common::broker(&server.url()).await;
    let producer = Producer::new(broker.clone());
    for priority in [9, 5, 0, 7] {
        producer.publish(&message(priority)).await.unwrap();
    }
    let mut consumer = Consumer::new(broker, vec!["celery".into()]);
    let order: Vec<Value> = delivered(consumer.try_receive(10).await.unwrap())
        .iter()
        .map(|d| TaskMessage::decode(&d.payload).unwrap().args()[0].clone())
        .collect();
    assert_eq!(order, [json!(0), json!(5), json!(7), json!(9)]);
}

#[tokio::test]
async fn receive_waits_for_a_message_and_stops_on_shutdown() {
    let server = RedisServer::start();
    let broker = common::broker(&server.url()).await;
    let mut consumer = Consumer::new(broker.clone(), vec!["celery".into()]).with_poll_interval(Duration::from_secs(5));
    let shutdown = CancellationToken::new();
    let waiting = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move { consumer.receive(1, &shutdown).await.map(|r| (r, consumer)) })
    };
    let sent = message(0);
    Producer::new(broker.clone()).publish(&sent).await.unwrap();
    let (got, mut consumer) = tokio::time::timeout(Duration::from_secs(10), waiting).await.unwrap().unwrap().unwrap();
    assert_eq!(delivered(got)[0].delivery_tag, sent.envelope.properties.delivery_tag);

    let stop = shutdown.clone();
    let waiting = tokio::spawn(async move { consumer.receive(1, &stop).await });
    shutdown.cancel();
    let got = tokio::time::timeout(Duration::from_secs(10), waiting).await.unwrap().unwrap().unwrap();
    assert!(got.is_empty(), "shutdown ends the wait without taking anything");
}

/// `unacked_index` holds the receive time in whole seconds, rounded up: an integer keeps Redis's
/// small sorted set cheap to insert into (a float is parsed from text at each comparison), and a
/// message is never taken for older than it is.
#[tokio::test]
async fn a_receive_is_indexed_in_whole_seconds_never_earlier_than_it_happened() {
    let server = RedisServer::start();
    let broker = common::broker(&server.url()).await;
    let mut redis = common::redis(&server.url()).await;
    let producer = Producer::new(broker.clone());
    let sent: Vec<TaskMessage> = (0..3).map(|_| message(0)).collect();
    for message in &sent {
        producer.publish(message).await.unwrap();
    }
    let before = taskq::time::epoch_now();
    let mut consumer = Consumer::new(broker.clone(), vec!["celery".into()]);
    assert_eq!(delivered(consumer.try_receive(3).await.unwrap()).len(), 3);
    let after = taskq::time::epoch_now();
    for message in &sent {
        let score: f64 = redis.zscore("unacked_index", &message.envelope.properties.delivery_tag).await.unwrap();
        assert_eq!(score.fract(), 0.0, "a whole second: {score}");
        assert!(score >= before && score <= after.ceil(), "received between {before} and {after}, indexed at {score}");
    }
}

#[tokio::test]
async fn restore_visible_honours_the_visibility_timeout_and_flags_redelivery() {
    let server = RedisServer::start();
    let options = BrokerOptions { visibility_timeout: Duration::from_secs(3600), ..BrokerOptions::default() };
    let broker = Broker::connect(&server.url(), options).await.unwrap();
    let mut redis = common::redis(&server.url()).await;
    let (old, fresh) = (message(0), message(0));
    let producer = Producer::new(broker.clone());
    producer.publish(&old).await.unwrap();
    producer.publish(&fresh).await.unwrap();
    let mut consumer = Consumer::new(broker.clone(), vec!["celery".into()]);
    assert_eq!(delivered(consumer.try_receive(2).await.unwrap()).len(), 2);
    // Age one delivery past the visibility timeout, as if its consumer died two hours ago.
    let old_tag = &old.envelope.properties.delivery_tag;
    let _: () = redis.zadd("unacked_index", old_tag, taskq::time::epoch_now() - 7200.0).await.unwrap();

    assert_eq!(broker.restore_visible().await.unwrap(), 1);
    let queued: Vec<String> = redis.lrange("celery", 0, -1).await.unwrap();
    assert_eq!(queued.len(), 1);
    let restored: Value = serde_json::from_str(&queued[0]).unwrap();
    assert_eq!(restored["headers"]["redelivered"], true);
    assert_eq!(restored["properties"]["delivery_info"]["redelivered"], true);
    assert_eq!(restored["properties"]["delivery_tag"], old_tag.as_str(), "same delivery tag, as kombu restores it");
    assert!(redis.hexists::<_, _, bool>("unacked", &fresh.envelope.properties.delivery_tag).await.unwrap());
    assert!(!redis.exists::<_, bool>("unacked_mutex").await.unwrap(), "the mutex is released");

    // A held mutex (another consumer scanning) makes the scan a no-op, as in kombu; restore_all
    // says so (its caller tries again).
    let _: () = redis.set("unacked_mutex", "someone-else").await.unwrap();
    assert_eq!(broker.restore_visible().await.unwrap(), 0);
    assert_eq!(broker.restore_all().await.unwrap(), Restored::Busy);
    let _: () = redis.del("unacked_mutex").await.unwrap();
    assert_eq!(broker.restore_all().await.unwrap(), Restored::Moved(1), "restore_all ignores age");
    assert_eq!(redis.llen::<_, usize>("celery").await.unwrap(), 2);
    assert_eq!(redis.hlen::<_, usize>("unacked").await.unwrap(), 0);
}

#[tokio::test]
async fn restored_and_requeued_messages_go_to_opposite_ends() {
    let server = RedisServer::start();
    let broker = common::broker(&server.url()).await;
    let mut redis = common::redis(&server.url()).await;
    let producer = Producer::new(broker.clone());
    let (a, b, waiting) = (message(0), message(0), message(0));
    producer.publish(&a).await.unwrap();
    producer.publish(&b).await.unwrap();
    let mut consumer = Consumer::new(broker.clone(), vec!["celery".into()]);
    delivered(consumer.try_receive(2).await.unwrap());
    producer.publish(&waiting).await.unwrap();

    assert!(broker.restore(&a.envelope.properties.delivery_tag).await.unwrap());
    assert!(broker.reject(&b.envelope.properties.delivery_tag, true).await.unwrap());
    assert!(!broker.restore(&a.envelope.properties.delivery_tag).await.unwrap(), "a second restore finds nothing");
    let order: Vec<String> =
        delivered(consumer.try_receive(3).await.unwrap()).into_iter().map(|d| d.delivery_tag).collect();
    let tag = |m: &TaskMessage| m.envelope.properties.delivery_tag.clone();
    assert_eq!(order, [tag(&a), tag(&waiting), tag(&b)], "restore: served next; reject+requeue: served last");
    assert_eq!(redis.llen::<_, usize>("celery").await.unwrap(), 0);
}

#[tokio::test]
async fn a_restore_given_up_during_a_pause_leaves_no_mutex_behind() {
    let server = RedisServer::start();
    let options = BrokerOptions { response_timeout: Duration::from_millis(400), ..BrokerOptions::default() };
    let broker = Broker::connect(&server.url(), options).await.unwrap();
    // Twice: Redis's clock is measured and kept (a slow first measurement is not).
    assert_eq!(broker.restore_all().await.unwrap(), Restored::Moved(0), "measures Redis's clock");
    assert_eq!(broker.restore_all().await.unwrap(), Restored::Moved(0));
    let scripts_before = server.scripts_run();
    server.pause();
    assert!(broker.restore_all().await.is_err(), "no answer from a paused Redis");
    server.resume();
    // On the broker's own connection: Redis has run what it queued during the pause by now.
    let mut conn = broker.connection();
    let _: String = redis::cmd("PING").query_async(&mut conn).await.unwrap();
    assert!(server.scripts_run() > scripts_before, "the mutex step was never sent: nothing was tested");
    let mutex: Option<String> = conn.get("unacked_mutex").await.unwrap();
    assert_eq!(mutex, None, "the late mutex step took nothing: restores are not blocked for 5 minutes");
    assert_eq!(broker.restore_all().await.unwrap(), Restored::Moved(0));
}
