//! publish and broadcast.

use serde_json::json;

use crate::common::Api;

#[tokio::test]
async fn publish_without_history_is_empty_result() {
    let api = Api::new();
    assert_eq!(
        api.ok("publish", json!({"channel": "plain:a", "data": {"x": 1}}))
            .await,
        json!({})
    );
    // Channels without a namespace use `without_namespace`.
    assert_eq!(
        api.ok("publish", json!({"channel": "news", "data": "text"}))
            .await,
        json!({})
    );
}

#[tokio::test]
async fn publish_with_history_returns_position() {
    let api = Api::new();
    let first = api
        .ok("publish", json!({"channel": "hist:a", "data": {"n": 1}}))
        .await;
    assert_eq!(first["offset"], 1);
    let epoch = first["epoch"].as_str().unwrap().to_owned();
    assert!(!epoch.is_empty());
    let second = api
        .ok("publish", json!({"channel": "hist:a", "data": {"n": 2}}))
        .await;
    assert_eq!(second, json!({"offset": 2, "epoch": epoch}));
    // skip_history: pure PUB/SUB, no offset.
    let skipped = api
        .ok(
            "publish",
            json!({"channel": "hist:a", "data": {"n": 3}, "skip_history": true}),
        )
        .await;
    assert_eq!(skipped, json!({}));
    let history = api.ok("history", json!({"channel": "hist:a", "limit": -1})).await;
    assert_eq!(history["offset"], 2);
    assert_eq!(history["publications"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn publish_validation_order() {
    let api = Api::new();
    // Channel first, then base64, then namespace, then subscription type, then data format.
    assert_eq!(api.code("publish", json!({"data": 1})).await, 107);
    assert_eq!(
        api.code("publish", json!({"channel": "nope:x", "b64data": "!!"}))
            .await,
        107
    );
    assert_eq!(
        api.code("publish", json!({"channel": "nope:x", "data": 1})).await,
        102
    );
    assert_eq!(api.code("publish", json!({"channel": "map:x"})).await, 107);
    assert_eq!(
        api.code("publish", json!({"channel": "map:x", "data": 1})).await,
        107
    );
    assert_eq!(
        api.ok("publish", json!({"channel": "stream:x", "data": 1})).await,
        json!({})
    );
    // Private prefix is ignored for namespace lookup.
    assert_eq!(
        api.ok("publish", json!({"channel": "$plain:x", "data": 1})).await,
        json!({})
    );
    assert_eq!(
        api.code("publish", json!({"channel": "$nope:x", "data": 1}))
            .await,
        102
    );
}

#[tokio::test]
async fn data_format_rules() {
    let api = Api::new();
    // Default: data required, JSON null counts as data.
    assert_eq!(api.code("publish", json!({"channel": "plain:x"})).await, 107);
    assert_eq!(
        api.ok("publish", json!({"channel": "plain:x", "data": null}))
            .await,
        json!({})
    );
    // Any bytes pass the default format (b64 payload that is not JSON).
    assert_eq!(
        api.ok("publish", json!({"channel": "plain:x", "b64data": "AAEC"}))
            .await,
        json!({})
    );
    // json: valid JSON required.
    assert_eq!(
        api.ok("publish", json!({"channel": "json:x", "data": [1, 2]}))
            .await,
        json!({})
    );
    assert_eq!(
        api.code("publish", json!({"channel": "json:x", "b64data": "AAEC"}))
            .await,
        107
    );
    assert_eq!(api.code("publish", json!({"channel": "json:x"})).await, 107);
    // json_object: an object.
    assert_eq!(
        api.ok("publish", json!({"channel": "obj:x", "data": {"a": 1}}))
            .await,
        json!({})
    );
    assert_eq!(
        api.code("publish", json!({"channel": "obj:x", "data": [1]}))
            .await,
        107
    );
    assert_eq!(
        api.code("publish", json!({"channel": "obj:x", "data": "{}"}))
            .await,
        107
    );
    // binary: anything, even nothing.
    assert_eq!(api.ok("publish", json!({"channel": "bin:x"})).await, json!({}));
    // The global format applies when the namespace has none.
    api.reconfigure(|c| c.channel.publication_data_format = "json_object".into());
    assert_eq!(
        api.code("publish", json!({"channel": "plain:x", "data": 1}))
            .await,
        107
    );
    assert_eq!(api.ok("publish", json!({"channel": "bin:x"})).await, json!({}));
}

#[tokio::test]
async fn b64data_wins_over_data() {
    let api = Api::new();
    // "eyJiIjoyfQ==" is {"b":2}.
    api.ok(
        "publish",
        json!({"channel": "hist:b64", "data": {"a": 1}, "b64data": "eyJiIjoyfQ=="}),
    )
    .await;
    // An empty b64data does not override.
    api.ok(
        "publish",
        json!({"channel": "hist:b64", "data": {"c": 3}, "b64data": ""}),
    )
    .await;
    let history = api
        .ok("history", json!({"channel": "hist:b64", "limit": -1}))
        .await;
    let pubs = history["publications"].as_array().unwrap();
    assert_eq!(pubs[0]["data"], json!({"b": 2}));
    assert_eq!(pubs[1]["data"], json!({"c": 3}));
}

#[tokio::test]
async fn raw_data_is_kept_verbatim() {
    let api = Api::new();
    let response = api
        .post(
            "/api/publish",
            r#"{"channel":"hist:raw","data":{"z":1,"a":[1.50,"\u00e9"]}}"#,
        )
        .await;
    assert_eq!(response.json()["result"]["offset"], 1);
    let response = api
        .post("/api/history", r#"{"channel":"hist:raw","limit":1}"#)
        .await;
    assert!(
        response.body.contains(r#""data":{"z":1,"a":[1.50,"\u00e9"]}"#),
        "{}",
        response.body
    );
}

#[tokio::test]
async fn tags_reach_history() {
    let api = Api::new();
    api.ok(
        "publish",
        json!({"channel": "hist:tags", "data": 1, "tags": {"k": "v", "a": "b"}}),
    )
    .await;
    let history = api
        .ok("history", json!({"channel": "hist:tags", "limit": 1}))
        .await;
    assert_eq!(history["publications"][0]["tags"], json!({"a": "b", "k": "v"}));
}

#[tokio::test]
async fn idempotency_key_returns_same_position() {
    let api = Api::new();
    let body = json!({"channel": "hist:idem", "data": 1, "idempotency_key": "k1"});
    let first = api.ok("publish", body.clone()).await;
    let again = api.ok("publish", body).await;
    assert_eq!(first, again);
    assert_eq!(first["offset"], 1);
    let other = api
        .ok(
            "publish",
            json!({"channel": "hist:idem", "data": 2, "idempotency_key": "k2"}),
        )
        .await;
    assert_eq!(other["offset"], 2);
    let history = api
        .ok("history", json!({"channel": "hist:idem", "limit": -1}))
        .await;
    assert_eq!(history["publications"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn version_suppresses_stale_publications() {
    let api = Api::new();
    let publish = |version: u64, data: u64| json!({"channel": "hist:ver", "data": data, "version": version, "version_epoch": "e1"});
    assert_eq!(api.ok("publish", publish(2, 1)).await["offset"], 1);
    // Stale: suppressed silently, current top returned.
    assert_eq!(api.ok("publish", publish(1, 2)).await["offset"], 1);
    assert_eq!(api.ok("publish", publish(3, 3)).await["offset"], 2);
    let history = api
        .ok("history", json!({"channel": "hist:ver", "limit": -1}))
        .await;
    let data: Vec<_> = history["publications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["data"].clone())
        .collect();
    assert_eq!(data, [json!(1), json!(3)]);
}

#[tokio::test]
async fn broadcast_answers_per_channel_in_order() {
    let api = Api::new();
    let result = api
        .ok(
            "broadcast",
            json!({"channels": ["hist:b1", "", "nope:x", "map:x", "plain:b", "hist:b2", "obj:x"],
                   "data": {"v": 1}}),
        )
        .await;
    let responses = result["responses"].as_array().unwrap();
    assert_eq!(responses.len(), 7);
    assert_eq!(responses[0]["result"]["offset"], 1);
    assert_eq!(responses[1]["error"]["code"], 107);
    assert_eq!(responses[2]["error"]["code"], 102);
    // Gyre checks subscription_type per channel.
    assert_eq!(responses[3]["error"]["code"], 107);
    assert_eq!(responses[4], json!({"result": {}}));
    assert_eq!(responses[5]["result"]["offset"], 1);
    assert_eq!(responses[6], json!({"result": {}}));
}

#[tokio::test]
async fn broadcast_top_level_errors() {
    let api = Api::new();
    assert_eq!(api.code("broadcast", json!({"data": 1})).await, 107);
    assert_eq!(
        api.code("broadcast", json!({"channels": [], "data": 1})).await,
        107
    );
    assert_eq!(
        api.code("broadcast", json!({"channels": ["plain:x"], "b64data": "%%"}))
            .await,
        107
    );
    // Data format failures are per channel.
    let result = api
        .ok("broadcast", json!({"channels": ["plain:x", "bin:x"]}))
        .await;
    assert_eq!(result["responses"][0]["error"]["code"], 107);
    assert_eq!(result["responses"][1], json!({"result": {}}));
}

#[tokio::test]
async fn broadcast_many_channels() {
    let api = Api::new();
    let channels: Vec<String> = (0..1500).map(|i| format!("hist:many{i}")).collect();
    let result = api
        .ok("broadcast", json!({"channels": channels, "data": 1}))
        .await;
    let responses = result["responses"].as_array().unwrap();
    assert_eq!(responses.len(), 1500);
    assert!(responses.iter().all(|r| r["result"]["offset"] == 1));
}
