//! The GRPC transport: unary calls to `centrifugal.centrifugo.proxy.CentrifugoProxy` over
//! plaintext HTTP/2, or HTTP/2 over TLS with `grpc_tls`.

use std::sync::{Arc, OnceLock};

use hyper::header::HeaderMap;
use hyper::http::uri::PathAndQuery;
use hyper::Uri;
use tonic::codec::CompressionEncoding;
use tonic::metadata::MetadataMap;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

use crate::config::{ConfigError, ProxyConfig};
use crate::error::{error_chain, ProxyError};
use crate::grpc_convert as conv;
use crate::grpc_types::{self as pb, SERVICE_PATH};
use crate::headers::{CallContext, HeaderRules};
use crate::tls::{grpc_connector, Connector};
use crate::types_request::{
    ConnectRequest, PublishRequest, RPCRequest, RefreshRequest, SubRefreshRequest, SubscribeRequest,
};
use crate::types_response::{
    ConnectResult, Outcome, PublishResult, RPCResult, RefreshResult, SubRefreshResult, SubscribeResult,
};

/// Headers that HTTP/2 or GRPC itself owns: forwarding a client's value would either break the
/// call (h2 refuses connection-specific headers) or let a client steer it (`grpc-timeout`).
const RESERVED: &[&str] = &[
    "connection",
    "content-type",
    "host",
    "keep-alive",
    "proxy-connection",
    "te",
    "transfer-encoding",
    "upgrade",
    "user-agent",
];

struct Inner {
    config: ProxyConfig,
    endpoint: Endpoint,
    /// Created on first use: building a channel spawns a task, which needs a running runtime,
    /// while proxies may be built before one exists.
    channel: OnceLock<Channel>,
    /// The TLS dialer with `grpc_tls`; tonic's own TCP dialer otherwise.
    tls: Option<Connector>,
    rules: HeaderRules,
    credentials: Option<(hyper::header::HeaderName, hyper::header::HeaderValue)>,
}

/// One configured GRPC proxy: one HTTP/2 connection (re-established on failure), shared by
/// clones, as Centrifugo keeps one client connection per proxy.
#[derive(Clone)]
pub struct GrpcProxy {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for GrpcProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcProxy")
            .field("endpoint", &self.inner.config.endpoint)
            .finish()
    }
}

impl GrpcProxy {
    pub fn new(config: ProxyConfig) -> Result<Self, ConfigError> {
        if config.timeout.is_zero() {
            return Err(ConfigError::ZeroTimeout);
        }
        let mut uri = dial_uri(&config.endpoint)?;
        let tls = match &config.grpc_tls {
            Some(tls) => {
                // The connector only speaks TLS to `https://` targets; the scheme also becomes
                // the requests' `:scheme`, as grpc-go sends with TLS credentials.
                uri = with_https(&uri, &config.endpoint)?;
                Some(grpc_connector(tls, config.timeout)?)
            }
            None => None,
        };
        let endpoint = Endpoint::from(uri)
            .tcp_nodelay(true)
            .connect_timeout(config.timeout);
        let rules = HeaderRules::for_grpc(&config)?;
        let credentials = credentials(&config)?;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                endpoint,
                channel: OnceLock::new(),
                tls,
                rules,
                credentials,
            }),
        })
    }

    pub fn config(&self) -> &ProxyConfig {
        &self.inner.config
    }

    pub async fn connect(
        &self,
        req: &ConnectRequest,
        ctx: &CallContext,
    ) -> Result<Outcome<ConnectResult>, ProxyError> {
        let rep: pb::ConnectResponse = self.call("Connect", conv::connect_request(req), ctx).await?;
        conv::outcome(rep.result, rep.error, rep.disconnect, conv::connect_result)
    }

    pub async fn refresh(
        &self,
        req: &RefreshRequest,
        ctx: &CallContext,
    ) -> Result<Outcome<RefreshResult>, ProxyError> {
        let rep: pb::RefreshResponse = self.call("Refresh", conv::refresh_request(req), ctx).await?;
        conv::outcome(rep.result, rep.error, rep.disconnect, conv::refresh_result)
    }

    pub async fn subscribe(
        &self,
        req: &SubscribeRequest,
        ctx: &CallContext,
    ) -> Result<Outcome<SubscribeResult>, ProxyError> {
        let rep: pb::SubscribeResponse = self.call("Subscribe", conv::subscribe_request(req), ctx).await?;
        conv::outcome(rep.result, rep.error, rep.disconnect, conv::subscribe_result)
    }

    pub async fn publish(
        &self,
        req: &PublishRequest,
        ctx: &CallContext,
    ) -> Result<Outcome<PublishResult>, ProxyError> {
        let rep: pb::PublishResponse = self.call("Publish", conv::publish_request(req), ctx).await?;
        conv::outcome(rep.result, rep.error, rep.disconnect, conv::publish_result)
    }

    pub async fn rpc(&self, req: &RPCRequest, ctx: &CallContext) -> Result<Outcome<RPCResult>, ProxyError> {
        let rep: pb::RpcResponse = self.call("RPC", conv::rpc_request(req), ctx).await?;
        conv::outcome(rep.result, rep.error, rep.disconnect, conv::rpc_result)
    }

    pub async fn sub_refresh(
        &self,
        req: &SubRefreshRequest,
        ctx: &CallContext,
    ) -> Result<Outcome<SubRefreshResult>, ProxyError> {
        let rep: pb::SubRefreshResponse = self
            .call("SubRefresh", conv::sub_refresh_request(req), ctx)
            .await?;
        conv::outcome(rep.result, rep.error, rep.disconnect, conv::sub_refresh_result)
    }

    async fn call<Req, Rep>(&self, method: &str, req: Req, ctx: &CallContext) -> Result<Rep, ProxyError>
    where
        Req: prost::Message + Send + Sync + 'static,
        Rep: prost::Message + Default + Send + Sync + 'static,
    {
        let timeout = self.inner.config.timeout;
        // The deadline travels as `grpc-timeout` (as Go's context deadline does) and also bounds
        // the local wait, including connection setup.
        match tokio::time::timeout(timeout, self.exchange(method, req, ctx)).await {
            Ok(res) => res,
            Err(_) => Err(ProxyError::Timeout(timeout)),
        }
    }

    async fn exchange<Req, Rep>(&self, method: &str, req: Req, ctx: &CallContext) -> Result<Rep, ProxyError>
    where
        Req: prost::Message + Send + Sync + 'static,
        Rep: prost::Message + Default + Send + Sync + 'static,
    {
        let path = method_path(method)?;
        let mut request = self.request(req, ctx);
        request.set_timeout(self.inner.config.timeout);
        let mut grpc = self.ready_client().await?;
        let codec = tonic_prost::ProstCodec::<Req, Rep>::default();
        match grpc.unary(request, path, codec).await {
            Ok(response) => Ok(response.into_inner()),
            Err(status) => Err(self.status_error(status)),
        }
    }

    /// A request carrying the call's metadata.
    pub(crate) fn request<T>(&self, message: T, ctx: &CallContext) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        *request.metadata_mut() = MetadataMap::from_headers(self.metadata(ctx));
        request
    }

    /// A client on the proxy's shared connection, once that connection is usable.
    pub(crate) async fn ready_client(&self) -> Result<tonic::client::Grpc<Channel>, ProxyError> {
        let inner = &*self.inner;
        let config = &inner.config;
        let channel = inner
            .channel
            .get_or_init(|| match &inner.tls {
                Some(connector) => inner.endpoint.connect_with_connector_lazy(connector.clone()),
                None => inner.endpoint.connect_lazy(),
            })
            .clone();
        let mut grpc = tonic::client::Grpc::new(channel)
            .accept_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(config.max_response_body);
        if config.grpc_compression {
            grpc = grpc.send_compressed(CompressionEncoding::Gzip);
        }
        grpc.ready()
            .await
            .map_err(|e| ProxyError::Transport(error_chain(&e)))?;
        Ok(grpc)
    }

    pub(crate) fn status_error(&self, status: Status) -> ProxyError {
        status_error(status, &self.inner.config)
    }

    /// Static metadata, then allow-listed emulated headers, then allow-listed transport headers
    /// (as for HTTP), minus reserved names; the credentials pair goes last so nothing a client
    /// sends can replace it.
    fn metadata(&self, ctx: &CallContext) -> HeaderMap {
        let mut headers = self.inner.rules.build_forwarded(ctx);
        let reserved: Vec<_> = headers
            .keys()
            .filter(|k| RESERVED.contains(&k.as_str()) || k.as_str().starts_with("grpc-"))
            .cloned()
            .collect();
        for k in reserved {
            headers.remove(k);
        }
        if let Some((k, v)) = &self.inner.credentials {
            headers.insert(k.clone(), v.clone());
        }
        headers
    }
}

/// The full path of one method of the proxy service.
pub(crate) fn method_path(method: &str) -> Result<PathAndQuery, ProxyError> {
    PathAndQuery::try_from(format!("{SERVICE_PATH}{method}")).map_err(|e| ProxyError::Encode(e.to_string()))
}

fn credentials(
    config: &ProxyConfig,
) -> Result<Option<(hyper::header::HeaderName, hyper::header::HeaderValue)>, ConfigError> {
    let key = &config.grpc_credentials_key;
    if key.is_empty() {
        return Ok(None);
    }
    let bad = || ConfigError::InvalidGrpcCredentials(key.clone());
    let name =
        hyper::header::HeaderName::from_bytes(key.to_ascii_lowercase().as_bytes()).map_err(|_| bad())?;
    let value = hyper::header::HeaderValue::from_str(&config.grpc_credentials_value).map_err(|_| bad())?;
    Ok(Some((name, value)))
}

/// Centrifugo's target rule: `grpc://host:port` dials `host:port`; any other string is the dial
/// target itself. Of grpc-go's target forms, `dns:///` and `passthrough:///` prefixes are
/// understood; a missing port means 443, as in grpc-go.
fn dial_uri(endpoint: &str) -> Result<Uri, ConfigError> {
    let unsupported = |why: &str| ConfigError::GrpcEndpoint(endpoint.to_owned(), why.to_owned());
    let mut target = match endpoint.strip_prefix("grpc://") {
        Some(rest) => rest.split(['/', '?', '#']).next().unwrap_or_default(),
        None => endpoint,
    };
    for scheme in ["dns:///", "passthrough:///"] {
        if let Some(rest) = target.strip_prefix(scheme) {
            target = rest;
        }
    }
    if target.starts_with("unix:") {
        return Err(unsupported("unix socket targets are not supported"));
    }
    if target.is_empty() || target.contains(['/', '?', '#', '@']) {
        return Err(unsupported("expected host:port"));
    }
    let uri: Uri = format!("http://{target}")
        .parse()
        .map_err(|_| unsupported("expected host:port"))?;
    let authority = uri.authority().ok_or_else(|| unsupported("expected host:port"))?;
    if authority.port().is_some() {
        return Ok(uri);
    }
    format!("http://{target}:443")
        .parse()
        .map_err(|_| unsupported("expected host:port"))
}

fn with_https(uri: &Uri, endpoint: &str) -> Result<Uri, ConfigError> {
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or_default();
    format!("https://{authority}")
        .parse()
        .map_err(|_| ConfigError::GrpcEndpoint(endpoint.to_owned(), "expected host:port".to_owned()))
}

fn status_error(status: Status, config: &ProxyConfig) -> ProxyError {
    // tonic enforces `grpc-timeout` locally too and reports it as a cancelled call.
    if status.code() == Code::DeadlineExceeded || caused_by_timeout(&status) {
        return ProxyError::Timeout(config.timeout);
    }
    match status.code() {
        Code::Unavailable | Code::Cancelled => ProxyError::Transport(error_chain(&status)),
        code => ProxyError::GrpcStatus {
            code: code as i32,
            message: status.message().to_owned(),
        },
    }
}

fn caused_by_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = e.source();
    while let Some(s) = source {
        if s.is::<tonic::TimeoutExpired>() {
            return true;
        }
        source = s.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dial_targets() {
        let ok = |e: &str| dial_uri(e).unwrap().to_string();
        assert_eq!(ok("grpc://127.0.0.1:5000"), "http://127.0.0.1:5000/");
        assert_eq!(ok("grpc://backend:5000/ignored/path"), "http://backend:5000/");
        assert_eq!(ok("localhost:12000"), "http://localhost:12000/");
        assert_eq!(ok("dns:///svc.local:9000"), "http://svc.local:9000/");
        assert_eq!(ok("[::1]:7000"), "http://[::1]:7000/");
        assert_eq!(ok("backend"), "http://backend:443/");
        assert!(dial_uri("unix:///tmp/sock").is_err());
        assert!(dial_uri("grpc://").is_err());
        assert!(dial_uri("").is_err());
    }

    #[test]
    fn construction_checks() {
        let mut c = ProxyConfig::new("grpc://127.0.0.1:1");
        c.grpc_tls = Some(crate::ClientTls {
            server_ca_pem: "not pem".into(),
            ..Default::default()
        });
        assert!(matches!(GrpcProxy::new(c), Err(ConfigError::Tls(_))));

        let mut c = ProxyConfig::new("grpc://127.0.0.1:1");
        c.timeout = std::time::Duration::ZERO;
        assert!(matches!(GrpcProxy::new(c), Err(ConfigError::ZeroTimeout)));

        let mut c = ProxyConfig::new("grpc://127.0.0.1:1");
        c.grpc_credentials_key = "bad key".into();
        assert!(matches!(
            GrpcProxy::new(c),
            Err(ConfigError::InvalidGrpcCredentials(_))
        ));

        let mut c = ProxyConfig::new("grpc://127.0.0.1:1");
        c.grpc_static_metadata.insert("x".into(), "a\nb".into());
        assert!(matches!(
            GrpcProxy::new(c),
            Err(ConfigError::InvalidStaticMetadata(_))
        ));

        // Built outside any runtime: the channel is only created on the first call.
        assert!(GrpcProxy::new(ProxyConfig::new("grpc://127.0.0.1:1")).is_ok());
    }
}
