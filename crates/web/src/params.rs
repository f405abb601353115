//! Query parameters with FastAPI's answers for bad ones: pydantic's error kinds, `loc`
//! `["query", name]`, the rule's bounds in `ctx`.

use serde_json::json;

use crate::error::FieldError;

/// The query string as FastAPI sees it: every `name=value` pair, in order.
pub type Params = [(String, String)];

/// The value of `name`; when it is given more than once, the last one (as FastAPI takes it).
pub fn last<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Parses an optional integer query parameter within `min..=max`.
pub fn int_param(
    params: &Params,
    name: &'static str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, Box<FieldError>> {
    let Some(raw) = last(params, name) else { return Ok(default) };
    let loc = vec![json!("query"), json!(name)];
    let problem = |kind, msg: String, ctx: Option<serde_json::Value>| {
        let error = FieldError::new(kind, loc.clone(), msg, json!(raw));
        Box::new(match ctx {
            Some(ctx) => error.with_ctx(ctx),
            None => error,
        })
    };
    let trimmed = raw.trim();
    // A number that is a whole number but out of u64 (a negative one) breaks a bound, not the type.
    if let Ok(value) = trimmed.parse::<i128>() {
        if value < i128::from(min) {
            return Err(problem(
                "greater_than_equal",
                format!("Input should be greater than or equal to {min}"),
                Some(json!({ "ge": min })),
            ));
        }
        if value > i128::from(max) {
            return Err(problem(
                "less_than_equal",
                format!("Input should be less than or equal to {max}"),
                Some(json!({ "le": max })),
            ));
        }
        return u64::try_from(value).map_err(|_| problem("int_parsing", int_parsing(), None));
    }
    Err(problem("int_parsing", int_parsing(), None))
}

fn int_parsing() -> String {
    "Input should be a valid integer, unable to parse string as an integer".into()
}

/// Parses an optional finite number query parameter.
pub fn float_param(params: &Params, name: &'static str) -> Result<Option<f64>, Box<FieldError>> {
    let Some(raw) = last(params, name) else { return Ok(None) };
    match raw.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        _ => Err(Box::new(FieldError::new(
            "float_parsing",
            vec![json!("query"), json!(name)],
            "Input should be a valid number, unable to parse string as a number",
            json!(raw),
        ))),
    }
}

/// Parses an optional boolean query parameter as pydantic does: `true`/`false`, `1`/`0`,
/// `yes`/`no`, `on`/`off`, `t`/`f`, `y`/`n`, in any case; anything else is `bool_parsing`.
pub fn flag(params: &Params, name: &'static str) -> Result<bool, Box<FieldError>> {
    let Some(raw) = last(params, name) else { return Ok(false) };
    match raw.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" | "t" | "y" => Ok(true),
        "false" | "0" | "no" | "off" | "f" | "n" => Ok(false),
        _ => Err(Box::new(FieldError::new(
            "bool_parsing",
            vec![json!("query"), json!(name)],
            "Input should be a valid boolean, unable to interpret input",
            json!(raw),
        ))),
    }
}

/// pydantic's `expected` text for an enum: `'A', 'B' or 'C'`.
pub fn expected(options: &[&str]) -> String {
    let items: Vec<String> = options.iter().map(|s| format!("'{s}'")).collect();
    match items.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => items.join(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn integers_are_bounded_like_pydantic() {
        assert_eq!(int_param(&params(&[]), "limit", 50, 1, 500).unwrap(), 50);
        assert_eq!(int_param(&params(&[("limit", " 7 ")]), "limit", 50, 1, 500).unwrap(), 7);
        assert_eq!(int_param(&params(&[("limit", "0")]), "limit", 50, 1, 500).unwrap_err().kind, "greater_than_equal");
        assert_eq!(int_param(&params(&[("offset", "-5")]), "offset", 0, 0, 9).unwrap_err().kind, "greater_than_equal");
        assert_eq!(int_param(&params(&[("limit", "501")]), "limit", 50, 1, 500).unwrap_err().kind, "less_than_equal");
        assert_eq!(int_param(&params(&[("limit", "x")]), "limit", 50, 1, 500).unwrap_err().kind, "int_parsing");
    }

    #[test]
    fn the_last_of_repeated_parameters_wins() {
        assert_eq!(int_param(&params(&[("limit", "1"), ("limit", "2")]), "limit", 50, 1, 500).unwrap(), 2);
        assert!(flag(&params(&[("terminate", "no"), ("terminate", "true")]), "terminate").unwrap());
        assert!(!flag(&params(&[("terminate", "OFF")]), "terminate").unwrap());
        assert!(!flag(&params(&[]), "terminate").unwrap());
        assert_eq!(flag(&params(&[("terminate", "u9")]), "terminate").unwrap_err().kind, "bool_parsing");
    }

    #[test]
    fn enum_expectations_read_like_pydantics() {
        assert_eq!(expected(&["A", "B", "C"]), "'A', 'B' or 'C'");
        assert_eq!(expected(&["A"]), "'A'");
    }
}
