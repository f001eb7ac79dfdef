//! Bidirectional emulation: a client reads its replies and pushes from one long HTTP response
//! (HTTP-streaming or SSE) and sends later commands as separate `POST /emulation` requests, which
//! carry the session id and node id from its connect result.

mod endpoint;
mod http_stream;
mod registry;
mod sse;

use std::sync::Arc;

use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use bytes::Bytes;

use gyre_config::{SharedConfig, Snapshot};
use gyre_core::{Node, ProtocolType, TransportInfo};

use crate::stream::{self, Framing, Pipe, StreamReader, StreamWriter};
use crate::websocket::route_path;

pub(crate) use registry::Registration;
use registry::Registry;

struct EmulationState {
    node: Node,
    config: SharedConfig,
    registry: Arc<Registry>,
}

/// The routes of bidirectional emulation.
pub struct EmulationRouters {
    /// `http_stream.handler_prefix` and `sse.handler_prefix` (each when enabled): connection
    /// endpoints, subject to connection admission like the WebSocket endpoint.
    pub connections: Router,
    /// `emulation.handler_prefix`, present when either transport is enabled. Not a connection:
    /// it must not be refused by connection limits.
    pub endpoint: Router,
}

pub(crate) fn routers(node: Node, config: SharedConfig) -> EmulationRouters {
    let snapshot = config.load_full();
    let c = &snapshot.config;
    let state = Arc::new(EmulationState {
        node,
        config: config.clone(),
        registry: Arc::default(),
    });
    let mut connections = Router::new();
    let mut endpoint = Router::new();
    if c.http_stream.enabled {
        connections = connections.route(
            &route_path(&c.http_stream.handler_prefix),
            any(http_stream::handle),
        );
    }
    if c.sse.enabled {
        connections = connections.route(&route_path(&c.sse.handler_prefix), any(sse::handle));
    }
    if c.http_stream.enabled || c.sse.enabled {
        endpoint = endpoint.route(&route_path(&c.emulation.handler_prefix), any(endpoint::handle));
    }
    EmulationRouters {
        connections: crate::cors::layer(connections.with_state(state.clone()), config.clone()),
        endpoint: crate::cors::layer(endpoint.with_state(state), config),
    }
}

/// Starts an emulated connection whose first frame came with the request, and answers with its
/// stream at once (Go writes the status line before processing the frame).
fn start(
    state: &EmulationState,
    snapshot: &Snapshot,
    headers: &HeaderMap,
    name: &'static str,
    protocol: ProtocolType,
    first: Bytes,
    stream_limit: usize,
) -> Response {
    let sse = name == sse::NAME;
    let framing = match (sse, protocol) {
        (true, _) => Framing::Sse,
        (false, ProtocolType::Json) => Framing::JsonLines,
        (false, ProtocolType::Protobuf) => Framing::Protobuf,
    };
    let session = uuid::Uuid::new_v4().to_string();
    let (registration, later) = state.registry.register(session.clone(), protocol);
    let emulation_limit = crate::body::limit(snapshot.config.emulation.max_request_body_size);
    let info = TransportInfo {
        name,
        protocol,
        unidirectional: false,
        emulation: true,
        disconnect_push: true,
        app_level_ping: true,
        headers: crate::headers::kept(headers, snapshot),
        // A command is bounded by the body that carried it (Go decodes each body with its
        // length as the limit).
        max_message_size: stream_limit.max(emulation_limit),
        write_timeout: stream::WRITE_TIMEOUT,
        session,
        raw_connect_errors: false,
    };
    let pipe = Pipe::new(sse.then(|| Bytes::from_static(stream::SSE_PREFIX)));
    let reader = StreamReader::emulation(first, later, registration, pipe.peer.clone());
    let writer = StreamWriter::streaming(pipe.chunks, framing);
    tokio::spawn(state.node.serve_connection(info, reader, writer));
    stream::response(pipe.body, sse)
}
