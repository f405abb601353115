//! Products in Redis, created together with their task message (keys: [`layout::keys`]).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use layout::keys;
use layout::record::{self, Sent};
use redis::Script;
use redis::aio::ConnectionManager;
use serde_json::Map;
use taskq::clock::RedisClock;
use taskq::{SendOptions, TaskMessage};
use web::{Db, WebError, WebResult};

use crate::model::{Product, ProductIn};

/// The notification task's name (as the worker registers it).
pub const TASK_NAME: &str = worker::TASK_NAME;

/// How long before the API's own deadline Redis stops taking a new product: time for its
/// answer to arrive.
const ANSWER_MARGIN: Duration = Duration::from_millis(250);

/// Reads and writes products.
#[derive(Clone)]
pub struct Store {
    /// Every call fails with 503 after the API's Redis timeout.
    db: Db,
    /// Redis's clock, for the deadline of each new product.
    clock: RedisClock,
    /// Most tasks the history keeps (the PENDING record written with each product counts).
    history_max: usize,
}

/// The create script's text: the deadline check and the history trim, then the script itself.
fn create_code() -> &'static str {
    static CODE: OnceLock<String> = OnceLock::new();
    CODE.get_or_init(|| {
        layout::record::with_history_trim(&taskq::clock::with_deadline_check(include_str!("lua/create_product.lua")))
    })
}

fn create_script() -> &'static Script {
    static SCRIPT: OnceLock<Script> = OnceLock::new();
    SCRIPT.get_or_init(|| Script::new(create_code()))
}

impl Store {
    /// A store on `conn`; every call fails after `timeout`.
    pub fn new(conn: ConnectionManager, timeout: Duration, history_max: usize) -> Self {
        Self { db: Db::new(conn, timeout), clock: RedisClock::new(), history_max }
    }

    /// The connection with its deadline (for health checks).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Stores a product under the next id, queues `send_tg_notification(product)`, records the
    /// task as PENDING and announces the product, atomically; when Redis does not answer in time,
    /// 503 and nothing changed; when the ids are used up (2^53), 409 and nothing changed (see
    /// `lua/create_product.lua`).
    pub async fn create(&self, input: ProductIn) -> WebResult<Product> {
        let asked = Instant::now();
        let created = chrono::Utc::now();
        let draft = Draft::new(&input, created)?;
        let mut conn = self.db.conn();
        // Redis refuses to run the script after this, so an answer that could come after our own
        // deadline never stores anything.
        let refuse_after = asked + self.db.timeout().saturating_sub(ANSWER_MARGIN);
        let taken: i64 = self
            .db
            .call(async {
                let deadline = self.clock.deadline(&mut conn, refuse_after).await?;
                let call = CreateCall::new(&draft, deadline, self.history_max);
                let mut invocation = create_script().prepare_invoke();
                for key in &call.keys {
                    invocation.key(key);
                }
                for arg in &call.args {
                    invocation.arg(arg);
                }
                invocation.invoke_async(&mut conn).await
            })
            .await?;
        let id = match Created::from_script(taken) {
            Created::Id(id) => id,
            Created::TooLate => {
                return Err(WebError::Unavailable(format!(
                    "Redis answered too late (after {:?}: paused or overloaded), so nothing was stored; try again",
                    self.db.timeout().saturating_sub(ANSWER_MARGIN)
                )));
            }
            Created::IdsUsedUp => {
                return Err(WebError::Conflict(format!(
                    "Product ids are used up: {} has reached 2^53, the largest id Redis's scripts write \
                     exactly. Nothing was stored.",
                    keys::NEXT_PRODUCT_ID
                )));
            }
            Created::Unknown(answer) => {
                return Err(WebError::Internal(format!("the create script answered {answer}, not an id")));
            }
        };
        let product = Product { id, ..draft.product };
        tracing::info!(product_id = id, task_id = %product.task_id, "product created; notification queued");
        Ok(product)
    }

    /// Products, newest first.
    pub async fn list(&self, limit: u64, offset: u64) -> WebResult<Vec<Product>> {
        let mut conn = self.db.conn();
        let stop = offset.saturating_add(limit).saturating_sub(1);
        let ids: Vec<u64> = self
            .db
            .call(redis::cmd("ZREVRANGE").arg(keys::PRODUCTS).arg(offset).arg(stop).query_async(&mut conn))
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = ids.iter().map(|id| keys::product(*id)).collect();
        let raw: Vec<Option<String>> = self.db.call(redis::cmd("MGET").arg(&keys).query_async(&mut conn)).await?;
        Ok(raw.iter().flatten().filter_map(|json| serde_json::from_str(json).ok()).collect())
    }

    /// One product.
    pub async fn get(&self, id: u64) -> WebResult<Option<Product>> {
        let mut conn = self.db.conn();
        let raw: Option<String> = self.db.call(redis::cmd("GET").arg(keys::product(id)).query_async(&mut conn)).await?;
        raw.map(|json| serde_json::from_str(&json).map_err(|e| WebError::Internal(format!("product {id}: {e}"))))
            .transpose()
    }
}

/// What the create script answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Created {
    /// Stored under this id.
    Id(u64),
    /// Redis ran it past its deadline: nothing was done (the script's 0).
    TooLate,
    /// The counter has reached 2^53: nothing was done (the script's -1).
    IdsUsedUp,
    /// Any other answer (a script out of step with this code).
    Unknown(i64),
}

impl Created {
    fn from_script(answer: i64) -> Self {
        match answer {
            0 => Self::TooLate,
            -1 => Self::IdsUsedUp,
            id => u64::try_from(id).map_or(Self::Unknown(id), Self::Id),
        }
    }
}

/// Where the task's history record's key stands in KEYS (KEYS[6], counted from 0).
const RECORD_KEY: usize = 5;

/// Where the task's id stands in ARGV as the history's member (ARGV[15], counted from 0).
const HISTORY_MEMBER_ARG: usize = 14;

/// One call of the create script: its keys and arguments, as `Store::create` sends them.
#[derive(Debug, Clone)]
pub struct CreateCall {
    /// KEYS, in the script's order.
    pub keys: Vec<String>,
    /// ARGV, in the script's order.
    pub args: Vec<String>,
}

impl CreateCall {
    fn new(draft: &Draft, deadline: f64, history_max: usize) -> Self {
        let [binding, binding_permanent] = keys::bindings(keys::QUEUE);
        let keys = vec![
            keys::NEXT_PRODUCT_ID.to_string(),
            keys::PRODUCTS.to_string(),
            draft.message.queue_key(),
            binding,
            binding_permanent,
            keys::task(draft.message.id()),
            keys::TASKS.to_string(),
        ];
        let mut args = vec![deadline.to_string(), keys::PRODUCT_PREFIX.to_string()];
        args.extend(draft.product_json.iter().cloned());
        args.extend([draft.body.before.clone(), draft.body.after.clone()]);
        args.extend(draft.envelope_json.iter().cloned());
        args.push(taskq::queue::binding_member(keys::QUEUE, keys::QUEUE));
        args.extend(draft.record.iter().cloned());
        args.extend([
            draft.sent_at.to_string(),
            draft.message.id().to_string(),
            history_max.to_string(),
            keys::TASK_PREFIX.to_string(),
            keys::PRODUCT_CHANNEL.to_string(),
        ]);
        Self { keys, args }
    }

    /// The call `POST /products/` makes for `input`, without a deadline: for replaying the very
    /// work of a product against Redis (the benchmark's Redis-bound limit). The task's history
    /// record is stored under `keys::task(stand_in)` and entered in the history as `stand_in`
    /// instead of its id: a replay that gives each call its own (redis-benchmark's
    /// `__rand_int__`) stores a new record each time, fills the history up to `history_max` and
    /// then trims it on every call, as the API's calls do; with one id for all, the history would
    /// never grow.
    pub fn for_benchmark(input: &ProductIn, history_max: usize, stand_in: &str) -> WebResult<Self> {
        let mut call = Self::new(&Draft::new(input, chrono::Utc::now())?, 0.0, history_max);
        call.keys[RECORD_KEY] = keys::task(stand_in);
        call.args[HISTORY_MEMBER_ARG] = stand_in.to_string();
        Ok(call)
    }

    /// The script's text (SHA-1 of it: `SCRIPT LOAD`).
    pub fn script() -> &'static str {
        create_code()
    }
}

/// `text` cut at every `needle`, when it holds exactly `N - 1` of them.
fn cut<const N: usize>(text: &str, needle: &str) -> Option<[String; N]> {
    let mut pieces = Vec::with_capacity(N);
    let mut start = 0;
    for at in memchr::memmem::find_iter(text.as_bytes(), needle.as_bytes()) {
        if pieces.len() + 1 == N {
            return None;
        }
        pieces.push(text.get(start..at)?.to_string());
        start = at + needle.len();
    }
    pieces.push(text.get(start..)?.to_string());
    pieces.try_into().ok()
}

/// A new product's texts, written before its id is known, in the pieces the script puts the id
/// it takes between (written with placeholders for the id and the envelope's body, then cut
/// where they stand).
struct Draft {
    product: Product,
    message: TaskMessage,
    /// The product's JSON before and after its id.
    product_json: [String; 2],
    /// The task's body, encoded around the id's slot.
    body: SlottedBody,
    /// The task envelope's JSON before its body, between the body and the id (`argsrepr`), and
    /// after the id.
    envelope_json: [String; 3],
    /// The history record's JSON before, between and after its two ids (its arguments and
    /// `product_id`).
    record: [String; 3],
    sent_at: f64,
}

impl Draft {
    fn new(input: &ProductIn, created: chrono::DateTime<chrono::Utc>) -> WebResult<Self> {
        // A placeholder found anywhere but where it stands for something (a learner's product
        // name made of those very digits) would cut the texts in the wrong places: draw again.
        // Practically never needed.
        for _ in 0..8 {
            if let Some(draft) = Self::with_placeholders(input.clone(), created, placeholder_id(), &placeholder_body())?
            {
                return Ok(draft);
            }
        }
        Err(WebError::Internal("could not find an id placeholder absent from the product".into()))
    }

    fn with_placeholders(
        input: ProductIn,
        created: chrono::DateTime<chrono::Utc>,
        id_placeholder: u64,
        body_placeholder: &str,
    ) -> WebResult<Option<Self>> {
        let mut product = Product {
            id: id_placeholder,
            name: input.name,
            price: input.price,
            description: input.description,
            created_at: taskq::time::isoformat(created),
            task_id: String::new(),
        };
        let message = TaskMessage::new(TASK_NAME, vec![product.as_task_arg()], Map::new(), &SendOptions::default());
        product.task_id = message.id().to_string();
        let sent_at = created.timestamp_micros() as f64 / 1e6;
        let record = record::pending(&Sent {
            task_id: message.id(),
            name: TASK_NAME,
            args: message.args(),
            product_id: Some(id_placeholder),
            sent_at,
            retry_of: None,
        });
        let product_json = serde_json::to_string(&product).map_err(|e| WebError::Internal(e.to_string()))?;
        let (envelope_json, body_json) = message.to_json_parts(body_placeholder)?;
        // Each placeholder must stand only where it stands for something: the id once in the
        // product, once in the body, once in the envelope (`argsrepr`, after the body marker),
        // twice in the record; the body marker once in the envelope. Else draw again.
        let id = id_placeholder.to_string();
        let envelope_json = cut::<2>(&envelope_json, body_placeholder).and_then(|[head, rest]| {
            let [middle, tail] = cut::<2>(&rest, &id)?;
            (!head.contains(&id)).then_some([head, middle, tail])
        });
        let (Some(product_json), Some(body), Some(envelope_json), Some(record)) =
            (cut::<2>(&product_json, &id), SlottedBody::new(&body_json, &id), envelope_json, cut::<3>(&record, &id))
        else {
            return Ok(None);
        };
        Ok(Some(Self { product, message, product_json, body, envelope_json, record, sent_at }))
    }
}

/// How many bytes the script's id slot in the body takes: an id and spaces after it, a multiple of
/// 3 so base64 of the slot stands alone. Ids stop at 2^53 - 1 (16 digits); the slot has room for
/// the 19-digit placeholder the body is first written with.
const ID_SLOT: usize = 21;

/// A task body in base64, in two parts around a slot for the id: the part before ends on a 3-byte
/// boundary (spaces, which JSON allows before a value, make it so), and the slot is [`ID_SLOT`]
/// bytes, so the script encodes only the id and its padding (`lua/create_product.lua`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct SlottedBody {
    before: String,
    after: String,
}

impl SlottedBody {
    /// `json` split at the one place `id` appears (None when it is not there exactly once).
    fn new(json: &str, id: &str) -> Option<Self> {
        use base64::Engine as _;
        let base64 = base64::engine::general_purpose::STANDARD;
        let mut found = memchr::memmem::find_iter(json.as_bytes(), id.as_bytes());
        let at = found.next()?;
        if found.next().is_some() || id.len() > ID_SLOT {
            return None;
        }
        let mut before = json[..at].to_string();
        before.extend(std::iter::repeat_n(' ', (3 - at % 3) % 3));
        Some(Self { before: base64.encode(before), after: base64.encode(&json[at + id.len()..]) })
    }

    /// The whole body, as the script writes it for `id` (for tests).
    #[cfg(test)]
    fn with_id(&self, id: u64) -> String {
        let id = id.to_string();
        let slot = format!("{id}{}", " ".repeat(ID_SLOT - id.len()));
        use base64::Engine as _;
        format!("{}{}{}", self.before, base64::engine::general_purpose::STANDARD.encode(slot), self.after)
    }
}

/// A random 19-digit number.
fn placeholder_id() -> u64 {
    const LOW: u64 = 1_000_000_000_000_000_000;
    LOW + (uuid::Uuid::new_v4().as_u128() % u128::from(9 * LOW)) as u64
}

/// A marker for where the body stands in the envelope's JSON (random, so that nothing else in the
/// envelope holds it).
fn placeholder_body() -> String {
    format!("body-{}", uuid::Uuid::new_v4().simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str) -> ProductIn {
        serde_json::from_value(serde_json::json!({"name": name, "price": 9.5, "description": "d"})).unwrap()
    }

    #[test]
    fn every_text_is_cut_where_the_script_puts_the_id_and_the_body() {
        let draft = Draft::new(&input("Phone"), chrono::Utc::now()).unwrap();
        let [head, tail] = &draft.product_json;
        assert!(head.ends_with(r#""id":"#) && tail.starts_with(','), "{head} | {tail}");
        let [head, middle, tail] = &draft.envelope_json;
        assert!(head.ends_with(r#""body": ""#) && middle.starts_with('"'), "{head} | {middle}");
        assert!(
            middle.contains(r#""argsrepr": "[{'id': "#) && tail.starts_with(", 'name': 'Phone'"),
            "{middle} | {tail}"
        );
        let [_, middle, tail] = &draft.record;
        assert!(!middle.is_empty() && !tail.is_empty(), "two ids in the record: {:?}", draft.record);
    }

    #[test]
    fn the_scripts_answers_are_read_as_what_they_mean() {
        assert_eq!(Created::from_script(0), Created::TooLate);
        assert_eq!(Created::from_script(-1), Created::IdsUsedUp);
        assert_eq!(Created::from_script(-2), Created::Unknown(-2));
        assert_eq!(Created::from_script(9_007_199_254_740_991), Created::Id(9_007_199_254_740_991));
    }

    #[test]
    fn the_benchmark_replaces_only_the_task_ids_record_key_and_history_member() {
        let draft = Draft::new(&input("Phone"), chrono::Utc::now()).unwrap();
        let call = CreateCall::new(&draft, 0.0, 10);
        assert_eq!((call.keys.len(), call.args.len()), (7, 18), "KEYS 1-7, ARGV 1-18 of lua/create_product.lua");
        assert_eq!(call.keys[RECORD_KEY], keys::task(draft.message.id()), "KEYS[6] is the record's key");
        assert_eq!(call.args[HISTORY_MEMBER_ARG], draft.message.id(), "ARGV[15] is the task's id");
        let replay = CreateCall::for_benchmark(&input("Phone"), 10, "stand-in").unwrap();
        let changed_keys: Vec<usize> = (0..7).filter(|&i| replay.keys[i].contains("stand-in")).collect();
        let changed_args: Vec<usize> = (0..18).filter(|&i| replay.args[i].contains("stand-in")).collect();
        assert_eq!((changed_keys, changed_args), (vec![RECORD_KEY], vec![HISTORY_MEMBER_ARG]));
        assert_eq!(replay.keys[RECORD_KEY], keys::task("stand-in"));
    }

    #[test]
    fn texts_are_cut_only_where_the_needle_stands_exactly_n_minus_1_times() {
        assert_eq!(cut::<3>("a42b42c", "42"), Some(["a".into(), "b".into(), "c".into()]));
        assert_eq!(cut::<2>("42", "42"), Some([String::new(), String::new()]));
        assert_eq!(cut::<2>("a42b42c", "42"), None, "one too many");
        assert_eq!(cut::<3>("a42b", "42"), None, "one too few");
        assert_eq!(cut::<2>("Чай42ник", "42"), Some(["Чай".into(), "ник".into()]));
    }

    #[test]
    fn the_slotted_body_decodes_to_the_body_with_the_id() {
        use base64::Engine as _;
        let base64 = base64::engine::general_purpose::STANDARD;
        for name in ["", "a", "ab", "Чайник"] {
            let draft = Draft::new(&input(name), chrono::Utc::now()).unwrap();
            for id in [1, 42, 999, i64::MAX as u64] {
                let text = base64.decode(draft.body.with_id(id)).unwrap();
                let body: serde_json::Value = serde_json::from_slice(&text).unwrap();
                assert_eq!(body[0][0]["id"], id, "{}", String::from_utf8_lossy(&text));
                assert_eq!(body[0][0]["name"], name);
            }
        }
        assert_eq!(SlottedBody::new("[1, 2]", "3"), None, "no id");
        assert_eq!(SlottedBody::new("[3, 3]", "3"), None, "two ids");
    }

    #[test]
    fn a_name_made_of_the_placeholder_is_caught() {
        let id = 4_242_424_242_424_242_424;
        let draft =
            Draft::with_placeholders(input(&format!("x{id}")), chrono::Utc::now(), id, &placeholder_body()).unwrap();
        assert!(draft.is_none(), "the name holds the placeholder: it must be drawn again");
        // U+0001 is written \u0001 in JSON: its last digit and the name's 18 make the placeholder.
        let (id, name) = (1_424_242_424_242_424_242, "\u{1}424242424242424242");
        assert!(!name.contains(&id.to_string()));
        let escaped = Draft::with_placeholders(input(name), chrono::Utc::now(), id, &placeholder_body()).unwrap();
        assert!(escaped.is_none(), "an escape that makes it appear is caught too");
    }
}
