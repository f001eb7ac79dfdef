//! Request bodies Centrifugo POSTs to the backend (proxy.proto messages as Go's `encoding/json`
//! renders them: snake_case keys, empty fields omitted, except `user` which is always present on
//! every non-connect request).
//!
//! `data` and `meta` hold JSON exactly as received from the client / token; use
//! [`crate::encode_data`] to fill `data`/`b64data` according to the proxy's `binary_encoding`, and
//! [`crate::ProxyConfig::encoding`] for `encoding`. PRO-only `labels` are not modelled.

use serde::Serialize;
use serde_json::value::RawValue;

#[derive(Debug, Default, Clone, Serialize)]
pub struct ConnectRequest {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub transport: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub protocol: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub encoding: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub b64data: String,
    /// Client SDK name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Client SDK version.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// Server-side channels the client asks for in its connect command.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<String>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct RefreshRequest {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub transport: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub protocol: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub encoding: String,
    pub user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<Box<RawValue>>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct SubscribeRequest {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub transport: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub protocol: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub encoding: String,
    pub user: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub channel: String,
    /// In the proto, but Centrifugo OSS never calls the subscribe proxy for token subscriptions.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub b64data: String,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct PublishRequest {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub transport: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub protocol: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub encoding: String,
    pub user: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub channel: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub b64data: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<Box<RawValue>>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct RPCRequest {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub transport: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub protocol: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub encoding: String,
    pub user: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub method: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub b64data: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<Box<RawValue>>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct SubRefreshRequest {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub transport: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub protocol: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub encoding: String,
    pub user: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub channel: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<Box<RawValue>>,
}
