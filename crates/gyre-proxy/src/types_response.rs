//! Backend replies: `{result?, error?, disconnect?}` per event, decoded leniently like Go's
//! `encoding/json` (unknown keys ignored, `null` = zero value). PRO-only fields (`caps`, `labels`,
//! `allow`, `server_tags_filter`) are not modelled and therefore ignored.

use std::collections::HashMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

use crate::payload::{choose_bytes, PayloadError};

/// Go decodes `null` into a scalar as "leave the zero value"; serde would reject it.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}

fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}

fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}

/// `error` object of a reply. Custom codes are documented to be in [400, 1999] (not validated).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorReply {
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_zero_u32")]
    pub code: u32,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub temporary: bool,
}

/// `disconnect` object of a reply. Custom codes are documented to be 4000–4999.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DisconnectReply {
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_zero_u32")]
    pub code: u32,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// A reply envelope; `T` is the event's result type.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, bound(deserialize = "T: Deserialize<'de>"))]
pub struct ProxyResponse<T> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorReply>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disconnect: Option<DisconnectReply>,
}

impl<T> Default for ProxyResponse<T> {
    fn default() -> Self {
        Self {
            result: None,
            error: None,
            disconnect: None,
        }
    }
}

/// What a reply asks for, in Centrifugo's order of checks: disconnect, then error, then result.
///
/// `Result(None)` is a reply without `result`; its meaning depends on the event (connect:
/// no credentials; refresh / sub_refresh: expired; subscribe / publish / rpc: allowed as is).
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<T> {
    Result(Option<T>),
    Error {
        code: u32,
        message: String,
        temporary: bool,
    },
    Disconnect {
        code: u32,
        reason: String,
    },
}

impl<T> ProxyResponse<T> {
    pub fn into_outcome(self) -> Outcome<T> {
        if let Some(d) = self.disconnect {
            return Outcome::Disconnect {
                code: d.code,
                reason: d.reason,
            };
        }
        if let Some(e) = self.error {
            return Outcome::Error {
                code: e.code,
                message: e.message,
                temporary: e.temporary,
            };
        }
        Outcome::Result(self.result)
    }
}

/// Proto `BoolValue`: an override is present (even `{}`, meaning false) or absent.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BoolValue {
    #[serde(deserialize_with = "nullable")]
    pub value: bool,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubscribeOptionOverride {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence: Option<BoolValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub join_leave: Option<BoolValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub force_recovery: Option<BoolValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub force_positioning: Option<BoolValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub force_push_join_leave: Option<BoolValue>,
}

/// Per-channel options in a connect result's `subs` map.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SubscribeOptions {
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_zero_i64")]
    pub expire_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<Box<RawValue>>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub b64info: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<RawValue>>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub b64data: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub r#override: Option<SubscribeOptionOverride>,
    /// v6.8.3+: start cache recovery for this server-side subscription.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub cache_recover: bool,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnectResult {
    #[serde(deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub user: String,
    /// Unix seconds; 0 means the connection never expires.
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_zero_i64")]
    pub expire_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<Box<RawValue>>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub b64info: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<RawValue>>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub b64data: String,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<String>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "HashMap::is_empty")]
    pub subs: HashMap<String, SubscribeOptions>,
    /// Stored on the connection, never sent to the client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<Box<RawValue>>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RefreshResult {
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub expired: bool,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_zero_i64")]
    pub expire_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<Box<RawValue>>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub b64info: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<Box<RawValue>>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SubscribeResult {
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_zero_i64")]
    pub expire_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<Box<RawValue>>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub b64info: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<RawValue>>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub b64data: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub r#override: Option<SubscribeOptionOverride>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PublishResult {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<RawValue>>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub b64data: String,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub skip_history: bool,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "HashMap::is_empty")]
    pub tags: HashMap<String, String>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub idempotency_key: String,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub delta: bool,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_zero_u64")]
    pub version: u64,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub version_epoch: String,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RPCResult {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<RawValue>>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub b64data: String,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SubRefreshResult {
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_false")]
    pub expired: bool,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "is_zero_i64")]
    pub expire_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<Box<RawValue>>,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub b64info: String,
}

pub type ConnectResponse = ProxyResponse<ConnectResult>;
pub type RefreshResponse = ProxyResponse<RefreshResult>;
pub type SubscribeResponse = ProxyResponse<SubscribeResult>;
pub type PublishResponse = ProxyResponse<PublishResult>;
pub type RPCResponse = ProxyResponse<RPCResult>;
pub type SubRefreshResponse = ProxyResponse<SubRefreshResult>;

// Decoded accessors following each Centrifugo handler's precedence between raw and base64.

impl ConnectResult {
    pub fn info_bytes(&self) -> Result<Option<Vec<u8>>, PayloadError> {
        choose_bytes(self.info.as_deref(), &self.b64info)
    }
    pub fn data_bytes(&self) -> Result<Option<Vec<u8>>, PayloadError> {
        choose_bytes(self.data.as_deref(), &self.b64data)
    }
}

impl SubscribeOptions {
    pub fn info_bytes(&self) -> Result<Option<Vec<u8>>, PayloadError> {
        choose_bytes(self.info.as_deref(), &self.b64info)
    }
    pub fn data_bytes(&self) -> Result<Option<Vec<u8>>, PayloadError> {
        choose_bytes(self.data.as_deref(), &self.b64data)
    }
}

impl RefreshResult {
    pub fn info_bytes(&self) -> Result<Option<Vec<u8>>, PayloadError> {
        choose_bytes(self.info.as_deref(), &self.b64info)
    }
}

impl SubscribeResult {
    pub fn info_bytes(&self) -> Result<Option<Vec<u8>>, PayloadError> {
        choose_bytes(self.info.as_deref(), &self.b64info)
    }
    pub fn data_bytes(&self) -> Result<Option<Vec<u8>>, PayloadError> {
        choose_bytes(self.data.as_deref(), &self.b64data)
    }
}

impl PublishResult {
    /// Unlike the other handlers, Centrifugo's publish handler prefers raw `data` over `b64data`.
    pub fn data_bytes(&self) -> Result<Option<Vec<u8>>, PayloadError> {
        match &self.data {
            Some(raw) => Ok(Some(raw.get().as_bytes().to_vec())),
            None => choose_bytes(None, &self.b64data),
        }
    }
}

impl RPCResult {
    pub fn data_bytes(&self) -> Result<Option<Vec<u8>>, PayloadError> {
        choose_bytes(self.data.as_deref(), &self.b64data)
    }
}

impl SubRefreshResult {
    pub fn info_bytes(&self) -> Result<Option<Vec<u8>>, PayloadError> {
        choose_bytes(self.info.as_deref(), &self.b64info)
    }
}
