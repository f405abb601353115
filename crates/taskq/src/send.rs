//! Building task messages as `app.send_task` / `apply_async` does.

use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::message::{
    CONTENT_TYPE_JSON, DeliveryInfo, Embed, Envelope, Properties, TaskBody, TaskHeaders, TaskMessage,
};
use crate::{pyjson, queue, repr, time};

/// The default queue (Celery's `task_default_queue`).
pub const DEFAULT_QUEUE: &str = "celery";

/// Options of one send, mirroring `apply_async`'s.
#[derive(Debug, Clone, Default)]
pub struct SendOptions {
    /// Use this task id instead of a fresh uuid4.
    pub task_id: Option<String>,
    /// Target queue; [`DEFAULT_QUEUE`] when unset.
    pub queue: Option<String>,
    /// Run no earlier than this long from now (becomes an absolute `eta`).
    pub countdown: Option<Duration>,
    /// Run no earlier than this time (wins over `countdown`).
    pub eta: Option<DateTime<Utc>>,
    /// Revoke instead of running when received this long after sending.
    pub expires: Option<Duration>,
    /// 0..=9; on Redis 0 is served first.
    pub priority: Option<u8>,
    /// The task that sends this one.
    pub parent_id: Option<String>,
    /// The first task of the workflow (defaults to the task id).
    pub root_id: Option<String>,
    /// The retry count carried by the message.
    pub retries: u32,
    /// Ask the worker not to store a result.
    pub ignore_result: Option<bool>,
    /// Hard and soft time limits in seconds.
    pub time_limit: (Option<f64>, Option<f64>),
}

/// `gen<pid>@<hostname>`, the producer's `origin` (Celery's `anon_nodename()`), read once per
/// process: every message carries it, and asking the kernel for both each time was two system
/// calls per `POST /products/`.
pub fn anon_nodename() -> String {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| format!("gen{}@{}", std::process::id(), hostname())).clone()
}

/// This machine's host name.
pub fn hostname() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

/// The producer app's `oid` (a uuid3 of node and pid, stable for the process), used as `reply_to`.
pub fn app_oid() -> &'static str {
    static OID: OnceLock<String> = OnceLock::new();
    OID.get_or_init(|| {
        let name = format!("{}-{:x}-stackdesk", hostname(), std::process::id());
        uuid::Uuid::new_v3(&uuid::Uuid::NAMESPACE_OID, name.as_bytes()).to_string()
    })
}

impl TaskMessage {
    /// A protocol v2 message for task `name`, exactly as `app.send_task(name, args, kwargs, ...)`
    /// would build it, with a fresh delivery tag.
    pub fn new(name: &str, args: Vec<Value>, kwargs: Map<String, Value>, options: &SendOptions) -> Self {
        let id = options.task_id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let queue = options.queue.clone().unwrap_or_else(|| DEFAULT_QUEUE.to_string());
        let eta = match (options.eta, options.countdown) {
            (Some(at), _) => Some(time::isoformat(at)),
            (None, Some(countdown)) => Some(time::iso_after(countdown)),
            (None, None) => None,
        };
        let number =
            |limit: Option<f64>| limit.and_then(serde_json::Number::from_f64).map_or(Value::Null, Value::Number);
        let headers = TaskHeaders {
            lang: "py".into(),
            task: name.to_string(),
            id: id.clone(),
            shadow: None,
            eta,
            expires: options.expires.map(time::iso_after),
            group: None,
            group_index: None,
            retries: options.retries,
            timelimit: Value::Array(vec![number(options.time_limit.0), number(options.time_limit.1)]),
            root_id: Some(options.root_id.clone().unwrap_or_else(|| id.clone())),
            parent_id: options.parent_id.clone(),
            argsrepr: Some(repr::truncate(repr::repr(&Value::Array(args.clone())), repr::DEFAULT_MAX_LEN)),
            kwargsrepr: Some(repr::truncate(repr::repr(&Value::Object(kwargs.clone())), repr::DEFAULT_MAX_LEN)),
            origin: Some(anon_nodename()),
            ignore_result: options.ignore_result,
            replaced_task_nesting: 0,
            stamped_headers: None,
            stamps: Map::new(),
            extra: Map::new(),
        };
        let properties = Properties {
            correlation_id: Some(id),
            reply_to: Some(app_oid().to_string()),
            delivery_mode: 2,
            expiration: options.expires.map(|e| e.as_millis().to_string()),
            delivery_info: DeliveryInfo { exchange: String::new(), routing_key: queue, extra: Map::new() },
            priority: options.priority.unwrap_or(0).min(9),
            body_encoding: "base64".into(),
            delivery_tag: uuid::Uuid::new_v4().to_string(),
            extra: Map::new(),
        };
        let body = TaskBody(args, kwargs, Embed::default());
        let envelope = Envelope {
            body: BASE64.encode(pyjson::to_string(&body).unwrap_or_default()),
            content_encoding: "utf-8".into(),
            content_type: CONTENT_TYPE_JSON.into(),
            headers,
            properties,
        };
        Self { envelope, body }
    }

    /// The message `Task.retry(countdown=...)` publishes: same id, `retries + 1`, an absolute `eta`,
    /// `parent_id` = this task, `root_id`, `origin` and `reply_to` kept, a fresh delivery tag and the
    /// redelivery flags cleared.
    pub fn retry_message(&self, countdown: Duration) -> Self {
        let mut next = self.clone();
        let headers = &mut next.envelope.headers;
        headers.retries += 1;
        headers.eta = Some(time::iso_after(countdown));
        headers.parent_id = Some(headers.id.clone());
        headers.extra.remove("redelivered");
        let properties = &mut next.envelope.properties;
        properties.delivery_tag = uuid::Uuid::new_v4().to_string();
        properties.delivery_info.extra.remove("redelivered");
        if let Some(origin) = self.envelope.headers.origin.clone() {
            properties.extra.insert("origin".into(), Value::String(origin));
        }
        next
    }

    /// The Redis list this message is pushed onto (its routing key plus kombu's priority suffix).
    pub fn queue_key(&self) -> String {
        queue::key_for_priority(&self.envelope.properties.delivery_info.routing_key, self.envelope.properties.priority)
    }
}
