//! Go-compatible durations (`"300s"`, `"1m30s"`, `"1.5h"`, a bare number = nanoseconds).
//!
//! Centrifugo reads durations with Go's `time.ParseDuration` and prints them with
//! `time.Duration.String()`; configs written for Centrifugo must mean the same thing here, so
//! both directions are ported rather than delegated to a Rust crate with a different grammar.
//!
//! Gyre's [`Duration`] wraps an unsigned `std::time::Duration`, while Go durations are signed.
//! Negative values (Go accepts `"-1s"`) therefore cannot be stored: they deserialize as zero,
//! and zero means "use the default" once the loader has normalised the config (see
//! `crate::load`). [`parse_go_duration`] keeps the signed result for callers that care.

use std::cell::Cell;
use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration written the Go way in config files and env vars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Duration(pub std::time::Duration);

impl Duration {
    pub const fn from_secs(s: u64) -> Duration {
        Duration(std::time::Duration::from_secs(s))
    }
    pub const fn from_millis(ms: u64) -> Duration {
        Duration(std::time::Duration::from_millis(ms))
    }
    pub const fn from_nanos(ns: u64) -> Duration {
        Duration(std::time::Duration::from_nanos(ns))
    }
    pub const ZERO: Duration = Duration(std::time::Duration::ZERO);
    pub fn as_std(self) -> std::time::Duration {
        self.0
    }
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// Converts signed Go nanoseconds; negative values clamp to zero (see the module docs).
    pub fn from_go_nanos(ns: i64) -> Duration {
        Duration::from_nanos(ns.max(0) as u64)
    }

    /// Parses with Go's grammar; a negative result clamps to zero.
    pub fn parse(s: &str) -> Result<Duration, DurationError> {
        parse_go_duration(s).map(Duration::from_go_nanos)
    }
}

impl From<std::time::Duration> for Duration {
    fn from(d: std::time::Duration) -> Self {
        Duration(d)
    }
}

impl FromStr for Duration {
    type Err = DurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Duration::parse(s)
    }
}

/// Formats like Go's `Duration.String()`: `"0s"`, `"1.5µs"`, `"300ms"`, `"1m30s"`, `"720h0m0s"`.
impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_go_duration(self.0.as_nanos() as i128))
    }
}

/// Why a duration string was refused. The texts match Go's `time` package errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("time: invalid duration {}", go_quote(.0))]
    Invalid(String),
    #[error("time: missing unit in duration {}", go_quote(.0))]
    MissingUnit(String),
    #[error("time: unknown unit {} in duration {}", go_quote(.unit), go_quote(.input))]
    UnknownUnit { unit: String, input: String },
}

const NANOS_PER_MICRO: u64 = 1_000;
const NANOS_PER_MILLI: u64 = 1_000_000;
const NANOS_PER_SEC: u64 = 1_000_000_000;
const LIMIT: u64 = 1 << 63;

fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        // Go accepts the micro sign (U+00B5) and the Greek small letter mu (U+03BC).
        "us" | "\u{b5}s" | "\u{3bc}s" => NANOS_PER_MICRO,
        "ms" => NANOS_PER_MILLI,
        "s" => NANOS_PER_SEC,
        "m" => 60 * NANOS_PER_SEC,
        "h" => 3600 * NANOS_PER_SEC,
        _ => return None,
    })
}

/// Parses `s` with the grammar of Go's `time.ParseDuration` and returns signed nanoseconds.
///
/// `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`, or exactly `"0"`; units `ns`, `us`/`µs`/`μs`, `ms`,
/// `s`, `m`, `h`; the result must fit in an `i64` of nanoseconds.
pub fn parse_go_duration(input: &str) -> Result<i64, DurationError> {
    let invalid = || DurationError::Invalid(input.to_owned());
    let mut s = input.as_bytes();
    let mut neg = false;
    if let Some(&c) = s.first() {
        if c == b'-' || c == b'+' {
            neg = c == b'-';
            s = &s[1..];
        }
    }
    if s == b"0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(invalid());
        }
        let before = s.len();
        let (int_part, rest) = leading_int(s).ok_or_else(invalid)?;
        s = rest;
        let had_int = before != s.len();

        let mut frac: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut had_frac = false;
        if s.first() == Some(&b'.') {
            s = &s[1..];
            let before = s.len();
            let (f, sc, rest) = leading_fraction(s);
            frac = f;
            scale = sc;
            s = rest;
            had_frac = before != s.len();
        }
        if !had_int && !had_frac {
            return Err(invalid());
        }

        let unit_len = s
            .iter()
            .position(|&c| c == b'.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if unit_len == 0 {
            return Err(DurationError::MissingUnit(input.to_owned()));
        }
        let unit_str = String::from_utf8_lossy(&s[..unit_len]).into_owned();
        s = &s[unit_len..];
        let unit = unit_nanos(&unit_str).ok_or_else(|| DurationError::UnknownUnit {
            unit: unit_str.clone(),
            input: input.to_owned(),
        })?;

        if int_part > LIMIT / unit {
            return Err(invalid());
        }
        let mut v = int_part * unit;
        if frac > 0 {
            // Float arithmetic here mirrors Go, so rounding of long fractions matches it.
            v += (frac as f64 * (unit as f64 / scale)) as u64;
            if v > LIMIT {
                return Err(invalid());
            }
        }
        total += v;
        if total > LIMIT {
            return Err(invalid());
        }
    }
    if neg {
        // -(1<<63) is representable, so the wrap is exact.
        return Ok((total as i64).wrapping_neg());
    }
    if total > LIMIT - 1 {
        return Err(invalid());
    }
    Ok(total as i64)
}

/// Consumes leading decimal digits; `None` on overflow past 1<<63.
fn leading_int(s: &[u8]) -> Option<(u64, &[u8])> {
    let mut x: u64 = 0;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        if x > LIMIT / 10 {
            return None;
        }
        x = x * 10 + u64::from(s[i] - b'0');
        if x > LIMIT {
            return None;
        }
        i += 1;
    }
    Some((x, &s[i..]))
}

/// Consumes fraction digits; digits beyond what fits are ignored (not an error), like Go.
fn leading_fraction(s: &[u8]) -> (u64, f64, &[u8]) {
    let mut x: u64 = 0;
    let mut scale = 1.0;
    let mut overflow = false;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        let digit = u64::from(s[i] - b'0');
        i += 1;
        if overflow {
            continue;
        }
        if x > (LIMIT - 1) / 10 {
            overflow = true;
            continue;
        }
        let y = x * 10 + digit;
        if y > LIMIT {
            overflow = true;
            continue;
        }
        x = y;
        scale *= 10.0;
    }
    (x, scale, &s[i..])
}

/// Formats signed nanoseconds exactly like Go's `time.Duration.String()`.
pub fn format_go_duration(nanos: i128) -> String {
    let neg = nanos < 0;
    let mut u = nanos.unsigned_abs();
    // Built back to front, as the largest unit is only known after the division chain.
    let mut out: Vec<char> = Vec::with_capacity(32);
    if u < u128::from(NANOS_PER_SEC) {
        if u == 0 {
            return "0s".to_owned();
        }
        out.push('s');
        let prec = if u < u128::from(NANOS_PER_MICRO) {
            out.push('n');
            0
        } else if u < u128::from(NANOS_PER_MILLI) {
            out.push('\u{b5}');
            3
        } else {
            out.push('m');
            6
        };
        u = push_fraction(&mut out, u, prec);
        push_int(&mut out, u);
    } else {
        out.push('s');
        u = push_fraction(&mut out, u, 9);
        push_int(&mut out, u % 60);
        u /= 60;
        if u > 0 {
            out.push('m');
            push_int(&mut out, u % 60);
            u /= 60;
            if u > 0 {
                out.push('h');
                push_int(&mut out, u);
            }
        }
    }
    if neg {
        out.push('-');
    }
    out.iter().rev().collect()
}

/// Pushes (reversed) the lowest `prec` digits of `v` as a fraction without trailing zeros,
/// omitting the dot when the fraction is zero; returns `v` with those digits removed.
fn push_fraction(out: &mut Vec<char>, mut v: u128, prec: u32) -> u128 {
    let mut printed = false;
    for _ in 0..prec {
        let digit = (v % 10) as u32;
        printed = printed || digit != 0;
        if printed {
            out.push(char::from_digit(digit, 10).unwrap_or('0'));
        }
        v /= 10;
    }
    if printed {
        out.push('.');
    }
    v
}

fn push_int(out: &mut Vec<char>, mut v: u128) {
    if v == 0 {
        out.push('0');
        return;
    }
    while v > 0 {
        out.push(char::from_digit((v % 10) as u32, 10).unwrap_or('0'));
        v /= 10;
    }
}

/// Quotes like Go's `time` package does in its error messages: bytes of non-ASCII or control
/// characters become `\xNN`, quotes and backslashes are escaped.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if !c.is_ascii() || c.is_ascii_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        } else {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out.push('"');
    out
}

thread_local! {
    /// Set while `crate::schema` serializes defaults, so duration leaves can be told apart
    /// from plain strings without a hand-maintained list of duration keys.
    static MARK_DURATIONS: Cell<bool> = const { Cell::new(false) };
}

/// The key of the one-entry object a duration serializes to while marking is on.
pub(crate) const DURATION_MARKER: &str = "\u{0}gyre-duration";

/// Runs `f` with duration marking on (see [`DURATION_MARKER`]).
pub(crate) fn with_duration_markers<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            MARK_DURATIONS.with(|m| m.set(self.0));
        }
    }
    let _reset = Reset(MARK_DURATIONS.with(|m| m.replace(true)));
    f()
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = self.to_string();
        if MARK_DURATIONS.with(Cell::get) {
            use serde::ser::SerializeMap;
            let mut map = s.serialize_map(Some(1))?;
            map.serialize_entry(DURATION_MARKER, &text)?;
            return map.end();
        }
        s.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DurationVisitor)
    }
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Go duration string such as \"25s\" or a number of nanoseconds")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        Duration::parse(v).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
        Ok(Duration::from_go_nanos(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
        Ok(Duration::from_nanos(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
        // Viper's weak decoding truncates floats into the integer nanosecond count.
        if !v.is_finite() {
            return Err(E::custom("duration must be a finite number"));
        }
        Ok(Duration::from_go_nanos(
            v.trunc().clamp(0.0, i64::MAX as f64) as i64
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: i64 = 1;
    const US: i64 = 1_000;
    const MS: i64 = 1_000_000;
    const S: i64 = 1_000_000_000;
    const M: i64 = 60 * S;
    const H: i64 = 60 * M;

    #[test]
    fn parses_like_go() {
        let table: &[(&str, i64)] = &[
            ("0", 0),
            ("-0", 0),
            ("+0", 0),
            ("7s", 7 * S),
            ("45s", 45 * S),
            ("-7s", -7 * S),
            ("+7s", 7 * S),
            ("300ms", 300 * MS),
            ("2.0s", 2 * S),
            ("2.5s", 2 * S + 500 * MS),
            ("2.s", 2 * S),
            (".25s", 250 * MS),
            ("1.0010s", S + MS),
            ("250.00250s", 250 * S + 2500 * US),
            ("15ns", 15 * NS),
            ("21us", 21 * US),
            ("22\u{b5}s", 22 * US),
            ("23\u{3bc}s", 23 * US),
            ("17ms", 17 * MS),
            ("19m", 19 * M),
            ("20h", 20 * H),
            ("1h30m", H + 30 * M),
            ("1.5h", H + 30 * M),
            ("7.5s2m", 2 * M + 7 * S + 500 * MS),
            ("-3m1.5s", -(3 * M + S + 500 * MS)),
            ("2h3m4s5ms6us7ns", 2 * H + 3 * M + 4 * S + 5 * MS + 6 * US + 7),
            ("720h", 720 * H),
            ("0.25h", 15 * M),
            ("0.3333333333333333333h", 20 * M),
            ("9007199254740993ns", (1 << 53) + 1),
            ("9223372036854775807ns", i64::MAX),
            ("9223372036854775.807us", i64::MAX),
            ("9223372036s854ms775us807ns", i64::MAX),
            ("-9223372036854775808ns", i64::MIN),
            ("-9223372036854775.808us", i64::MIN),
            ("0.100000000000000000000h", 6 * M),
        ];
        for (input, want) in table {
            assert_eq!(parse_go_duration(input), Ok(*want), "input {input:?}");
        }
    }

    #[test]
    fn rejects_like_go() {
        let table = [
            "",
            "3",
            "100",
            "-",
            "s",
            ".",
            "-.",
            ".s",
            "+.s",
            "1d",
            "1h 30m",
            "\u{85}\u{85}",
            "9223372036854775810ns",
            "9223372036854775808ns",
            "-9223372036854775809ns",
            "9223372036854776us",
            "3000000h",
            "9223372036854775.808us",
            "9223372036854ms775us808ns",
        ];
        for input in table {
            assert!(parse_go_duration(input).is_err(), "input {input:?}");
        }
    }

    #[test]
    fn error_texts_match_go() {
        assert_eq!(
            parse_go_duration("100").unwrap_err().to_string(),
            "time: missing unit in duration \"100\""
        );
        assert_eq!(
            parse_go_duration("5d").unwrap_err().to_string(),
            "time: unknown unit \"d\" in duration \"5d\""
        );
        assert_eq!(
            parse_go_duration("abc").unwrap_err().to_string(),
            "time: invalid duration \"abc\""
        );
        assert_eq!(
            parse_go_duration("1\u{e9}").unwrap_err().to_string(),
            "time: unknown unit \"\\xc3\\xa9\" in duration \"1\\xc3\\xa9\""
        );
    }

    #[test]
    fn formats_like_go() {
        let table: &[(i128, &str)] = &[
            (0, "0s"),
            (1, "1ns"),
            (1_100, "1.1\u{b5}s"),
            (2_200 * 1_000, "2.2ms"),
            (MS as i128, "1ms"),
            (3_300 * MS as i128, "3.3s"),
            (25 * S as i128, "25s"),
            ((M + 30 * S) as i128, "1m30s"),
            ((4 * M + 5 * S) as i128, "4m5s"),
            ((4 * M + 5 * S + MS) as i128, "4m5.001s"),
            ((5 * H + 6 * M + 7 * S + MS) as i128, "5h6m7.001s"),
            ((8 * M + 1) as i128, "8m0.000000001s"),
            (H as i128, "1h0m0s"),
            ((720 * H) as i128, "720h0m0s"),
            (-(S as i128), "-1s"),
            (i64::MAX as i128, "2562047h47m16.854775807s"),
            (i64::MIN as i128, "-2562047h47m16.854775808s"),
        ];
        for (nanos, want) in table {
            assert_eq!(format_go_duration(*nanos), *want, "nanos {nanos}");
        }
    }

    #[test]
    fn serde_round_trip() {
        let d: Duration = serde_json::from_str("\"1m30s\"").unwrap();
        assert_eq!(d, Duration::from_secs(90));
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"1m30s\"");
        // A bare number is nanoseconds, as in Go.
        let d: Duration = serde_json::from_str("1000000").unwrap();
        assert_eq!(d, Duration::from_millis(1));
        // Negative values cannot be stored and clamp to zero.
        let d: Duration = serde_json::from_str("\"-5s\"").unwrap();
        assert_eq!(d, Duration::ZERO);
        assert!(serde_json::from_str::<Duration>("\"100\"").is_err());
    }
}
