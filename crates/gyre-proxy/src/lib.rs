//! Centrifugo v6 backend proxy protocol over HTTP and GRPC.
//!
//! Centrifugo forwards client events (connect, refresh, subscribe, publish, rpc, sub_refresh) to an
//! application backend as `POST <endpoint>` with a JSON body and expects a
//! `{result?, error?, disconnect?}` JSON reply; for endpoints that are not `http(s)://` it makes
//! the equivalent unary call on the `CentrifugoProxy` GRPC service instead. [`Proxy`] picks the
//! transport; both take and return the same JSON-side types. This crate holds the wire types, the per-proxy
//! configuration and an HTTP client; deciding what a reply means for a connection is left to the
//! caller (`gyre-handler`), so this crate does not depend on `gyre-core`.
#![forbid(unsafe_code)]

mod config;
mod error;
mod grpc;
mod grpc_convert;
mod grpc_stream;
pub mod grpc_types;
mod headers;
mod http;
mod payload;
mod proxy;
mod tls;
mod types_request;
mod types_response;

pub use config::{
    is_http_endpoint, ClientTls, ConfigError, ProxyConfig, StatusTransform, DEFAULT_MAX_RESPONSE_BODY,
};
pub use error::ProxyError;
pub use grpc::GrpcProxy;
pub use grpc_stream::{StreamPublication, StreamPublisher, SubscribeStream};
pub use headers::CallContext;
pub use http::{HttpProxy, ProxyHttpClient};
pub use payload::{choose_bytes, encode_data, encoding_name, PayloadError, WireData};
pub use proxy::Proxy;
pub use types_request::{
    ConnectRequest, PublishRequest, RPCRequest, RefreshRequest, SubRefreshRequest, SubscribeRequest,
};
pub use types_response::{
    BoolValue, ConnectResponse, ConnectResult, DisconnectReply, ErrorReply, Outcome, ProxyResponse,
    PublishResponse, PublishResult, RPCResponse, RPCResult, RefreshResponse, RefreshResult,
    SubRefreshResponse, SubRefreshResult, SubscribeOptionOverride, SubscribeOptions, SubscribeResponse,
    SubscribeResult,
};
