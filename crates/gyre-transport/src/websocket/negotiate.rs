//! What a WebSocket upgrade request asks for: wire format, subprotocol, ping style, and whether
//! its permessage-deflate offer (RFC 7692) can be accepted.

use gyre_core::ProtocolType;

pub(crate) const JSON_SUBPROTOCOL: &str = "centrifuge-json";
pub(crate) const PROTOBUF_SUBPROTOCOL: &str = "centrifuge-protobuf";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Negotiated {
    pub(crate) protocol: ProtocolType,
    /// Echoed in `Sec-WebSocket-Protocol` when the client offered one we know.
    pub(crate) subprotocol: Option<&'static str>,
    /// `cf_ws_frame_ping_pong=true`: native ping frames instead of application pings (for tools
    /// like wscat or Postman that cannot answer application pings).
    pub(crate) frame_ping_pong: bool,
}

/// Protobuf when the query says `format=protobuf` or `cf_protocol=protobuf`, or when the chosen
/// subprotocol is `centrifuge-protobuf`; JSON otherwise. The subprotocol is the first offered one
/// we support, in the client's order (as Go's upgrader picks it).
pub(crate) fn negotiate<'a>(query: Option<&str>, offered: impl Iterator<Item = &'a str>) -> Negotiated {
    let is = |key: &str, value: &str| crate::query::get(query, key).as_deref() == Some(value);
    let mut protocol = if is("format", "protobuf") || is("cf_protocol", "protobuf") {
        ProtocolType::Protobuf
    } else {
        ProtocolType::Json
    };
    let subprotocol = offered
        .filter_map(|p| match p {
            JSON_SUBPROTOCOL => Some(JSON_SUBPROTOCOL),
            PROTOBUF_SUBPROTOCOL => Some(PROTOBUF_SUBPROTOCOL),
            _ => None,
        })
        .next();
    if subprotocol == Some(PROTOBUF_SUBPROTOCOL) {
        protocol = ProtocolType::Protobuf;
    }
    Negotiated {
        protocol,
        subprotocol,
        frame_ping_pong: is("cf_ws_frame_ping_pong", "true"),
    }
}

/// The `Sec-WebSocket-Extensions` answer to an accepted permessage-deflate offer. Like
/// Centrifugo's upgrader, no context is kept between messages in either direction: each message
/// is compressed on its own, so a compressed publication can be shared by every subscriber, and
/// no connection holds a compressor or decompressor while idle.
pub(crate) const DEFLATE_RESPONSE: &str =
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover";

/// Whether any permessage-deflate offer among the `Sec-WebSocket-Extensions` header values can
/// be accepted with [`DEFLATE_RESPONSE`]. Centrifugo accepts the first offer whatever its
/// parameters; Gyre declines the offers RFC 7692 §7 says to decline (unknown, repeated or invalid
/// parameters) and those asking for a compression window under 32 KiB
/// (`server_max_window_bits` < 15), which the compressor does not shrink. A later acceptable
/// offer is then taken instead.
pub(crate) fn deflate_offered<'a>(headers: impl Iterator<Item = &'a str>) -> bool {
    headers
        .flat_map(|value| split_unquoted(value, b','))
        .any(|offer| {
            let mut parts = split_unquoted(offer, b';');
            let name = parts.next().unwrap_or("").trim();
            name.eq_ignore_ascii_case("permessage-deflate") && deflate_params_acceptable(parts)
        })
}

fn deflate_params_acceptable<'a>(params: impl Iterator<Item = &'a str>) -> bool {
    const NAMES: [&str; 4] = [
        "server_no_context_takeover",
        "client_no_context_takeover",
        "server_max_window_bits",
        "client_max_window_bits",
    ];
    let mut seen = [false; NAMES.len()];
    for param in params {
        let (name, value) = match param.split_once('=') {
            Some((n, v)) => (n.trim(), Some(unquote(v.trim()))),
            None => (param.trim(), None),
        };
        let Some(i) = NAMES.iter().position(|n| n.eq_ignore_ascii_case(name)) else {
            return false;
        };
        if std::mem::replace(&mut seen[i], true) {
            return false;
        }
        let ok = match (i, value) {
            (0 | 1, None) => true,
            (2, Some(v)) => window_bits(v) == Some(15),
            (3, None) => true,
            (3, Some(v)) => window_bits(v).is_some(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// A window size parameter: 8 to 15 in decimal without leading zeros.
fn window_bits(v: &str) -> Option<u8> {
    if v.starts_with('0') || v.len() > 2 {
        return None;
    }
    v.parse().ok().filter(|b| (8..=15).contains(b))
}

fn unquote(v: &str) -> &str {
    v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v)
}

/// Splits a header value on `sep` outside double-quoted strings.
fn split_unquoted(value: &str, sep: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(value);
    std::iter::from_fn(move || {
        let s = rest?;
        let mut quoted = false;
        let mut escaped = false;
        for (i, b) in s.bytes().enumerate() {
            match b {
                _ if escaped => escaped = false,
                b'\\' if quoted => escaped = true,
                b'"' => quoted = !quoted,
                _ if b == sep && !quoted => {
                    rest = Some(&s[i + 1..]);
                    return Some(&s[..i]);
                }
                _ => {}
            }
        }
        rest = None;
        Some(s)
    })
}

/// The route for `websocket.handler_prefix`: trailing slashes trimmed, "/" when nothing is left
/// (as Centrifugo registers it), always starting with "/".
pub(crate) fn route_path(prefix: &str) -> String {
    let trimmed = prefix.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_owned()
    } else if trimmed.starts_with('/') {
        trimmed.to_owned()
    } else {
        format!("/{trimmed}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(query: Option<&str>, offered: &[&str]) -> Negotiated {
        negotiate(query, offered.iter().copied())
    }

    #[test]
    fn subprotocols() {
        let json = n(None, &[]);
        assert_eq!((json.protocol, json.subprotocol), (ProtocolType::Json, None));
        let json = n(None, &["centrifuge-json"]);
        assert_eq!(
            (json.protocol, json.subprotocol),
            (ProtocolType::Json, Some(JSON_SUBPROTOCOL))
        );
        let pb = n(None, &["centrifuge-protobuf"]);
        assert_eq!(
            (pb.protocol, pb.subprotocol),
            (ProtocolType::Protobuf, Some(PROTOBUF_SUBPROTOCOL))
        );
        // The client's order decides.
        assert_eq!(
            n(None, &["x", "centrifuge-protobuf", "centrifuge-json"]).subprotocol,
            Some(PROTOBUF_SUBPROTOCOL)
        );
        assert_eq!(
            n(None, &["centrifuge-json", "centrifuge-protobuf"]).protocol,
            ProtocolType::Json
        );
        assert_eq!(n(None, &["graphql-ws"]).subprotocol, None);
    }

    #[test]
    fn query_parameters() {
        assert_eq!(n(Some("format=protobuf"), &[]).protocol, ProtocolType::Protobuf);
        assert_eq!(
            n(Some("a=1&cf_protocol=protobuf"), &[]).protocol,
            ProtocolType::Protobuf
        );
        assert_eq!(n(Some("format=json"), &[]).protocol, ProtocolType::Json);
        // Only the first value counts.
        assert_eq!(
            n(Some("format=json&format=protobuf"), &[]).protocol,
            ProtocolType::Json
        );
        // The query wins over a JSON subprotocol.
        let mixed = n(Some("format=protobuf"), &["centrifuge-json"]);
        assert_eq!(
            (mixed.protocol, mixed.subprotocol),
            (ProtocolType::Protobuf, Some(JSON_SUBPROTOCOL))
        );
        assert!(n(Some("cf_ws_frame_ping_pong=true"), &[]).frame_ping_pong);
        assert!(!n(Some("cf_ws_frame_ping_pong=1"), &[]).frame_ping_pong);
        assert!(!n(Some("cf_ws_frame_ping_pong"), &[]).frame_ping_pong);
    }

    fn deflate(headers: &[&str]) -> bool {
        deflate_offered(headers.iter().copied())
    }

    #[test]
    fn deflate_offers() {
        // What browsers and the npm `ws` package send.
        assert!(deflate(&["permessage-deflate; client_max_window_bits"]));
        assert!(deflate(&["permessage-deflate"]));
        assert!(deflate(&["Permessage-Deflate;Server_No_Context_Takeover"]));
        assert!(deflate(&[
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=15; client_max_window_bits=10"
        ]));
        assert!(deflate(&["permessage-deflate; client_max_window_bits=\"9\""]));
        assert!(!deflate(&[]));
        assert!(!deflate(&["x-webkit-deflate-frame"]));
        assert!(!deflate(&[""]));
        // Declined offers: a smaller server window, unknown, repeated or malformed parameters.
        for offer in [
            "permessage-deflate; server_max_window_bits=10",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; client_max_window_bits=16",
            "permessage-deflate; client_max_window_bits=7",
            "permessage-deflate; client_max_window_bits=010",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
            "permessage-deflate; mystery",
        ] {
            assert!(!deflate(&[offer]), "{offer}");
            // The client's fallback offer after a declined one is taken.
            assert!(deflate(&[&format!("{offer}, permessage-deflate")]), "{offer}");
        }
        // Offers may be spread over several headers; quoted commas do not split offers.
        assert!(deflate(&["foo; a=\"x,y\"", "permessage-deflate"]));
        assert!(!deflate(&["foo; a=\"x, permessage-deflate\""]));
    }

    #[test]
    fn route_paths() {
        assert_eq!(route_path("/connection/websocket"), "/connection/websocket");
        assert_eq!(route_path("/connection/websocket/"), "/connection/websocket");
        assert_eq!(route_path(""), "/");
        assert_eq!(route_path("/"), "/");
        assert_eq!(route_path("ws"), "/ws");
    }
}
