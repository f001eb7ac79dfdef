//! One API call written once as Centrifugo's HTTP JSON, sent through GRPC: the JSON body is
//! turned into the protobuf request, the protobuf response back into the HTTP JSON shape
//! (`{"result":…}` / `{"error":…}`, raw `bytes` fields embedded as JSON). Written from the
//! schema independently of the server's conversions, so a mapping bug on either side shows.

use std::collections::HashMap;

use bytes::Bytes;
use gyre_grpc::pb;
use gyre_grpc::pb::centrifugo_api_client::CentrifugoApiClient;
use serde_json::{json, Map, Value};
use tonic::transport::Channel;

use crate::common::with_auth;

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_default().to_owned()
}

fn b(v: &Value, k: &str) -> bool {
    v[k].as_bool().unwrap_or_default()
}

fn u(v: &Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or_default()
}

fn i(v: &Value, k: &str) -> i64 {
    v[k].as_i64().unwrap_or_default()
}

/// A raw field: the JSON text of the value, as the HTTP API keeps it.
fn raw(v: &Value, k: &str) -> Bytes {
    match v.get(k) {
        None => Bytes::new(),
        Some(value) => Bytes::from(value.to_string()),
    }
}

fn strings(v: &Value, k: &str) -> Vec<String> {
    v[k].as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

fn tags(v: &Value) -> HashMap<String, String> {
    v["tags"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn position(v: &Value, k: &str) -> Option<pb::StreamPosition> {
    v.get(k).map(|p| pb::StreamPosition {
        offset: u(p, "offset"),
        epoch: s(p, "epoch"),
    })
}

fn bool_value(v: &Value, k: &str) -> Option<pb::BoolValue> {
    v.get(k).map(|b| pb::BoolValue {
        value: b["value"].as_bool().unwrap_or_default(),
    })
}

fn publish_req(v: &Value) -> pb::PublishRequest {
    pb::PublishRequest {
        channel: s(v, "channel"),
        data: raw(v, "data"),
        b64data: s(v, "b64data"),
        skip_history: b(v, "skip_history"),
        tags: tags(v),
        idempotency_key: s(v, "idempotency_key"),
        delta: b(v, "delta"),
        version: u(v, "version"),
        version_epoch: s(v, "version_epoch"),
    }
}

fn broadcast_req(v: &Value) -> pb::BroadcastRequest {
    pb::BroadcastRequest {
        channels: strings(v, "channels"),
        data: raw(v, "data"),
        b64data: s(v, "b64data"),
        skip_history: b(v, "skip_history"),
        tags: tags(v),
        idempotency_key: s(v, "idempotency_key"),
        delta: b(v, "delta"),
        version: u(v, "version"),
        version_epoch: s(v, "version_epoch"),
    }
}

fn subscribe_req(v: &Value) -> pb::SubscribeRequest {
    pb::SubscribeRequest {
        channel: s(v, "channel"),
        user: s(v, "user"),
        expire_at: i(v, "expire_at"),
        info: raw(v, "info"),
        b64info: s(v, "b64info"),
        client: s(v, "client"),
        data: raw(v, "data"),
        b64data: s(v, "b64data"),
        recover_since: position(v, "recover_since"),
        r#override: v.get("override").map(|o| pb::SubscribeOptionOverride {
            presence: bool_value(o, "presence"),
            join_leave: bool_value(o, "join_leave"),
            force_recovery: bool_value(o, "force_recovery"),
            force_positioning: bool_value(o, "force_positioning"),
            force_push_join_leave: bool_value(o, "force_push_join_leave"),
        }),
        session: s(v, "session"),
        ..Default::default()
    }
}

fn unsubscribe_req(v: &Value) -> pb::UnsubscribeRequest {
    pb::UnsubscribeRequest {
        channel: s(v, "channel"),
        user: s(v, "user"),
        client: s(v, "client"),
        session: s(v, "session"),
        ..Default::default()
    }
}

fn disconnect_req(v: &Value) -> pb::DisconnectRequest {
    pb::DisconnectRequest {
        user: s(v, "user"),
        disconnect: v.get("disconnect").map(|d| pb::Disconnect {
            code: u(d, "code") as u32,
            reason: s(d, "reason"),
        }),
        client: s(v, "client"),
        whitelist: strings(v, "whitelist"),
        session: s(v, "session"),
        ..Default::default()
    }
}

fn refresh_req(v: &Value) -> pb::RefreshRequest {
    pb::RefreshRequest {
        user: s(v, "user"),
        client: s(v, "client"),
        expired: b(v, "expired"),
        expire_at: i(v, "expire_at"),
        info: raw(v, "info"),
        session: s(v, "session"),
        ..Default::default()
    }
}

fn history_req(v: &Value) -> pb::HistoryRequest {
    pb::HistoryRequest {
        channel: s(v, "channel"),
        limit: i(v, "limit") as i32,
        since: position(v, "since"),
        reverse: b(v, "reverse"),
    }
}

/// A batch element: `{"<method>": {…}}`; an unknown key becomes a command of the schema that
/// Gyre does not run (`map_publish`).
fn command(v: &Value) -> pb::Command {
    let (method, body) = v.as_object().unwrap().iter().next().unwrap();
    let mut c = pb::Command::default();
    match method.as_str() {
        "publish" => c.publish = Some(publish_req(body)),
        "broadcast" => c.broadcast = Some(broadcast_req(body)),
        "subscribe" => c.subscribe = Some(subscribe_req(body)),
        "unsubscribe" => c.unsubscribe = Some(unsubscribe_req(body)),
        "disconnect" => c.disconnect = Some(disconnect_req(body)),
        "refresh" => c.refresh = Some(refresh_req(body)),
        "presence" => {
            c.presence = Some(pb::PresenceRequest {
                channel: s(body, "channel"),
            })
        }
        "presence_stats" => {
            c.presence_stats = Some(pb::PresenceStatsRequest {
                channel: s(body, "channel"),
            })
        }
        "history" => c.history = Some(history_req(body)),
        "history_remove" => {
            c.history_remove = Some(pb::HistoryRemoveRequest {
                channel: s(body, "channel"),
            })
        }
        "info" => c.info = Some(pb::InfoRequest {}),
        "rpc" => {
            c.rpc = Some(pb::RpcRequest {
                method: s(body, "method"),
                params: raw(body, "params"),
            })
        }
        "channels" => {
            c.channels = Some(pb::ChannelsRequest {
                pattern: s(body, "pattern"),
            })
        }
        _ => c.map_publish = Some(pb::MapPublishRequest::default()),
    }
    c
}

/// Stored bytes as embedded JSON (every payload in these tests is JSON).
fn embed(bytes: &Bytes) -> Value {
    if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(bytes).expect("payload is JSON")
    }
}

fn error(e: &pb::Error) -> Value {
    json!({"code": e.code, "message": e.message})
}

fn client_info(c: &pb::ClientInfo) -> Value {
    json!({"user": c.user, "client": c.client, "conn_info": embed(&c.conn_info), "chan_info": embed(&c.chan_info)})
}

fn publish_res(r: &pb::PublishResult) -> Value {
    json!({"offset": r.offset, "epoch": r.epoch})
}

fn broadcast_res(r: &pb::BroadcastResult) -> Value {
    let responses: Vec<Value> = r
        .responses
        .iter()
        .map(|p| envelope(p.error.as_ref(), p.result.as_ref().map(publish_res)))
        .collect();
    json!({ "responses": responses })
}

fn presence_res(r: &pb::PresenceResult) -> Value {
    let presence: Map<String, Value> = r
        .presence
        .iter()
        .map(|(k, v)| (k.clone(), client_info(v)))
        .collect();
    json!({ "presence": presence })
}

fn presence_stats_res(r: &pb::PresenceStatsResult) -> Value {
    json!({"num_clients": r.num_clients, "num_users": r.num_users})
}

fn history_res(r: &pb::HistoryResult) -> Value {
    let publications: Vec<Value> = r
        .publications
        .iter()
        .map(|p| {
            json!({
                "data": embed(&p.data),
                "info": p.info.as_ref().map(client_info),
                "offset": p.offset,
                "tags": p.tags,
            })
        })
        .collect();
    json!({"publications": publications, "epoch": r.epoch, "offset": r.offset})
}

fn info_res(r: &pb::InfoResult) -> Value {
    let nodes: Vec<Value> = r
        .nodes
        .iter()
        .map(|n| {
            assert!(n.metrics.is_none() && n.process.is_none());
            json!({
                "uid": n.uid, "name": n.name, "version": n.version,
                "num_clients": n.num_clients, "num_users": n.num_users,
                "num_channels": n.num_channels, "uptime": n.uptime, "num_subs": n.num_subs,
            })
        })
        .collect();
    json!({ "nodes": nodes })
}

fn rpc_res(r: &pb::RpcResult) -> Value {
    json!({"data": embed(&r.data)})
}

fn channels_res(r: &pb::ChannelsResult) -> Value {
    let channels: Map<String, Value> = r
        .channels
        .iter()
        .map(|(k, v)| (k.clone(), json!({"num_clients": v.num_clients})))
        .collect();
    json!({ "channels": channels })
}

fn envelope(error_: Option<&pb::Error>, result: Option<Value>) -> Value {
    let mut m = Map::new();
    if let Some(e) = error_ {
        m.insert("error".into(), error(e));
    }
    if let Some(r) = result {
        m.insert("result".into(), r);
    }
    Value::Object(m)
}

fn reply(r: &pb::Reply) -> Value {
    let (key, value) = if let Some(e) = &r.error {
        ("error", error(e))
    } else if let Some(x) = &r.publish {
        ("publish", publish_res(x))
    } else if let Some(x) = &r.broadcast {
        ("broadcast", broadcast_res(x))
    } else if r.subscribe.is_some() {
        ("subscribe", json!({}))
    } else if r.unsubscribe.is_some() {
        ("unsubscribe", json!({}))
    } else if r.disconnect.is_some() {
        ("disconnect", json!({}))
    } else if r.refresh.is_some() {
        ("refresh", json!({}))
    } else if let Some(x) = &r.presence {
        ("presence", presence_res(x))
    } else if let Some(x) = &r.presence_stats {
        ("presence_stats", presence_stats_res(x))
    } else if let Some(x) = &r.history {
        ("history", history_res(x))
    } else if r.history_remove.is_some() {
        ("history_remove", json!({}))
    } else if let Some(x) = &r.info {
        ("info", info_res(x))
    } else if let Some(x) = &r.rpc {
        ("rpc", rpc_res(x))
    } else if let Some(x) = &r.channels {
        ("channels", channels_res(x))
    } else {
        panic!("empty reply {r:?}")
    };
    json!({ key: value })
}

/// Calls `method` over GRPC with the JSON body and returns the HTTP-shaped JSON response.
pub(crate) async fn call(
    client: &mut CentrifugoApiClient<Channel>,
    auth: &str,
    method: &str,
    v: &Value,
) -> Value {
    macro_rules! unary {
        ($call:ident, $req:expr, $res:expr) => {{
            let r = client
                .$call(with_auth($req, auth))
                .await
                .unwrap_or_else(|s| panic!("GRPC {} failed: {s:?}", method))
                .into_inner();
            envelope(r.error.as_ref(), r.result.as_ref().map($res))
        }};
    }
    match method {
        "publish" => unary!(publish, publish_req(v), publish_res),
        "broadcast" => unary!(broadcast, broadcast_req(v), broadcast_res),
        "subscribe" => unary!(subscribe, subscribe_req(v), |_| json!({})),
        "unsubscribe" => unary!(unsubscribe, unsubscribe_req(v), |_| json!({})),
        "disconnect" => unary!(disconnect, disconnect_req(v), |_| json!({})),
        "refresh" => unary!(refresh, refresh_req(v), |_| json!({})),
        "presence" => unary!(
            presence,
            pb::PresenceRequest {
                channel: s(v, "channel")
            },
            presence_res
        ),
        "presence_stats" => unary!(
            presence_stats,
            pb::PresenceStatsRequest {
                channel: s(v, "channel")
            },
            presence_stats_res
        ),
        "history" => unary!(history, history_req(v), history_res),
        "history_remove" => unary!(
            history_remove,
            pb::HistoryRemoveRequest {
                channel: s(v, "channel")
            },
            |_| json!({})
        ),
        "info" => unary!(info, pb::InfoRequest {}, info_res),
        "rpc" => unary!(
            rpc,
            pb::RpcRequest {
                method: s(v, "method"),
                params: raw(v, "params"),
            },
            rpc_res
        ),
        "channels" => unary!(
            channels,
            pb::ChannelsRequest {
                pattern: s(v, "pattern")
            },
            channels_res
        ),
        "batch" => {
            let request = pb::BatchRequest {
                commands: v["commands"].as_array().unwrap().iter().map(command).collect(),
                parallel: b(v, "parallel"),
            };
            let r = client
                .batch(with_auth(request, auth))
                .await
                .expect("GRPC batch")
                .into_inner();
            let replies: Vec<Value> = r.replies.iter().map(reply).collect();
            json!({ "replies": replies })
        }
        other => panic!("no such method {other}"),
    }
}

/// Drops every zero value (`null`, `false`, `0`, `""`, `[]`, `{}`) from objects, recursively:
/// the HTTP API omits some of them and forces others, protobuf cannot tell them from unset.
pub(crate) fn prune(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let v = prune(v);
                let zero = match &v {
                    Value::Null => true,
                    Value::Bool(b) => !b,
                    Value::Number(n) => n.as_f64() == Some(0.0),
                    Value::String(s) => s.is_empty(),
                    Value::Array(a) => a.is_empty(),
                    Value::Object(o) => o.is_empty(),
                };
                if !zero {
                    out.insert(k.clone(), v);
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(prune).collect()),
        other => other.clone(),
    }
}
