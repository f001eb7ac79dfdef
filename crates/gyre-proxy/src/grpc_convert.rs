//! The crate's JSON-side request/result types <-> the GRPC messages.
//!
//! Requests: raw JSON `data`/`meta` travel as their bytes, `b64data` as the same string (Centrifugo
//! fills `b64data` for GRPC too when `binary_encoding` is on, because the request is built before
//! the transport is chosen).
//!
//! Results: `bytes` fields may hold anything over GRPC, while the JSON-side types keep raw JSON.
//! Bytes that are JSON become the raw field; other bytes are carried base64-encoded in the `b64`
//! sibling, so the `*_bytes()` accessors return exactly what the backend sent. A base64 string the
//! backend set itself is kept when it already takes precedence over the raw field.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::value::RawValue;

use crate::error::ProxyError;
use crate::grpc_types as pb;
use crate::types_request::{
    ConnectRequest, PublishRequest, RPCRequest, RefreshRequest, SubRefreshRequest, SubscribeRequest,
};
use crate::types_response::{
    BoolValue, ConnectResult, Outcome, PublishResult, RPCResult, RefreshResult, SubRefreshResult,
    SubscribeOptionOverride, SubscribeOptions, SubscribeResult,
};

fn raw_bytes(raw: &Option<Box<RawValue>>) -> Vec<u8> {
    raw.as_ref()
        .map(|r| r.get().as_bytes().to_vec())
        .unwrap_or_default()
}

fn as_json(bytes: Vec<u8>) -> Option<Box<RawValue>> {
    let text = String::from_utf8(bytes).ok()?;
    RawValue::from_string(text).ok()
}

/// Which of a `raw`/`b64` pair the handler reads first when both are set.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Prefer {
    B64,
    Raw,
}

/// Maps a GRPC `bytes` + `b64` pair onto the JSON-side pair without changing what the handler's
/// accessor will decode.
fn pair(bytes: Vec<u8>, b64: String, prefer: Prefer) -> (Option<Box<RawValue>>, String) {
    if bytes.is_empty() || (prefer == Prefer::B64 && !b64.is_empty()) {
        // Nothing raw, or the raw bytes are never looked at.
        return (None, b64);
    }
    // From here the raw bytes are what the accessor returns.
    match std::str::from_utf8(&bytes)
        .ok()
        .and_then(|t| RawValue::from_string(t.to_owned()).ok())
    {
        Some(raw) => (Some(raw), b64),
        None => (None, STANDARD.encode(&bytes)),
    }
}

fn pair_b64(bytes: Vec<u8>, b64: String) -> (Option<Box<RawValue>>, String) {
    pair(bytes, b64, Prefer::B64)
}

/// Connection meta must be JSON: Gyre stores it as JSON and forwards it in later JSON requests.
fn meta(bytes: Vec<u8>) -> Result<Option<Box<RawValue>>, ProxyError> {
    if bytes.is_empty() {
        return Ok(None);
    }
    as_json(bytes)
        .map(Some)
        .ok_or_else(|| ProxyError::Decode("result meta is not JSON".to_owned()))
}

/// Centrifugo's order of checks: disconnect, then error, then result. The result is converted only
/// when it is the outcome, so an undecodable result cannot hide a disconnect.
pub(crate) fn outcome<P, T>(
    result: Option<P>,
    error: Option<pb::Error>,
    disconnect: Option<pb::Disconnect>,
    convert: impl FnOnce(P) -> Result<T, ProxyError>,
) -> Result<Outcome<T>, ProxyError> {
    if let Some(d) = disconnect {
        return Ok(Outcome::Disconnect {
            code: d.code,
            reason: d.reason,
        });
    }
    if let Some(e) = error {
        return Ok(Outcome::Error {
            code: e.code,
            message: e.message,
            temporary: e.temporary,
        });
    }
    Ok(Outcome::Result(result.map(convert).transpose()?))
}

pub(crate) fn connect_request(r: &ConnectRequest) -> pb::ConnectRequest {
    pb::ConnectRequest {
        client: r.client.clone(),
        transport: r.transport.clone(),
        protocol: r.protocol.clone(),
        encoding: r.encoding.clone(),
        data: raw_bytes(&r.data),
        b64data: r.b64data.clone(),
        name: r.name.clone(),
        version: r.version.clone(),
        channels: r.channels.clone(),
    }
}

pub(crate) fn refresh_request(r: &RefreshRequest) -> pb::RefreshRequest {
    pb::RefreshRequest {
        client: r.client.clone(),
        transport: r.transport.clone(),
        protocol: r.protocol.clone(),
        encoding: r.encoding.clone(),
        user: r.user.clone(),
        meta: raw_bytes(&r.meta),
    }
}

pub(crate) fn subscribe_request(r: &SubscribeRequest) -> pb::SubscribeRequest {
    pb::SubscribeRequest {
        client: r.client.clone(),
        transport: r.transport.clone(),
        protocol: r.protocol.clone(),
        encoding: r.encoding.clone(),
        user: r.user.clone(),
        channel: r.channel.clone(),
        token: r.token.clone(),
        meta: raw_bytes(&r.meta),
        data: raw_bytes(&r.data),
        b64data: r.b64data.clone(),
    }
}

pub(crate) fn publish_request(r: &PublishRequest) -> pb::PublishRequest {
    pb::PublishRequest {
        client: r.client.clone(),
        transport: r.transport.clone(),
        protocol: r.protocol.clone(),
        encoding: r.encoding.clone(),
        user: r.user.clone(),
        channel: r.channel.clone(),
        data: raw_bytes(&r.data),
        b64data: r.b64data.clone(),
        meta: raw_bytes(&r.meta),
    }
}

pub(crate) fn rpc_request(r: &RPCRequest) -> pb::RpcRequest {
    pb::RpcRequest {
        client: r.client.clone(),
        transport: r.transport.clone(),
        protocol: r.protocol.clone(),
        encoding: r.encoding.clone(),
        user: r.user.clone(),
        method: r.method.clone(),
        data: raw_bytes(&r.data),
        b64data: r.b64data.clone(),
        meta: raw_bytes(&r.meta),
    }
}

pub(crate) fn sub_refresh_request(r: &SubRefreshRequest) -> pb::SubRefreshRequest {
    pb::SubRefreshRequest {
        client: r.client.clone(),
        transport: r.transport.clone(),
        protocol: r.protocol.clone(),
        encoding: r.encoding.clone(),
        user: r.user.clone(),
        channel: r.channel.clone(),
        meta: raw_bytes(&r.meta),
    }
}

fn bool_value(v: Option<pb::BoolValue>) -> Option<BoolValue> {
    v.map(|b| BoolValue { value: b.value })
}

fn override_of(o: Option<pb::SubscribeOptionOverride>) -> Option<SubscribeOptionOverride> {
    o.map(|o| SubscribeOptionOverride {
        presence: bool_value(o.presence),
        join_leave: bool_value(o.join_leave),
        force_recovery: bool_value(o.force_recovery),
        force_positioning: bool_value(o.force_positioning),
        force_push_join_leave: bool_value(o.force_push_join_leave),
    })
}

fn subscribe_options(o: pb::SubscribeOptions) -> SubscribeOptions {
    let (info, b64info) = pair_b64(o.info, o.b64info);
    let (data, b64data) = pair_b64(o.data, o.b64data);
    SubscribeOptions {
        expire_at: o.expire_at,
        info,
        b64info,
        data,
        b64data,
        r#override: override_of(o.r#override),
        cache_recover: o.cache_recover,
    }
}

pub(crate) fn connect_result(r: pb::ConnectResult) -> Result<ConnectResult, ProxyError> {
    let (info, b64info) = pair_b64(r.info, r.b64info);
    let (data, b64data) = pair_b64(r.data, r.b64data);
    Ok(ConnectResult {
        user: r.user,
        expire_at: r.expire_at,
        info,
        b64info,
        data,
        b64data,
        channels: r.channels,
        subs: r
            .subs
            .into_iter()
            .map(|(k, v)| (k, subscribe_options(v)))
            .collect(),
        meta: meta(r.meta)?,
    })
}

pub(crate) fn refresh_result(r: pb::RefreshResult) -> Result<RefreshResult, ProxyError> {
    let (info, b64info) = pair_b64(r.info, r.b64info);
    Ok(RefreshResult {
        expired: r.expired,
        expire_at: r.expire_at,
        info,
        b64info,
        meta: meta(r.meta)?,
    })
}

pub(crate) fn subscribe_result(r: pb::SubscribeResult) -> Result<SubscribeResult, ProxyError> {
    let (info, b64info) = pair_b64(r.info, r.b64info);
    let (data, b64data) = pair_b64(r.data, r.b64data);
    Ok(SubscribeResult {
        expire_at: r.expire_at,
        info,
        b64info,
        data,
        b64data,
        r#override: override_of(r.r#override),
    })
}

pub(crate) fn publish_result(r: pb::PublishResult) -> Result<PublishResult, ProxyError> {
    // The publish handler reads raw data before b64data.
    let (data, b64data) = pair(r.data, r.b64data, Prefer::Raw);
    Ok(PublishResult {
        data,
        b64data,
        skip_history: r.skip_history,
        tags: r.tags,
        idempotency_key: r.idempotency_key,
        delta: r.delta,
        version: r.version,
        version_epoch: r.version_epoch,
    })
}

pub(crate) fn rpc_result(r: pb::RpcResult) -> Result<RPCResult, ProxyError> {
    let (data, b64data) = pair_b64(r.data, r.b64data);
    Ok(RPCResult { data, b64data })
}

pub(crate) fn sub_refresh_result(r: pb::SubRefreshResult) -> Result<SubRefreshResult, ProxyError> {
    let (info, b64info) = pair_b64(r.info, r.b64info);
    Ok(SubRefreshResult {
        expired: r.expired,
        expire_at: r.expire_at,
        info,
        b64info,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::choose_bytes;

    /// What the handler's accessor would decode from a converted pair.
    fn read(p: (Option<Box<RawValue>>, String), prefer: Prefer) -> Option<Vec<u8>> {
        match prefer {
            Prefer::B64 => choose_bytes(p.0.as_deref(), &p.1).unwrap(),
            Prefer::Raw => match p.0 {
                Some(raw) => Some(raw.get().as_bytes().to_vec()),
                None => choose_bytes(None, &p.1).unwrap(),
            },
        }
    }

    #[test]
    fn pairs_decode_to_what_centrifugo_would_use() {
        let bin = vec![0xff, 0x01];
        let json = br#"{"a":1}"#.to_vec();
        let b64 = || "aGk=".to_owned(); // "hi"
        let cases = [
            (vec![], String::new(), Prefer::B64, None),
            (vec![], b64(), Prefer::B64, Some(b"hi".to_vec())),
            (json.clone(), String::new(), Prefer::B64, Some(json.clone())),
            (bin.clone(), String::new(), Prefer::B64, Some(bin.clone())),
            (bin.clone(), b64(), Prefer::B64, Some(b"hi".to_vec())),
            (json.clone(), b64(), Prefer::B64, Some(b"hi".to_vec())),
            (json.clone(), b64(), Prefer::Raw, Some(json.clone())),
            (bin.clone(), b64(), Prefer::Raw, Some(bin.clone())),
        ];
        for (i, (bytes, b, prefer, want)) in cases.into_iter().enumerate() {
            assert_eq!(read(pair(bytes, b, prefer), prefer), want, "case {i}");
        }
    }

    #[test]
    fn meta_must_be_json() {
        assert!(meta(vec![]).unwrap().is_none());
        assert_eq!(meta(b"{}".to_vec()).unwrap().unwrap().get(), "{}");
        assert!(matches!(meta(vec![0xff]), Err(ProxyError::Decode(_))));
    }
}
