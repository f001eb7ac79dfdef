//! The bidirectional WebSocket endpoint (`websocket.handler_prefix`).

mod negotiate;
mod socket;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{RawQuery, State};
use axum::http::header::{HeaderValue, ORIGIN, SEC_WEBSOCKET_PROTOCOL};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use gyre_config::{SharedConfig, Snapshot};
use gyre_core::{Node, TransportInfo};

use crate::origin::OriginCache;
use negotiate::{negotiate, Negotiated};
use socket::{NativePing, SocketSettings};

pub(crate) use negotiate::route_path;

const DEFAULT_MESSAGE_SIZE_LIMIT: usize = 65536;
const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(1);
/// Go's WebSocket library reads in 4 KiB chunks by default; tungstenite would allocate 128 KiB
/// per connection up front.
const DEFAULT_READ_BUFFER: usize = 4096;
/// Room for control frames next to the largest data frame in tungstenite's write buffer.
const WRITE_BUFFER_SLACK: usize = 64 * 1024;
/// Write-buffer bound when `client.queue_max_size` is 0 (unlimited queue).
const UNLIMITED_QUEUE_WRITE_BUFFER: usize = 16 * 1024 * 1024;
const DEFAULT_FRAME_PING_INTERVAL: Duration = Duration::from_secs(25);
const DEFAULT_FRAME_PONG_TIMEOUT: Duration = Duration::from_secs(10);

struct WsState {
    node: Node,
    config: SharedConfig,
    origins: OriginCache,
}

pub(crate) fn router(node: Node, config: SharedConfig) -> Router {
    let snapshot = config.load_full();
    if snapshot.config.websocket.disabled {
        return Router::new();
    }
    let path = route_path(&snapshot.config.websocket.handler_prefix);
    let state = Arc::new(WsState {
        node,
        config,
        origins: OriginCache::default(),
    });
    Router::new().route(&path, get(upgrade_handler)).with_state(state)
}

async fn upgrade_handler(
    State(state): State<Arc<WsState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    // Malformed upgrades are refused first, as Go's upgrader does before checking the origin.
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let snapshot = state.config.load_full();
    let origin = headers.get(ORIGIN).map(|v| String::from_utf8_lossy(v.as_bytes()));
    if !state.origins.checker(&snapshot).allows(origin.as_deref()) {
        tracing::info!(origin = ?origin, "request Origin is not authorized");
        return (StatusCode::FORBIDDEN, "Forbidden\n").into_response();
    }

    let offered = headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim);
    let negotiated = negotiate(query.as_deref(), offered);
    let limits = Limits::from_snapshot(&snapshot);
    let mut upgrade = upgrade
        .read_buffer_size(limits.read_buffer)
        .write_buffer_size(0)
        .max_write_buffer_size(limits.write_buffer)
        .max_message_size(limits.message_size)
        .max_frame_size(limits.message_size)
        .accept_unmasked_frames(false);
    if let Some(subprotocol) = negotiated.subprotocol {
        upgrade.set_selected_protocol(HeaderValue::from_static(subprotocol));
    }

    let info = transport_info(&negotiated, &limits, &headers);
    let settings = SocketSettings {
        protocol: negotiated.protocol,
        write_timeout: limits.write_timeout,
        native_ping: negotiated.frame_ping_pong.then(|| native_ping(&snapshot)),
    };
    let node = state.node.clone();
    upgrade
        .on_failed_upgrade(|e| tracing::debug!(error = %e, "websocket upgrade error"))
        .on_upgrade(move |socket| async move {
            let (reader, writer, socket_task) = socket::start(socket, settings);
            tokio::join!(node.serve_connection(info, reader, writer), socket_task);
        })
}

/// Size and time limits of one connection, from `websocket.*` and `client.queue_max_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Limits {
    message_size: usize,
    read_buffer: usize,
    write_buffer: usize,
    write_timeout: Duration,
}

impl Limits {
    fn from_snapshot(snapshot: &Snapshot) -> Limits {
        let ws = &snapshot.config.websocket;
        let message_size = positive(ws.message_size_limit).unwrap_or(DEFAULT_MESSAGE_SIZE_LIMIT);
        let read_buffer = positive(ws.read_buffer_size).unwrap_or(DEFAULT_READ_BUFFER);
        // The write buffer only grows while the peer does not read; the outbox (bounded by
        // `client.queue_max_size`) hands over at most that much at once. Bounding it keeps a
        // ping flood from queueing pongs without limit.
        let queue = positive(snapshot.config.client.queue_max_size).unwrap_or(UNLIMITED_QUEUE_WRITE_BUFFER);
        let write_buffer = queue.max(message_size) + WRITE_BUFFER_SLACK;
        let write_timeout = if ws.write_timeout.is_zero() {
            DEFAULT_WRITE_TIMEOUT
        } else {
            ws.write_timeout.as_std()
        };
        Limits {
            message_size,
            read_buffer,
            write_buffer,
            write_timeout,
        }
    }
}

fn positive(v: i64) -> Option<usize> {
    usize::try_from(v).ok().filter(|v| *v > 0)
}

fn native_ping(snapshot: &Snapshot) -> NativePing {
    let client = &snapshot.config.client;
    let or = |d: gyre_config::Duration, default| if d.is_zero() { default } else { d.as_std() };
    NativePing {
        interval: or(client.ping_interval, DEFAULT_FRAME_PING_INTERVAL),
        pong_timeout: or(client.pong_timeout, DEFAULT_FRAME_PONG_TIMEOUT),
    }
}

fn transport_info(negotiated: &Negotiated, limits: &Limits, headers: &HeaderMap) -> TransportInfo {
    TransportInfo {
        name: "websocket",
        protocol: negotiated.protocol,
        unidirectional: false,
        emulation: false,
        disconnect_push: false,
        app_level_ping: !negotiated.frame_ping_pong,
        headers: header_map(headers),
        max_message_size: limits.message_size,
        write_timeout: limits.write_timeout,
    }
}

/// Request headers with lower-case names (as `HeaderMap` stores them); repeated headers are
/// joined with ", ", headers that are not UTF-8 are left out.
fn header_map(headers: &HeaderMap) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = HashMap::with_capacity(headers.keys_len());
    for (name, value) in headers {
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
    use gyre_config::Config;

    use super::*;

    #[test]
    fn limits_follow_config() {
        let mut config = Config::default();
        let defaults = Limits::from_snapshot(&Snapshot::new(config.clone()).unwrap());
        assert_eq!(defaults.message_size, 65536);
        assert_eq!(defaults.read_buffer, 4096);
        assert_eq!(defaults.write_buffer, 1_048_576 + WRITE_BUFFER_SLACK);
        assert_eq!(defaults.write_timeout, Duration::from_secs(1));

        config.websocket.message_size_limit = 0;
        config.websocket.write_timeout = gyre_config::Duration::ZERO;
        config.client.queue_max_size = 0;
        let zeroed = Limits::from_snapshot(&Snapshot::new(config.clone()).unwrap());
        assert_eq!(zeroed.message_size, 65536);
        assert_eq!(zeroed.write_timeout, Duration::from_secs(1));
        assert_eq!(
            zeroed.write_buffer,
            UNLIMITED_QUEUE_WRITE_BUFFER + WRITE_BUFFER_SLACK
        );

        config.websocket.message_size_limit = 2_000_000;
        config.client.queue_max_size = 1000;
        config.websocket.read_buffer_size = 512;
        let custom = Limits::from_snapshot(&Snapshot::new(config).unwrap());
        assert_eq!(custom.message_size, 2_000_000);
        assert_eq!(custom.read_buffer, 512);
        assert_eq!(custom.write_buffer, 2_000_000 + WRITE_BUFFER_SLACK);
    }

    #[test]
    fn headers_are_lower_case_and_joined() {
        let mut headers = HeaderMap::new();
        headers.append("X-User-Id", HeaderValue::from_static("17"));
        headers.append("accept", HeaderValue::from_static("a"));
        headers.append("accept", HeaderValue::from_static("b"));
        headers.append("x-bin", HeaderValue::from_bytes(b"\xff").unwrap());
        let map = header_map(&headers);
        assert_eq!(map.get("x-user-id").map(String::as_str), Some("17"));
        assert_eq!(map.get("accept").map(String::as_str), Some("a, b"));
        assert!(!map.contains_key("x-bin"));
    }
}
