//! presence, presence_stats, history, history_remove, channels, info, rpc, and the validation of
//! subscribe/unsubscribe/disconnect/refresh without live connections.

use serde_json::json;

use crate::common::Api;

#[tokio::test]
async fn presence_shapes_and_errors() {
    let api = Api::new();
    assert_eq!(
        api.ok("presence", json!({"channel": "pres:x"})).await,
        json!({"presence": {}})
    );
    assert_eq!(
        api.ok("presence_stats", json!({"channel": "pres:x"})).await,
        json!({"num_clients": 0, "num_users": 0})
    );
    for method in ["presence", "presence_stats"] {
        assert_eq!(api.code(method, json!({})).await, 107);
        assert_eq!(api.code(method, json!({"channel": "nope:x"})).await, 102);
        assert_eq!(api.code(method, json!({"channel": "plain:x"})).await, 108);
    }
}

#[tokio::test]
async fn history_needs_size_and_ttl() {
    let api = Api::new();
    assert_eq!(api.code("history", json!({})).await, 107);
    assert_eq!(api.code("history", json!({"channel": "nope:x"})).await, 102);
    assert_eq!(api.code("history", json!({"channel": "plain:x"})).await, 108);
    assert_eq!(api.code("history", json!({"channel": "sizeonly:x"})).await, 108);
    assert_eq!(api.code("history_remove", json!({})).await, 107);
    assert_eq!(
        api.code("history_remove", json!({"channel": "nope:x"})).await,
        102
    );
    assert_eq!(
        api.code("history_remove", json!({"channel": "sizeonly:x"})).await,
        108
    );
}

#[tokio::test]
async fn history_empty_stream_shape() {
    let api = Api::new();
    let result = api.ok("history", json!({"channel": "hist:empty"})).await;
    assert_eq!(result["publications"], json!([]));
    assert_eq!(result["offset"], 0);
    assert!(result["epoch"].is_string());
}

async fn fill(api: &Api, channel: &str, n: u64) -> String {
    let mut epoch = String::new();
    for i in 1..=n {
        let r = api
            .ok("publish", json!({"channel": channel, "data": {"i": i}}))
            .await;
        epoch = r["epoch"].as_str().unwrap().to_owned();
    }
    epoch
}

fn offsets(result: &serde_json::Value) -> Vec<u64> {
    result["publications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["offset"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn history_limit_since_reverse() {
    let api = Api::new();
    let epoch = fill(&api, "hist:h", 5).await;
    let ch = "hist:h";
    // limit 0: only the top position.
    let top = api.ok("history", json!({"channel": ch})).await;
    assert_eq!(top, json!({"publications": [], "epoch": epoch, "offset": 5}));
    // limit -1: everything.
    let all = api.ok("history", json!({"channel": ch, "limit": -1})).await;
    assert_eq!(offsets(&all), [1, 2, 3, 4, 5]);
    assert_eq!(all["publications"][0], json!({"data": {"i": 1}, "offset": 1}));
    // limit n.
    let two = api.ok("history", json!({"channel": ch, "limit": 2})).await;
    assert_eq!(offsets(&two), [1, 2]);
    // since is exclusive.
    let after = api
        .ok(
            "history",
            json!({"channel": ch, "limit": -1, "since": {"offset": 3, "epoch": epoch}}),
        )
        .await;
    assert_eq!(offsets(&after), [4, 5]);
    // Empty epoch in since is accepted.
    let after = api
        .ok(
            "history",
            json!({"channel": ch, "limit": 1, "since": {"offset": 1}}),
        )
        .await;
    assert_eq!(offsets(&after), [2]);
    // reverse.
    let rev = api
        .ok("history", json!({"channel": ch, "limit": 2, "reverse": true}))
        .await;
    assert_eq!(offsets(&rev), [5, 4]);
    let before = api
        .ok(
            "history",
            json!({"channel": ch, "limit": -1, "reverse": true, "since": {"offset": 3, "epoch": epoch}}),
        )
        .await;
    assert_eq!(offsets(&before), [2, 1]);
    // reverse from offset 0 cannot go anywhere: Gyre answers 107.
    assert_eq!(
        api.code(
            "history",
            json!({"channel": ch, "limit": 1, "reverse": true, "since": {"offset": 0, "epoch": epoch}})
        )
        .await,
        107
    );
    // An epoch from another stream generation.
    assert_eq!(
        api.code(
            "history",
            json!({"channel": ch, "limit": 1, "since": {"offset": 1, "epoch": "otherxyz"}})
        )
        .await,
        112
    );
}

#[tokio::test]
async fn history_has_no_server_api_cap() {
    let mut config = crate::common::base_config();
    config.channel.namespaces[1].options.history_size = 500;
    let api = Api::with_config(config);
    fill(&api, "hist:big", 320).await;
    let all = api
        .ok("history", json!({"channel": "hist:big", "limit": -1}))
        .await;
    assert_eq!(all["publications"].as_array().unwrap().len(), 320);
    let many = api
        .ok("history", json!({"channel": "hist:big", "limit": 310}))
        .await;
    assert_eq!(many["publications"].as_array().unwrap().len(), 310);
}

#[tokio::test]
async fn history_remove_keeps_position() {
    let api = Api::new();
    let epoch = fill(&api, "hist:r", 3).await;
    assert_eq!(
        api.ok("history_remove", json!({"channel": "hist:r"})).await,
        json!({})
    );
    let after = api.ok("history", json!({"channel": "hist:r", "limit": -1})).await;
    assert_eq!(after, json!({"publications": [], "epoch": epoch, "offset": 3}));
}

#[tokio::test]
async fn history_of_binary_publication_is_500() {
    let api = Api::new();
    api.ok("publish", json!({"channel": "hist:bin", "b64data": "AAEC"}))
        .await;
    let response = api
        .post("/api/history", r#"{"channel":"hist:bin","limit":1}"#)
        .await;
    assert_eq!(response.status.as_u16(), 500);
    assert!(api
        .recorder
        .errors()
        .contains(&("history".into(), "marshal".into())));
}

#[tokio::test]
async fn channels_and_info_shapes() {
    let api = Api::new();
    assert_eq!(api.ok("channels", json!({})).await, json!({"channels": {}}));
    assert_eq!(
        api.ok("channels", json!({"pattern": "chat:*"})).await,
        json!({"channels": {}})
    );
    assert_eq!(api.code("channels", json!({"pattern": "[abc"})).await, 107);

    let info = api.ok("info", json!({})).await;
    let nodes = info["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 1);
    let node = &nodes[0];
    assert_eq!(node["uid"], api.node.id());
    for key in [
        "name",
        "version",
        "num_clients",
        "num_users",
        "num_channels",
        "num_subs",
    ] {
        assert!(node.get(key).is_some(), "missing {key}: {node}");
    }
    assert_eq!(node["num_clients"], 0);
    assert!(node.get("metrics").is_none());
    assert!(node.get("process").is_none());
}

#[tokio::test]
async fn rpc_has_no_extensions() {
    let api = Api::new();
    assert_eq!(api.code("rpc", json!({})).await, 107);
    assert_eq!(
        api.code("rpc", json!({"method": "anything", "params": {"a": 1}}))
            .await,
        104
    );
}

#[tokio::test]
async fn connection_commands_without_connections() {
    let api = Api::new();
    assert_eq!(api.code("subscribe", json!({"user": "u"})).await, 107);
    assert_eq!(
        api.code("subscribe", json!({"user": "u", "channel": "nope:x"}))
            .await,
        102
    );
    assert_eq!(
        api.code(
            "subscribe",
            json!({"user": "u", "channel": "plain:x", "b64data": "@@"})
        )
        .await,
        107
    );
    assert_eq!(
        api.code(
            "subscribe",
            json!({"user": "u", "channel": "plain:x", "b64info": "@@"})
        )
        .await,
        107
    );
    assert_eq!(
        api.ok(
            "subscribe",
            json!({"user": "u", "channel": "plain:x", "info": {"a": 1}, "data": null,
                   "expire_at": 0, "recover_since": {"offset": 0, "epoch": ""},
                   "override": {"presence": {"value": true}, "join_leave": null}})
        )
        .await,
        json!({})
    );
    // Unsubscribe: an empty channel is a no-op, an unknown namespace is 102.
    assert_eq!(api.ok("unsubscribe", json!({"user": "u"})).await, json!({}));
    assert_eq!(
        api.code("unsubscribe", json!({"user": "u", "channel": "nope:x"}))
            .await,
        102
    );
    assert_eq!(
        api.ok("unsubscribe", json!({"user": "u", "channel": "plain:x"}))
            .await,
        json!({})
    );
    assert_eq!(api.ok("disconnect", json!({"user": "u"})).await, json!({}));
    assert_eq!(
        api.ok(
            "disconnect",
            json!({"user": "u", "disconnect": {"code": 4000, "reason": "bye"}, "whitelist": ["c1"]})
        )
        .await,
        json!({})
    );
    assert_eq!(
        api.ok(
            "refresh",
            json!({"user": "u", "expire_at": 4102444800u64, "info": {"x": 1}})
        )
        .await,
        json!({})
    );
    // Nested messages must be objects.
    let response = api
        .post("/api/subscribe", r#"{"channel":"plain:x","override":[1]}"#)
        .await;
    assert_eq!(response.status.as_u16(), 400);
}
