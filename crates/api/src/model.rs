//! The products API's model: what a client sends, pydantic's rules and messages for it, and what
//! the synchronous variant answers. The stored product is [`layout::Product`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use web::FieldError;

pub use layout::Product;

/// Longest product name, in characters (after trimming).
pub const NAME_MAX: usize = 100;
/// Longest description, in characters.
pub const DESCRIPTION_MAX: usize = 1000;
/// Highest price.
pub const PRICE_MAX: f64 = 1e9;

/// What a client sends to create a product.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
pub struct ProductIn {
    /// 1–100 characters; surrounding spaces are trimmed.
    #[schema(min_length = 1, max_length = 100, example = "Phone")]
    pub name: String,
    /// Greater than 0, at most 1e9.
    #[schema(exclusive_minimum = 0, maximum = 1_000_000_000, example = 499.9)]
    pub price: f64,
    /// Up to 1000 characters.
    #[schema(max_length = 1000, nullable)]
    pub description: Option<String>,
}

/// Checks a request body against the product rules. Every problem is reported, as pydantic does.
pub fn validate(body: &Value) -> Result<ProductIn, Vec<FieldError>> {
    let Value::Object(map) = body else {
        return Err(vec![FieldError::new(
            "model_attributes_type",
            vec![json!("body")],
            "Input should be a valid dictionary or object to extract fields from",
            body.clone(),
        )]);
    };
    let mut errors = Vec::new();
    let name = field_name(map, body, &mut errors);
    let price = field_price(map, body, &mut errors);
    let description = field_description(map, &mut errors);
    match (name, price, description) {
        (Some(name), Some(price), Some(description)) if errors.is_empty() => Ok(ProductIn { name, price, description }),
        _ => Err(errors),
    }
}

fn loc(field: &str) -> Vec<Value> {
    vec![json!("body"), json!(field)]
}

fn missing(field: &str, body: &Value) -> FieldError {
    FieldError::new("missing", loc(field), "Field required", body.clone())
}

fn field_name(map: &Map<String, Value>, body: &Value, errors: &mut Vec<FieldError>) -> Option<String> {
    let Some(raw) = map.get("name") else {
        errors.push(missing("name", body));
        return None;
    };
    let Value::String(text) = raw else {
        errors.push(FieldError::new("string_type", loc("name"), "Input should be a valid string", raw.clone()));
        return None;
    };
    let name = text.trim();
    let length = name.chars().count();
    if length < 1 {
        errors.push(
            FieldError::new("string_too_short", loc("name"), "String should have at least 1 character", raw.clone())
                .with_ctx(json!({"min_length": 1})),
        );
        return None;
    }
    if length > NAME_MAX {
        errors.push(
            FieldError::new(
                "string_too_long",
                loc("name"),
                format!("String should have at most {NAME_MAX} characters"),
                raw.clone(),
            )
            .with_ctx(json!({"max_length": NAME_MAX})),
        );
        return None;
    }
    Some(name.to_string())
}

fn field_price(map: &Map<String, Value>, body: &Value, errors: &mut Vec<FieldError>) -> Option<f64> {
    let Some(raw) = map.get("price") else {
        errors.push(missing("price", body));
        return None;
    };
    let price = match raw {
        Value::Number(n) => n.as_f64(),
        // pydantic's lax mode accepts numbers written as strings.
        Value::String(s) => match s.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            _ => {
                errors.push(FieldError::new(
                    "float_parsing",
                    loc("price"),
                    "Input should be a valid number, unable to parse string as a number",
                    raw.clone(),
                ));
                return None;
            }
        },
        _ => None,
    };
    let Some(price) = price else {
        errors.push(FieldError::new("float_type", loc("price"), "Input should be a valid number", raw.clone()));
        return None;
    };
    if price <= 0.0 {
        errors.push(
            FieldError::new("greater_than", loc("price"), "Input should be greater than 0", raw.clone())
                .with_ctx(json!({"gt": 0})),
        );
        return None;
    }
    if price > PRICE_MAX {
        errors.push(
            FieldError::new(
                "less_than_equal",
                loc("price"),
                "Input should be less than or equal to 1000000000",
                raw.clone(),
            )
            .with_ctx(json!({"le": 1_000_000_000})),
        );
        return None;
    }
    Some(price)
}

fn field_description(map: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Option<Option<String>> {
    match map.get("description") {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(text)) if text.chars().count() > DESCRIPTION_MAX => {
            errors.push(
                FieldError::new(
                    "string_too_long",
                    loc("description"),
                    format!("String should have at most {DESCRIPTION_MAX} characters"),
                    json!(text),
                )
                .with_ctx(json!({"max_length": DESCRIPTION_MAX})),
            );
            None
        }
        Some(Value::String(text)) => Some(Some(text.clone())),
        Some(other) => {
            errors.push(FieldError::new(
                "string_type",
                loc("description"),
                "Input should be a valid string",
                other.clone(),
            ));
            None
        }
    }
}

/// What the synchronous variant answers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, ts_rs::TS)]
#[ts(export_to = "SyncOutcome.ts")]
pub struct SyncOutcome {
    /// The product as it was checked (not stored).
    pub name: String,
    /// Its price.
    pub price: f64,
    /// The notification's result, as the task would have stored it.
    #[schema(schema_with = web::schema::any_value)]
    #[ts(type = "unknown")]
    pub notification: Value,
    /// How long the client waited for the notification, in seconds.
    pub notify_secs: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(body: &Value) -> Vec<(&'static str, Value)> {
        validate(body).unwrap_err().into_iter().map(|e| (e.kind, json!(e.loc))).collect()
    }

    #[test]
    fn valid_products_are_trimmed() {
        let product = validate(&json!({"name": "  Phone ", "price": 499.9})).unwrap();
        assert_eq!(product, ProductIn { name: "Phone".into(), price: 499.9, description: None });
        assert_eq!(validate(&json!({"name": "X", "price": "12.5", "description": "d"})).unwrap().price, 12.5);
        assert_eq!(validate(&json!({"name": "x".repeat(100), "price": 1e9})).unwrap().name.len(), 100);
    }

    #[test]
    fn every_problem_is_reported_with_pydantics_kind() {
        assert_eq!(kinds(&json!({})), [("missing", json!(["body", "name"])), ("missing", json!(["body", "price"]))]);
        assert_eq!(
            kinds(&json!({"name": "   ", "price": 0, "description": 5})),
            [
                ("string_too_short", json!(["body", "name"])),
                ("greater_than", json!(["body", "price"])),
                ("string_type", json!(["body", "description"]))
            ]
        );
        assert_eq!(
            kinds(&json!({"name": "x".repeat(101), "price": 1e9 + 1.0})),
            [("string_too_long", json!(["body", "name"])), ("less_than_equal", json!(["body", "price"]))]
        );
        assert_eq!(
            kinds(&json!({"name": 1, "price": "abc"})),
            [("string_type", json!(["body", "name"])), ("float_parsing", json!(["body", "price"]))]
        );
        assert_eq!(kinds(&json!({"name": "a", "price": true})), [("float_type", json!(["body", "price"]))]);
        assert_eq!(
            kinds(&json!({"name": "a", "price": 1, "description": "d".repeat(1001)})),
            [("string_too_long", json!(["body", "description"]))]
        );
        assert_eq!(kinds(&json!([1, 2])), [("model_attributes_type", json!(["body"]))]);
    }

    #[test]
    fn messages_match_fastapis() {
        let errors = validate(&json!({"price": -1})).unwrap_err();
        assert_eq!(errors[0].msg, "Field required");
        assert_eq!(errors[1].msg, "Input should be greater than 0");
        assert_eq!(errors[1].ctx, Some(json!({"gt": 0})));
        assert_eq!(errors[1].input, json!(-1));
    }
}
