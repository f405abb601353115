//! Python `repr()` of JSON values.
//!
//! Celery puts Python reprs where humans read them: the `argsrepr` / `kwargsrepr` headers and the
//! `args`, `kwargs`, `result` and `exception` fields of task events. Flower and `celery events` show
//! these strings as they are, so ours read like Python's: `[2, 'Phone', 499.9]`, `{'id': 1}`,
//! `None`, `True`.

use serde_json::Value;

use crate::pyjson::float_repr;

/// Celery's default `argsrepr_maxsize` / `kwargsrepr_maxsize`.
pub const DEFAULT_MAX_LEN: usize = 1024;

/// `repr(value)` for a JSON value (objects become dicts, arrays lists).
pub fn repr(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

/// Cuts `text` to at most `max_len` characters, ending in `...` when cut (like Celery's `saferepr`).
pub fn truncate(mut text: String, max_len: usize) -> String {
    if text.chars().count() <= max_len {
        return text;
    }
    let cut = text.char_indices().nth(max_len.saturating_sub(3)).map_or(text.len(), |(i, _)| i);
    text.truncate(cut);
    text.push_str("...");
    text
}

/// `repr(str)`: single quotes unless the text holds a single quote and no double quote.
pub fn str_repr(text: &str) -> String {
    let mut out = String::new();
    write_str(&mut out, text);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => match n.as_f64() {
            Some(f) if !n.is_i64() && !n.is_u64() => out.push_str(&float_repr(f)),
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str(out, key);
                out.push_str(": ");
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

fn write_str(out: &mut String, text: &str) {
    let quote = if text.contains('\'') && !text.contains('"') { '"' } else { '\'' };
    out.push(quote);
    for ch in text.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32)) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reprs_read_like_python() {
        assert_eq!(repr(&json!([2, "Phone", 499.9])), "[2, 'Phone', 499.9]");
        assert_eq!(repr(&json!({"a": null, "b": [true, false]})), "{'a': None, 'b': [True, False]}");
        assert_eq!(str_repr("it's"), "\"it's\"");
        assert_eq!(str_repr("a'\"b"), "'a\\'\"b'");
        assert_eq!(str_repr("line\nnext\u{1}"), "'line\\nnext\\x01'");
        assert_eq!(repr(&json!("New product #2: Phone \u{2014} 499.9")), "'New product #2: Phone \u{2014} 499.9'");
    }

    #[test]
    fn truncation_marks_the_cut() {
        assert_eq!(truncate("abcdef".into(), 10), "abcdef");
        assert_eq!(truncate("abcdefghijkl".into(), 8), "abcde...");
    }
}
