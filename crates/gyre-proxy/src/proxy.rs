//! One proxy, whichever transport its endpoint selects.

use crate::config::{is_http_endpoint, ConfigError, ProxyConfig};
use crate::error::ProxyError;
use crate::grpc::GrpcProxy;
use crate::headers::CallContext;
use crate::http::{HttpProxy, ProxyHttpClient};
use crate::types_request::{
    ConnectRequest, PublishRequest, RPCRequest, RefreshRequest, SubRefreshRequest, SubscribeRequest,
};
use crate::types_response::{
    ConnectResult, Outcome, PublishResult, RPCResult, RefreshResult, SubRefreshResult, SubscribeResult,
};

/// An HTTP or GRPC proxy with one call API. Cheap to clone.
#[derive(Clone, Debug)]
pub enum Proxy {
    Http(HttpProxy),
    Grpc(GrpcProxy),
}

macro_rules! dispatch {
    ($self:ident, $method:ident, $req:ident, $ctx:ident) => {
        match $self {
            Proxy::Http(p) => p.$method($req, $ctx).await,
            Proxy::Grpc(p) => p.$method($req, $ctx).await,
        }
    };
}

impl Proxy {
    /// Centrifugo's rule: `http://` and `https://` endpoints are HTTP, anything else is GRPC.
    /// The HTTP client pool is only used by HTTP proxies.
    pub fn new(config: ProxyConfig, http_client: ProxyHttpClient) -> Result<Self, ConfigError> {
        if is_http_endpoint(&config.endpoint) {
            HttpProxy::new(config, http_client).map(Proxy::Http)
        } else {
            GrpcProxy::new(config).map(Proxy::Grpc)
        }
    }

    pub fn config(&self) -> &ProxyConfig {
        match self {
            Proxy::Http(p) => p.config(),
            Proxy::Grpc(p) => p.config(),
        }
    }

    /// The `protocol` label Centrifugo's proxy metrics use.
    pub fn protocol(&self) -> &'static str {
        match self {
            Proxy::Http(_) => "http",
            Proxy::Grpc(_) => "grpc",
        }
    }

    pub async fn connect(
        &self,
        req: &ConnectRequest,
        ctx: &CallContext,
    ) -> Result<Outcome<ConnectResult>, ProxyError> {
        dispatch!(self, connect, req, ctx)
    }

    pub async fn refresh(
        &self,
        req: &RefreshRequest,
        ctx: &CallContext,
    ) -> Result<Outcome<RefreshResult>, ProxyError> {
        dispatch!(self, refresh, req, ctx)
    }

    pub async fn subscribe(
        &self,
        req: &SubscribeRequest,
        ctx: &CallContext,
    ) -> Result<Outcome<SubscribeResult>, ProxyError> {
        dispatch!(self, subscribe, req, ctx)
    }

    pub async fn publish(
        &self,
        req: &PublishRequest,
        ctx: &CallContext,
    ) -> Result<Outcome<PublishResult>, ProxyError> {
        dispatch!(self, publish, req, ctx)
    }

    pub async fn rpc(&self, req: &RPCRequest, ctx: &CallContext) -> Result<Outcome<RPCResult>, ProxyError> {
        dispatch!(self, rpc, req, ctx)
    }

    pub async fn sub_refresh(
        &self,
        req: &SubRefreshRequest,
        ctx: &CallContext,
    ) -> Result<Outcome<SubRefreshResult>, ProxyError> {
        dispatch!(self, sub_refresh, req, ctx)
    }
}
