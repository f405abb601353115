//! Celery protocol v2 task messages in kombu's Redis envelope.
//!
//! A task message is what `app.send_task` LPUSHes onto a queue list: an [`Envelope`] whose
//! `headers` are [`TaskHeaders`] and whose base64 `body` is the JSON `[args, kwargs, embed]`
//! ([`TaskBody`]). Field order follows Celery's, so [`Envelope::to_json`] writes the bytes Python
//! writes; fields we do not know are kept (in `extra`) and written back unchanged.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::DecodeError;
use crate::pyjson;

/// The only content type we accept and produce.
pub const CONTENT_TYPE_JSON: &str = "application/json";

/// kombu's envelope around every message on Redis (tasks, events, pidbox).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<H = Map<String, Value>> {
    /// The payload, base64 of UTF-8 JSON when `properties.body_encoding` is `base64`.
    pub body: String,
    /// Always `utf-8` for JSON.
    #[serde(rename = "content-encoding")]
    pub content_encoding: String,
    /// `application/json` for everything we read or write.
    #[serde(rename = "content-type")]
    pub content_type: String,
    /// Protocol headers: [`TaskHeaders`] for tasks, `{"hostname"}` for events.
    pub headers: H,
    /// AMQP-style properties emulated by kombu.
    pub properties: Properties,
}

/// kombu message properties, in the order kombu writes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Properties {
    /// The task id for tasks; absent on events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The producer app's oid; absent on events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// 2 (persistent) for tasks, 1 for events and replies.
    #[serde(default = "persistent")]
    pub delivery_mode: u8,
    /// Milliseconds until expiry, as a string; present only when `expires` was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<String>,
    /// Where the message was routed.
    pub delivery_info: DeliveryInfo,
    /// 0..=9; on Redis 0 is served first.
    #[serde(default)]
    pub priority: u8,
    /// `base64` for everything kombu's Redis transport writes.
    #[serde(default = "base64_name")]
    pub body_encoding: String,
    /// A uuid4 chosen by the producer; the field name in the `unacked` hash.
    #[serde(default)]
    pub delivery_tag: String,
    /// Anything else (e.g. `origin` on retried messages), kept in place.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn persistent() -> u8 {
    2
}

fn base64_name() -> String {
    "base64".into()
}

/// `delivery_info`: the exchange and routing key a message was published with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryInfo {
    /// `""` (the anonymous exchange) for tasks; `celeryev`, `celery.pidbox`, … otherwise.
    pub exchange: String,
    /// The queue name for tasks on the anonymous exchange.
    pub routing_key: String,
    /// `redelivered` and friends, added by kombu on restore.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Protocol v2 task headers, in `celery/app/amqp.py::as_task_v2` order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskHeaders {
    /// `"py"` from Celery; we write `"py"` too, since consumers never branch on it.
    #[serde(default = "lang_py")]
    pub lang: String,
    /// The registered task name.
    pub task: String,
    /// The task id (uuid4).
    pub id: String,
    /// A display name overriding `task` in logs.
    #[serde(default)]
    pub shadow: Option<String>,
    /// Earliest time to run (ISO-8601), from `countdown` or `eta`.
    #[serde(default)]
    pub eta: Option<String>,
    /// Time after which the task is revoked instead of run (ISO-8601).
    #[serde(default)]
    pub expires: Option<String>,
    /// Group id, for canvas groups.
    #[serde(default)]
    pub group: Option<String>,
    /// Position in the group.
    #[serde(default)]
    pub group_index: Option<Value>,
    /// How many times this task has been retried so far.
    #[serde(default)]
    pub retries: u32,
    /// `[hard, soft]` time limits in seconds, each possibly null.
    #[serde(default = "no_timelimit")]
    pub timelimit: Value,
    /// The id of the first task in the workflow (defaults to `id`).
    #[serde(default)]
    pub root_id: Option<String>,
    /// The task that published this one (a retry's parent is itself).
    #[serde(default)]
    pub parent_id: Option<String>,
    /// Python repr of the positional arguments, for humans.
    #[serde(default)]
    pub argsrepr: Option<String>,
    /// Python repr of the keyword arguments, for humans.
    #[serde(default)]
    pub kwargsrepr: Option<String>,
    /// `gen<pid>@<host>` of the producer.
    #[serde(default)]
    pub origin: Option<String>,
    /// When true, no result is stored; `send_task` leaves it null.
    #[serde(default)]
    pub ignore_result: Option<bool>,
    /// Celery ≥ 5.3: depth of `Task.replace` nesting.
    #[serde(default)]
    pub replaced_task_nesting: u32,
    /// Celery ≥ 5.3: names of stamped headers.
    #[serde(default)]
    pub stamped_headers: Option<Value>,
    /// Celery ≥ 5.3: stamp values.
    #[serde(default)]
    pub stamps: Map<String, Value>,
    /// Unknown headers (e.g. `redelivered`), kept in place.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn lang_py() -> String {
    "py".into()
}

fn no_timelimit() -> Value {
    Value::Array(vec![Value::Null, Value::Null])
}

/// Canvas fields of the body's third element.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Embed {
    /// Signatures to call on success.
    #[serde(default)]
    pub callbacks: Option<Value>,
    /// Signatures to call on failure.
    #[serde(default)]
    pub errbacks: Option<Value>,
    /// Remaining chain.
    #[serde(default)]
    pub chain: Option<Value>,
    /// Chord callback.
    #[serde(default)]
    pub chord: Option<Value>,
    /// Anything newer Celery adds.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Protocol v2 body: `[args, kwargs, embed]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskBody(pub Vec<Value>, pub Map<String, Value>, pub Embed);

/// A decoded task message: envelope with typed headers plus the decoded body.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskMessage {
    /// The envelope as received (its `body` is still the base64 text).
    pub envelope: Envelope<TaskHeaders>,
    /// The decoded body.
    pub body: TaskBody,
}

impl<H: Serialize> Envelope<H> {
    /// The envelope as Python's `json.dumps` writes it.
    pub fn to_json(&self) -> crate::Result<String> {
        Ok(pyjson::to_string(self)?)
    }
}

impl Envelope<Map<String, Value>> {
    /// Builds an envelope around a JSON `payload` (events and pidbox messages).
    pub fn for_payload(
        payload: &impl Serialize,
        headers: Map<String, Value>,
        properties: Properties,
    ) -> crate::Result<Self> {
        Ok(Self {
            body: BASE64.encode(pyjson::to_string(payload)?),
            content_encoding: "utf-8".into(),
            content_type: CONTENT_TYPE_JSON.into(),
            headers,
            properties,
        })
    }
}

/// Decodes the base64 JSON body of an envelope into `T`, checking content type and encoding.
pub fn decode_body<T: for<'de> Deserialize<'de>, H>(envelope: &Envelope<H>) -> Result<T, DecodeError> {
    if envelope.content_type != CONTENT_TYPE_JSON {
        return Err(DecodeError::ContentType(envelope.content_type.clone()));
    }
    let bytes = match envelope.properties.body_encoding.as_str() {
        "base64" => BASE64.decode(envelope.body.trim()).map_err(|e| {
            DecodeError::BodyEncoding(format!("the body is not base64, as properties.body_encoding says ({e})"))
        })?,
        "" | "utf-8" => envelope.body.clone().into_bytes(),
        other => {
            return Err(DecodeError::BodyEncoding(format!("unknown body_encoding {other:?}")));
        }
    };
    serde_json::from_slice(&bytes).map_err(|e| DecodeError::Body(e.to_string()))
}

impl TaskMessage {
    /// Parses a raw queue payload. Every way it can be wrong is a [`DecodeError`] saying what.
    pub fn decode(raw: &str) -> Result<Self, DecodeError> {
        let value: Value = serde_json::from_str(raw).map_err(|e| DecodeError::NotJson(e.to_string()))?;
        let Value::Object(map) = &value else {
            return Err(DecodeError::Envelope("top level is not an object".into()));
        };
        for field in ["body", "content-type", "headers", "properties"] {
            if !map.contains_key(field) {
                return Err(DecodeError::Envelope(format!("missing field {field:?}")));
            }
        }
        let headers_ok = map
            .get("headers")
            .and_then(Value::as_object)
            .is_some_and(|h| h.contains_key("task") && h.contains_key("id"));
        if !headers_ok {
            return Err(DecodeError::Headers(
                "protocol v2 needs headers.task and headers.id (protocol v1 is not supported)".into(),
            ));
        }
        let envelope: Envelope<TaskHeaders> =
            serde_json::from_value(value).map_err(|e| DecodeError::Envelope(e.to_string()))?;
        let headers = &envelope.headers;
        if headers.id.trim().is_empty() {
            return Err(DecodeError::Headers("headers.id is empty: a task needs an id".into()));
        }
        // Celery's Request refuses these (InvalidTaskError) and the consumer rejects the message.
        for (field, value) in [("ETA", &headers.eta), ("expires", &headers.expires)] {
            if let Some(text) = value
                && crate::time::parse_iso(text).is_none()
            {
                return Err(DecodeError::Headers(format!(
                    "invalid {field} value {}: not an ISO 8601 time",
                    crate::repr::str_repr(text)
                )));
            }
        }
        let body = decode_body(&envelope)?;
        Ok(Self { envelope, body })
    }

    /// The task id.
    pub fn id(&self) -> &str {
        &self.envelope.headers.id
    }

    /// The registered task name.
    pub fn task(&self) -> &str {
        &self.envelope.headers.task
    }

    /// Positional arguments.
    pub fn args(&self) -> &[Value] {
        &self.body.0
    }

    /// Keyword arguments.
    pub fn kwargs(&self) -> &Map<String, Value> {
        &self.body.1
    }

    /// The envelope with `marker` in place of its body, and the body's JSON: for a Redis script
    /// that fills something into the body (an id it allocates) and encodes it there.
    pub fn to_json_parts(&self, marker: &str) -> crate::Result<(String, String)> {
        let mut envelope = self.envelope.clone();
        envelope.body = marker.to_string();
        Ok((envelope.to_json()?, pyjson::to_string(&self.body)?))
    }

    /// The envelope with the body re-encoded from [`TaskMessage::body`], as Python would write it.
    pub fn to_json(&self) -> crate::Result<String> {
        let mut envelope = self.envelope.clone();
        envelope.body = BASE64.encode(pyjson::to_string(&self.body)?);
        envelope.to_json()
    }
}
