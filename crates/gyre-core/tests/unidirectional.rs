//! Unidirectional transports: connect push, bare pushes, disconnect push before close.

mod common;

use common::*;
use gyre_core::Target;

fn uni() -> TransportInfo {
    TransportInfo {
        name: "uni_sse",
        unidirectional: true,
        disconnect_push: true,
        ..json()
    }
}

#[tokio::test]
async fn connect_push_and_disconnect_push() {
    let node = node(TestHandler::default());
    let mut conn = testing::connect(&node, uni());
    conn.send_json(r#"{"id":1,"connect":{"token":"u"}}"#);
    let push = next(&mut conn).await;
    let connect = &push["connect"];
    assert_eq!(connect["client"].as_str().unwrap().len(), 36);
    assert_eq!(connect["session"].as_str().unwrap().len(), 36);
    // No pong on unidirectional transports.
    assert!(connect.get("pong").is_none());
    node.subscribe(
        Target {
            user: "u".into(),
            ..Default::default()
        },
        "news",
        Default::default(),
    )
    .await
    .unwrap();
    let push = next(&mut conn).await;
    assert_eq!(push["channel"], "news");
    assert!(push["subscribe"].is_object());
    node.publish(
        "news",
        bytes::Bytes::from_static(b"{\"n\":1}"),
        Default::default(),
    )
    .await
    .unwrap();
    assert_eq!(next(&mut conn).await["pub"]["data"]["n"], 1);
    node.disconnect(
        Target {
            user: "u".into(),
            ..Default::default()
        },
        Disconnect::FORCE_DISCONNECT,
        &[],
    )
    .await
    .unwrap();
    let push = next(&mut conn).await;
    assert_eq!(push["disconnect"]["code"], 3503);
    assert_eq!(push["disconnect"]["reason"], "force disconnect");
    assert_eq!(code(closed(&mut conn).await), Some(3503));
}

#[tokio::test]
async fn connect_error_becomes_disconnect() {
    let handler = TestHandler {
        expire_at: 1,
        ..Default::default()
    };
    let node = node(handler);
    let mut conn = testing::connect(&node, uni());
    conn.send_json(r#"{"id":1,"connect":{"token":"u"}}"#);
    assert_eq!(next(&mut conn).await["disconnect"]["code"], 3005);
    assert_eq!(code(closed(&mut conn).await), Some(3005));
}

/// `client.connect_code_to_unidirectional_disconnect`: a configured code wins over the built-in
/// mapping (110 "expired" would be 3005).
#[tokio::test]
async fn configured_connect_code_transform() {
    let handler = TestHandler {
        expire_at: 1,
        ..Default::default()
    };
    let config = NodeConfig {
        unidirectional_code_to_disconnect: vec![(110, Disconnect::custom(4501, "go away"))],
        ..Default::default()
    };
    let node = node_with(config, handler);
    let mut conn = testing::connect(&node, uni());
    conn.send_json(r#"{"id":1,"connect":{"token":"u"}}"#);
    let push = next(&mut conn).await;
    assert_eq!(push["disconnect"]["code"], 4501);
    assert_eq!(push["disconnect"]["reason"], "go away");
    assert_eq!(code(closed(&mut conn).await), Some(4501));
}

/// A transport that answers connect errors with an HTTP status gets the error itself.
#[tokio::test]
async fn raw_connect_errors_keep_the_error_code() {
    let handler = TestHandler {
        expire_at: 1,
        ..Default::default()
    };
    let node = node(handler);
    let transport = TransportInfo {
        raw_connect_errors: true,
        disconnect_push: false,
        ..uni()
    };
    let mut conn = testing::connect(&node, transport);
    conn.send_json(r#"{"id":1,"connect":{"token":"u"}}"#);
    let closed = closed(&mut conn).await.expect("a disconnect");
    assert_eq!((closed.code, closed.reason.as_ref()), (110, "expired"));
}

/// A session id chosen by the transport is the connection's session.
#[tokio::test]
async fn transport_supplied_session() {
    let node = node(TestHandler::default());
    let transport = TransportInfo {
        session: "s-123".into(),
        ..uni()
    };
    let mut conn = testing::connect(&node, transport);
    conn.send_json(r#"{"id":1,"connect":{"token":"u"}}"#);
    assert_eq!(next(&mut conn).await["connect"]["session"], "s-123");
}
