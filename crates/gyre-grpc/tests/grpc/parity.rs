//! Every method through GRPC answers what the HTTP API answers on the same node.

use serde_json::{json, Value};

use crate::common::{Harness, GRPC_KEY};
use crate::wire::{self, prune};

/// Compares one call made through both adapters (HTTP first). Calls that change state are made
/// idempotent by the cases themselves (idempotency keys, repeated subscribe/unsubscribe).
async fn same(h: &Harness, client: &mut Client, method: &str, body: Value) -> Value {
    let via_http = h.http(method, &body).await;
    let via_grpc = wire::call(client, &format!("apikey {GRPC_KEY}"), method, &body).await;
    assert_eq!(
        normalize(&via_grpc),
        normalize(&via_http),
        "{method} {body}: GRPC {via_grpc} vs HTTP {via_http}"
    );
    via_http
}

type Client = gyre_grpc::pb::centrifugo_api_client::CentrifugoApiClient<tonic::transport::Channel>;

/// Zero values pruned; node uptime removed (it may tick between the two calls).
fn normalize(v: &Value) -> Value {
    let mut v = prune(v);
    if let Some(nodes) = v.pointer_mut("/result/nodes").and_then(Value::as_array_mut) {
        for node in nodes {
            node.as_object_mut().unwrap().remove("uptime");
        }
    }
    if let Some(replies) = v.pointer_mut("/replies").and_then(Value::as_array_mut) {
        for reply in replies {
            if let Some(nodes) = reply.pointer_mut("/info/nodes").and_then(Value::as_array_mut) {
                for node in nodes {
                    node.as_object_mut().unwrap().remove("uptime");
                }
            }
        }
    }
    v
}

#[tokio::test]
async fn every_method_answers_like_http() {
    let h = Harness::start().await;
    let (_alice, alice_client) = h.connect("alice").await;
    let (_bob, _) = h.connect("bob").await;
    let mut c = h.client().await;
    let c = &mut c;

    // Server-side subscriptions (repeating one is a no-op) and their errors.
    same(
        &h,
        c,
        "subscribe",
        json!({"user": "alice", "channel": "hist:room", "info": {"role": "admin"}}),
    )
    .await;
    same(
        &h,
        c,
        "subscribe",
        json!({"user": "bob", "channel": "hist:room", "data": {"hi": 1}}),
    )
    .await;
    same(
        &h,
        c,
        "subscribe",
        json!({"user": "alice", "client": alice_client, "channel": "plain:lobby",
               "override": {"presence": {"value": true}, "join_leave": {"value": false}}}),
    )
    .await;
    same(&h, c, "subscribe", json!({"user": "alice", "channel": ""})).await;
    same(&h, c, "subscribe", json!({"user": "alice", "channel": "nope:x"})).await;
    same(
        &h,
        c,
        "subscribe",
        json!({"user": "alice", "channel": "plain:x", "b64info": "%%"}),
    )
    .await;

    // Publications: the idempotency key makes the second (GRPC) publish return the same offset.
    let first = same(
        &h,
        c,
        "publish",
        json!({"channel": "hist:room", "data": {"n": 1}, "idempotency_key": "k1", "tags": {"t": "1"}}),
    )
    .await;
    assert_eq!(first["result"]["offset"], 1, "{first}");
    same(
        &h,
        c,
        "publish",
        json!({"channel": "hist:room", "data": {"n": 2}, "idempotency_key": "k2"}),
    )
    .await;
    same(
        &h,
        c,
        "publish",
        json!({"channel": "hist:room", "data": [3], "idempotency_key": "k3"}),
    )
    .await;
    same(&h, c, "publish", json!({"channel": "plain:x", "data": {"n": 1}})).await;
    same(&h, c, "publish", json!({"channel": "bin:x", "b64data": "AAEC"})).await;
    for bad in [
        json!({"channel": "", "data": {}}),
        json!({"channel": "nope:x", "data": {}}),
        json!({"channel": "plain:x", "b64data": "%%%"}),
        json!({"channel": "json:x", "b64data": "bm90IGpzb24="}),
        json!({"channel": "map:x", "data": {}}),
        json!({"channel": "plain:x"}),
    ] {
        same(&h, c, "publish", bad).await;
    }
    same(
        &h,
        c,
        "broadcast",
        json!({"channels": ["hist:room", "nope:x", "plain:y", ""], "data": {"b": 1}, "idempotency_key": "b1"}),
    )
    .await;
    same(&h, c, "broadcast", json!({"channels": [], "data": {}})).await;

    // Reads.
    same(&h, c, "presence", json!({"channel": "hist:room"})).await;
    same(&h, c, "presence", json!({"channel": "plain:lobby"})).await;
    same(&h, c, "presence", json!({"channel": "plain:x"})).await;
    same(&h, c, "presence", json!({"channel": ""})).await;
    same(&h, c, "presence_stats", json!({"channel": "hist:room"})).await;
    same(&h, c, "presence_stats", json!({"channel": "nope:x"})).await;
    let history = same(&h, c, "history", json!({"channel": "hist:room", "limit": -1})).await;
    assert_eq!(
        history["result"]["publications"].as_array().unwrap().len(),
        4,
        "{history}"
    );
    let epoch = history["result"]["epoch"].as_str().unwrap().to_owned();
    same(
        &h,
        c,
        "history",
        json!({"channel": "hist:room", "limit": 2, "reverse": true}),
    )
    .await;
    same(
        &h,
        c,
        "history",
        json!({"channel": "hist:room", "limit": -1, "since": {"offset": 1, "epoch": epoch}}),
    )
    .await;
    same(
        &h,
        c,
        "history",
        json!({"channel": "hist:room", "limit": -1, "since": {"offset": 1, "epoch": "other"}}),
    )
    .await;
    same(&h, c, "history", json!({"channel": "hist:room"})).await;
    same(&h, c, "history", json!({"channel": "plain:x", "limit": -1})).await;
    same(&h, c, "channels", json!({})).await;
    same(&h, c, "channels", json!({"pattern": "hist:*"})).await;
    same(&h, c, "channels", json!({"pattern": "["})).await;
    let info = same(&h, c, "info", json!({})).await;
    assert_eq!(info["result"]["nodes"][0]["num_clients"], 2, "{info}");
    same(&h, c, "rpc", json!({"method": "anything", "params": {"x": 1}})).await;
    same(&h, c, "rpc", json!({})).await;

    // Batches, sequential and parallel, with an unknown command.
    let commands = json!([
        {"publish": {"channel": "plain:x", "data": {"in": "batch"}}},
        {"presence": {"channel": "plain:x"}},
        {"presence_stats": {"channel": "hist:room"}},
        {"map_publish": {}},
        {"history": {"channel": "hist:room", "limit": 1}},
        {"channels": {"pattern": "plain:*"}},
        {"info": {}},
        {"rpc": {"method": ""}},
    ]);
    same(&h, c, "batch", json!({"commands": commands})).await;
    same(&h, c, "batch", json!({"commands": commands, "parallel": true})).await;
    same(&h, c, "batch", json!({"commands": []})).await;

    // Changes to live connections.
    same(
        &h,
        c,
        "refresh",
        json!({"user": "alice", "expire_at": 4_000_000_000_i64, "info": {"v": 2}}),
    )
    .await;
    same(&h, c, "refresh", json!({"user": "nobody", "expired": true})).await;
    same(
        &h,
        c,
        "unsubscribe",
        json!({"user": "bob", "channel": "hist:room"}),
    )
    .await;
    same(&h, c, "unsubscribe", json!({"user": "bob", "channel": ""})).await;
    same(&h, c, "unsubscribe", json!({"user": "bob", "channel": "nope:x"})).await;
    same(&h, c, "presence_stats", json!({"channel": "hist:room"})).await;
    same(&h, c, "history_remove", json!({"channel": "hist:room"})).await;
    same(&h, c, "history_remove", json!({"channel": ""})).await;
    same(&h, c, "history", json!({"channel": "hist:room", "limit": -1})).await;
    same(
        &h,
        c,
        "disconnect",
        json!({"user": "bob", "disconnect": {"code": 4000, "reason": "bye"}}),
    )
    .await;
    same(
        &h,
        c,
        "disconnect",
        json!({"user": "alice", "whitelist": [alice_client]}),
    )
    .await;
    same(&h, c, "disconnect", json!({"user": ""})).await;
    same(&h, c, "info", json!({})).await;

    // Errors are counted under the `grpc` protocol label like the HTTP ones under `http`.
    let errors = h.recorder.errors.lock().unwrap().clone();
    for protocol in ["http", "grpc"] {
        assert!(
            errors.contains(&(protocol.into(), "publish".into(), "102".into())),
            "{protocol}: {errors:?}"
        );
    }
}
