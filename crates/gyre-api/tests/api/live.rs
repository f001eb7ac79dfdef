//! Server API operations reaching live connections (gyre-core's in-memory test transport).

use std::sync::Arc;
use std::time::Duration;

use gyre_core::testing::{self, TestConn, TestHandler};
use gyre_core::ProtocolType;
use serde_json::{json, Value};

use crate::common::{base_config, Api};

const WAIT: Duration = Duration::from_secs(5);

fn api() -> Api {
    Api::with_handler(base_config(), Arc::new(TestHandler::default()))
}

async fn next(conn: &mut TestConn) -> Value {
    tokio::time::timeout(WAIT, conn.recv_json())
        .await
        .expect("timed out waiting for a message")
        .expect("connection closed")
}

/// Connects as `user`; returns the connection and its client id.
async fn connect(api: &Api, user: &str) -> (TestConn, String) {
    let mut conn = testing::connect(&api.node, testing::transport_info(ProtocolType::Json));
    conn.send_json(&format!(r#"{{"id":1,"connect":{{"token":"{user}"}}}}"#));
    let reply = next(&mut conn).await;
    let client = reply["connect"]["client"]
        .as_str()
        .unwrap_or_else(|| panic!("bad connect reply: {reply}"))
        .to_owned();
    (conn, client)
}

async fn closed_with(conn: &mut TestConn) -> (u32, String) {
    let d = tokio::time::timeout(WAIT, conn.closed())
        .await
        .expect("timed out waiting for close")
        .expect("closed without a disconnect");
    (d.code, d.reason.to_string())
}

/// The connection still answers commands.
async fn alive(conn: &mut TestConn) {
    conn.send_json(r#"{"id":99,"rpc":{"method":"ping","data":{}}}"#);
    loop {
        let msg = next(conn).await;
        if msg["id"] == 99 {
            return;
        }
    }
}

#[tokio::test]
async fn subscribe_pushes_and_delivers() {
    let api = api();
    let (mut conn, _) = connect(&api, "alice").await;
    assert_eq!(
        api.ok(
            "subscribe",
            json!({"user": "alice", "channel": "hist:room", "data": {"welcome": true}})
        )
        .await,
        json!({})
    );
    let push = next(&mut conn).await;
    assert_eq!(push["push"]["channel"], "hist:room", "{push}");
    assert_eq!(
        push["push"]["subscribe"]["data"],
        json!({"welcome": true}),
        "{push}"
    );

    api.ok("publish", json!({"channel": "hist:room", "data": {"m": 1}}))
        .await;
    let publication = next(&mut conn).await;
    assert_eq!(
        publication["push"]["pub"]["data"],
        json!({"m": 1}),
        "{publication}"
    );

    // Presence, stats, channels and info see the subscriber.
    let presence = api.ok("presence", json!({"channel": "hist:room"})).await;
    let entries = presence["presence"].as_object().unwrap();
    assert_eq!(entries.len(), 1);
    let (_, entry) = entries.iter().next().unwrap();
    assert_eq!(entry["user"], "alice");
    assert!(entry.get("conn_info").is_none());
    assert_eq!(
        api.ok("presence_stats", json!({"channel": "hist:room"})).await,
        json!({"num_clients": 1, "num_users": 1})
    );
    assert_eq!(
        api.ok("channels", json!({})).await,
        json!({"channels": {"hist:room": {"num_clients": 1}}})
    );
    assert_eq!(
        api.ok("channels", json!({"pattern": "hist:*"})).await,
        json!({"channels": {"hist:room": {"num_clients": 1}}})
    );
    assert_eq!(
        api.ok("channels", json!({"pattern": "other*"})).await,
        json!({"channels": {}})
    );
    let info = api.ok("info", json!({})).await;
    assert_eq!(info["nodes"][0]["num_clients"], 1);
    assert_eq!(info["nodes"][0]["num_users"], 1);
    assert_eq!(info["nodes"][0]["num_channels"], 1);
}

#[tokio::test]
async fn subscribe_targets_one_client() {
    let api = api();
    let (mut first, _) = connect(&api, "bob").await;
    let (mut second, second_id) = connect(&api, "bob").await;
    api.ok(
        "subscribe",
        json!({"user": "bob", "client": second_id, "channel": "plain:only"}),
    )
    .await;
    let push = next(&mut second).await;
    assert_eq!(push["push"]["channel"], "plain:only");
    // The first connection got nothing: its next message is the reply to a fresh command.
    first.send_json(r#"{"id":5,"rpc":{"method":"x","data":{}}}"#);
    assert_eq!(next(&mut first).await["id"], 5);
}

#[tokio::test]
async fn unsubscribe_pushes_2000() {
    let api = api();
    let (mut conn, _) = connect(&api, "carol").await;
    api.ok("subscribe", json!({"user": "carol", "channel": "plain:u"}))
        .await;
    next(&mut conn).await;
    api.ok("unsubscribe", json!({"user": "carol", "channel": "plain:u"}))
        .await;
    let push = next(&mut conn).await;
    assert_eq!(push["push"]["channel"], "plain:u", "{push}");
    assert_eq!(push["push"]["unsubscribe"]["code"], 2000, "{push}");
    assert_eq!(api.ok("channels", json!({})).await, json!({"channels": {}}));
}

#[tokio::test]
async fn disconnect_default_code() {
    let api = api();
    let (mut conn, _) = connect(&api, "dave").await;
    api.ok("disconnect", json!({"user": "dave"})).await;
    assert_eq!(closed_with(&mut conn).await, (3503, "force disconnect".into()));
}

#[tokio::test]
async fn disconnect_custom_code_and_whitelist() {
    let api = api();
    let (mut kept, kept_id) = connect(&api, "erin").await;
    let (mut gone, _) = connect(&api, "erin").await;
    api.ok(
        "disconnect",
        json!({"user": "erin", "disconnect": {"code": 4501, "reason": "go away"}, "whitelist": [kept_id]}),
    )
    .await;
    assert_eq!(closed_with(&mut gone).await, (4501, "go away".into()));
    assert!(kept.try_closed().is_none());
    alive(&mut kept).await;
}

#[tokio::test]
async fn refresh_prolongs_or_expires() {
    let api = api();
    let (mut conn, _) = connect(&api, "frank").await;
    let expire_at = gyre_core_now() + 3600;
    api.ok("refresh", json!({"user": "frank", "expire_at": expire_at}))
        .await;
    let push = next(&mut conn).await;
    assert_eq!(push["push"]["refresh"]["expires"], true, "{push}");
    api.ok("refresh", json!({"user": "frank", "expired": true})).await;
    assert_eq!(closed_with(&mut conn).await.0, 3005);
}

fn gyre_core_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
