//! What a WebSocket upgrade request asks for: wire format, subprotocol, ping style.

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
    let query = query.unwrap_or("");
    let mut protocol = if query_value(query, "format") == Some("protobuf")
        || query_value(query, "cf_protocol") == Some("protobuf")
    {
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
        frame_ping_pong: query_value(query, "cf_ws_frame_ping_pong") == Some("true"),
    }
}

/// The first value of `key` in a raw query string (`a=1&b=2`). Keys and values are compared
/// without percent-decoding: the values that matter here never need it.
fn query_value<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
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

    #[test]
    fn route_paths() {
        assert_eq!(route_path("/connection/websocket"), "/connection/websocket");
        assert_eq!(route_path("/connection/websocket/"), "/connection/websocket");
        assert_eq!(route_path(""), "/");
        assert_eq!(route_path("/"), "/");
        assert_eq!(route_path("ws"), "/ws");
    }
}
