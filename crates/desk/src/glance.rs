//! A glance at what is in Redis right now, for the Redis-keys diagram and the architecture's
//! Redis node: the queue, the messages in flight, stored results with their TTL, and our
//! `stackdesk:` keys. The UI asks for it every few seconds while such a diagram is shown — it is
//! sampled, never scanned per event — and a scan stops after [`SCAN_LIMIT`] keys.

use std::collections::BTreeMap;
use std::time::Duration;

use redis::AsyncCommands as _;
use serde::Serialize;
use serde_json::Value;

use crate::error::{DeskError, Result};

/// The most keys one glance looks at (a huge database is summarised, not walked).
pub const SCAN_LIMIT: usize = 20_000;
/// How many keys of each group are shown by name.
pub const SAMPLES: usize = 6;
/// How long one glance may take before it gives up.
pub const TIMEOUT: Duration = Duration::from_secs(2);
/// The longest value text a key's contents show.
pub const PREVIEW_MAX: usize = 16 * 1024;

/// One key: its type, size (length, fields, members or bytes) and time to live.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyGlance {
    /// The key.
    pub key: String,
    /// Redis's type name (`list`, `hash`, `zset`, `string`, `set`), or `none` when absent.
    pub kind: String,
    /// Elements (or bytes of a string).
    pub size: u64,
    /// Milliseconds left to live; `None` when it never expires.
    pub ttl_ms: Option<i64>,
    /// What it stands for, when it is one we know (a task id, a state).
    pub note: Option<String>,
}

/// Keys that share a pattern (`celery-task-meta-*`): how many, and a few by name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyGroup {
    /// The pattern.
    pub pattern: String,
    /// How many keys matched (among those scanned).
    pub count: u64,
    /// The first few, with details.
    pub samples: Vec<KeyGlance>,
}

/// What Redis holds now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RedisGlance {
    /// Messages waiting in the `celery` queue (all priorities).
    pub queued: u64,
    /// Messages delivered but not acknowledged yet (`unacked`).
    pub in_flight: u64,
    /// Stored results (`celery-task-meta-*`).
    pub results: u64,
    /// The task ids at the head of the queue (next to run first).
    pub queue_head: Vec<String>,
    /// The task ids in flight.
    pub in_flight_ids: Vec<String>,
    /// Celery's own single keys (`celery`, `unacked`, `unacked_index`, bindings).
    pub celery_keys: Vec<KeyGlance>,
    /// Key families, ours and Celery's.
    pub groups: Vec<KeyGroup>,
    /// Our single keys (`stackdesk:products`, `stackdesk:tasks`, …).
    pub our_keys: Vec<KeyGlance>,
    /// Keys looked at.
    pub scanned: usize,
    /// Whether the scan stopped at [`SCAN_LIMIT`] (counts are then lower bounds).
    pub truncated: bool,
}

/// A key's contents (truncated), for the "what is in this key" panel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyContents {
    /// The key and its facts.
    #[serde(flatten)]
    pub glance: KeyGlance,
    /// The value as text: JSON pretty-printed where it is JSON; the first elements of a
    /// collection.
    pub preview: String,
    /// Whether `preview` was cut.
    pub truncated: bool,
}

/// The families we group instead of listing one by one.
const GROUPS: &[&str] = &[
    "celery-task-meta-*",
    "stackdesk:product:*",
    "stackdesk:task:*",
    "_kombu.binding.*",
    "_kombu.binding_permanent.*",
];

fn group_of(key: &str) -> Option<&'static str> {
    GROUPS.iter().copied().find(|pattern| key.starts_with(pattern.trim_end_matches('*')))
}

fn unavailable(err: impl std::fmt::Display) -> DeskError {
    DeskError::RedisUnavailable(err.to_string())
}

async fn connect(url: &str) -> Result<redis::aio::MultiplexedConnection> {
    let client = redis::Client::open(url).map_err(unavailable)?;
    tokio::time::timeout(TIMEOUT, client.get_multiplexed_async_connection())
        .await
        .map_err(|_| unavailable(format!("no answer within {TIMEOUT:?}")))?
        .map_err(unavailable)
}

/// The task id inside a kombu message envelope (JSON text), if it is one.
pub fn task_id_of(envelope: &str) -> Option<String> {
    let value: Value = serde_json::from_str(envelope).ok()?;
    // `unacked` holds `[envelope, exchange, routing_key]`; the queue holds the envelope itself.
    let envelope = if let Value::Array(parts) = &value { parts.first()? } else { &value };
    envelope.pointer("/headers/id").and_then(Value::as_str).map(str::to_string)
}

async fn glance_at(conn: &mut redis::aio::MultiplexedConnection, keys: &[String]) -> Result<Vec<KeyGlance>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    for key in keys {
        pipe.cmd("TYPE").arg(key).cmd("PTTL").arg(key);
    }
    let facts: Vec<(String, i64)> = pipe.query_async(conn).await.map_err(unavailable)?;
    let mut sizes = redis::pipe();
    for (key, (kind, _)) in keys.iter().zip(&facts) {
        let command = match kind.as_str() {
            "list" => "LLEN",
            "hash" => "HLEN",
            "zset" => "ZCARD",
            "set" => "SCARD",
            "stream" => "XLEN",
            _ => "STRLEN",
        };
        sizes.cmd(command).arg(key);
    }
    let sizes: Vec<u64> = sizes.query_async(conn).await.map_err(unavailable)?;
    Ok(keys
        .iter()
        .zip(facts)
        .zip(sizes)
        .map(|((key, (kind, ttl)), size)| KeyGlance {
            key: key.clone(),
            kind,
            size,
            ttl_ms: (ttl >= 0).then_some(ttl),
            note: None,
        })
        .collect())
}

/// Looks at Redis at `url` now.
pub async fn glance(url: &str) -> Result<RedisGlance> {
    tokio::time::timeout(TIMEOUT * 2, glance_inner(url)).await.map_err(|_| unavailable("the glance took too long"))?
}

async fn glance_inner(url: &str) -> Result<RedisGlance> {
    let mut conn = connect(url).await?;
    let mut cursor: u64 = 0;
    let mut scanned = 0;
    let mut singles = Vec::new();
    let mut groups: BTreeMap<&'static str, (u64, Vec<String>)> = BTreeMap::new();
    loop {
        let (next, keys): (u64, Vec<String>) =
            redis::cmd("SCAN").arg(cursor).arg("COUNT").arg(1000).query_async(&mut conn).await.map_err(unavailable)?;
        for key in keys {
            scanned += 1;
            match group_of(&key) {
                Some(pattern) => {
                    let (count, samples) = groups.entry(pattern).or_default();
                    *count += 1;
                    if samples.len() < SAMPLES {
                        samples.push(key);
                    }
                }
                None => singles.push(key),
            }
        }
        cursor = next;
        if cursor == 0 || scanned >= SCAN_LIMIT {
            break;
        }
    }
    singles.sort();
    let queue_keys = taskq::queue::keys_of(taskq::DEFAULT_QUEUE);
    let mut queued = 0;
    for key in queue_keys {
        queued += conn.llen::<_, u64>(&key).await.map_err(unavailable)?;
    }
    let in_flight: u64 = conn.hlen(taskq::broker::UNACKED_KEY).await.map_err(unavailable)?;
    // The queue is consumed from its right end (BRPOP): the next message is the last element.
    let head: Vec<String> = conn.lrange(taskq::DEFAULT_QUEUE, -(SAMPLES as isize), -1).await.map_err(unavailable)?;
    let queue_head = head.iter().rev().filter_map(|m| task_id_of(m)).collect();
    let (_, flying): (u64, Vec<String>) = redis::cmd("HSCAN")
        .arg(taskq::broker::UNACKED_KEY)
        .arg(0)
        .arg("COUNT")
        .arg(SAMPLES * 4)
        .query_async(&mut conn)
        .await
        .map_err(unavailable)?;
    let in_flight_ids = flying.chunks(2).filter_map(|pair| pair.get(1)).filter_map(|m| task_id_of(m)).collect();

    let (ours, celery): (Vec<String>, Vec<String>) = singles.into_iter().partition(|k| k.starts_with("stackdesk:"));
    let celery_keys = glance_at(&mut conn, &celery).await?;
    let our_keys = glance_at(&mut conn, &ours).await?;
    let mut out_groups = Vec::new();
    for (pattern, (count, samples)) in groups {
        let mut samples = glance_at(&mut conn, &samples).await?;
        if pattern == "celery-task-meta-*" {
            for sample in &mut samples {
                let stored: Option<String> = conn.get(&sample.key).await.map_err(unavailable)?;
                sample.note = stored
                    .and_then(|s| serde_json::from_str::<Value>(&s).ok())
                    .and_then(|v| v.get("status").and_then(Value::as_str).map(str::to_string));
            }
        }
        out_groups.push(KeyGroup { pattern: pattern.to_string(), count, samples });
    }
    let results = out_groups.iter().find(|g| g.pattern == "celery-task-meta-*").map_or(0, |g| g.count);
    Ok(RedisGlance {
        queued,
        in_flight,
        results,
        queue_head,
        in_flight_ids,
        celery_keys,
        groups: out_groups,
        our_keys,
        scanned,
        truncated: scanned >= SCAN_LIMIT,
    })
}

fn pretty(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .filter(|v| v.is_object() || v.is_array())
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_string())
}

/// What key `key` holds now (the first elements of a collection), or `kind: "none"`.
pub async fn contents(url: &str, key: &str) -> Result<KeyContents> {
    let mut conn = connect(url).await?;
    let glance = glance_at(&mut conn, &[key.to_string()]).await?.pop().ok_or_else(|| unavailable("no answer"))?;
    let first = SAMPLES as isize * 3;
    let lines: Vec<String> = match glance.kind.as_str() {
        "string" => vec![pretty(&conn.get::<_, String>(key).await.map_err(unavailable)?)],
        "list" => conn
            .lrange::<_, Vec<String>>(key, 0, first - 1)
            .await
            .map_err(unavailable)?
            .iter()
            .map(|s| pretty(s))
            .collect(),
        "hash" => {
            let (_, pairs): (u64, Vec<String>) = redis::cmd("HSCAN")
                .arg(key)
                .arg(0)
                .arg("COUNT")
                .arg(first)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            pairs.chunks(2).map(|p| format!("{} → {}", p[0], pretty(p.get(1).map_or("", String::as_str)))).collect()
        }
        "zset" => {
            let members: Vec<(String, f64)> = conn.zrange_withscores(key, 0, first - 1).await.map_err(unavailable)?;
            members.into_iter().map(|(m, score)| format!("{score} → {}", pretty(&m))).collect()
        }
        "set" => {
            let (_, members): (u64, Vec<String>) = redis::cmd("SSCAN")
                .arg(key)
                .arg(0)
                .arg("COUNT")
                .arg(first)
                .query_async(&mut conn)
                .await
                .map_err(unavailable)?;
            members
        }
        "none" => Vec::new(),
        other => vec![format!("({other}: not shown)")],
    };
    let mut preview = lines.join("\n");
    let truncated = preview.len() > PREVIEW_MAX || lines.len() as u64 != glance.size && glance.kind != "string";
    if preview.len() > PREVIEW_MAX {
        let mut cut = PREVIEW_MAX;
        while !preview.is_char_boundary(cut) {
            cut -= 1;
        }
        preview.truncate(cut);
    }
    Ok(KeyContents { glance, preview, truncated })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_ids_are_read_from_queue_and_unacked_entries() {
        let envelope = r#"{"body":"W10=","headers":{"id":"abc","task":"t"},"properties":{}}"#;
        assert_eq!(task_id_of(envelope).as_deref(), Some("abc"));
        let unacked = format!(r#"[{envelope}, "", "celery"]"#);
        assert_eq!(task_id_of(&unacked).as_deref(), Some("abc"));
        assert_eq!(task_id_of("not json"), None);
    }

    #[test]
    fn families_are_grouped_and_others_kept_single() {
        assert_eq!(group_of("celery-task-meta-1f"), Some("celery-task-meta-*"));
        assert_eq!(group_of("stackdesk:product:7"), Some("stackdesk:product:*"));
        assert_eq!(group_of("stackdesk:products"), None);
        assert_eq!(group_of("_kombu.binding.celery"), Some("_kombu.binding.*"));
        assert_eq!(group_of("celery"), None);
    }
}
