//! A glance at what is in Redis right now, for the Redis-keys diagram and the architecture's
//! Redis node: the queue, the messages in flight, stored results with their TTL, and our
//! `stackdesk:` keys, each with its [`KeyRole`]. The UI asks for it every few seconds while such a
//! diagram is shown — it is sampled, never scanned per event — and a scan stops after
//! [`SCAN_LIMIT`] keys.

use std::collections::BTreeMap;
use std::time::Duration;

use layout::{KeyRole, keys};
use redis::AsyncCommands as _;
use serde::Serialize;
use serde_json::Value;
use taskq::TaskState;
use ts_rs::TS;
use web::{WebError, WebResult};

use web::Db;

/// The most keys one glance looks at (a huge database is summarised, not walked).
pub const SCAN_LIMIT: usize = 20_000;
/// How many keys of each group are shown by name.
pub const SAMPLES: usize = 6;
/// How long one glance may take before it gives up.
pub const TIMEOUT: Duration = Duration::from_secs(4);
/// The longest value text a key's contents show.
pub const PREVIEW_MAX: usize = 16 * 1024;

/// Redis's type of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export_to = "RedisType.ts")]
pub enum RedisType {
    /// A string.
    String,
    /// A list.
    List,
    /// A hash.
    Hash,
    /// A set.
    Set,
    /// A sorted set.
    Zset,
    /// A stream.
    Stream,
    /// No such key.
    None,
    /// A type of a module.
    Other,
}

impl RedisType {
    /// From the `TYPE` command's answer.
    fn parse(name: &str) -> Self {
        match name {
            "string" => Self::String,
            "list" => Self::List,
            "hash" => Self::Hash,
            "set" => Self::Set,
            "zset" => Self::Zset,
            "stream" => Self::Stream,
            "none" => Self::None,
            _ => Self::Other,
        }
    }

    /// The command that says how big a key of this type is.
    fn size_command(self) -> &'static str {
        match self {
            Self::List => "LLEN",
            Self::Hash => "HLEN",
            Self::Zset => "ZCARD",
            Self::Set => "SCARD",
            Self::Stream => "XLEN",
            _ => "STRLEN",
        }
    }
}

/// One key: its role, type, size (length, fields, members or bytes) and time to live.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export_to = "KeyGlance.ts")]
pub struct KeyGlance {
    /// The key.
    pub key: String,
    /// What it stands for.
    pub role: KeyRole,
    /// Redis's type.
    pub kind: RedisType,
    /// Elements (or bytes of a string).
    pub size: u64,
    /// Milliseconds left to live; `None` when it never expires.
    pub ttl_ms: Option<i64>,
    /// For a result: the state it holds.
    pub state: Option<TaskState>,
}

/// Keys of one family (`celery-task-meta-*`): how many, and a few by name.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export_to = "KeyGroup.ts")]
pub struct KeyGroup {
    /// The family.
    pub role: KeyRole,
    /// Its pattern.
    pub pattern: String,
    /// How many keys matched (among those scanned).
    pub count: u64,
    /// The first few, with details.
    pub samples: Vec<KeyGlance>,
}

/// What Redis holds now.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export_to = "RedisGlance.ts")]
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
    pub scanned: u64,
    /// Whether the scan stopped at [`SCAN_LIMIT`] (counts are then lower bounds).
    pub truncated: bool,
}

/// A key's contents (truncated), for the "what is in this key" panel.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export_to = "KeyContents.ts")]
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

/// The role of a key that belongs to a family shown as a group, if it does.
fn family_of(key: &str) -> Option<KeyRole> {
    Some(KeyRole::of(key)).filter(|role| role.prefix().is_some())
}

fn unavailable(err: impl std::fmt::Display) -> WebError {
    WebError::Unavailable(err.to_string())
}

/// The task id inside a kombu message envelope (JSON text), if it is one.
pub fn task_id_of(envelope: &str) -> Option<String> {
    let value: Value = serde_json::from_str(envelope).ok()?;
    // `unacked` holds `[envelope, exchange, routing_key]`; the queue holds the envelope itself.
    let envelope = if let Value::Array(parts) = &value { parts.first()? } else { &value };
    envelope.pointer("/headers/id").and_then(Value::as_str).map(str::to_string)
}

type Conn = redis::aio::ConnectionManager;

async fn glance_at(conn: &mut Conn, keys: &[String]) -> WebResult<Vec<KeyGlance>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    for key in keys {
        pipe.cmd("TYPE").arg(key).cmd("PTTL").arg(key);
    }
    let facts: Vec<(String, i64)> = pipe.query_async(conn).await.map_err(unavailable)?;
    let kinds: Vec<RedisType> = facts.iter().map(|(kind, _)| RedisType::parse(kind)).collect();
    let mut sizes = redis::pipe();
    for (key, kind) in keys.iter().zip(&kinds) {
        sizes.cmd(kind.size_command()).arg(key);
    }
    let sizes: Vec<u64> = sizes.query_async(conn).await.map_err(unavailable)?;
    Ok(keys
        .iter()
        .zip(facts.iter().zip(kinds))
        .zip(sizes)
        .map(|((key, ((_, ttl), kind)), size)| KeyGlance {
            key: key.clone(),
            role: KeyRole::of(key),
            kind,
            size,
            ttl_ms: (*ttl >= 0).then_some(*ttl),
            state: None,
        })
        .collect())
}

/// Looks at Redis now.
pub async fn glance(db: &Db) -> WebResult<RedisGlance> {
    tokio::time::timeout(TIMEOUT, glance_inner(db.conn())).await.map_err(|_| unavailable("the glance took too long"))?
}

async fn glance_inner(mut conn: Conn) -> WebResult<RedisGlance> {
    let mut cursor: u64 = 0;
    let mut scanned = 0;
    let mut singles = Vec::new();
    let mut groups: BTreeMap<u8, (KeyRole, u64, Vec<String>)> = BTreeMap::new();
    loop {
        let (next, keys): (u64, Vec<String>) =
            redis::cmd("SCAN").arg(cursor).arg("COUNT").arg(1000).query_async(&mut conn).await.map_err(unavailable)?;
        for key in keys {
            scanned += 1;
            match family_of(&key) {
                Some(role) => {
                    let (_, count, samples) = groups.entry(role as u8).or_insert((role, 0, Vec::new()));
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
    let queue_keys = taskq::queue::keys_of(keys::QUEUE);
    let mut queued = 0;
    for key in queue_keys {
        queued += conn.llen::<_, u64>(&key).await.map_err(unavailable)?;
    }
    let in_flight: u64 = conn.hlen(keys::UNACKED).await.map_err(unavailable)?;
    // The queue is consumed from its right end (BRPOP): the next message is the last element.
    let head: Vec<String> = conn.lrange(keys::QUEUE, -(SAMPLES as isize), -1).await.map_err(unavailable)?;
    let queue_head = head.iter().rev().filter_map(|m| task_id_of(m)).collect();
    let (_, flying): (u64, Vec<String>) = redis::cmd("HSCAN")
        .arg(keys::UNACKED)
        .arg(0)
        .arg("COUNT")
        .arg(SAMPLES * 4)
        .query_async(&mut conn)
        .await
        .map_err(unavailable)?;
    let in_flight_ids = flying.chunks(2).filter_map(|pair| pair.get(1)).filter_map(|m| task_id_of(m)).collect();

    let (ours, celery): (Vec<String>, Vec<String>) = singles.into_iter().partition(|k| KeyRole::of(k).is_ours());
    let celery_keys = glance_at(&mut conn, &celery).await?;
    let our_keys = glance_at(&mut conn, &ours).await?;
    let mut out_groups = Vec::new();
    for (role, count, samples) in groups.into_values() {
        let mut samples = glance_at(&mut conn, &samples).await?;
        if role == KeyRole::Result {
            for sample in &mut samples {
                let stored: Option<String> = conn.get(&sample.key).await.map_err(unavailable)?;
                sample.state = stored
                    .and_then(|s| serde_json::from_str::<Value>(&s).ok())
                    .and_then(|v| serde_json::from_value(v.get("status")?.clone()).ok());
            }
        }
        out_groups.push(KeyGroup { role, pattern: role.pattern().unwrap_or_default(), count, samples });
    }
    let results = out_groups.iter().find(|g| g.role == KeyRole::Result).map_or(0, |g| g.count);
    Ok(RedisGlance {
        queued,
        in_flight,
        results,
        queue_head,
        in_flight_ids,
        celery_keys,
        groups: out_groups,
        our_keys,
        scanned: scanned as u64,
        truncated: scanned >= SCAN_LIMIT,
    })
}

/// The type's name as Redis says it.
fn json_name(kind: RedisType) -> String {
    serde_json::to_value(kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

fn pretty(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .filter(|v| v.is_object() || v.is_array())
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_string())
}

/// What key `key` holds now (the first elements of a collection), or `kind: "none"`.
pub async fn contents(db: &Db, key: &str) -> WebResult<KeyContents> {
    tokio::time::timeout(TIMEOUT, contents_inner(db.conn(), key)).await.map_err(|_| unavailable("no answer in time"))?
}

async fn contents_inner(mut conn: Conn, key: &str) -> WebResult<KeyContents> {
    let glance = glance_at(&mut conn, &[key.to_string()]).await?.pop().ok_or_else(|| unavailable("no answer"))?;
    let first = SAMPLES as isize * 3;
    let lines: Vec<String> = match glance.kind {
        RedisType::String => vec![pretty(&conn.get::<_, String>(key).await.map_err(unavailable)?)],
        RedisType::List => conn
            .lrange::<_, Vec<String>>(key, 0, first - 1)
            .await
            .map_err(unavailable)?
            .iter()
            .map(|s| pretty(s))
            .collect(),
        RedisType::Hash => {
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
        RedisType::Zset => {
            let members: Vec<(String, f64)> = conn.zrange_withscores(key, 0, first - 1).await.map_err(unavailable)?;
            members.into_iter().map(|(m, score)| format!("{score} → {}", pretty(&m))).collect()
        }
        RedisType::Set => {
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
        RedisType::None => Vec::new(),
        RedisType::Stream | RedisType::Other => vec![format!("({}: not shown)", json_name(glance.kind))],
    };
    let mut preview = lines.join("\n");
    let truncated =
        preview.len() > PREVIEW_MAX || lines.len() as u64 != glance.size && glance.kind != RedisType::String;
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
        assert_eq!(family_of("celery-task-meta-1f"), Some(KeyRole::Result));
        assert_eq!(family_of("stackdesk:product:7"), Some(KeyRole::Product));
        assert_eq!(family_of("stackdesk:products"), None);
        assert_eq!(family_of("_kombu.binding.celery"), Some(KeyRole::Binding));
        assert_eq!(family_of("celery"), None);
    }
}
