//! Client transports as axum routes.
//!
//! * [`websocket_router`]: the bidirectional WebSocket endpoint. The session reads and the core's
//!   writer writes straight on the socket (see `websocket/conn.rs`).
//! * [`serve_http`]: the HTTP/1.1 accept loop every router here is served by.
//! * [`emulation_routers`]: bidirectional emulation, HTTP-streaming and SSE connections with the
//!   `/emulation` endpoint that carries their later commands.
//! * [`unidirectional_router`]: `uni_websocket`, `uni_sse` and `uni_http_stream`.
//! * [`origin_allowed`] / [`OriginChecker`]: Centrifugo's `client.allowed_origins` rule, shared
//!   with the HTTP transports (as CORS there).
#![forbid(unsafe_code)]

mod body;
mod cors;
mod emulation;
mod headers;
mod http_server;
mod origin;
mod query;
mod stream;
mod uni;
mod varint;
mod websocket;
#[cfg(feature = "webtransport")]
mod webtransport;

use gyre_config::SharedConfig;
use gyre_core::Node;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use emulation::EmulationRouters;
pub use origin::OriginChecker;
/// `/connection/webtransport` over HTTP/3 (feature `webtransport`): bind with the
/// `http_server.tls` certificate, then serve until shutdown.
#[cfg(feature = "webtransport")]
pub use webtransport::{WebTransportError, WebTransportServer};

/// `GET {websocket.handler_prefix}` (default `/connection/websocket`): origin check against
/// `client.allowed_origins` (403 before upgrade), JSON or Protobuf (`centrifuge-protobuf`
/// subprotocol, `format=protobuf` / `cf_protocol=protobuf` query), inbound size limit → close 1009,
/// permessage-deflate when `websocket.compression` is on and the client offers it.
///
/// The route path is read from the snapshot when the router is built; limits, origins and ping
/// settings are read per request, so a reload applies to new connections.
pub fn websocket_router(node: Node, config: SharedConfig) -> axum::Router {
    websocket::router(node, config)
}

/// Bidirectional emulation (`http_stream.enabled`, `sse.enabled`): the connection endpoints
/// (`/connection/http_stream`, `/connection/sse`) and `/emulation`, which routes an emulated
/// client's later commands to its stream by session id. CORS as in Centrifugo on both.
///
/// Paths are read from the snapshot when the routers are built; body limits per request.
pub fn emulation_routers(node: Node, config: SharedConfig) -> EmulationRouters {
    emulation::routers(node, config)
}

/// The unidirectional endpoints that are enabled: `/connection/uni_websocket`,
/// `/connection/uni_sse`, `/connection/uni_http_stream` (JSON connect request in, pushes out).
pub fn unidirectional_router(node: Node, config: SharedConfig) -> axum::Router {
    uni::router(node, config)
}

/// Centrifugo's origin rule: no `Origin` header → allowed; empty list → every origin refused;
/// otherwise glob patterns (`*` matches any run of characters) against the lower-cased origin.
/// Compiles the patterns on each call: keep an [`OriginChecker`] for repeated checks.
pub fn origin_allowed(origin: Option<&str>, allowed: &[String]) -> bool {
    OriginChecker::new(allowed).allows(origin)
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then waits (bounded) for in-flight
/// requests. HTTP/1.1 with a 10 s header read timeout; upgraded WebSockets are not waited for
/// (the node closes them).
pub async fn serve_http(listener: TcpListener, router: axum::Router, shutdown: CancellationToken) {
    http_server::accept_loop(listener, router, shutdown).await
}
