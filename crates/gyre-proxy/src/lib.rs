//! Centrifugo v6 backend proxy protocol over HTTP.
//!
//! Centrifugo forwards client events (connect, refresh, subscribe, publish, rpc, sub_refresh) to an
//! application backend as `POST <endpoint>` with a JSON body and expects a
//! `{result?, error?, disconnect?}` JSON reply. This crate holds the wire types, the per-proxy
//! configuration and an HTTP client; deciding what a reply means for a connection is left to the
//! caller (`gyre-handler`), so this crate does not depend on `gyre-core`.
#![forbid(unsafe_code)]

mod config;
mod error;
mod headers;
mod http;
mod payload;
mod types_request;
mod types_response;

pub use config::{ConfigError, ProxyConfig, StatusTransform, DEFAULT_MAX_RESPONSE_BODY};
pub use error::ProxyError;
pub use headers::CallContext;
pub use http::{HttpProxy, ProxyHttpClient};
pub use payload::{choose_bytes, encode_data, encoding_name, PayloadError, WireData};
pub use types_request::{
    ConnectRequest, PublishRequest, RPCRequest, RefreshRequest, SubRefreshRequest, SubscribeRequest,
};
pub use types_response::{
    BoolValue, ConnectResponse, ConnectResult, DisconnectReply, ErrorReply, Outcome, ProxyResponse,
    PublishResponse, PublishResult, RPCResponse, RPCResult, RefreshResponse, RefreshResult,
    SubRefreshResponse, SubRefreshResult, SubscribeOptionOverride, SubscribeOptions, SubscribeResponse,
    SubscribeResult,
};
