//! The HTTP transport: `POST <endpoint>` with a JSON body, JSON reply, over plain TCP or TLS.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Incoming};
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::config::{ClientTls, ConfigError, ProxyConfig};
use crate::error::{error_chain, ProxyError};
use crate::headers::{CallContext, HeaderRules};
use crate::tls::{http_connector, Connector};
use crate::types_request::{
    ConnectRequest, PublishRequest, RPCRequest, RefreshRequest, SubRefreshRequest, SubscribeRequest,
};
use crate::types_response::{
    ConnectResult, Outcome, ProxyResponse, PublishResult, RPCResult, RefreshResult, SubRefreshResult,
    SubscribeResult,
};

/// Same idle pool size per backend host as Centrifugo's proxy HTTP client.
const MAX_IDLE_PER_HOST: usize = 255;

/// A keep-alive HTTP/1 connection pool; clone it to share one pool between all proxies.
/// `https://` endpoints are checked against the bundled Mozilla roots; a proxy with its own
/// [`ClientTls`] gets a pool of its own.
#[derive(Clone, Debug)]
pub struct ProxyHttpClient {
    inner: Client<Connector, Full<Bytes>>,
}

impl Default for ProxyHttpClient {
    fn default() -> Self {
        Self::new()
    }
}

impl ProxyHttpClient {
    pub fn new() -> Self {
        // The default settings name no PEM data or server name, so nothing can fail.
        Self::with_tls(&ClientTls::default()).expect("default TLS client settings are valid")
    }

    /// A pool whose `https://` connections follow `tls`.
    pub fn with_tls(tls: &ClientTls) -> Result<Self, ConfigError> {
        let inner = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(MAX_IDLE_PER_HOST)
            .build(http_connector(tls)?);
        Ok(Self { inner })
    }
}

struct Inner {
    config: ProxyConfig,
    uri: Uri,
    rules: HeaderRules,
    client: ProxyHttpClient,
}

/// One configured HTTP proxy. Cheap to clone.
#[derive(Clone)]
pub struct HttpProxy {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for HttpProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpProxy")
            .field("endpoint", &self.inner.config.endpoint)
            .finish()
    }
}

impl HttpProxy {
    /// `client` is the shared pool; an `https://` endpoint with `http_tls` set gets its own, as
    /// Centrifugo gives each proxy its own client.
    pub fn new(config: ProxyConfig, client: ProxyHttpClient) -> Result<Self, ConfigError> {
        let uri = parse_endpoint(&config.endpoint)?;
        if config.timeout.is_zero() {
            return Err(ConfigError::ZeroTimeout);
        }
        let rules = HeaderRules::new(&config)?;
        let client = match &config.http_tls {
            Some(tls) if uri.scheme() == Some(&hyper::http::uri::Scheme::HTTPS) => {
                ProxyHttpClient::with_tls(tls)?
            }
            _ => client,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                uri,
                rules,
                client,
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
        self.call(req, ctx).await
    }

    pub async fn refresh(
        &self,
        req: &RefreshRequest,
        ctx: &CallContext,
    ) -> Result<Outcome<RefreshResult>, ProxyError> {
        self.call(req, ctx).await
    }

    pub async fn subscribe(
        &self,
        req: &SubscribeRequest,
        ctx: &CallContext,
    ) -> Result<Outcome<SubscribeResult>, ProxyError> {
        self.call(req, ctx).await
    }

    pub async fn publish(
        &self,
        req: &PublishRequest,
        ctx: &CallContext,
    ) -> Result<Outcome<PublishResult>, ProxyError> {
        self.call(req, ctx).await
    }

    pub async fn rpc(&self, req: &RPCRequest, ctx: &CallContext) -> Result<Outcome<RPCResult>, ProxyError> {
        self.call(req, ctx).await
    }

    pub async fn sub_refresh(
        &self,
        req: &SubRefreshRequest,
        ctx: &CallContext,
    ) -> Result<Outcome<SubRefreshResult>, ProxyError> {
        self.call(req, ctx).await
    }

    async fn call<Req, Res>(&self, req: &Req, ctx: &CallContext) -> Result<Outcome<Res>, ProxyError>
    where
        Req: Serialize,
        Res: DeserializeOwned,
    {
        let body = serde_json::to_vec(req).map_err(|e| ProxyError::Encode(e.to_string()))?;
        let timeout = self.inner.config.timeout;
        // Like Go's http.Client.Timeout, the deadline spans the body read too, so a backend that
        // trickles its reply cannot hold the caller past the timeout.
        match tokio::time::timeout(timeout, self.exchange(body, ctx)).await {
            Ok(res) => res,
            Err(_) => Err(ProxyError::Timeout(timeout)),
        }
    }

    async fn exchange<Res: DeserializeOwned>(
        &self,
        body: Vec<u8>,
        ctx: &CallContext,
    ) -> Result<Outcome<Res>, ProxyError> {
        let inner = &*self.inner;
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(inner.uri.clone())
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| ProxyError::Transport(e.to_string()))?;
        *request.headers_mut() = inner.rules.build(ctx);

        let response = inner
            .client
            .inner
            .request(request)
            .await
            .map_err(|e| ProxyError::Transport(error_chain(&e)))?;
        let status = response.status().as_u16();
        if status != 200 {
            // The body is dropped unread; hyper then closes instead of pooling the connection.
            return inner
                .config
                .transform_status(status)
                .ok_or(ProxyError::Status(status));
        }
        let bytes = read_limited(response.into_body(), inner.config.max_response_body).await?;
        // Go decodes a literal `null` body into an empty reply; keep that.
        let parsed: Option<ProxyResponse<Res>> =
            serde_json::from_slice(&bytes).map_err(|e| ProxyError::Decode(e.to_string()))?;
        Ok(parsed.unwrap_or_default().into_outcome())
    }
}

/// Reads the body while it stays within `limit`; a declared or streamed excess aborts early so an
/// oversized reply never occupies more than `limit` bytes.
async fn read_limited(mut body: Incoming, limit: usize) -> Result<Vec<u8>, ProxyError> {
    let declared = body.size_hint().lower();
    if declared > limit as u64 {
        return Err(ProxyError::BodyTooLarge { limit });
    }
    let mut buf = Vec::with_capacity(declared as usize);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ProxyError::Transport(error_chain(&e)))?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(ProxyError::BodyTooLarge { limit });
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf)
}

fn parse_endpoint(endpoint: &str) -> Result<Uri, ConfigError> {
    if !endpoint.starts_with("http://") && !endpoint.starts_with("https://") {
        return Err(ConfigError::NotHttp(endpoint.to_owned()));
    }
    let uri: Uri = endpoint.parse().map_err(|e: hyper::http::uri::InvalidUri| {
        ConfigError::InvalidEndpoint(endpoint.to_owned(), e.to_string())
    })?;
    if uri.authority().is_none() {
        return Err(ConfigError::InvalidEndpoint(
            endpoint.to_owned(),
            "missing host".to_owned(),
        ));
    }
    Ok(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert!(parse_endpoint("https://example.com/p").is_ok());
        assert!(matches!(
            parse_endpoint("grpc://127.0.0.1:1"),
            Err(ConfigError::NotHttp(_))
        ));
        assert!(parse_endpoint("http://127.0.0.1:8000/centrifugo/connect").is_ok());
        assert!(parse_endpoint("http:///nohost").is_err());
    }
}
