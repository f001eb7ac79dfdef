//! The bidirectional WebSocket endpoint (`websocket.handler_prefix`).

mod conn;
mod deflate;
mod frame;
mod handshake;
mod io;
mod negotiate;

pub(crate) use conn::{NativePing, Settings, Shared, WsReader};

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{
    HeaderValue, CONNECTION, ORIGIN, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_PROTOCOL,
    SEC_WEBSOCKET_VERSION, UPGRADE,
};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use futures_util::FutureExt;
use hyper::upgrade::OnUpgrade;

use gyre_config::{SharedConfig, Snapshot};
use gyre_core::{Node, TransportInfo, TransportReader};

use crate::origin::OriginCache;
pub(crate) use deflate::{Deflate, SegmentCache};
use negotiate::{deflate_offered, negotiate, Negotiated, DEFLATE_RESPONSE};

pub(crate) use negotiate::route_path;

const DEFAULT_MESSAGE_SIZE_LIMIT: usize = 65536;
/// With compression, an inflated message may be this many times `message_size_limit` unless
/// `websocket.decompressed_message_size_limit` says otherwise (Centrifugo's default).
const DEFAULT_DECOMPRESSED_LIMIT_FACTOR: usize = 10;
/// `websocket.compression_level` when the configured one is not a valid level.
const FALLBACK_COMPRESSION_LEVEL: u32 = 1;
const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(1);
const DEFAULT_FRAME_PING_INTERVAL: Duration = Duration::from_secs(25);
const DEFAULT_FRAME_PONG_TIMEOUT: Duration = Duration::from_secs(10);

struct WsState {
    node: Node,
    config: SharedConfig,
    origins: OriginCache,
    /// Compressed messages shared by every connection that negotiated permessage-deflate.
    deflate_cache: Arc<SegmentCache>,
}

pub(crate) fn router(node: Node, config: SharedConfig) -> Router {
    let snapshot = config.load_full();
    if snapshot.config.websocket.disabled {
        return Router::new();
    }
    let path = route_path(&snapshot.config.websocket.handler_prefix);
    let state = Arc::new(WsState {
        node,
        config: config.clone(),
        origins: OriginCache::default(),
        deflate_cache: Arc::default(),
    });
    // Every method reaches the handler: a non-GET upgrade gets Go's answer (400 or 405).
    let router = Router::new().route(&path, any(upgrade_handler)).with_state(state);
    crate::cors::layer(router, config)
}

/// A refused upgrade, with the version header Go's upgrader puts on every refusal.
pub(crate) fn reject(status: StatusCode) -> Response {
    let text = format!("{}\n", status.canonical_reason().unwrap_or(""));
    let mut response = (status, text).into_response();
    response
        .headers_mut()
        .insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
    response
}

async fn upgrade_handler(State(state): State<Arc<WsState>>, mut request: Request) -> Response {
    let snapshot = state.config.load_full();
    let accepted = match accept(&mut request, &state.origins, &snapshot) {
        Ok(accepted) => accepted,
        Err(status) => return reject(status),
    };
    let headers = request.headers();
    let query = request.uri().query();
    let offered = headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim);
    let negotiated = negotiate(query, offered);
    let limits = Limits::from_snapshot(&snapshot);
    let compression = limits.compression.and_then(|c| c.if_offered(headers));
    let info = transport_info(&negotiated, &limits, compression.as_ref(), headers, &snapshot);
    let settings = Settings {
        protocol: negotiated.protocol,
        max_message_size: limits.message_size,
        inflate_limit: compression.map(|c| c.decompressed_limit),
        write_timeout: limits.write_timeout,
        native_ping: negotiated.frame_ping_pong.then(|| native_ping(&snapshot)),
        join_messages: true,
        closing_handshake: true,
    };
    let deflate = compression.map(|c| c.deflate(state.deflate_cache.clone()));
    let subprotocol = negotiated.subprotocol;
    accepted.serve(
        state.node.clone(),
        info,
        settings,
        deflate,
        |reader, _| reader,
        subprotocol,
    )
}

/// An upgrade request that passed the handshake and origin checks.
pub(crate) struct Accepted {
    on_upgrade: OnUpgrade,
    accept: HeaderValue,
}

/// Checks an upgrade request as Go's upgrader does (handshake, then `client.allowed_origins`);
/// the status to [`reject`] it with otherwise.
pub(crate) fn accept(
    request: &mut Request,
    origins: &OriginCache,
    snapshot: &Arc<Snapshot>,
) -> Result<Accepted, StatusCode> {
    let headers = request.headers();
    handshake::check(request.method(), headers)?;
    let origin = headers.get(ORIGIN).map(|v| String::from_utf8_lossy(v.as_bytes()));
    if !origins.checker(snapshot).allows(origin.as_deref()) {
        tracing::info!(origin = ?origin, "request Origin is not authorized");
        return Err(StatusCode::FORBIDDEN);
    }
    let accept = handshake::accept_key(headers)?;
    // Absent when hyper cannot hand the connection over (HTTP/2, or a harness without upgrades).
    let on_upgrade = request
        .extensions_mut()
        .remove::<OnUpgrade>()
        .ok_or(StatusCode::UPGRADE_REQUIRED)?;
    Ok(Accepted { on_upgrade, accept })
}

impl Accepted {
    /// Answers 101 and serves the connection once upgraded, with permessage-deflate when
    /// `deflate` is set. `wrap` turns the socket's reader into what the core reads (the
    /// unidirectional endpoint reads its connect request first).
    pub(crate) fn serve<R: TransportReader>(
        self,
        node: Node,
        info: TransportInfo,
        settings: Settings,
        deflate: Option<Deflate>,
        wrap: impl FnOnce(WsReader, Arc<Shared>) -> R + Send + 'static,
        subprotocol: Option<&'static str>,
    ) -> Response {
        let on_upgrade = self.on_upgrade;
        let compressed = deflate.is_some();
        tokio::spawn(async move {
            let upgraded = match on_upgrade.await {
                Ok(upgraded) => upgraded,
                Err(e) => {
                    tracing::debug!(error = %e, "websocket upgrade error");
                    return;
                }
            };
            let (io, initial) = io::Io::from_upgraded(upgraded);
            let (reader, writer, shared) = conn::start(io, initial, settings, deflate);
            let reader = wrap(reader, shared.clone());
            // A task of its own holding just the connection (this one ends here): awaited from
            // this block, the connection's future would sit next to this block's own state.
            let connection = node.serve_connection(info, reader, writer);
            tokio::spawn(connection.then(move |()| async move { shared.finish().await }));
        });

        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let out = response.headers_mut();
        out.insert(UPGRADE, HeaderValue::from_static("websocket"));
        out.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
        out.insert(SEC_WEBSOCKET_ACCEPT, self.accept);
        if let Some(subprotocol) = subprotocol {
            out.insert(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(subprotocol));
        }
        if compressed {
            out.insert(
                SEC_WEBSOCKET_EXTENSIONS,
                HeaderValue::from_static(DEFLATE_RESPONSE),
            );
        }
        response
    }
}

/// Size and time limits of one connection, and compression when enabled, from `websocket.*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Limits {
    message_size: usize,
    write_timeout: Duration,
    /// `websocket.compression`: used when the client offers permessage-deflate.
    compression: Option<CompressionLimits>,
}

/// permessage-deflate settings of one endpoint (`websocket.*` or `uni_websocket.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CompressionLimits {
    level: u32,
    min_size: usize,
    pub(crate) decompressed_limit: usize,
}

impl CompressionLimits {
    /// From an endpoint's `compression*` and `decompressed_message_size_limit` options; `None`
    /// when compression is off.
    pub(crate) fn from_config(
        enabled: bool,
        level: i64,
        min_size: i64,
        decompressed_limit: i64,
        message_size: usize,
    ) -> Option<CompressionLimits> {
        enabled.then(|| CompressionLimits {
            level: deflate::level_from_config(level).unwrap_or_else(|| {
                tracing::error!(level, "compression_level is not a valid level (-2 to 9); using 1");
                FALLBACK_COMPRESSION_LEVEL
            }),
            min_size: positive(min_size).unwrap_or(0),
            decompressed_limit: positive(decompressed_limit)
                .unwrap_or(message_size.saturating_mul(DEFAULT_DECOMPRESSED_LIMIT_FACTOR)),
        })
    }

    /// These settings when the upgrade request offers permessage-deflate.
    pub(crate) fn if_offered(self, headers: &HeaderMap) -> Option<CompressionLimits> {
        let offers = headers.get_all(SEC_WEBSOCKET_EXTENSIONS).iter();
        deflate_offered(offers.filter_map(|v| v.to_str().ok())).then_some(self)
    }

    /// The writer side, sharing `cache` with the endpoint's other connections.
    pub(crate) fn deflate(self, cache: Arc<SegmentCache>) -> Deflate {
        Deflate::new(cache, self.level, self.min_size)
    }
}

impl Limits {
    fn from_snapshot(snapshot: &Snapshot) -> Limits {
        let ws = &snapshot.config.websocket;
        let message_size = positive(ws.message_size_limit).unwrap_or(DEFAULT_MESSAGE_SIZE_LIMIT);
        let write_timeout = if ws.write_timeout.is_zero() {
            DEFAULT_WRITE_TIMEOUT
        } else {
            ws.write_timeout.as_std()
        };
        let compression = CompressionLimits::from_config(
            ws.compression,
            ws.compression_level,
            ws.compression_min_size,
            ws.decompressed_message_size_limit,
            message_size,
        );
        Limits {
            message_size,
            write_timeout,
            compression,
        }
    }
}

fn positive(v: i64) -> Option<usize> {
    usize::try_from(v).ok().filter(|v| *v > 0)
}

pub(crate) fn native_ping(snapshot: &Snapshot) -> NativePing {
    let client = &snapshot.config.client;
    let or = |d: gyre_config::Duration, default| if d.is_zero() { default } else { d.as_std() };
    NativePing {
        interval: or(client.ping_interval, DEFAULT_FRAME_PING_INTERVAL),
        pong_timeout: or(client.pong_timeout, DEFAULT_FRAME_PONG_TIMEOUT),
    }
}

fn transport_info(
    negotiated: &Negotiated,
    limits: &Limits,
    compression: Option<&CompressionLimits>,
    headers: &HeaderMap,
    snapshot: &Snapshot,
) -> TransportInfo {
    TransportInfo {
        name: "websocket",
        protocol: negotiated.protocol,
        unidirectional: false,
        emulation: false,
        disconnect_push: false,
        app_level_ping: !negotiated.frame_ping_pong,
        headers: crate::headers::kept(headers, snapshot),
        // The core decodes inflated messages.
        max_message_size: compression.map_or(limits.message_size, |c| c.decompressed_limit),
        write_timeout: limits.write_timeout,
        session: String::new(),
        raw_connect_errors: false,
    }
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
        assert_eq!(defaults.write_timeout, Duration::from_secs(1));

        config.websocket.message_size_limit = 0;
        config.websocket.write_timeout = gyre_config::Duration::ZERO;
        config.client.queue_max_size = 0;
        let zeroed = Limits::from_snapshot(&Snapshot::new(config.clone()).unwrap());
        assert_eq!(zeroed.message_size, 65536);
        assert_eq!(zeroed.write_timeout, Duration::from_secs(1));

        config.websocket.message_size_limit = 2_000_000;
        config.client.queue_max_size = 1000;
        config.websocket.read_buffer_size = 512;
        let custom = Limits::from_snapshot(&Snapshot::new(config).unwrap());
        assert_eq!(custom.message_size, 2_000_000);
        assert_eq!(custom.compression, None);
    }

    #[test]
    fn compression_limits_follow_config() {
        let mut config = Config::default();
        config.websocket.compression = true;
        let limits = |c: &Config| Limits::from_snapshot(&Snapshot::new(c.clone()).unwrap());
        assert_eq!(
            limits(&config).compression,
            Some(CompressionLimits {
                level: 1,
                min_size: 0,
                decompressed_limit: 655_360,
            })
        );
        config.websocket.compression_level = 9;
        config.websocket.compression_min_size = 128;
        config.websocket.message_size_limit = 1000;
        assert_eq!(
            limits(&config).compression,
            Some(CompressionLimits {
                level: 9,
                min_size: 128,
                decompressed_limit: 10_000,
            })
        );
        config.websocket.decompressed_message_size_limit = 4096;
        config.websocket.compression_level = 42;
        config.websocket.compression_min_size = -5;
        assert_eq!(
            limits(&config).compression,
            Some(CompressionLimits {
                level: 1,
                min_size: 0,
                decompressed_limit: 4096,
            })
        );
    }
}
