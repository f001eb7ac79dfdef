//! WebTransport over HTTP/3 (`webtransport.handler_prefix`, default `/connection/webtransport`),
//! experimental in Centrifugo as here. A session carries one bidirectional stream opened by the
//! client, with the same protocol as a WebSocket: JSON messages each ending in `\n`, or protobuf
//! varint-delimited with `?cf_protocol=protobuf`. Disconnects arrive as a disconnect push before
//! the session is closed with the disconnect's code.

mod stream;
mod tls;

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use wtransport::endpoint::endpoint_side::Server;
use wtransport::endpoint::IncomingSession;
use wtransport::{Endpoint, ServerConfig, VarInt};

use gyre_config::{SharedConfig, Snapshot};
use gyre_core::{Node, ProtocolType, TransportInfo};

use crate::origin::OriginCache;
use stream::{WtReader, WtWriter};

/// How long a client has, after the session is accepted, to open its stream (Centrifugo's wait).
const STREAM_ACCEPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Centrifugo's fixed write timeout for this transport.
const WRITE_TIMEOUT: Duration = Duration::from_secs(1);
const DEFAULT_MESSAGE_SIZE_LIMIT: usize = 65536;
/// QUIC keep-alives keep a quiet session from reaching the idle timeout (30 s) between the
/// protocol's pings, whatever `client.ping_interval` is.
const KEEP_ALIVE: Duration = Duration::from_secs(10);
/// How long shutdown waits for closing sessions to tell their peers.
const DRAIN_WAIT: Duration = Duration::from_secs(2);

/// Why the WebTransport endpoint could not start.
#[derive(Debug)]
pub enum WebTransportError {
    /// The TLS certificate or key (`http_server.tls`) is missing or unusable.
    Tls(String),
    /// The UDP socket could not be bound.
    Bind { addr: SocketAddr, source: io::Error },
}

impl std::fmt::Display for WebTransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WebTransportError::Tls(e) => write!(f, "webtransport TLS: {e}"),
            WebTransportError::Bind { addr, source } => {
                write!(f, "webtransport: binding UDP {addr}: {source}")
            }
        }
    }
}

impl std::error::Error for WebTransportError {}

/// The HTTP/3 (QUIC) endpoint serving WebTransport sessions.
pub struct WebTransportServer {
    endpoint: Endpoint<Server>,
}

impl WebTransportServer {
    /// Binds UDP `addr` with the certificate and key of `http_server.tls` (TLS is mandatory for
    /// HTTP/3).
    pub fn bind(addr: SocketAddr, tls: &gyre_config::Tls) -> Result<WebTransportServer, WebTransportError> {
        let tls = tls::server_config(&tls.cert_pem, &tls.key_pem).map_err(WebTransportError::Tls)?;
        let config = ServerConfig::builder()
            .with_bind_address(addr)
            .with_custom_tls(tls)
            .keep_alive_interval(Some(KEEP_ALIVE))
            .build();
        let endpoint = Endpoint::server(config).map_err(|source| WebTransportError::Bind { addr, source })?;
        Ok(WebTransportServer { endpoint })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.endpoint.local_addr()
    }

    /// Accepts sessions until `shutdown`; the route, origins and limits are read from the
    /// configuration per session, so a reload applies to new sessions.
    pub async fn serve(self, node: Node, config: SharedConfig, shutdown: CancellationToken) {
        let origins = Arc::new(OriginCache::default());
        loop {
            let incoming = tokio::select! {
                incoming = self.endpoint.accept() => incoming,
                _ = shutdown.cancelled() => break,
            };
            let (node, config, origins) = (node.clone(), config.clone(), origins.clone());
            tokio::spawn(async move { session(incoming, node, config, origins).await });
        }
        // The node has already closed its clients (3001 pushes): refuse new sessions, give the
        // closing ones a moment to reach their peers.
        let _ = tokio::time::timeout(DRAIN_WAIT, self.endpoint.wait_idle()).await;
        self.endpoint.close(VarInt::from_u32(0), b"shutdown");
    }
}

async fn session(incoming: IncomingSession, node: Node, config: SharedConfig, origins: Arc<OriginCache>) {
    let request = match incoming.await {
        Ok(request) => request,
        Err(e) => {
            tracing::debug!(error = %e, "webtransport handshake error");
            return;
        }
    };
    let snapshot = config.load_full();
    let wt = &snapshot.config.webtransport;
    let (path, query) = request.path().split_once('?').unwrap_or((request.path(), ""));
    if !wt.enabled || path != crate::websocket::route_path(&wt.handler_prefix) {
        request.not_found().await;
        return;
    }
    if !origins.checker(&snapshot).allows(request.origin()) {
        tracing::info!(origin = ?request.origin(), "request Origin is not authorized");
        request.forbidden().await;
        return;
    }
    let protocol = if crate::query::get(Some(query), "cf_protocol").as_deref() == Some("protobuf") {
        ProtocolType::Protobuf
    } else {
        ProtocolType::Json
    };
    let info = transport_info(protocol, request.headers(), &snapshot);
    let connection = match request.accept().await {
        Ok(connection) => connection,
        Err(e) => {
            tracing::debug!(error = %e, "webtransport session accept error");
            return;
        }
    };
    let (send, recv) = match tokio::time::timeout(STREAM_ACCEPT_TIMEOUT, connection.accept_bi()).await {
        Ok(Ok(streams)) => streams,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "webtransport stream accept error");
            return;
        }
        Err(_) => {
            tracing::info!("webtransport client opened no stream in time");
            connection.close(VarInt::from_u32(0), b"no stream");
            return;
        }
    };
    let reader = WtReader::new(recv, protocol, info.max_message_size);
    let writer = WtWriter::new(connection, send, protocol);
    node.serve_connection(info, reader, writer).await;
}

fn transport_info(
    protocol: ProtocolType,
    headers: &HashMap<String, String>,
    snapshot: &Snapshot,
) -> TransportInfo {
    let limit = usize::try_from(snapshot.config.webtransport.message_size_limit)
        .ok()
        .filter(|l| *l > 0)
        .unwrap_or(DEFAULT_MESSAGE_SIZE_LIMIT);
    TransportInfo {
        name: "webtransport",
        protocol,
        unidirectional: false,
        emulation: false,
        disconnect_push: true,
        app_level_ping: true,
        headers: headers
            .iter()
            .filter(|(name, _)| !name.starts_with(':'))
            .map(|(name, value)| (name.to_ascii_lowercase(), value.clone()))
            .filter(|(name, _)| crate::headers::retained(snapshot, name))
            .collect(),
        max_message_size: limit,
        write_timeout: WRITE_TIMEOUT,
        session: String::new(),
        raw_connect_errors: false,
    }
}

#[cfg(test)]
mod tests {
    use gyre_config::Config;

    use super::*;

    #[test]
    fn transport_info_follows_config() {
        let mut config = Config::default();
        config.client.user_id_http_header = "X-User".into();
        let snapshot = Snapshot::new(config.clone()).unwrap();
        let headers: HashMap<String, String> = [
            (":path", "/connection/webtransport"),
            ("x-user", "42"),
            ("cookie", "secret"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let info = transport_info(ProtocolType::Protobuf, &headers, &snapshot);
        assert_eq!(info.name, "webtransport");
        assert!(info.disconnect_push && info.app_level_ping && !info.unidirectional);
        assert_eq!(info.max_message_size, 65536);
        assert_eq!(info.headers.len(), 1);
        assert_eq!(info.headers["x-user"], "42");

        config.webtransport.message_size_limit = 0;
        let info = transport_info(
            ProtocolType::Json,
            &headers,
            &Snapshot::new(config.clone()).unwrap(),
        );
        assert_eq!(info.max_message_size, 65536);
        config.webtransport.message_size_limit = 1000;
        let info = transport_info(ProtocolType::Json, &headers, &Snapshot::new(config).unwrap());
        assert_eq!(info.max_message_size, 1000);
    }
}
