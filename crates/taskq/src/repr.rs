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

/// `str(value)`: the text itself for a string, else its [`repr`] (what an f-string shows).
pub fn str_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => repr(other),
    }
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

/// Reads back a Python literal as [`repr`] (and Python) write it: `None`, `True`, `False`,
/// numbers, strings, lists and tuples (as arrays) and dicts with string keys. `None` for anything
/// else — an object's `<… at 0x…>`, a repr cut with `...`, a key that is not a string.
///
/// A task event carries its arguments only as a repr (`"({'id': 2},)"`); reading them back lets a
/// monitor send such a task again.
pub fn parse(text: &str) -> Option<Value> {
    let mut reader = Reader { chars: text.trim().chars().collect(), at: 0 };
    let value = reader.value()?;
    reader.skip_spaces();
    (reader.at == reader.chars.len()).then_some(value)
}

struct Reader {
    chars: Vec<char>,
    at: usize,
}

impl Reader {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    fn eat(&mut self, word: &str) -> bool {
        let end = self.at + word.chars().count();
        let matches = self.chars.get(self.at..end).is_some_and(|s| s.iter().copied().eq(word.chars()));
        if matches {
            self.at = end;
        }
        matches
    }

    fn value(&mut self) -> Option<Value> {
        self.skip_spaces();
        match self.peek()? {
            '[' => self.sequence('[', ']'),
            '(' => self.sequence('(', ')'),
            '{' => self.dict(),
            '\'' | '"' => self.string().map(Value::String),
            _ if self.eat("None") => Some(Value::Null),
            _ if self.eat("True") => Some(Value::Bool(true)),
            _ if self.eat("False") => Some(Value::Bool(false)),
            _ => self.number(),
        }
    }

    fn sequence(&mut self, open: char, close: char) -> Option<Value> {
        self.eat(&open.to_string());
        let mut items = Vec::new();
        loop {
            self.skip_spaces();
            if self.eat(&close.to_string()) {
                return Some(Value::Array(items));
            }
            items.push(self.value()?);
            self.skip_spaces();
            if !self.eat(",") {
                self.skip_spaces();
                return self.eat(&close.to_string()).then_some(Value::Array(items));
            }
        }
    }

    fn dict(&mut self) -> Option<Value> {
        self.eat("{");
        let mut map = serde_json::Map::new();
        loop {
            self.skip_spaces();
            if self.eat("}") {
                return Some(Value::Object(map));
            }
            let key = self.string()?;
            self.skip_spaces();
            if !self.eat(":") {
                return None;
            }
            let value = self.value()?;
            map.insert(key, value);
            self.skip_spaces();
            if !self.eat(",") {
                self.skip_spaces();
                return self.eat("}").then_some(Value::Object(map));
            }
        }
    }

    fn string(&mut self) -> Option<String> {
        let quote = self.peek().filter(|c| *c == '\'' || *c == '"')?;
        self.at += 1;
        let mut out = String::new();
        loop {
            let ch = self.peek()?;
            self.at += 1;
            match ch {
                c if c == quote => return Some(out),
                '\\' => {
                    let escaped = self.peek()?;
                    self.at += 1;
                    match escaped {
                        'n' => out.push('\n'),
                        'r' => out.push('\r'),
                        't' => out.push('\t'),
                        '0' => out.push('\0'),
                        'x' => out.push(self.hex(2)?),
                        'u' => out.push(self.hex(4)?),
                        'U' => out.push(self.hex(8)?),
                        other => out.push(other),
                    }
                }
                c => out.push(c),
            }
        }
    }

    fn hex(&mut self, digits: usize) -> Option<char> {
        let text: String = self.chars.get(self.at..self.at + digits)?.iter().collect();
        self.at += digits;
        char::from_u32(u32::from_str_radix(&text, 16).ok()?)
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.at;
        while self.peek().is_some_and(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')) {
            self.at += 1;
        }
        let text: String = self.chars[start..self.at].iter().collect();
        if let Ok(whole) = text.parse::<i64>() {
            return Some(Value::from(whole));
        }
        let float = text.parse::<f64>().ok().filter(|f| f.is_finite())?;
        serde_json::Number::from_f64(float).map(Value::Number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reprs_read_back() {
        for value in [
            json!([{"id": 2, "name": "Phone", "price": 499.9, "description": null}]),
            json!({"a": [true, false, null], "b": "it's \"quoted\"\n\u{1}", "c": -3, "d": 1e-7}),
            json!([]),
            json!("Чайник \\ ☕"),
        ] {
            assert_eq!(parse(&repr(&value)), Some(value.clone()), "{}", repr(&value));
        }
        assert_eq!(parse("({'id': 4},)"), Some(json!([{"id": 4}])), "a tuple, as Celery's events write args");
        assert_eq!(parse("(1, 2)"), Some(json!([1, 2])));
        assert_eq!(parse("[1, 2, ...]"), None, "cut by saferepr");
        assert_eq!(parse("<object at 0x7f>"), None);
        assert_eq!(parse("{1: 2}"), None, "a key that is not a string");
        assert_eq!(parse("'unterminated"), None);
    }

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
