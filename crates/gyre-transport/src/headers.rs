//! Which request headers a connection keeps for later (the user-id header and whatever a proxy
//! forwards); the rest are dropped at the handshake.

use std::collections::HashMap;

use axum::http::HeaderMap;
use gyre_config::Snapshot;

/// Whether the header `name` (lower-case) is read after the handshake.
pub(crate) fn retained(snapshot: &Snapshot, name: &str) -> bool {
    let config = &snapshot.config;
    config.client.user_id_http_header.eq_ignore_ascii_case(name)
        || config.all_proxies().any(|p| {
            p.http_headers
                .iter()
                .chain(&p.grpc_metadata)
                .any(|h| h.eq_ignore_ascii_case(name))
        })
}

/// The headers of a connection request that the connection keeps (see [`retained`]).
pub(crate) fn kept(headers: &HeaderMap, snapshot: &Snapshot) -> HashMap<String, String> {
    header_map(headers, |name| retained(snapshot, name))
}

/// The request headers some part of the server reads later, with lower-case names (as `HeaderMap`
/// stores them); repeated headers are joined with ", ", headers that are not UTF-8 are left out.
/// Keeping only those matters: a browser sends a kilobyte of headers, and every connection would
/// carry them for its whole life.
fn header_map(headers: &HeaderMap, keep: impl Fn(&str) -> bool) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = HashMap::new();
    for (name, value) in headers {
        if !keep(name.as_str()) {
            continue;
        }
        let Ok(value) = value.to_str() else { continue };
        out.entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(value);
            })
            .or_insert_with(|| value.to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use gyre_config::Config;

    use super::*;

    #[test]
    fn only_configured_headers_are_kept() {
        let mut config = Config::default();
        assert!(!retained(&Snapshot::new(config.clone()).unwrap(), "cookie"));
        config.client.user_id_http_header = "X-User-Id".into();
        config.channel.proxy.subscribe.http_headers = vec!["Cookie".into()];
        let snapshot = Snapshot::new(config).unwrap();
        assert!(retained(&snapshot, "x-user-id"));
        assert!(retained(&snapshot, "cookie"));
        assert!(!retained(&snapshot, "user-agent"));
    }

    #[test]
    fn headers_are_lower_case_and_joined() {
        let mut headers = HeaderMap::new();
        headers.append("X-User-Id", HeaderValue::from_static("17"));
        headers.append("accept", HeaderValue::from_static("a"));
        headers.append("accept", HeaderValue::from_static("b"));
        headers.append("x-bin", HeaderValue::from_bytes(b"\xff").unwrap());
        let map = header_map(&headers, |name| name != "x-skip");
        headers.append("x-skip", HeaderValue::from_static("1"));
        assert!(!header_map(&headers, |name| name != "x-skip").contains_key("x-skip"));
        assert_eq!(map.get("x-user-id").map(String::as_str), Some("17"));
        assert_eq!(map.get("accept").map(String::as_str), Some("a, b"));
        assert!(!map.contains_key("x-bin"));
    }
}
