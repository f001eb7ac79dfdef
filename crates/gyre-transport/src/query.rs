//! Query parameters as Go's `url.Values.Get` reads them: form-decoded (`+` is a space, `%XX`
//! escapes), the first value of a key, pairs with a malformed escape skipped.

/// The first decoded value of `key` in a raw query string.
pub(crate) fn get(query: Option<&str>, key: &str) -> Option<String> {
    query?
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((decode(k)?, decode(v)?))
        })
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// Form-decodes one component; `None` for a malformed escape. Bytes that are not UTF-8 become
/// U+FFFD (what follows is JSON parsing, which then fails as it would in Go).
fn decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding() {
        let q = Some("a=1&cf_connect=%7B%22token%22%3A%22x+y%22%7D&cf_connect=second");
        assert_eq!(get(q, "cf_connect").as_deref(), Some(r#"{"token":"x y"}"#));
        assert_eq!(get(q, "a").as_deref(), Some("1"));
        assert_eq!(get(q, "b"), None);
        assert_eq!(get(None, "a"), None);
        assert_eq!(get(Some("flag"), "flag").as_deref(), Some(""));
        // A malformed pair is skipped, the next one is used.
        assert_eq!(get(Some("k=%zz&k=ok"), "k").as_deref(), Some("ok"));
        assert_eq!(get(Some("k=%4"), "k"), None);
        assert_eq!(get(Some("k=%C3%A9"), "k").as_deref(), Some("é"));
        assert_eq!(get(Some("k=%ff"), "k").as_deref(), Some("\u{fffd}"));
    }
}
