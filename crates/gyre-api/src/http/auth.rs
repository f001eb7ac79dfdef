//! API key check, done on the request head before any of the body is read.

use axum::http::HeaderMap;
use gyre_config::HttpApi;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Whether the request may use the API.
///
/// Order as in Centrifugo: `X-API-Key`, else `Authorization: apikey <KEY>`, then (if neither
/// header matched) the `api_key` query parameter. An empty configured key refuses everything
/// unless `insecure` is set.
pub(crate) fn authorized(config: &HttpApi, headers: &HeaderMap, query: Option<&str>) -> bool {
    if config.insecure {
        return true;
    }
    if config.key.is_empty() {
        tracing::error!("API key is empty");
        return false;
    }
    let expected = Sha256::digest(config.key.as_bytes());
    let matches = |given: &[u8]| -> bool { bool::from(Sha256::digest(given).ct_eq(&expected)) };

    let mut valid = false;
    match headers.get("x-api-key").filter(|v| !v.is_empty()) {
        Some(value) => valid = matches(value.as_bytes()),
        None => {
            if let Some(value) = headers.get(axum::http::header::AUTHORIZATION) {
                let parts: Vec<&[u8]> = value
                    .as_bytes()
                    .split(u8::is_ascii_whitespace)
                    .filter(|p| !p.is_empty())
                    .collect();
                if let [scheme, key] = parts[..] {
                    valid = scheme.eq_ignore_ascii_case(b"apikey") && matches(key);
                }
            }
        }
    }
    if !valid {
        if let Some(query) = query.filter(|q| !q.is_empty()) {
            valid = matches(query_param(query, "api_key").unwrap_or_default().as_bytes());
        }
    }
    valid
}

/// The first value of `name` in a URL query string, percent- and `+`-decoded.
fn query_param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (url_decode(k)? == name).then(|| url_decode(v)).flatten()
        })
        .next()
}

/// Form-style URL decoding; `None` for a malformed escape or non-UTF-8 result (Go skips such
/// pairs too).
fn url_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
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
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn cfg(key: &str) -> HttpApi {
        HttpApi {
            key: key.into(),
            ..HttpApi::default()
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn key_sources() {
        let c = cfg("secret");
        assert!(authorized(&c, &headers(&[("x-api-key", "secret")]), None));
        assert!(!authorized(&c, &headers(&[("x-api-key", "secreT")]), None));
        assert!(authorized(
            &c,
            &headers(&[("authorization", "apikey secret")]),
            None
        ));
        assert!(authorized(
            &c,
            &headers(&[("authorization", "ApiKey   secret")]),
            None
        ));
        assert!(!authorized(
            &c,
            &headers(&[("authorization", "apikey secret x")]),
            None
        ));
        assert!(!authorized(
            &c,
            &headers(&[("authorization", "bearer secret")]),
            None
        ));
        assert!(authorized(&c, &HeaderMap::new(), Some("a=1&api_key=secret")));
        assert!(authorized(&c, &HeaderMap::new(), Some("api_key=se%63ret")));
        assert!(!authorized(&c, &HeaderMap::new(), Some("api_key=")));
        assert!(!authorized(&c, &HeaderMap::new(), None));
        // A present X-API-Key shadows the Authorization header, not the query parameter.
        assert!(!authorized(
            &c,
            &headers(&[("x-api-key", "bad"), ("authorization", "apikey secret")]),
            None
        ));
        assert!(authorized(
            &c,
            &headers(&[("x-api-key", "bad")]),
            Some("api_key=secret")
        ));
    }

    #[test]
    fn empty_key_and_insecure() {
        assert!(!authorized(
            &cfg(""),
            &headers(&[("x-api-key", "")]),
            Some("api_key=")
        ));
        let insecure = HttpApi {
            insecure: true,
            ..HttpApi::default()
        };
        assert!(authorized(&insecure, &HeaderMap::new(), None));
    }

    #[test]
    fn decoding() {
        assert_eq!(
            query_param("x=1&api_key=a+b%2F", "api_key").as_deref(),
            Some("a b/")
        );
        assert_eq!(
            query_param("api_key=%zz&api_key=ok", "api_key").as_deref(),
            Some("ok")
        );
        assert_eq!(query_param("other=1", "api_key"), None);
    }
}
