//! Reading JSON objects the way Go's `encoding/json` fills a struct, because Centrifugo decodes
//! claims with it and Gyre must accept and refuse the same tokens:
//!
//! * object keys match field names case-insensitively (Unicode simple folding, so `ſ` is an `s`
//!   and the Kelvin sign is a `k`), duplicates are applied in order (the last one wins);
//! * `null` leaves strings and booleans untouched, resets pointers, slices and maps;
//! * raw-JSON fields keep the value's text verbatim (a `null` stays the text `null`).
//!
//! Values are kept as borrowed `RawValue`s so each one is parsed at most twice: linear work.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// Why a JSON value could not fill its field; every such failure makes the token invalid.
#[derive(Debug)]
pub(crate) struct DecodeError(pub(crate) String);

impl DecodeError {
    fn field(name: &str, what: impl fmt::Display) -> Self {
        DecodeError(format!("claim {name}: {what}"))
    }
}

/// Members of one JSON object in document order: unescaped key, raw value.
pub(crate) type Members<'a> = Vec<(Cow<'a, str>, &'a RawValue)>;

/// Go's decoder refuses documents nested deeper than this.
const MAX_DEPTH: usize = 10_000;

/// Parses `text` as an object (or `null`, which Go treats as "nothing to fill").
pub(crate) fn object(text: &str) -> Result<Option<Members<'_>>, DecodeError> {
    check_depth(text)?;
    serde_json::from_str::<ObjectOrNull<'_>>(text)
        .map(|o| o.0)
        .map_err(|e| DecodeError(format!("malformed JSON: {e}")))
}

/// `object` for a nested field value: anything but an object or `null` is a type error.
pub(crate) fn nested_object<'a>(raw: &'a RawValue, name: &str) -> Result<Option<Members<'a>>, DecodeError> {
    object(raw.get()).map_err(|_| DecodeError::field(name, "must be a JSON object"))
}

/// One pass over the text counting bracket depth outside strings. serde_json skips the values
/// we keep raw without a depth limit, so Go's limit has to be enforced separately.
fn check_depth(text: &str) -> Result<(), DecodeError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in text.as_bytes() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(DecodeError("JSON nested too deeply".to_owned()));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

struct ObjectOrNull<'a>(Option<Members<'a>>);

impl<'de> Deserialize<'de> for ObjectOrNull<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ObjectVisitor)
    }
}

struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = ObjectOrNull<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(ObjectOrNull(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(8).min(64));
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let value: &'de RawValue = map.next_value()?;
            members.push((key.0, value));
        }
        Ok(ObjectOrNull(Some(members)))
    }
}

/// An object key, borrowed from the input unless it had escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Longest field name we match ("force_push_join_leave") fits comfortably.
const FOLD_BUF: usize = 24;

/// Folds `key` to the lowercase ASCII form it would match under Go's case-insensitive field
/// lookup. `None` means it can match none of our (ASCII) field names.
pub(crate) fn fold_key<'b>(key: &str, buf: &'b mut [u8; FOLD_BUF]) -> Option<&'b str> {
    let mut len = 0;
    for c in key.chars() {
        let folded = match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '_' => c.to_ascii_lowercase() as u8,
            c if c.is_ascii() => c as u8,
            '\u{017F}' => b's', // LATIN SMALL LETTER LONG S folds with s/S
            '\u{212A}' => b'k', // KELVIN SIGN folds with k/K
            _ => return None,
        };
        *buf.get_mut(len)? = folded;
        len += 1;
    }
    std::str::from_utf8(&buf[..len]).ok()
}

/// A Go `string` field: `null` leaves it as it was.
pub(crate) fn string_into(raw: &RawValue, dst: &mut String, name: &str) -> Result<(), DecodeError> {
    match serde_json::from_str::<Option<String>>(raw.get()) {
        Ok(Some(s)) => {
            *dst = s;
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(_) => Err(DecodeError::field(name, "must be a string")),
    }
}

/// A Go `bool` field: `null` leaves it as it was.
pub(crate) fn bool_into(raw: &RawValue, dst: &mut bool, name: &str) -> Result<(), DecodeError> {
    match raw.get() {
        "true" => *dst = true,
        "false" => *dst = false,
        "null" => {}
        _ => return Err(DecodeError::field(name, "must be a boolean")),
    }
    Ok(())
}

/// A Go `*int64` field (`expire_at`): an integer literal in range, or `null` for "absent".
pub(crate) fn int64_ptr(raw: &RawValue, name: &str) -> Result<Option<i64>, DecodeError> {
    let text = raw.get();
    if text == "null" {
        return Ok(None);
    }
    text.parse::<i64>()
        .map(Some)
        .map_err(|_| DecodeError::field(name, "must be an integer that fits in 64 bits"))
}

/// 2^63 as f64: seconds at or beyond it have no `i64` representation.
const I64_LIMIT: f64 = 9_223_372_036_854_775_808.0;

/// A JWT NumericDate (`exp`, `nbf`, `iat`): seconds, fraction allowed, `null` for "absent".
///
/// Centrifugo's library also takes numeric strings and silently mangles out-of-range values
/// (the float-to-int conversion is platform defined in Go); Gyre refuses both as invalid.
pub(crate) fn numeric_date(raw: &RawValue, name: &str) -> Result<Option<f64>, DecodeError> {
    let text = raw.get();
    if text == "null" {
        return Ok(None);
    }
    let starts_like_number = text
        .as_bytes()
        .first()
        .is_some_and(|b| *b == b'-' || b.is_ascii_digit());
    if !starts_like_number {
        return Err(DecodeError::field(name, "must be a number"));
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && (-I64_LIMIT..I64_LIMIT).contains(&v) => Ok(Some(v)),
        _ => Err(DecodeError::field(name, "number out of range")),
    }
}

/// Go `[]string`: `null` empties it, `null` elements become "".
pub(crate) fn string_list(raw: &RawValue, name: &str) -> Result<Vec<String>, DecodeError> {
    serde_json::from_str::<Option<Vec<Option<String>>>>(raw.get())
        .map(|list| {
            list.unwrap_or_default()
                .into_iter()
                .map(Option::unwrap_or_default)
                .collect()
        })
        .map_err(|_| DecodeError::field(name, "must be an array of strings"))
}

/// The `aud` claim: one string or an array of strings. Its Go type has a custom decoder that
/// refuses everything else, `null` included.
pub(crate) fn audience(raw: &RawValue) -> Result<Vec<String>, DecodeError> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Aud {
        One(String),
        Many(Vec<String>),
    }
    match serde_json::from_str::<Aud>(raw.get()) {
        Ok(Aud::One(s)) => Ok(vec![s]),
        Ok(Aud::Many(v)) => Ok(v),
        Err(_) => Err(DecodeError::field(
            "aud",
            "must be a string or an array of strings",
        )),
    }
}

/// What gjson's `Result.String()` yields for a top-level value — Centrifugo reads the
/// `user_id_claim` that way, so numbers and booleans become their text, objects their raw JSON.
pub(crate) fn loose_string(raw: &RawValue) -> String {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<String>(text).unwrap_or_default(),
        Some(b'{') | Some(b'[') => text.to_owned(),
        Some(b't') => "true".to_owned(),
        Some(b'f') => "false".to_owned(),
        Some(b'n') | None => String::new(),
        Some(_) => {
            let digits = text.strip_prefix('-').unwrap_or(text);
            if digits.bytes().all(|b| b.is_ascii_digit()) {
                text.to_owned()
            } else {
                go_format_float(text.parse::<f64>().unwrap_or(f64::NAN))
            }
        }
    }
}

/// Go's `strconv.FormatFloat(v, 'f', -1, 64)`: shortest round-trip digits, never an exponent.
/// Rust's `Display` for f64 has the same contract; only the infinities are spelled differently.
fn go_format_float(v: f64) -> String {
    if v == f64::INFINITY {
        "+Inf".to_owned()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else if v.is_nan() {
        "NaN".to_owned()
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    #[test]
    fn folding_follows_go_equal_fold() {
        let mut buf = [0; FOLD_BUF];
        assert_eq!(fold_key("SUB", &mut buf), Some("sub"));
        assert_eq!(fold_key("\u{017F}ub", &mut buf), Some("sub"));
        assert_eq!(fold_key("\u{212A}ID", &mut buf), Some("kid"));
        assert_eq!(fold_key("Expire_At", &mut buf), Some("expire_at"));
        assert_eq!(fold_key("sübject", &mut buf), None);
        assert_eq!(fold_key(&"x".repeat(100), &mut buf), None);
    }

    #[test]
    fn objects_keep_order_duplicates_and_raw_text() {
        let m = object(r#"{"a": {"x" : 1} ,"a":null,"\u0062":[1, 2]}"#)
            .unwrap()
            .unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].1.get(), r#"{"x" : 1}"#);
        assert_eq!(m[1].1.get(), "null");
        assert_eq!(m[2].0, "b");
        assert!(object("null").unwrap().is_none());
        assert!(object("[]").is_err());
        assert!(object("5").is_err());
        assert!(object("{} x").is_err());
        let deep = |n: usize| format!("{{\"a\":{}{}}}", "[".repeat(n), "]".repeat(n));
        assert!(object(&deep(MAX_DEPTH - 1)).is_ok());
        assert!(object(&deep(MAX_DEPTH)).is_err());
        assert!(
            object(&format!("{{\"a\":\"{}\\\"\"}}", "[".repeat(MAX_DEPTH + 5))).is_ok(),
            "brackets in strings"
        );
    }

    #[test]
    fn numeric_dates() {
        assert_eq!(numeric_date(&raw("1700000000"), "exp").unwrap(), Some(1.7e9));
        assert_eq!(numeric_date(&raw("1.5"), "exp").unwrap(), Some(1.5));
        assert_eq!(numeric_date(&raw("-3"), "exp").unwrap(), Some(-3.0));
        assert_eq!(numeric_date(&raw("null"), "exp").unwrap(), None);
        for bad in [
            r#""1700000000""#,
            "1e30",
            "1e400",
            "-1e19",
            "9223372036854775808",
            "true",
            "{}",
            "[]",
        ] {
            assert!(numeric_date(&raw(bad), "exp").is_err(), "{bad}");
        }
        assert!(numeric_date(&raw("9223372036854774784"), "exp")
            .unwrap()
            .is_some());
    }

    #[test]
    fn int64_pointer() {
        assert_eq!(int64_ptr(&raw("0"), "x").unwrap(), Some(0));
        assert_eq!(int64_ptr(&raw("-0"), "x").unwrap(), Some(0));
        assert_eq!(int64_ptr(&raw("null"), "x").unwrap(), None);
        for bad in ["1.0", "1e3", "9223372036854775808", r#""5""#, "true"] {
            assert!(int64_ptr(&raw(bad), "x").is_err(), "{bad}");
        }
    }

    #[test]
    fn strings_bools_lists_audience() {
        let mut s = "keep".to_owned();
        string_into(&raw("null"), &mut s, "sub").unwrap();
        assert_eq!(s, "keep");
        string_into(&raw(r#""a\nb""#), &mut s, "sub").unwrap();
        assert_eq!(s, "a\nb");
        assert!(string_into(&raw("1"), &mut s, "sub").is_err());

        let mut b = true;
        bool_into(&raw("null"), &mut b, "value").unwrap();
        assert!(b);
        assert!(bool_into(&raw("1"), &mut b, "value").is_err());

        assert_eq!(string_list(&raw(r#"["a",null]"#), "channels").unwrap(), ["a", ""]);
        assert!(string_list(&raw("null"), "channels").unwrap().is_empty());
        assert!(string_list(&raw("[1]"), "channels").is_err());

        assert_eq!(audience(&raw(r#""x""#)).unwrap(), ["x"]);
        assert_eq!(audience(&raw(r#"["x","y"]"#)).unwrap(), ["x", "y"]);
        assert!(audience(&raw("null")).is_err());
        assert!(audience(&raw(r#"["x",1]"#)).is_err());
    }

    #[test]
    fn loose_strings_like_gjson() {
        assert_eq!(loose_string(&raw(r#""u\u0031""#)), "u1");
        assert_eq!(loose_string(&raw("42")), "42");
        assert_eq!(loose_string(&raw("-7")), "-7");
        assert_eq!(loose_string(&raw("1.50")), "1.5");
        assert_eq!(loose_string(&raw("1e3")), "1000");
        assert_eq!(loose_string(&raw("1e400")), "+Inf");
        assert_eq!(loose_string(&raw("true")), "true");
        assert_eq!(loose_string(&raw("null")), "");
        assert_eq!(loose_string(&raw(r#"{"a": 1}"#)), r#"{"a": 1}"#);
    }
}
