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
