//! Celery remote control over Redis ("pidbox"): the command and reply messages, and a client that
//! broadcasts a command and collects replies (what `celery inspect` / `celery control` do).
//!
//! Commands are PUBLISHed on the `celery.pidbox` fanout (`/<db>.celery.pidbox`) as kombu envelopes
//! whose body is `{"method", "arguments", "destination", "pattern", "matcher", "ticket",
//! "reply_to": {"exchange": "reply.celery.pidbox", "routing_key": <client oid>}}`. Each worker
//! addressed LPUSHes `{<hostname>: <reply>}` onto the client's reply list `<oid>.reply.celery.pidbox`
//! with the command's `ticket` in its headers.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::broker::Broker;
use crate::error::{DecodeError, Result};
use crate::message::{DeliveryInfo, Envelope, Properties, decode_body};
use crate::queue::SEP;

/// The broadcast exchange of commands.
pub const PIDBOX_EXCHANGE: &str = "celery.pidbox";
/// The direct exchange of replies.
pub const REPLY_EXCHANGE: &str = "reply.celery.pidbox";

/// The channel commands are published on.
pub fn command_channel(db: i64) -> String {
    format!("/{db}.{PIDBOX_EXCHANGE}")
}

/// Where a reply goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyTo {
    /// `reply.celery.pidbox`.
    pub exchange: String,
    /// The client's oid.
    pub routing_key: String,
}

/// A remote-control command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    /// `ping`, `stats`, `revoke`, …
    pub method: String,
    /// Keyword arguments of the method.
    #[serde(default)]
    pub arguments: Map<String, Value>,
    /// Hostnames addressed; `None` means every worker.
    #[serde(default)]
    pub destination: Option<Vec<String>>,
    /// A hostname pattern (with `matcher`), instead of `destination`.
    #[serde(default)]
    pub pattern: Option<String>,
    /// `glob` or `pcre`.
    #[serde(default)]
    pub matcher: Option<String>,
    /// Ties replies to the command.
    #[serde(default)]
    pub ticket: Option<String>,
    /// Where replies go; `None` for commands that want no reply.
    #[serde(default)]
    pub reply_to: Option<ReplyTo>,
}

impl Command {
    /// Whether the worker `hostname` is addressed.
    pub fn addresses(&self, hostname: &str) -> bool {
        if let Some(destination) = &self.destination
            && !destination.is_empty()
        {
            return destination.iter().any(|d| d == hostname);
        }
        match (&self.pattern, self.matcher.as_deref()) {
            (Some(pattern), Some("glob") | None) => glob(pattern, hostname),
            (Some(pattern), Some(_)) => pattern == hostname,
            (None, _) => true,
        }
    }

    /// Decodes a command envelope.
    pub fn decode(payload: &[u8]) -> Result<Self, DecodeError> {
        let envelope: Envelope = serde_json::from_slice(payload).map_err(|e| DecodeError::Envelope(e.to_string()))?;
        decode_body(&envelope)
    }
}

/// `fnmatch`-style `*` and `?` matching, in time linear in the pattern times the text (a star
/// only ever resumes from the last one seen), so no pattern can stall the worker.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    // Where the last star was, and the text position it is trying to absorb up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    pi = star_p + 1;
                    ti = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn envelope(body: &Value, headers: Map<String, Value>, exchange: &str, routing_key: &str) -> Result<String> {
    let properties = Properties {
        correlation_id: None,
        reply_to: None,
        delivery_mode: 1,
        expiration: None,
        delivery_info: DeliveryInfo { exchange: exchange.into(), routing_key: routing_key.into(), extra: Map::new() },
        priority: 0,
        body_encoding: "base64".into(),
        delivery_tag: uuid::Uuid::new_v4().to_string(),
        extra: Map::new(),
    };
    Envelope::for_payload(body, headers, properties)?.to_json()
}

/// The list a reply to `reply_to` goes to: the queue bound to its routing key on the reply
/// exchange (kombu's lookup), else `<routing_key>.reply.celery.pidbox`.
async fn reply_queue(broker: &Broker, reply_to: &ReplyTo) -> Result<String> {
    let mut conn = broker.connection();
    let members: Vec<String> =
        redis::cmd("SMEMBERS").arg(format!("_kombu.binding.{}", reply_to.exchange)).query_async(&mut conn).await?;
    Ok(members
        .iter()
        .find_map(|m| {
            let mut parts = m.splitn(3, SEP);
            let (rk, _pattern, queue) = (parts.next()?, parts.next()?, parts.next()?);
            (rk == reply_to.routing_key).then(|| queue.to_string())
        })
        .unwrap_or_else(|| format!("{}.{REPLY_EXCHANGE}", reply_to.routing_key)))
}

/// Sends `{hostname: reply}` for `command` (nothing when it wants no reply).
pub async fn reply(broker: &Broker, command: &Command, hostname: &str, reply: Value, clock: u64) -> Result<()> {
    let Some(reply_to) = &command.reply_to else { return Ok(()) };
    let mut headers = Map::new();
    headers.insert("ticket".into(), json!(command.ticket));
    headers.insert("clock".into(), json!(clock));
    let mut body = Map::new();
    body.insert(hostname.into(), reply);
    let payload = envelope(&Value::Object(body), headers, &reply_to.exchange, &reply_to.routing_key)?;
    let queue = reply_queue(broker, reply_to).await?;
    let mut conn = broker.connection();
    redis::cmd("LPUSH").arg(queue).arg(payload).query_async::<()>(&mut conn).await?;
    Ok(())
}

/// Broadcasts commands and collects replies, like `app.control`.
#[derive(Debug, Clone)]
pub struct ControlClient {
    broker: Broker,
    oid: String,
}

impl ControlClient {
    /// A client with its own reply queue.
    pub fn new(broker: Broker) -> Self {
        Self { broker, oid: uuid::Uuid::new_v4().to_string() }
    }

    /// Sends `method(arguments)` to `destination` (every worker when `None`) and collects replies
    /// for `timeout` (or until `limit` replies came). Returns `(hostname, reply)` pairs.
    pub async fn broadcast(
        &self,
        method: &str,
        arguments: Map<String, Value>,
        destination: Option<Vec<String>>,
        timeout: Duration,
        limit: Option<usize>,
    ) -> Result<Vec<(String, Value)>> {
        let queue = format!("{}.{REPLY_EXCHANGE}", self.oid);
        let ticket = uuid::Uuid::new_v4().to_string();
        let command = Command {
            method: method.into(),
            arguments,
            destination,
            pattern: None,
            matcher: None,
            ticket: Some(ticket.clone()),
            reply_to: Some(ReplyTo { exchange: REPLY_EXCHANGE.into(), routing_key: self.oid.clone() }),
        };
        let mut headers = Map::new();
        headers.insert("clock".into(), json!(1));
        headers.insert("expires".into(), json!(crate::time::epoch_now() + timeout.as_secs_f64()));
        let payload = envelope(&serde_json::to_value(&command)?, headers, PIDBOX_EXCHANGE, "")?;
        let mut conn = self.broker.connection();
        redis::pipe()
            .sadd(format!("_kombu.binding.{REPLY_EXCHANGE}"), format!("{}{SEP}{SEP}{queue}", self.oid))
            .ignore()
            .publish(command_channel(self.broker.db()), payload)
            .ignore()
            .query_async::<()>(&mut conn)
            .await?;
        let mut replies = Vec::new();
        let deadline = Instant::now() + timeout;
        let mut waiter = self.broker.dedicated(timeout + Duration::from_secs(2)).await?;
        while limit.is_none_or(|n| replies.len() < n) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let popped: Option<(String, String)> =
                redis::cmd("BRPOP").arg(&queue).arg(left.as_secs_f64().max(0.01)).query_async(&mut waiter).await?;
            let Some((_, raw)) = popped else { break };
            let Ok(envelope) = serde_json::from_str::<Envelope>(&raw) else { continue };
            if envelope.headers.get("ticket").and_then(Value::as_str) != Some(ticket.as_str()) {
                continue;
            }
            if let Ok(Value::Object(body)) = decode_body::<Value, _>(&envelope) {
                replies.extend(body);
            }
        }
        Ok(replies)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_and_patterns_address_workers() {
        let mut command = Command {
            method: "ping".into(),
            arguments: Map::new(),
            destination: None,
            pattern: None,
            matcher: None,
            ticket: None,
            reply_to: None,
        };
        assert!(command.addresses("w1@h"));
        command.destination = Some(vec!["w2@h".into()]);
        assert!(!command.addresses("w1@h"));
        command.destination = None;
        command.pattern = Some("w*@h".into());
        command.matcher = Some("glob".into());
        assert!(command.addresses("w1@h") && !command.addresses("x1@h"));
    }

    #[test]
    fn globs_match_like_fnmatch() {
        for (pattern, text, matches) in [
            ("*", "", true),
            ("*", "anything", true),
            ("w?@h", "w1@h", true),
            ("w?@h", "w12@h", false),
            ("*@host", "celery@host", true),
            ("*@host", "celery@hostx", false),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("**x", "x", true),
            ("", "", true),
            ("", "a", false),
        ] {
            assert_eq!(glob(pattern, text), matches, "{pattern:?} ~ {text:?}");
        }
    }

    #[test]
    fn a_pathological_glob_is_answered_at_once() {
        // Exponential for a naive backtracking matcher (each star tried at every position).
        let pattern = format!("{}x", "*".repeat(64));
        let text = "a".repeat(10_000);
        let began = std::time::Instant::now();
        assert!(!glob(&pattern, &text));
        assert!(began.elapsed() < std::time::Duration::from_secs(1), "{:?}", began.elapsed());
    }
}
