//! Calling a task the way Python calls its function: a message's `args` and `kwargs` bound to
//! the task's parameters, or the `TypeError` CPython raises, word for word. Celery's worker calls
//! `task(*args, **kwargs)`, so a message with the wrong arguments ends in FAILURE with that
//! `TypeError` (no retry: the call never starts).

use serde_json::{Map, Value};

use crate::backend::ExceptionInfo;
use crate::repr;

/// A task function's parameters (positional-or-keyword, all required).
#[derive(Debug, Clone, Copy)]
pub struct Signature {
    /// The function's `__qualname__` (`send_tg_notification`).
    pub name: &'static str,
    /// Its parameters, in order (after `self` for a bound task).
    pub params: &'static [&'static str],
    /// `bind=True`: Python counts `self` among the positional arguments in its messages.
    pub bound: bool,
}

impl Signature {
    /// The arguments in parameter order, or the `TypeError` Python would raise.
    pub fn bind(&self, args: &[Value], kwargs: &Map<String, Value>) -> Result<Vec<Value>, ExceptionInfo> {
        let this = usize::from(self.bound);
        // CPython's order (`initialize_locals`): positionals copied, then each keyword checked,
        // then the count of positionals, then what is missing.
        let mut bound: Vec<Option<Value>> = self.params.iter().map(|_| None).collect();
        for (slot, value) in bound.iter_mut().zip(args) {
            *slot = Some(value.clone());
        }
        for (key, value) in kwargs {
            let Some(at) = self.params.iter().position(|p| p == key) else {
                return Err(self.type_error(&format!("got an unexpected keyword argument {}", repr::str_repr(key))));
            };
            if bound[at].is_some() {
                return Err(self.type_error(&format!("got multiple values for argument {}", repr::str_repr(key))));
            }
            bound[at] = Some(value.clone());
        }
        if args.len() > self.params.len() {
            let (takes, given) = (self.params.len() + this, args.len() + this);
            return Err(self.type_error(&format!(
                "takes {takes} positional argument{} but {given} {} given",
                if takes == 1 { "" } else { "s" },
                if given == 1 { "was" } else { "were" },
            )));
        }
        let missing: Vec<String> =
            self.params.iter().zip(&bound).filter(|(_, v)| v.is_none()).map(|(p, _)| repr::str_repr(p)).collect();
        if !missing.is_empty() {
            let count = missing.len();
            let names = match missing.as_slice() {
                [one] => one.clone(),
                [first, second] => format!("{first} and {second}"),
                [rest @ .., last] => format!("{}, and {last}", rest.join(", ")),
                [] => String::new(),
            };
            return Err(self.type_error(&format!(
                "missing {count} required positional argument{}: {names}",
                if count == 1 { "" } else { "s" }
            )));
        }
        Ok(bound.into_iter().flatten().collect())
    }

    fn type_error(&self, what: &str) -> ExceptionInfo {
        ExceptionInfo::new("builtins", "TypeError", format!("{}() {what}", self.name))
    }
}

/// The name of `value`'s Python type (`dict`, `list`, `str`, `int`, `float`, `bool`, `NoneType`).
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// `value[key]` as Python evaluates it on a JSON value: the field, or the `KeyError` /
/// `TypeError` Python raises.
pub fn subscript<'a>(value: &'a Value, key: &str) -> Result<&'a Value, ExceptionInfo> {
    match value {
        Value::Object(map) => {
            map.get(key).ok_or_else(|| ExceptionInfo::new("builtins", "KeyError", repr::str_repr(key)))
        }
        Value::String(_) => {
            Err(ExceptionInfo::new("builtins", "TypeError", "string indices must be integers, not 'str'"))
        }
        Value::Array(_) => {
            Err(ExceptionInfo::new("builtins", "TypeError", "list indices must be integers or slices, not str"))
        }
        other => Err(ExceptionInfo::new(
            "builtins",
            "TypeError",
            format!("'{}' object is not subscriptable", type_name(other)),
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const TASK: Signature = Signature { name: "send_tg_notification", params: &["product"], bound: true };

    fn message(result: Result<Vec<Value>, ExceptionInfo>) -> String {
        let err = result.unwrap_err();
        assert_eq!(err.exc_type, "TypeError");
        err.message()
    }

    #[test]
    fn arguments_bind_as_python_binds_them() {
        let product = json!({"id": 1});
        let bound = TASK.bind(std::slice::from_ref(&product), &Map::new()).unwrap();
        assert_eq!(bound, vec![product.clone()]);
        let by_name: Map<String, Value> = [("product".to_string(), product.clone())].into_iter().collect();
        assert_eq!(TASK.bind(&[], &by_name).unwrap(), [product]);
    }

    #[test]
    fn wrong_arguments_give_cpythons_words() {
        // Each message as CPython 3.11 raises it for `def send_tg_notification(self, product)`.
        assert_eq!(
            message(TASK.bind(&[json!(1), json!(2), json!(3)], &Map::new())),
            "send_tg_notification() takes 2 positional arguments but 4 were given"
        );
        assert_eq!(
            message(TASK.bind(&[], &Map::new())),
            "send_tg_notification() missing 1 required positional argument: 'product'"
        );
        let extra: Map<String, Value> = [("colour".to_string(), json!("red"))].into_iter().collect();
        assert_eq!(
            message(TASK.bind(&[json!({})], &extra)),
            "send_tg_notification() got an unexpected keyword argument 'colour'"
        );
        let twice: Map<String, Value> = [("product".to_string(), json!({}))].into_iter().collect();
        assert_eq!(
            message(TASK.bind(&[json!({})], &twice)),
            "send_tg_notification() got multiple values for argument 'product'"
        );
        // Keywords are checked before the number of positionals, as CPython does.
        assert_eq!(
            message(TASK.bind(&[json!({}), json!(2), json!(3)], &twice)),
            "send_tg_notification() got multiple values for argument 'product'"
        );
        assert_eq!(
            message(TASK.bind(&[json!({}), json!(2), json!(3)], &extra)),
            "send_tg_notification() got an unexpected keyword argument 'colour'"
        );
        let three = Signature { name: "f", params: &["a", "b", "c"], bound: false };
        assert_eq!(
            message(three.bind(&[], &Map::new())),
            "f() missing 3 required positional arguments: 'a', 'b', and 'c'"
        );
        assert_eq!(
            message(Signature { name: "g", params: &[], bound: false }.bind(&[json!(1)], &Map::new())),
            "g() takes 0 positional arguments but 1 was given"
        );
    }

    #[test]
    fn subscripting_fails_as_in_python() {
        let err = subscript(&json!({"name": "x"}), "id").unwrap_err();
        assert_eq!((err.exc_type.as_str(), err.message()), ("KeyError", "'id'".to_string()));
        assert_eq!(
            subscript(&json!("text"), "id").unwrap_err().message(),
            "string indices must be integers, not 'str'"
        );
        assert_eq!(subscript(&json!(5), "id").unwrap_err().message(), "'int' object is not subscriptable");
        assert_eq!(subscript(&Value::Null, "id").unwrap_err().message(), "'NoneType' object is not subscriptable");
    }
}
