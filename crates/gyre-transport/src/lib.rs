//! Client transports as axum routes. CONTRACT (implemented by the transport work package).
#![forbid(unsafe_code)]

use gyre_config::SharedConfig;
use gyre_core::Node;

/// `GET {websocket.handler_prefix}` (default `/connection/websocket`): origin check against
/// `client.allowed_origins` (403 before upgrade), JSON or Protobuf (`centrifuge-protobuf`
/// subprotocol, `format=protobuf` / `cf_protocol=protobuf` query), inbound size limit → close 1009.
pub fn websocket_router(node: Node, config: SharedConfig) -> axum::Router {
    let _ = (node, config);
    todo!("transport work package")
}

/// Centrifugo's origin rule: no `Origin` header → allowed; empty list → every origin refused;
/// otherwise glob patterns (`*` matches any run of characters) against the lower-cased origin.
pub fn origin_allowed(origin: Option<&str>, allowed: &[String]) -> bool {
    let _ = (origin, allowed);
    todo!("transport work package")
}
