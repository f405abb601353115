//! JSON written the way Python's `json.dumps` writes it.
//!
//! Celery serialises with `json.dumps` defaults: `", "` and `": "` separators, `ensure_ascii=True`
//! (every non-ASCII character as a lowercase `\uXXXX` escape, surrogate pairs above the BMP) and
//! floats in `float.__repr__` form (`1e+16`, `1.5e-07`). Writing the same bytes lets the golden tests
//! compare our output with Python's byte for byte, and keeps `redis-cli MONITOR` captures of both
//! sides identical.

use std::io;

use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};

/// Serialises `value` exactly as Python's `json.dumps(value)` would.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::with_capacity(256);
    let mut ser = Serializer::with_formatter(&mut out, PythonFormatter);
    value.serialize(&mut ser)?;
    // The formatter only ever writes ASCII, so this cannot fail; map it anyway instead of panicking.
    String::from_utf8(out).map_err(|e| serde::ser::Error::custom(e.to_string()))
}

/// Formats a float as Python's `repr(float)` does: the shortest round-tripping digits, fixed notation
/// for decimal exponents in `-4..16`, otherwise scientific with a signed exponent of at least two
/// digits.
pub fn float_repr(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    let mut buf = ryu::Buffer::new();
    let shortest = buf.format_finite(value);
    // ryu writes the same digits in fixed notation wherever Python does (and also for 1e-5..1e-4,
    // which Python writes in scientific): those can go as they are.
    if !shortest.contains(['e', 'E']) && (value == 0.0 || value.abs() >= 1e-4) {
        return shortest.to_string();
    }
    let (negative, unsigned) = match shortest.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, shortest),
    };
    let (mantissa, exp) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (unsigned, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut digits: String = format!("{int_part}{frac_part}");
    // value = digits × 10^(exp − frac_len)
    let mut scale = exp - frac_part.len() as i32;
    let trimmed = digits.trim_start_matches('0').len();
    digits = digits[digits.len() - trimmed..].to_string();
    while digits.ends_with('0') {
        digits.pop();
        scale += 1;
    }
    let sign = if negative { "-" } else { "" };
    if digits.is_empty() {
        return format!("{sign}0.0");
    }
    let sci_exp = scale + digits.len() as i32 - 1;
    let body = if (-4..16).contains(&sci_exp) {
        if sci_exp >= 0 {
            let point = (sci_exp + 1) as usize;
            if digits.len() <= point {
                format!("{digits}{}.0", "0".repeat(point - digits.len()))
            } else {
                format!("{}.{}", &digits[..point], &digits[point..])
            }
        } else {
            format!("0.{}{digits}", "0".repeat((-sci_exp - 1) as usize))
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let mantissa = if rest.is_empty() { first.to_string() } else { format!("{first}.{rest}") };
        let exp_sign = if sci_exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{exp_sign}{:02}", sci_exp.abs())
    };
    format!("{sign}{body}")
}

/// A `serde_json` formatter producing Python's `json.dumps` output.
#[derive(Debug, Clone, Copy, Default)]
pub struct PythonFormatter;

impl Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn write_f64<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        w.write_all(float_repr(value).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(w, f64::from(value))
    }

    fn write_string_fragment<W: ?Sized + io::Write>(&mut self, w: &mut W, fragment: &str) -> io::Result<()> {
        // Most text (ids, base64, names) is printable ASCII: written as it is.
        if fragment.bytes().all(|b| (b' '..=b'~').contains(&b)) {
            return w.write_all(fragment.as_bytes());
        }
        let mut start = 0;
        for (i, ch) in fragment.char_indices() {
            if (' '..='~').contains(&ch) {
                continue;
            }
            w.write_all(&fragment.as_bytes()[start..i])?;
            let mut units = [0u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                write!(w, "\\u{unit:04x}")?;
            }
            start = i + ch.len_utf8();
        }
        w.write_all(&fragment.as_bytes()[start..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_match_python_repr() {
        for (value, python) in [
            (499.9, "499.9"),
            (1.0, "1.0"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1e16, "1e+16"),
            (1.5e-7, "1.5e-07"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (123456789012345.6, "123456789012345.6"),
            (1795501461.9823086, "1795501461.9823086"),
            (1e22, "1e+22"),
            (-2.5, "-2.5"),
            (1e9, "1000000000.0"),
        ] {
            assert_eq!(float_repr(value), python, "{value:e}");
        }
    }

    #[test]
    fn separators_and_ascii_escapes_match_json_dumps() {
        let value = json!({"a": [1, 2.0, null], "b": "Phone \u{2014} ok \u{1F600}", "c": {}, "d": "\u{7f}\"\\\n"});
        assert_eq!(
            to_string(&value).unwrap(),
            r#"{"a": [1, 2.0, null], "b": "Phone \u2014 ok \ud83d\ude00", "c": {}, "d": "\u007f\"\\\n"}"#
        );
    }
}
