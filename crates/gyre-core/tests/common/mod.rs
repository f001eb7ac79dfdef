//! Helpers shared by the component tests.
#![allow(dead_code, unreachable_pub)]

pub mod faulty;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

#[allow(unused_imports)]
pub use gyre_core::testing::{self, TestConn, TestHandler, WriteMode};
pub use gyre_core::{Disconnect, Node, NodeConfig, ProtocolType, TransportInfo};

/// Upper bound for anything a test waits on in real time.
pub const WAIT: Duration = Duration::from_secs(5);

pub fn node(handler: TestHandler) -> Node {
    node_with(NodeConfig::default(), handler)
}

pub fn node_with(config: NodeConfig, handler: TestHandler) -> Node {
    Node::new(config, Arc::new(handler))
}

pub fn json() -> TransportInfo {
    testing::transport_info(ProtocolType::Json)
}

pub fn protobuf() -> TransportInfo {
    testing::transport_info(ProtocolType::Protobuf)
}

/// The next message as JSON; fails the test on timeout or close.
pub async fn next(conn: &mut TestConn) -> Value {
    tokio::time::timeout(WAIT, conn.recv_json())
        .await
        .expect("timed out waiting for a message")
        .expect("connection closed while waiting for a message")
}

/// Waits for the server to close the transport; fails the test on timeout.
pub async fn closed(conn: &mut TestConn) -> Option<Disconnect> {
    tokio::time::timeout(WAIT, conn.closed())
        .await
        .expect("timed out waiting for close")
}

/// Waits until the session finished its teardown.
pub async fn finished(conn: &mut TestConn) {
    tokio::time::timeout(WAIT, conn.finished())
        .await
        .expect("timed out waiting for teardown")
}

/// Connects a JSON client as `user` (the test handler takes the token as the user id) and returns
/// it with its connect result.
pub async fn connect_json(node: &Node, user: &str) -> (TestConn, Value) {
    let mut conn = testing::connect(node, json());
    conn.send_json(&format!(r#"{{"id":1,"connect":{{"token":"{user}"}}}}"#));
    let reply = next(&mut conn).await;
    assert_eq!(reply["id"], 1, "unexpected connect reply {reply}");
    assert!(reply.get("error").is_none(), "connect failed: {reply}");
    (conn, reply["connect"].clone())
}

/// Subscribes and returns the subscribe result.
pub async fn subscribe(conn: &mut TestConn, id: u32, channel: &str) -> Value {
    conn.send_json(&format!(r#"{{"id":{id},"subscribe":{{"channel":"{channel}"}}}}"#));
    let reply = next(conn).await;
    assert_eq!(reply["id"], id, "unexpected reply {reply}");
    assert!(reply.get("error").is_none(), "subscribe failed: {reply}");
    reply["subscribe"].clone()
}

pub fn code(d: Option<Disconnect>) -> Option<u32> {
    d.map(|d| d.code)
}

/// Publish options keeping a history stream of `size` publications for five minutes.
pub fn with_history(size: usize) -> gyre_core::PublishOptions {
    gyre_core::PublishOptions {
        history_size: size,
        history_ttl: Duration::from_secs(300),
        ..Default::default()
    }
}

/// Publishes `{"n":<i>}` for each i in `range` with `opts`; returns the last position.
pub async fn publish_numbered(
    node: &Node,
    channel: &str,
    range: std::ops::RangeInclusive<u64>,
    opts: &gyre_core::PublishOptions,
) -> gyre_core::StreamPosition {
    let mut last = gyre_core::StreamPosition::default();
    for n in range {
        let data = bytes::Bytes::from(format!(r#"{{"n":{n}}}"#));
        last = node.publish(channel, data, opts.clone()).await.unwrap().position;
    }
    last
}

/// Settings without pings (tests that let paused time run for minutes).
pub fn no_ping() -> NodeConfig {
    NodeConfig {
        ping_interval: None,
        pong_timeout: None,
        ..Default::default()
    }
}

/// Offsets of a JSON array of publications.
pub fn offsets(publications: &Value) -> Vec<u64> {
    publications
        .as_array()
        .map(|a| a.iter().map(|p| p["offset"].as_u64().unwrap()).collect())
        .unwrap_or_default()
}

/// A protobuf client connected (token "pb") and sent `subscribe` as command 2; returns the
/// connection and the subscribe command's reply.
pub async fn connect_protobuf_with(
    node: &Node,
    subscribe: gyre_protocol::SubscribeRequest,
) -> (TestConn, gyre_protocol::Reply) {
    use gyre_protocol::{Command, ConnectRequest};
    let mut conn = testing::connect(node, protobuf());
    conn.send_commands(&[
        Command {
            id: 1,
            connect: Some(ConnectRequest {
                token: "pb".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
        Command {
            id: 2,
            subscribe: Some(subscribe),
            ..Default::default()
        },
    ]);
    assert!(conn.recv_reply().await.unwrap().connect.is_some());
    let reply = conn.recv_reply().await.unwrap();
    (conn, reply)
}
