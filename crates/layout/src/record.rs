//! A task's history record, `stackdesk:task:<id>`: what events, results and its producer told
//! about it. The monitor keeps it up to date from Celery's events; a producer of ours writes the
//! first, PENDING version in the same step as the task message ([`pending`]), so a task is in the
//! history the moment it is queued.
//!
//! Times are stored as text (epoch seconds with every digit: Lua's cjson would round numbers to 14
//! significant digits); numbers are read too.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use taskq::TaskState;

/// A task's record as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The task id.
    pub task_id: String,
    /// The latest state.
    #[serde(default)]
    pub state: Option<TaskState>,
    /// The task name.
    #[serde(default)]
    pub name: Option<String>,
    /// Positional args as JSON text (known when a producer of ours sent the task, or when the
    /// monitor saw the message in the queue).
    #[serde(default)]
    pub args_json: Option<String>,
    /// Positional args as Python repr (from `task-sent` / `task-received`).
    #[serde(default)]
    pub args_repr: Option<String>,
    /// Retries so far.
    #[serde(default)]
    pub retries: u32,
    /// The last worker that reported on it.
    #[serde(default)]
    pub worker: Option<String>,
    /// The product it notifies about.
    #[serde(default)]
    pub product_id: Option<u64>,
    /// When it was first seen (epoch seconds).
    #[serde(default, deserialize_with = "seconds")]
    pub sent_at: f64,
    /// Run time of the successful attempt (seconds).
    #[serde(default)]
    pub runtime: Option<f64>,
    /// The result's repr (from `task-succeeded`).
    #[serde(default)]
    pub result_repr: Option<String>,
    /// The last exception's repr (from `task-failed` / `task-retried`).
    #[serde(default)]
    pub exception: Option<String>,
    /// The last traceback.
    #[serde(default)]
    pub traceback: Option<String>,
    /// Every state reached, in time order.
    #[serde(default, deserialize_with = "timeline_or_empty")]
    pub timeline: Vec<Step>,
    /// The task this one retries (the monitor's `POST /tasks/{id}/retry`).
    #[serde(default)]
    pub retry_of: Option<String>,
    /// The task that retried this one.
    #[serde(default)]
    pub retried_as: Option<String>,
}

/// One state reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The state.
    pub state: TaskState,
    /// When (epoch seconds).
    #[serde(deserialize_with = "seconds")]
    pub at: f64,
    /// The worker that reported it.
    #[serde(default)]
    pub worker: Option<String>,
    /// RECEIVED only: when the delivered message may start (epoch seconds), from the
    /// `task-received` event's `eta`. A retry is received at once and waits in the worker until
    /// then; meanwhile the result backend still says RETRY.
    #[serde(default, deserialize_with = "optional_seconds", skip_serializing_if = "Option::is_none")]
    pub eta: Option<f64>,
}

/// Lua's cjson writes an empty list as `{}`; read that as empty (and skip steps it cannot read).
fn timeline_or_empty<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Vec<Step>, D::Error> {
    Ok(match Value::deserialize(de)? {
        Value::Array(items) => items.into_iter().filter_map(|i| serde_json::from_value(i).ok()).collect(),
        _ => Vec::new(),
    })
}

/// Epoch seconds, stored as a string to keep every digit; numbers are accepted too.
fn seconds<'de, D: serde::Deserializer<'de>>(de: D) -> Result<f64, D::Error> {
    match Value::deserialize(de)? {
        Value::String(text) => text.parse().map_err(serde::de::Error::custom),
        Value::Number(n) => Ok(n.as_f64().unwrap_or_default()),
        _ => Ok(0.0),
    }
}

/// Optional epoch seconds (see [`seconds`]); anything else is none.
fn optional_seconds<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<f64>, D::Error> {
    Ok(match Value::deserialize(de)? {
        Value::String(text) => text.parse().ok(),
        Value::Number(n) => n.as_f64(),
        _ => None,
    })
}

/// A Lua script's text with `trim_history(index, cap, prefix)` defined before it: every script
/// that adds to the history keeps it bounded the same way.
pub fn with_history_trim(script: &str) -> String {
    format!("{}\n{script}", include_str!("lua/trim_history.lua"))
}

/// What a producer knows of a task it is sending.
#[derive(Debug, Clone, Copy)]
pub struct Sent<'a> {
    /// The task id.
    pub task_id: &'a str,
    /// The task name.
    pub name: &'a str,
    /// Its positional arguments.
    pub args: &'a [Value],
    /// The product it is about, if any.
    pub product_id: Option<u64>,
    /// When it was sent (epoch seconds).
    pub sent_at: f64,
    /// The task it retries, if any.
    pub retry_of: Option<&'a str>,
}

/// The PENDING record of a task just sent (JSON text, as stored).
pub fn pending(sent: &Sent<'_>) -> String {
    pending_record(sent, true)
}

/// The PENDING record of a task a monitor saw queued, which nobody recorded: without the time
/// of its state, so that any event about the task outranks it (a worker may have taken it
/// before the monitor looked).
pub fn noticed(sent: &Sent<'_>) -> String {
    pending_record(sent, false)
}

/// A PENDING record's fields, in the order they are written (borrowed: written straight to text,
/// once per product the API creates).
#[derive(Serialize)]
struct PendingRecord<'a> {
    retry_of: Option<&'a str>,
    task_id: &'a str,
    state: TaskState,
    #[serde(skip_serializing_if = "Option::is_none")]
    state_at: Option<&'a str>,
    name: &'a str,
    args_json: &'a str,
    retries: u32,
    product_id: Option<u64>,
    sent_at: &'a str,
    timeline: [PendingStep<'a>; 1],
}

#[derive(Serialize)]
struct PendingStep<'a> {
    state: TaskState,
    at: &'a str,
}

fn pending_record(sent: &Sent<'_>, with_state_time: bool) -> String {
    let at = sent.sent_at.to_string();
    let args_json = serde_json::to_string(sent.args).unwrap_or_default();
    let record = PendingRecord {
        retry_of: sent.retry_of,
        task_id: sent.task_id,
        state: TaskState::Pending,
        state_at: with_state_time.then_some(at.as_str()),
        name: sent.name,
        args_json: &args_json,
        retries: 0,
        product_id: sent.product_id,
        sent_at: &at,
        timeline: [PendingStep { state: TaskState::Pending, at: &at }],
    };
    // Strings, numbers and a unit enum: nothing in it can fail to serialize.
    serde_json::to_string(&record).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_pending_record_reads_back_with_every_digit_of_its_time() {
        let args = [json!({"id": 7, "name": "Phone"})];
        let sent = Sent {
            task_id: "t1",
            name: "n",
            args: &args,
            product_id: Some(7),
            sent_at: 1_750_000_000.123_456,
            retry_of: None,
        };
        let record: Record = serde_json::from_str(&pending(&sent)).unwrap();
        assert_eq!(record.state, Some(TaskState::Pending));
        assert_eq!(record.sent_at, 1_750_000_000.123_456);
        assert_eq!(
            record.timeline,
            [Step { state: TaskState::Pending, at: 1_750_000_000.123_456, worker: None, eta: None }]
        );
        assert_eq!(record.args_json.as_deref(), Some(r#"[{"id":7,"name":"Phone"}]"#));
        assert_eq!(record.product_id, Some(7));
    }

    #[test]
    fn pending_and_noticed_records_are_written_field_by_field_in_order() {
        let args = [json!({"id": 7, "name": "Phone \"Ц\""})];
        for retry_of in [None, Some("t0")] {
            let sent = Sent { task_id: "t1", name: "n", args: &args, product_id: None, sent_at: 1.5, retry_of };
            let at = "1.5";
            let mut whole = json!({
                "retry_of": retry_of, "task_id": "t1", "state": "PENDING", "state_at": at, "name": "n",
                "args_json": serde_json::to_string(&args).unwrap(), "retries": 0, "product_id": null,
                "sent_at": at, "timeline": [{"state": "PENDING", "at": at}],
            });
            assert_eq!(pending(&sent), whole.to_string());
            whole.as_object_mut().unwrap().shift_remove("state_at");
            assert_eq!(noticed(&sent), whole.to_string(), "without the time of its state");
        }
    }

    #[test]
    fn cjsons_empty_timeline_and_numeric_times_are_read() {
        let record: Record = serde_json::from_str(r#"{"task_id": "t", "sent_at": 12.5, "timeline": {}}"#).unwrap();
        assert_eq!((record.sent_at, record.timeline.len(), record.state), (12.5, 0, None));
    }
}
