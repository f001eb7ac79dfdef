//! Low-level JSON output: objects with omitempty fields, escaped strings, numbers and embedded raw
//! JSON. The message layouts live in `encode.rs`.
//!
//! String escaping follows the Go server byte for byte (so golden frames match): `"` and `\` are
//! backslash-escaped, `\n` `\r` `\t` use their short forms, every other control character and the
//! HTML-sensitive `<` `>` `&` become `\u00XX` (lower-case hex), and U+2028/U+2029 become
//! `\u2028`/`\u2029`. Everything else, including non-ASCII, is written as UTF-8.

use serde::de::IgnoredAny;

use crate::codec::EncodeError;

/// What a byte needs when it appears inside a JSON string.
const NONE: u8 = 0;
const HEX: u8 = b'u';
/// First byte of U+2028/U+2029 (`E2 80 A8`/`E2 80 A9`): look at the next two bytes.
const LINE_SEP_LEAD: u8 = 0xE2;

static ESCAPE: [u8; 256] = escape_table(false);

/// The table of the Go helper that turns delta payloads into strings: same rules, except that
/// backspace and form feed get their short forms. Kept separate so both outputs match Go exactly.
static ESCAPE_PAYLOAD: [u8; 256] = escape_table(true);

const fn escape_table(short_b_f: bool) -> [u8; 256] {
    let mut table = [NONE; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = HEX;
        b += 1;
    }
    table[b'\n' as usize] = b'n';
    table[b'\r' as usize] = b'r';
    table[b'\t' as usize] = b't';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table[b'<' as usize] = HEX;
    table[b'>' as usize] = HEX;
    table[b'&' as usize] = HEX;
    table[LINE_SEP_LEAD as usize] = LINE_SEP_LEAD;
    if short_b_f {
        table[0x08] = b'b';
        table[0x0c] = b'f';
    }
    table
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends `s` as a quoted JSON string.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    escape_utf8(out, s.as_bytes(), &ESCAPE);
    out.push(b'"');
}

/// Appends arbitrary bytes as a quoted JSON string. Bytes that are not UTF-8 become U+FFFD, one
/// per invalid byte (what the Go server's string escaping does), and `\b`/`\f` use short forms.
pub(crate) fn write_bytes_as_str(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    for chunk in bytes.utf8_chunks() {
        escape_utf8(out, chunk.valid().as_bytes(), &ESCAPE_PAYLOAD);
        for _ in chunk.invalid() {
            out.extend_from_slice(b"\\ufffd");
        }
    }
    out.push(b'"');
}

/// Escapes valid UTF-8 `bytes` (no quotes).
fn escape_utf8(out: &mut Vec<u8>, bytes: &[u8], table: &[u8; 256]) {
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        let action = table[byte as usize];
        if action == NONE {
            i += 1;
            continue;
        }
        if action == LINE_SEP_LEAD {
            // Valid UTF-8, so a lead byte 0xE2 is followed by two continuation bytes.
            let is_separator =
                bytes.get(i + 1) == Some(&0x80) && matches!(bytes.get(i + 2), Some(0xA8) | Some(0xA9));
            if !is_separator {
                i += 1;
                continue;
            }
            out.extend_from_slice(&bytes[start..i]);
            out.extend_from_slice(if bytes[i + 2] == 0xA8 {
                b"\\u2028"
            } else {
                b"\\u2029"
            });
            i += 3;
            start = i;
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        if action == HEX {
            out.extend_from_slice(b"\\u00");
            out.push(HEX_DIGITS[(byte >> 4) as usize]);
            out.push(HEX_DIGITS[(byte & 0x0f) as usize]);
        } else {
            out.push(b'\\');
            out.push(action);
        }
        i += 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Appends a raw JSON payload with every `\n` byte removed, then checks that what was written is
/// one valid JSON value (UTF-8, nothing after it). On error `out` is left as it was.
///
/// Removing `\n` keeps valid JSON valid (it can only be whitespace between tokens) and keeps the
/// message free of the frame delimiter. A payload that was nothing but newlines is written as
/// `null`, as the Go server does.
pub(crate) fn write_raw(out: &mut Vec<u8>, raw: &[u8]) -> Result<(), EncodeError> {
    let start = out.len();
    out.reserve(raw.len());
    let mut rest = raw;
    while let Some(pos) = memchr::memchr(b'\n', rest) {
        out.extend_from_slice(&rest[..pos]);
        rest = &rest[pos + 1..];
    }
    out.extend_from_slice(rest);
    if out.len() == start {
        out.extend_from_slice(b"null");
        return Ok(());
    }
    if is_valid_json(&out[start..]) {
        Ok(())
    } else {
        out.truncate(start);
        Err(EncodeError::InvalidJson)
    }
}

/// Whether `data` is exactly one JSON value (surrounding whitespace allowed) encoded as UTF-8.
///
/// The UTF-8 check comes first because serde_json skips over string contents without validating
/// them when it only needs to ignore a value; JSON frames go out as WebSocket text frames, which
/// must be UTF-8. Nesting deeper than serde_json's limit (128) is reported as invalid.
pub fn is_valid_json(data: &[u8]) -> bool {
    match std::str::from_utf8(data) {
        Ok(text) => serde_json::from_str::<IgnoredAny>(text).is_ok(),
        Err(_) => false,
    }
}

/// One JSON object being written. Fields are appended in call order; the first one is not
/// preceded by a comma.
pub(crate) struct Obj<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Obj<'a> {
    pub(crate) fn open(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Obj { out, first: true }
    }

    pub(crate) fn close(self) {
        self.out.push(b'}');
    }

    /// Writes the key (and the separating comma) and hands out the buffer for the value.
    pub(crate) fn key(&mut self, name: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    pub(crate) fn str(&mut self, name: &str, value: &str) {
        write_str(self.key(name), value);
    }

    pub(crate) fn str_nonempty(&mut self, name: &str, value: &str) {
        if !value.is_empty() {
            self.str(name, value);
        }
    }

    pub(crate) fn uint(&mut self, name: &str, value: u64) {
        let mut buf = itoa::Buffer::new();
        let text = buf.format(value);
        self.key(name).extend_from_slice(text.as_bytes());
    }

    pub(crate) fn uint_nonzero(&mut self, name: &str, value: u64) {
        if value != 0 {
            self.uint(name, value);
        }
    }

    pub(crate) fn int_nonzero(&mut self, name: &str, value: i64) {
        if value != 0 {
            let mut buf = itoa::Buffer::new();
            let text = buf.format(value);
            self.key(name).extend_from_slice(text.as_bytes());
        }
    }

    pub(crate) fn bool_true(&mut self, name: &str, value: bool) {
        if value {
            self.key(name).extend_from_slice(b"true");
        }
    }

    /// Embedded raw JSON, omitted when empty.
    pub(crate) fn raw_nonempty(&mut self, name: &str, raw: &[u8]) -> Result<(), EncodeError> {
        if raw.is_empty() {
            return Ok(());
        }
        write_raw(self.key(name), raw)
    }

    /// Writes a key that needs escaping (a map key); the value follows through [`Obj::buf`].
    pub(crate) fn str_key(&mut self, name: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        write_str(self.out, name);
        self.out.push(b':');
    }

    pub(crate) fn buf(&mut self) -> &mut Vec<u8> {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(s: &str) -> String {
        let mut out = Vec::new();
        write_str(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_like_go() {
        assert_eq!(escaped(""), r#""""#);
        assert_eq!(escaped("plain ascii"), r#""plain ascii""#);
        assert_eq!(escaped("q\"b\\"), r#""q\"b\\""#);
        assert_eq!(escaped("a\nb\rc\td"), r#""a\nb\rc\td""#);
        assert_eq!(escaped("\u{0}\u{8}\u{c}\u{1f}"), r#""\u0000\u0008\u000c\u001f""#);
        assert_eq!(escaped("<a&b>"), r#""\u003ca\u0026b\u003e""#);
        assert_eq!(escaped("x\u{2028}y\u{2029}z"), r#""x\u2028y\u2029z""#);
        // Other characters starting with E2 stay as UTF-8.
        assert_eq!(escaped("€ – ✓ ü \u{7f}"), "\"€ – ✓ ü \u{7f}\"");
        assert_eq!(escaped("/"), r#""/""#);
    }

    #[test]
    fn escaped_strings_parse_back() {
        let s = "mixed \"\\ \n\r\t\u{1} <>& \u{2028}\u{2029} \u{1F600} end";
        let parsed: String = serde_json::from_slice(escaped(s).as_bytes()).unwrap();
        assert_eq!(parsed, s);
    }

    #[test]
    fn bytes_as_string_replaces_each_invalid_byte() {
        let mut out = Vec::new();
        write_bytes_as_str(&mut out, b"ok\xff\xe2\x80!\n\x08\x0c\x01<");
        assert_eq!(out, br#""ok\ufffd\ufffd\ufffd!\n\b\f\u0001\u003c""#);
    }

    #[test]
    fn raw_strips_newlines_and_validates() {
        let mut out = b"x".to_vec();
        write_raw(&mut out, b"{\n\"a\": [1,\n2]\n}").unwrap();
        assert_eq!(out, b"x{\"a\": [1,2]}");

        let mut out = b"x".to_vec();
        assert_eq!(write_raw(&mut out, b"{\"a\""), Err(EncodeError::InvalidJson));
        assert_eq!(out, b"x");
        assert_eq!(write_raw(&mut out, b"\xff"), Err(EncodeError::InvalidJson));
        assert_eq!(write_raw(&mut out, b"\"\xff\""), Err(EncodeError::InvalidJson));
        assert_eq!(write_raw(&mut out, b"1 2"), Err(EncodeError::InvalidJson));
        assert_eq!(write_raw(&mut out, b" "), Err(EncodeError::InvalidJson));
        assert_eq!(out, b"x");

        let mut out = Vec::new();
        write_raw(&mut out, b"\n\n").unwrap();
        assert_eq!(out, b"null");
    }
}
