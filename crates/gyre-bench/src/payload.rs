//! The publication payload: `{"s":SEQ,"t":SENT_NS,"p":"xxx…"}` padded to the requested size.
//!
//! `s` is the channel's sequence number, `t` the send time in nanoseconds since the Unix epoch
//! (publisher and subscribers run on one machine, so one clock). Both come first, in a fixed
//! order, so a subscriber finds them with one substring search and two digit runs instead of
//! parsing the whole push as JSON.

use std::time::{SystemTime, UNIX_EPOCH};

use memchr::memmem;

const SEQ_KEY: &[u8] = br#"{"s":"#;
const TS_KEY: &[u8] = br#","t":"#;

/// Nanoseconds since the Unix epoch.
pub(crate) fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Writes the payload for `seq` sent at `sent_ns` into `out` (cleared first), padded with `x`
/// to `size` bytes when `size` is larger than the unpadded form.
pub(crate) fn write(out: &mut Vec<u8>, seq: u64, sent_ns: u64, size: usize) {
    out.clear();
    let mut num = itoa::Buffer::new();
    out.extend_from_slice(SEQ_KEY);
    out.extend_from_slice(num.format(seq).as_bytes());
    out.extend_from_slice(TS_KEY);
    out.extend_from_slice(num.format(sent_ns).as_bytes());
    out.extend_from_slice(br#","p":""#);
    let fixed = out.len() + 2;
    out.resize(out.len() + size.saturating_sub(fixed), b'x');
    out.extend_from_slice(br#""}"#);
}

/// Finds the payload inside `msg` (a whole JSON push, or the bare payload) and returns
/// `(seq, sent_ns)`.
pub(crate) fn parse(msg: &[u8]) -> Option<(u64, u64)> {
    let at = memmem::find(msg, SEQ_KEY)? + SEQ_KEY.len();
    let (seq, len) = digits(&msg[at..])?;
    let rest = msg[at + len..].strip_prefix(TS_KEY)?;
    let (sent, _) = digits(rest)?;
    Some((seq, sent))
}

/// A leading run of ASCII digits as `u64`, and its length; `None` when empty or overflowing.
fn digits(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    let mut len = 0;
    for &b in bytes {
        if !b.is_ascii_digit() {
            break;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        len += 1;
    }
    (len > 0).then_some((value, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_size() {
        let mut buf = Vec::new();
        write(&mut buf, 42, 1_700_000_000_123_456_789, 100);
        assert_eq!(buf.len(), 100);
        let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["s"], 42);
        assert_eq!(parse(&buf), Some((42, 1_700_000_000_123_456_789)));
    }

    #[test]
    fn small_size_is_not_padded() {
        let mut buf = Vec::new();
        write(&mut buf, 0, 7, 1);
        assert_eq!(buf, br#"{"s":0,"t":7,"p":""}"#);
    }

    #[test]
    fn parses_inside_a_push() {
        let mut data = Vec::new();
        write(&mut data, 9, 123, 40);
        let push = format!(
            r#"{{"push":{{"channel":"bench.1","pub":{{"data":{},"offset":10}}}}}}"#,
            String::from_utf8(data).unwrap()
        );
        assert_eq!(parse(push.as_bytes()), Some((9, 123)));
    }

    #[test]
    fn rejects_foreign_json() {
        assert_eq!(parse(b"{}"), None);
        assert_eq!(parse(br#"{"s":,"t":1}"#), None);
        assert_eq!(parse(br#"{"s":1}"#), None);
        assert_eq!(parse(br#"{"s":99999999999999999999,"t":1}"#), None);
    }
}
