//! Dispatch rules of the client protocol (protocol.md §1.3–1.5, §11).

mod common;

use common::*;

#[tokio::test]
async fn command_before_connect_is_bad_request() {
    let node = node(TestHandler::default());
    let mut conn = testing::connect(&node, json());
    conn.send_json(r#"{"id":1,"subscribe":{"channel":"a"}}"#);
    assert_eq!(code(closed(&mut conn).await), Some(3501));
}

#[tokio::test]
async fn second_connect_is_bad_request() {
    let node = node(TestHandler::default());
    let (mut conn, _) = connect_json(&node, "u").await;
    conn.send_json(r#"{"id":2,"connect":{"token":"u"}}"#);
    assert_eq!(code(closed(&mut conn).await), Some(3501));
}

#[tokio::test]
async fn undecodable_frame_is_bad_request() {
    let node = node(TestHandler::default());
    let mut conn = testing::connect(&node, json());
    conn.send_json("{not json");
    assert_eq!(code(closed(&mut conn).await), Some(3501));
}

/// Commands before a broken one in the same frame are processed, then the client gets 3501.
#[tokio::test]
async fn commands_before_a_broken_one_are_processed() {
    let node = node(TestHandler::default());
    let (mut conn, _) = connect_json(&node, "u").await;
    conn.send_frame(bytes::Bytes::from_static(
        b"{\"id\":2,\"rpc\":{\"data\":{}}}\nnot json",
    ));
    let reply = next(&mut conn).await;
    assert_eq!(reply["id"], 2);
    assert_eq!(code(closed(&mut conn).await), Some(3501));
}

#[tokio::test]
async fn command_without_method_is_bad_request() {
    let node = node(TestHandler::default());
    let (mut conn, _) = connect_json(&node, "u").await;
    conn.send_json(r#"{"id":7}"#);
    assert_eq!(code(closed(&mut conn).await), Some(3501));
}

#[tokio::test]
async fn ping_command_is_bad_request() {
    let node = node(TestHandler::default());
    let (mut conn, _) = connect_json(&node, "u").await;
    conn.send_json(r#"{"id":2,"ping":{}}"#);
    assert_eq!(code(closed(&mut conn).await), Some(3501));
}

#[tokio::test]
async fn send_is_not_available() {
    let node = node(TestHandler::default());
    let (mut conn, _) = connect_json(&node, "u").await;
    conn.send_json(r#"{"send":{"data":{"x":1}}}"#);
    assert_eq!(code(closed(&mut conn).await), Some(3508));
}

#[tokio::test]
async fn id_zero_command_is_an_unexpected_pong() {
    let node = node(TestHandler::default());
    let (mut conn, _) = connect_json(&node, "u").await;
    // Without an id a command counts as a pong, and no ping is outstanding.
    conn.send_json(r#"{"subscribe":{"channel":"a"}}"#);
    assert_eq!(code(closed(&mut conn).await), Some(3501));
}

#[tokio::test]
async fn unknown_delta_type_is_bad_request() {
    let node = node(TestHandler::default());
    let (mut conn, _) = connect_json(&node, "u").await;
    conn.send_json(r#"{"id":2,"subscribe":{"channel":"a","delta":"zstd"}}"#);
    assert_eq!(code(closed(&mut conn).await), Some(3501));
}

#[tokio::test]
async fn empty_channel_is_bad_request() {
    for cmd in [
        r#"{"id":2,"subscribe":{"channel":""}}"#,
        r#"{"id":2,"unsubscribe":{"channel":""}}"#,
        r#"{"id":2,"publish":{"channel":"","data":{}}}"#,
        r#"{"id":2,"presence":{"channel":""}}"#,
        r#"{"id":2,"history":{"channel":""}}"#,
        r#"{"id":2,"sub_refresh":{"channel":"","token":"t"}}"#,
    ] {
        let node = node(TestHandler::default());
        let (mut conn, _) = connect_json(&node, "u").await;
        conn.send_json(cmd);
        assert_eq!(code(closed(&mut conn).await), Some(3501), "{cmd}");
    }
}

#[tokio::test]
async fn commands_of_one_frame_run_in_order_with_connect_first() {
    let node = node(TestHandler::default());
    let mut conn = testing::connect(&node, json());
    conn.send_json(
        "{\"id\":1,\"connect\":{\"token\":\"u\"}}\n{\"id\":2,\"subscribe\":{\"channel\":\"a\"}}\n{\"id\":3,\"rpc\":{\"method\":\"m\",\"data\":{\"x\":1}}}",
    );
    assert!(next(&mut conn).await["connect"].is_object());
    assert_eq!(next(&mut conn).await["id"], 2);
    let rpc = next(&mut conn).await;
    assert_eq!(rpc["id"], 3);
    assert_eq!(rpc["rpc"]["data"]["x"], 1);
}

#[tokio::test]
async fn connect_result_fields() {
    let handler = TestHandler {
        client_side_refresh: true,
        expire_at: i64::MAX / 4,
        ..Default::default()
    };
    let config = NodeConfig {
        version: "0.1.0 gyre".into(),
        connect_include_server_time: true,
        ..Default::default()
    };
    let node = node_with(config, handler);
    let (_conn, result) = connect_json(&node, "u").await;
    assert_eq!(result["client"].as_str().unwrap().len(), 36);
    assert_eq!(result["version"], "0.1.0 gyre");
    assert_eq!(result["ping"], 25);
    assert_eq!(result["pong"], true);
    assert_eq!(result["expires"], true);
    // The expiry is capped to a year.
    assert_eq!(result["ttl"], 365 * 24 * 3600);
    assert!(result["time"].as_i64().unwrap() > 1_600_000_000_000);
    assert!(result.get("session").is_none());
}

#[tokio::test]
async fn connect_in_the_past_is_expired_then_closed_without_code() {
    let handler = TestHandler {
        expire_at: 1,
        ..Default::default()
    };
    let node = node(handler);
    let mut conn = testing::connect(&node, json());
    conn.send_json("{\"id\":1,\"connect\":{\"token\":\"u\"}}\n{\"id\":2,\"subscribe\":{\"channel\":\"a\"}}");
    let reply = next(&mut conn).await;
    assert_eq!(reply["error"]["code"], 110);
    // The rest of the frame is not processed; the client is expected to close.
    conn.close();
    assert_eq!(closed(&mut conn).await, None);
    assert!(conn.try_recv().is_none());
}

#[tokio::test]
async fn user_connection_limit() {
    let config = NodeConfig {
        user_connection_limit: 1,
        ..Default::default()
    };
    let node = node_with(config, TestHandler::default());
    let (_first, _) = connect_json(&node, "u").await;
    let mut second = testing::connect(&node, json());
    second.send_json(r#"{"id":1,"connect":{"token":"u"}}"#);
    assert_eq!(code(closed(&mut second).await), Some(3504));
    // Anonymous users are not limited.
    let (_a, _) = connect_json(&node, "").await;
    let (_b, _) = connect_json(&node, "").await;
}

#[tokio::test]
async fn message_too_big_closes_with_1009() {
    let node = node(TestHandler::default());
    let (mut conn, _) = connect_json(&node, "u").await;
    conn.send_too_big();
    assert_eq!(code(closed(&mut conn).await), Some(1009));
}

#[tokio::test]
async fn peer_close_ends_session_without_code() {
    let node = node(TestHandler::default());
    let (mut conn, _) = connect_json(&node, "u").await;
    subscribe(&mut conn, 2, "a").await;
    conn.close();
    assert_eq!(closed(&mut conn).await, None);
    finished(&mut conn).await;
    assert_eq!(node.info().num_clients, 0);
    assert!(node.channels().is_empty());
}

#[tokio::test]
async fn protobuf_connect_and_rpc() {
    use gyre_protocol::{Command, ConnectRequest, RpcRequest};
    let node = node(TestHandler::default());
    let mut conn = testing::connect(&node, protobuf());
    conn.send_commands(&[
        Command {
            id: 1,
            connect: Some(ConnectRequest {
                token: "u".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
        Command {
            id: 2,
            rpc: Some(RpcRequest {
                method: "m".into(),
                data: bytes::Bytes::from_static(b"\x00\x01binary"),
            }),
            ..Default::default()
        },
    ]);
    let reply = conn.recv_reply().await.unwrap();
    assert_eq!(reply.id, 1);
    assert!(reply.connect.is_some());
    let reply = conn.recv_reply().await.unwrap();
    assert_eq!(reply.rpc.unwrap().data.as_ref(), b"\x00\x01binary");
}
