//! Building the two servers from their config sections, and running one on a bound listener.

use std::sync::Arc;
use std::time::Duration;

use gyre_api::{ApiObserver, Executor};
use gyre_config::{GrpcApi, SharedConfig, UniGrpc};
use gyre_core::Node;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tonic::codec::CompressionEncoding;
use tonic::service::interceptor::InterceptedService;
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;
use tonic::transport::Server;

use crate::api::ApiService;
use crate::auth::KeyAuth;
use crate::incoming::TlsIncoming;
use crate::limit::OversizeStatusLayer;
use crate::pb::centrifugo_api_server::CentrifugoApiServer;
use crate::uni::UniStreamServer;
use crate::ConfigError;

/// Centrifugo's uni GRPC keepalive: a ping after 25 s of silence, the connection dropped when
/// it is not answered within 5 s, so dead consumers do not hold connections forever.
const UNI_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(25);
const UNI_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(5);

/// A configured GRPC server, not yet listening.
pub struct GrpcServer {
    name: &'static str,
    server: Server,
    routes: Routes,
    tls: Option<TlsAcceptor>,
}

impl std::fmt::Debug for GrpcServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcServer").field("name", &self.name).finish()
    }
}

/// The server API (`grpc_api`): `CentrifugoApi` behind the `apikey` check, plus reflection
/// (not behind the key, as in Centrifugo) when `grpc_api.reflection` is set. The key, error
/// mode and limits are read once here: like Centrifugo, changing them needs a restart.
pub fn api_server(
    config: &GrpcApi,
    executor: &Executor,
    observer: Arc<dyn ApiObserver>,
) -> Result<GrpcServer, ConfigError> {
    let service = ApiService::new(executor, observer, config.error_mode == "transport");
    let mut api = CentrifugoApiServer::new(service)
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip);
    if let Some(limit) = size_limit(config.max_receive_message_size) {
        api = api.max_decoding_message_size(limit);
    }
    let mut routes = Routes::new(InterceptedService::new(api, KeyAuth::new(&config.key)));
    if config.reflection {
        let builder = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(crate::pb::FILE_DESCRIPTOR_SET)
        };
        let reflection = |e: tonic_reflection::server::Error| ConfigError::Reflection(e.to_string());
        routes = routes
            .add_service(builder().build_v1().map_err(reflection)?)
            .add_service(builder().build_v1alpha().map_err(reflection)?);
    }
    Ok(GrpcServer {
        name: "grpc_api",
        server: Server::builder(),
        routes,
        tls: crate::tls::acceptor("grpc_api", &config.tls)?,
    })
}

/// The unidirectional GRPC transport (`uni_grpc`). Connection admission limits do not apply,
/// as in Centrifugo.
pub fn uni_server(config: &UniGrpc, node: Node, shared: SharedConfig) -> Result<GrpcServer, ConfigError> {
    let service = UniStreamServer::new(node, shared, size_limit(config.max_receive_message_size));
    let server = Server::builder()
        .http2_keepalive_interval(Some(UNI_KEEPALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(UNI_KEEPALIVE_TIMEOUT));
    Ok(GrpcServer {
        name: "uni_grpc",
        server,
        routes: Routes::new(service),
        tls: crate::tls::acceptor("uni_grpc", &config.tls)?,
    })
}

/// `max_receive_message_size`: 0 (or negative) keeps the GRPC default of 4 MiB.
fn size_limit(value: i64) -> Option<usize> {
    (value > 0).then(|| usize::try_from(value).unwrap_or(usize::MAX))
}

impl GrpcServer {
    /// Serves on `listener` until `shutdown` is cancelled, then lets in-flight calls finish.
    /// Uni streams end when the node closes their connections (3001 on shutdown).
    pub async fn serve(self, listener: TcpListener, shutdown: CancellationToken) {
        let router = self.server.layer(OversizeStatusLayer).add_routes(self.routes);
        let stopped = shutdown.cancelled_owned();
        let result = match self.tls {
            Some(acceptor) => {
                router
                    .serve_with_incoming_shutdown(TlsIncoming::new(listener, acceptor), stopped)
                    .await
            }
            None => {
                let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
                router.serve_with_incoming_shutdown(incoming, stopped).await
            }
        };
        if let Err(e) = result {
            tracing::error!(error = %e, server = self.name, "GRPC server stopped");
        }
    }
}
