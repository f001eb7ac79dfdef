//! The server side of the RFC 6455 opening handshake, checked in the order Go's upgrader checks
//! it, with its status codes (Centrifugo's clients and tools see the same rejections).

use axum::http::header::{CONNECTION, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use base64::Engine;
use sha1::{Digest, Sha1};

/// The GUID every server appends to the client's key (RFC 6455 §1.3).
const ACCEPT_GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Checks an upgrade request up to (not including) the origin check. Every rejection carries
/// `Sec-WebSocket-Version: 13`, as Go's upgrader adds it to all of them.
pub(crate) fn check(method: &Method, headers: &HeaderMap) -> Result<(), StatusCode> {
    if !has_token(headers, CONNECTION, "upgrade") || !has_token(headers, UPGRADE, "websocket") {
        return Err(StatusCode::BAD_REQUEST);
    }
    if method != Method::GET {
        return Err(StatusCode::METHOD_NOT_ALLOWED);
    }
    if !has_token(headers, SEC_WEBSOCKET_VERSION, "13") {
        return Err(StatusCode::BAD_REQUEST);
    }
    Ok(())
}

/// The `Sec-WebSocket-Accept` value for the request's key (checked after the origin).
pub(crate) fn accept_key(headers: &HeaderMap) -> Result<HeaderValue, StatusCode> {
    let key = headers
        .get(SEC_WEBSOCKET_KEY)
        .map(|k| k.as_bytes().trim_ascii())
        .filter(|k| valid_key(k))
        .ok_or(StatusCode::BAD_REQUEST)?;
    Ok(accept_value(key))
}

/// A key is 16 random bytes in base64 (Go checks exactly that).
fn valid_key(key: &[u8]) -> bool {
    base64::engine::general_purpose::STANDARD
        .decode(key)
        .is_ok_and(|raw| raw.len() == 16)
}

fn accept_value(key: &[u8]) -> HeaderValue {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(ACCEPT_GUID);
    let encoded = base64::engine::general_purpose::STANDARD.encode(sha.finalize());
    HeaderValue::from_str(&encoded).expect("base64 is a valid header value")
}

/// Whether a comma-separated header contains `token` (case-insensitively), in any of its values.
fn has_token(headers: &HeaderMap, name: axum::http::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    const GOOD: &[(&str, &str)] = &[
        ("connection", "keep-alive, Upgrade"),
        ("upgrade", "WebSocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    #[test]
    fn rfc_example_key() {
        // RFC 6455 §1.3's worked example.
        let headers = request(GOOD);
        assert_eq!(check(&Method::GET, &headers), Ok(()));
        assert_eq!(accept_key(&headers).unwrap(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn rejections_in_go_order() {
        let without = |skip: &str| -> HeaderMap {
            request(
                &GOOD
                    .iter()
                    .copied()
                    .filter(|(k, _)| *k != skip)
                    .collect::<Vec<_>>(),
            )
        };
        let bad = Err(StatusCode::BAD_REQUEST);
        assert_eq!(check(&Method::GET, &without("connection")), bad);
        assert_eq!(check(&Method::GET, &without("upgrade")), bad);
        // A POST without upgrade headers is a bad request first, as in Go.
        assert_eq!(check(&Method::POST, &without("upgrade")), bad);
        assert_eq!(
            check(&Method::POST, &request(GOOD)),
            Err(StatusCode::METHOD_NOT_ALLOWED)
        );
        assert_eq!(check(&Method::GET, &without("sec-websocket-version")), bad);
        assert_eq!(
            accept_key(&without("sec-websocket-key")).unwrap_err(),
            StatusCode::BAD_REQUEST
        );
        let mut short_key = without("sec-websocket-key");
        short_key.insert(SEC_WEBSOCKET_KEY, HeaderValue::from_static("c2hvcnQ="));
        assert_eq!(accept_key(&short_key).unwrap_err(), StatusCode::BAD_REQUEST);
    }
}
