//! Protobuf messages of Centrifugo's proxy GRPC service, written by hand as prost structs so the
//! build needs neither `protoc` nor a build script.
//!
//! Field numbers follow `internal/proxyproto/proxy.proto` of centrifugal/centrifugo at commit
//! f25c7abd0701195829a62f19e1baffd42a7a43e9 (service `centrifugal.centrifugo.proxy.CentrifugoProxy`).
//! Covered: the calls Gyre makes (Connect, Refresh, Subscribe, Publish, RPC, SubRefresh and the
//! SubscribeUnidirectional / SubscribeBidirectional streams). PRO-only fields (`labels`, `caps`, `allow`, `server_tags_filter`) are left out:
//! prost skips unknown fields when decoding, and Gyre never sends them.

use std::collections::HashMap;

/// Full gRPC path prefix of the service.
pub const SERVICE_PATH: &str = "/centrifugal.centrifugo.proxy.CentrifugoProxy/";

#[derive(Clone, PartialEq, prost::Message)]
pub struct Disconnect {
    #[prost(uint32, tag = "1")]
    pub code: u32,
    #[prost(string, tag = "2")]
    pub reason: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Error {
    #[prost(uint32, tag = "1")]
    pub code: u32,
    #[prost(string, tag = "2")]
    pub message: String,
    #[prost(bool, tag = "3")]
    pub temporary: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BoolValue {
    #[prost(bool, tag = "1")]
    pub value: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SubscribeOptionOverride {
    #[prost(message, optional, tag = "1")]
    pub presence: Option<BoolValue>,
    #[prost(message, optional, tag = "2")]
    pub join_leave: Option<BoolValue>,
    #[prost(message, optional, tag = "3")]
    pub force_recovery: Option<BoolValue>,
    #[prost(message, optional, tag = "4")]
    pub force_positioning: Option<BoolValue>,
    #[prost(message, optional, tag = "5")]
    pub force_push_join_leave: Option<BoolValue>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SubscribeOptions {
    #[prost(int64, tag = "1")]
    pub expire_at: i64,
    #[prost(bytes = "vec", tag = "2")]
    pub info: Vec<u8>,
    #[prost(string, tag = "3")]
    pub b64info: String,
    #[prost(bytes = "vec", tag = "4")]
    pub data: Vec<u8>,
    #[prost(string, tag = "5")]
    pub b64data: String,
    #[prost(message, optional, tag = "6")]
    pub r#override: Option<SubscribeOptionOverride>,
    #[prost(bool, tag = "8")]
    pub cache_recover: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ConnectRequest {
    #[prost(string, tag = "1")]
    pub client: String,
    #[prost(string, tag = "2")]
    pub transport: String,
    #[prost(string, tag = "3")]
    pub protocol: String,
    #[prost(string, tag = "4")]
    pub encoding: String,
    #[prost(bytes = "vec", tag = "10")]
    pub data: Vec<u8>,
    #[prost(string, tag = "11")]
    pub b64data: String,
    #[prost(string, tag = "12")]
    pub name: String,
    #[prost(string, tag = "13")]
    pub version: String,
    #[prost(string, repeated, tag = "14")]
    pub channels: Vec<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ConnectResult {
    #[prost(string, tag = "1")]
    pub user: String,
    #[prost(int64, tag = "2")]
    pub expire_at: i64,
    #[prost(bytes = "vec", tag = "3")]
    pub info: Vec<u8>,
    #[prost(string, tag = "4")]
    pub b64info: String,
    #[prost(bytes = "vec", tag = "5")]
    pub data: Vec<u8>,
    #[prost(string, tag = "6")]
    pub b64data: String,
    #[prost(string, repeated, tag = "7")]
    pub channels: Vec<String>,
    #[prost(map = "string, message", tag = "8")]
    pub subs: HashMap<String, SubscribeOptions>,
    #[prost(bytes = "vec", tag = "9")]
    pub meta: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ConnectResponse {
    #[prost(message, optional, tag = "1")]
    pub result: Option<ConnectResult>,
    #[prost(message, optional, tag = "2")]
    pub error: Option<Error>,
    #[prost(message, optional, tag = "3")]
    pub disconnect: Option<Disconnect>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RefreshRequest {
    #[prost(string, tag = "1")]
    pub client: String,
    #[prost(string, tag = "2")]
    pub transport: String,
    #[prost(string, tag = "3")]
    pub protocol: String,
    #[prost(string, tag = "4")]
    pub encoding: String,
    #[prost(string, tag = "10")]
    pub user: String,
    #[prost(bytes = "vec", tag = "11")]
    pub meta: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RefreshResult {
    #[prost(bool, tag = "1")]
    pub expired: bool,
    #[prost(int64, tag = "2")]
    pub expire_at: i64,
    #[prost(bytes = "vec", tag = "3")]
    pub info: Vec<u8>,
    #[prost(string, tag = "4")]
    pub b64info: String,
    #[prost(bytes = "vec", tag = "5")]
    pub meta: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RefreshResponse {
    #[prost(message, optional, tag = "1")]
    pub result: Option<RefreshResult>,
    #[prost(message, optional, tag = "2")]
    pub error: Option<Error>,
    #[prost(message, optional, tag = "3")]
    pub disconnect: Option<Disconnect>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SubscribeRequest {
    #[prost(string, tag = "1")]
    pub client: String,
    #[prost(string, tag = "2")]
    pub transport: String,
    #[prost(string, tag = "3")]
    pub protocol: String,
    #[prost(string, tag = "4")]
    pub encoding: String,
    #[prost(string, tag = "10")]
    pub user: String,
    #[prost(string, tag = "11")]
    pub channel: String,
    #[prost(string, tag = "12")]
    pub token: String,
    #[prost(bytes = "vec", tag = "13")]
    pub meta: Vec<u8>,
    #[prost(bytes = "vec", tag = "14")]
    pub data: Vec<u8>,
    #[prost(string, tag = "15")]
    pub b64data: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SubscribeResult {
    #[prost(int64, tag = "1")]
    pub expire_at: i64,
    #[prost(bytes = "vec", tag = "2")]
    pub info: Vec<u8>,
    #[prost(string, tag = "3")]
    pub b64info: String,
    #[prost(bytes = "vec", tag = "4")]
    pub data: Vec<u8>,
    #[prost(string, tag = "5")]
    pub b64data: String,
    #[prost(message, optional, tag = "6")]
    pub r#override: Option<SubscribeOptionOverride>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SubscribeResponse {
    #[prost(message, optional, tag = "1")]
    pub result: Option<SubscribeResult>,
    #[prost(message, optional, tag = "2")]
    pub error: Option<Error>,
    #[prost(message, optional, tag = "3")]
    pub disconnect: Option<Disconnect>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PublishRequest {
    #[prost(string, tag = "1")]
    pub client: String,
    #[prost(string, tag = "2")]
    pub transport: String,
    #[prost(string, tag = "3")]
    pub protocol: String,
    #[prost(string, tag = "4")]
    pub encoding: String,
    #[prost(string, tag = "10")]
    pub user: String,
    #[prost(string, tag = "11")]
    pub channel: String,
    #[prost(bytes = "vec", tag = "12")]
    pub data: Vec<u8>,
    #[prost(string, tag = "13")]
    pub b64data: String,
    #[prost(bytes = "vec", tag = "14")]
    pub meta: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PublishResult {
    #[prost(bytes = "vec", tag = "1")]
    pub data: Vec<u8>,
    #[prost(string, tag = "2")]
    pub b64data: String,
    #[prost(bool, tag = "3")]
    pub skip_history: bool,
    #[prost(map = "string, string", tag = "4")]
    pub tags: HashMap<String, String>,
    #[prost(string, tag = "5")]
    pub idempotency_key: String,
    #[prost(bool, tag = "6")]
    pub delta: bool,
    #[prost(uint64, tag = "7")]
    pub version: u64,
    #[prost(string, tag = "8")]
    pub version_epoch: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PublishResponse {
    #[prost(message, optional, tag = "1")]
    pub result: Option<PublishResult>,
    #[prost(message, optional, tag = "2")]
    pub error: Option<Error>,
    #[prost(message, optional, tag = "3")]
    pub disconnect: Option<Disconnect>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcRequest {
    #[prost(string, tag = "1")]
    pub client: String,
    #[prost(string, tag = "2")]
    pub transport: String,
    #[prost(string, tag = "3")]
    pub protocol: String,
    #[prost(string, tag = "4")]
    pub encoding: String,
    #[prost(string, tag = "10")]
    pub user: String,
    #[prost(string, tag = "11")]
    pub method: String,
    #[prost(bytes = "vec", tag = "12")]
    pub data: Vec<u8>,
    #[prost(string, tag = "13")]
    pub b64data: String,
    #[prost(bytes = "vec", tag = "14")]
    pub meta: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcResult {
    #[prost(bytes = "vec", tag = "1")]
    pub data: Vec<u8>,
    #[prost(string, tag = "2")]
    pub b64data: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcResponse {
    #[prost(message, optional, tag = "1")]
    pub result: Option<RpcResult>,
    #[prost(message, optional, tag = "2")]
    pub error: Option<Error>,
    #[prost(message, optional, tag = "3")]
    pub disconnect: Option<Disconnect>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SubRefreshRequest {
    #[prost(string, tag = "1")]
    pub client: String,
    #[prost(string, tag = "2")]
    pub transport: String,
    #[prost(string, tag = "3")]
    pub protocol: String,
    #[prost(string, tag = "4")]
    pub encoding: String,
    #[prost(string, tag = "10")]
    pub user: String,
    #[prost(string, tag = "11")]
    pub channel: String,
    #[prost(bytes = "vec", tag = "12")]
    pub meta: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SubRefreshResult {
    #[prost(bool, tag = "1")]
    pub expired: bool,
    #[prost(int64, tag = "2")]
    pub expire_at: i64,
    #[prost(bytes = "vec", tag = "3")]
    pub info: Vec<u8>,
    #[prost(string, tag = "4")]
    pub b64info: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SubRefreshResponse {
    #[prost(message, optional, tag = "1")]
    pub result: Option<SubRefreshResult>,
    #[prost(message, optional, tag = "2")]
    pub error: Option<Error>,
    #[prost(message, optional, tag = "3")]
    pub disconnect: Option<Disconnect>,
}

/// A publication on a subscribe stream: from the backend to the client, or (bidirectional) the
/// client's publish to the backend.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Publication {
    #[prost(bytes = "bytes", tag = "4")]
    pub data: bytes::Bytes,
    #[prost(map = "string, string", tag = "7")]
    pub tags: HashMap<String, String>,
}

/// What Gyre sends on a bidirectional subscribe stream: the subscribe request first, then the
/// client's publications.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StreamSubscribeRequest {
    #[prost(message, optional, tag = "1")]
    pub subscribe_request: Option<SubscribeRequest>,
    #[prost(message, optional, tag = "2")]
    pub publication: Option<Publication>,
}

/// What the backend sends on a subscribe stream: the subscribe response first, then
/// publications.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StreamSubscribeResponse {
    #[prost(message, optional, tag = "1")]
    pub subscribe_response: Option<SubscribeResponse>,
    #[prost(message, optional, tag = "2")]
    pub publication: Option<Publication>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    /// Hand-computed encodings pin a few field numbers against silent edits.
    #[test]
    fn field_numbers_on_the_wire() {
        let req = ConnectRequest {
            client: "c".into(),
            data: b"{}".to_vec(),
            channels: vec!["x".into()],
            ..Default::default()
        };
        // tag 1 string, tag 10 bytes (0x52), tag 14 string (0x72).
        assert_eq!(
            req.encode_to_vec(),
            vec![0x0a, 1, b'c', 0x52, 2, b'{', b'}', 0x72, 1, b'x']
        );

        let rep = SubscribeResponse {
            result: None,
            error: None,
            disconnect: Some(Disconnect {
                code: 4000,
                reason: String::new(),
            }),
        };
        // tag 3 message, inner tag 1 varint 4000 = 0xa0 0x1f.
        assert_eq!(rep.encode_to_vec(), vec![0x1a, 3, 0x08, 0xa0, 0x1f]);

        let opts = SubscribeOptions {
            cache_recover: true,
            ..Default::default()
        };
        assert_eq!(opts.encode_to_vec(), vec![0x40, 1]);
    }
}
