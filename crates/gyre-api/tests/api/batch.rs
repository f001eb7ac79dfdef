//! batch and the legacy `/api` stream format.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::common::Api;

async fn batch(api: &Api, body: Value) -> Value {
    let response = api.post("/api/batch", body.to_string()).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.body);
    response.json()
}

#[tokio::test]
async fn batch_sequential_replies_in_order() {
    let api = Api::new();
    let replies = batch(
        &api,
        json!({"commands": [
            {"publish": {"channel": "hist:s", "data": 1}},
            {"publish": {"channel": "hist:s", "data": 2}},
            {"history": {"channel": "hist:s", "limit": -1}},
            {"publish": {"channel": "nope:x", "data": 1}},
            null,
            {},
            {"map_publish": {"channel": "map:x", "key": "k"}},
            {"connections": {}},
            {"publish": null},
            {"info": {}},
            {"presence_stats": {"channel": "pres:x"}},
            {"broadcast": {"channels": ["plain:x"], "data": 1}},
            {"rpc": {"method": "m"}},
        ]}),
    )
    .await;
    let replies = replies["replies"].as_array().unwrap().clone();
    assert_eq!(replies.len(), 13);
    assert_eq!(replies[0]["publish"]["offset"], 1);
    assert_eq!(replies[1]["publish"]["offset"], 2);
    assert_eq!(replies[2]["history"]["publications"].as_array().unwrap().len(), 2);
    assert_eq!(
        replies[3],
        json!({"error": {"code": 102, "message": "unknown channel"}})
    );
    assert_eq!(
        replies[4],
        json!({"error": {"code": 107, "message": "bad request"}})
    );
    for i in [5, 6, 7, 8] {
        assert_eq!(
            replies[i],
            json!({"error": {"code": 104, "message": "not found"}}),
            "{i}"
        );
    }
    assert!(replies[9]["info"]["nodes"].is_array());
    assert_eq!(
        replies[10],
        json!({"presence_stats": {"num_clients": 0, "num_users": 0}})
    );
    assert_eq!(replies[11], json!({"broadcast": {"responses": [{"result": {}}]}}));
    assert_eq!(replies[12]["error"]["code"], 104);
    // Inner errors are counted per inner method.
    let errors = api.recorder.errors();
    assert!(errors.contains(&("publish".into(), "102".into())));
    assert!(errors.contains(&("unknown".into(), "104".into())));
    assert!(errors.contains(&("rpc".into(), "104".into())));
    assert!(api.recorder.methods().contains(&"history".to_string()));
}

#[tokio::test]
async fn batch_first_known_key_wins() {
    let api = Api::new();
    let replies = batch(
        &api,
        json!({"commands": [{"info": {}, "publish": {"channel": "plain:x", "data": 1}}]}),
    )
    .await;
    assert_eq!(replies, json!({"replies": [{"publish": {}}]}));
}

#[tokio::test]
async fn batch_parallel() {
    let api = Api::new();
    let commands: Vec<Value> = (0..50)
        .map(|i| json!({"publish": {"channel": format!("hist:p{i}"), "data": i}}))
        .collect();
    let replies = batch(&api, json!({"commands": commands, "parallel": true})).await;
    let replies = replies["replies"].as_array().unwrap();
    assert_eq!(replies.len(), 50);
    assert!(replies.iter().all(|r| r["publish"]["offset"] == 1));
    // Same channel in parallel: every publish lands, offsets are a permutation of 1..=20.
    let commands: Vec<Value> = (0..20)
        .map(|i| json!({"publish": {"channel": "hist:same", "data": i}}))
        .collect();
    let replies = batch(&api, json!({"commands": commands, "parallel": true})).await;
    let mut offsets: Vec<u64> = replies["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["publish"]["offset"].as_u64().unwrap())
        .collect();
    offsets.sort_unstable();
    assert_eq!(offsets, (1..=20).collect::<Vec<_>>());
}

#[tokio::test]
async fn batch_edge_shapes() {
    let api = Api::new();
    assert_eq!(batch(&api, json!({})).await, json!({}));
    assert_eq!(batch(&api, json!({"commands": []})).await, json!({}));
    assert_eq!(batch(&api, json!({"commands": null})).await, json!({}));
    // A malformed inner command fails the whole batch to decode.
    let response = api
        .post("/api/batch", r#"{"commands":[{"publish":{"channel":1}}]}"#)
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    let response = api.post("/api/batch", r#"{"commands":[5]}"#).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
}

fn lines(body: &str) -> Vec<Value> {
    body.split('\n')
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[tokio::test]
async fn legacy_string_and_numeric_methods() {
    let api = Api::new();
    let body = [
        r#"{"id":1,"method":"publish","params":{"channel":"hist:l","data":{"a":1}}}"#,
        r#"{"id":2,"method":"PUBLISH","params":{"channel":"hist:l","data":{"a":2}}}"#,
        r#"{"id":3,"method":6,"params":{"channel":"hist:l","limit":-1}}"#,
        r#"{"method":"info"}"#,
        r#"{"id":5,"method":9,"params":"ignored"}"#,
        r#"{"id":6,"method":"presence","params":{"channel":"plain:x"}}"#,
        r#"{"id":7,"method":"map_publish","params":{}}"#,
        r#"{"id":8,"method":99,"params":{}}"#,
        r#"{"id":9,"method":"publish"}"#,
        r#"{"id":10,"method":"publish","params":{"channel":5}}"#,
        r#"{"id":11,"method":1,"params":{"channels":["plain:x","nope:x"],"data":1}}"#,
        r#"{"id":12,"method":11,"params":{"channel":"plain:x","user":"u"}}"#,
        r#"{"id":13,"method":"history_remove","params":{"channel":"hist:l"}}"#,
    ]
    .join("\n");
    let response = api.post("/api", body).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.headers["content-type"], "application/json");
    let replies = lines(&response.body);
    assert_eq!(replies.len(), 13);
    assert_eq!(replies[0]["id"], 1);
    assert_eq!(replies[0]["result"]["offset"], 1);
    assert_eq!(replies[1]["result"]["offset"], 2);
    assert_eq!(replies[2]["result"]["publications"].as_array().unwrap().len(), 2);
    // No id: the key is omitted.
    assert!(replies[3].get("id").is_none());
    assert!(replies[3]["result"]["nodes"].is_array());
    assert!(replies[4]["result"]["nodes"].is_array());
    assert_eq!(
        replies[5],
        json!({"id": 6, "error": {"code": 108, "message": "not available"}})
    );
    assert_eq!(replies[6]["error"]["code"], 104);
    assert_eq!(replies[7]["error"]["code"], 104);
    assert_eq!(replies[8]["error"]["code"], 107);
    assert_eq!(replies[9]["error"]["code"], 107);
    assert_eq!(replies[10]["result"]["responses"][1]["error"]["code"], 102);
    assert_eq!(replies[11], json!({"id": 12, "result": {}}));
    assert_eq!(replies[12], json!({"id": 13, "result": {}}));
}

#[tokio::test]
async fn legacy_concatenated_objects() {
    let api = Api::new();
    let response = api
        .post(
            "/api",
            r#"{"method":"publish","params":{"channel":"plain:x","data":1}}{"method":"info","params":{}}"#,
        )
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(lines(&response.body).len(), 2);
}

#[tokio::test]
async fn legacy_errors() {
    let api = Api::new();
    assert_eq!(api.post("/api", "").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(api.post("/api", "{").await.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        api.post("/api", r#"{"method":"info"} ["x"]"#).await.status,
        StatusCode::BAD_REQUEST
    );
    // An unknown method name does not decode at all.
    assert_eq!(
        api.post("/api", r#"{"method":"nope","params":{}}"#).await.status,
        StatusCode::BAD_REQUEST
    );
    // Legacy never uses transport error mode.
    api.reconfigure(|c| c.http_api.error_mode = "transport".into());
    let response = api
        .post("/api", r#"{"method":"publish","params":{"channel":""}}"#)
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json()["error"]["code"], 107);
}

#[tokio::test]
async fn executor_without_http() {
    use gyre_api::requests::{HistoryRequest, PublishRequest};
    use gyre_api::{execute_legacy, ApiError, Command, CommandResult, Executor, LegacyError};

    let api = Api::new();
    let executor = Executor::new(api.node.clone(), api.config.clone());
    let result = executor
        .publish(PublishRequest {
            channel: "hist:direct".into(),
            data: bytes::Bytes::from_static(b"\x00binary is fine here"),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(result.offset, 1);
    let history = executor
        .execute(Command::History(HistoryRequest {
            channel: "hist:direct".into(),
            limit: -1,
            ..Default::default()
        }))
        .await
        .unwrap();
    let CommandResult::History(history) = history else {
        panic!("wrong result kind");
    };
    assert_eq!(&history.publications[0].data[..], b"\x00binary is fine here");
    assert_eq!(
        executor.presence(Default::default()).await,
        Err(ApiError::BAD_REQUEST)
    );

    let out = execute_legacy(&executor, br#"{"id":3,"method":"info","params":{}}"#)
        .await
        .unwrap();
    let reply: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(reply["id"], 3);
    assert!(matches!(
        execute_legacy(&executor, b"").await,
        Err(LegacyError::Empty)
    ));
    assert!(matches!(
        execute_legacy(&executor, b"{]").await,
        Err(LegacyError::Malformed(_))
    ));
}
