//! Publication fan-out: order, encode-once, mixed protocols, slow consumers and write failures.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use gyre_core::PublishOptions;
use gyre_protocol::SubscribeRequest;

async fn publish(node: &Node, channel: &str, data: &str) {
    node.publish(
        channel,
        Bytes::copy_from_slice(data.as_bytes()),
        PublishOptions::default(),
    )
    .await
    .unwrap();
}

async fn connect_protobuf(node: &Node, channel: &str) -> TestConn {
    let subscribe = SubscribeRequest {
        channel: channel.into(),
        ..Default::default()
    };
    let (conn, reply) = connect_protobuf_with(node, subscribe).await;
    assert!(reply.subscribe.is_some(), "{reply:?}");
    conn
}

#[tokio::test]
async fn fan_out_to_three_subscribers_in_order() {
    let node = node(TestHandler::default());
    let mut conns = Vec::new();
    for user in ["a", "b", "c"] {
        let (mut conn, _) = connect_json(&node, user).await;
        subscribe(&mut conn, 2, "chat").await;
        conns.push(conn);
    }
    for n in 0..50 {
        publish(&node, "chat", &format!(r#"{{"n":{n}}}"#)).await;
    }
    for conn in &mut conns {
        for n in 0..50 {
            let push = next(conn).await;
            assert_eq!(push["push"]["channel"], "chat");
            assert_eq!(push["push"]["pub"]["data"]["n"], n);
            assert!(push["push"]["pub"].get("offset").is_none());
        }
    }
    // Queued messages are written in batches of at most `max_messages_in_frame`.
    let cap = node.config().max_messages_in_frame;
    assert!(conns[0].batch_sizes().iter().all(|&n| n <= cap));
}

#[tokio::test]
async fn client_publication_carries_publisher_info() {
    let node = node(TestHandler::default());
    let (mut a, connect) = connect_json(&node, "alice").await;
    subscribe(&mut a, 2, "chat").await;
    a.send_json(r#"{"id":3,"publish":{"channel":"chat","data":{"text":"hi"}}}"#);
    // Reply and publication, in either order.
    let mut got_reply = false;
    let mut got_pub = false;
    for _ in 0..2 {
        let msg = next(&mut a).await;
        if msg["id"] == 3 {
            assert_eq!(msg["publish"], serde_json::json!({}));
            got_reply = true;
        } else {
            let p = &msg["push"]["pub"];
            assert_eq!(p["data"]["text"], "hi");
            assert_eq!(p["info"]["user"], "alice");
            assert_eq!(p["info"]["client"], connect["client"]);
            got_pub = true;
        }
    }
    assert!(got_reply && got_pub);
}

#[tokio::test]
async fn publication_is_encoded_once_per_protocol() {
    let node = node(TestHandler::default());
    let (mut a, _) = connect_json(&node, "a").await;
    let (mut b, _) = connect_json(&node, "b").await;
    subscribe(&mut a, 2, "chat").await;
    subscribe(&mut b, 2, "chat").await;
    let mut p = connect_protobuf(&node, "chat").await;
    publish(&node, "chat", r#"{"x":1}"#).await;
    let ma = a.recv().await.unwrap();
    let mb = b.recv().await.unwrap();
    let mp = p.recv().await.unwrap();
    assert_eq!(ma, mb);
    // Both JSON subscribers got the very same buffer.
    assert_eq!(ma.as_ptr(), mb.as_ptr());
    assert_ne!(ma.as_ptr(), mp.as_ptr());
    let reply: gyre_protocol::Reply = prost::Message::decode(mp).unwrap();
    let publication = reply.push.unwrap().r#pub.unwrap();
    assert_eq!(publication.data.as_ref(), br#"{"x":1}"#);
}

#[tokio::test]
async fn binary_payload_closes_json_subscribers_only() {
    let node = node(TestHandler::default());
    let (mut json_conn, _) = connect_json(&node, "a").await;
    subscribe(&mut json_conn, 2, "chat").await;
    let mut pb = connect_protobuf(&node, "chat").await;
    node.publish(
        "chat",
        Bytes::from_static(b"\xff\x00binary"),
        PublishOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(code(closed(&mut json_conn).await), Some(3506));
    let reply = pb.recv_reply().await.unwrap();
    assert_eq!(
        reply.push.unwrap().r#pub.unwrap().data.as_ref(),
        b"\xff\x00binary"
    );
}

#[tokio::test(start_paused = true)]
async fn slow_consumer_is_closed_with_3008_and_released() {
    let config = NodeConfig {
        client_queue_max_size: 2000,
        ..Default::default()
    };
    let node = node_with(config, TestHandler::default());
    let (mut slow, _) = connect_json(&node, "slow").await;
    let (mut healthy, _) = connect_json(&node, "healthy").await;
    subscribe(&mut slow, 2, "chat").await;
    subscribe(&mut healthy, 2, "chat").await;
    slow.set_write_mode(WriteMode::Stalled);
    let payload = format!(r#"{{"pad":"{}"}}"#, "x".repeat(100));
    for _ in 0..40 {
        publish(&node, "chat", &payload).await;
        // Let the healthy subscriber's writer drain its queue between publications.
        tokio::task::yield_now().await;
    }
    let started = tokio::time::Instant::now();
    assert_eq!(code(slow.closed().await), Some(3008));
    // Cut off without waiting for the stalled write to time out.
    assert!(started.elapsed() < Duration::from_millis(100));
    slow.finished().await;
    assert_eq!(healthy.try_closed(), None);
    assert_eq!(node.channels(), vec![("chat".to_string(), 1)]);
    for _ in 0..40 {
        assert!(healthy.recv_json().await.unwrap()["push"]["pub"].is_object());
    }
}

#[tokio::test(start_paused = true)]
async fn stalled_write_times_out_with_3009() {
    let node = node(TestHandler::default());
    let (mut conn, _) = connect_json(&node, "u").await;
    subscribe(&mut conn, 2, "chat").await;
    conn.set_write_mode(WriteMode::Stalled);
    publish(&node, "chat", "{}").await;
    let started = tokio::time::Instant::now();
    assert_eq!(code(conn.closed().await), Some(3009));
    assert!(started.elapsed() >= Duration::from_secs(1));
    conn.finished().await;
    assert!(node.channels().is_empty());
    assert_eq!(node.info().num_clients, 0);
}

#[tokio::test]
async fn failing_write_closes_with_3009() {
    let node = node(TestHandler::default());
    let (mut conn, _) = connect_json(&node, "u").await;
    subscribe(&mut conn, 2, "chat").await;
    conn.set_write_mode(WriteMode::Failing);
    publish(&node, "chat", "{}").await;
    assert_eq!(code(closed(&mut conn).await), Some(3009));
    finished(&mut conn).await;
    assert!(node.channels().is_empty());
}

#[tokio::test]
async fn unsubscribe_stops_delivery() {
    let node = node(TestHandler::default());
    let (mut conn, _) = connect_json(&node, "u").await;
    subscribe(&mut conn, 2, "chat").await;
    conn.send_json(r#"{"id":3,"unsubscribe":{"channel":"chat"}}"#);
    assert_eq!(next(&mut conn).await["unsubscribe"], serde_json::json!({}));
    assert!(node.channels().is_empty());
    publish(&node, "chat", r#"{"late":true}"#).await;
    conn.send_json(r#"{"id":4,"rpc":{"method":"m"}}"#);
    // The next message is the RPC reply: the publication never came.
    assert_eq!(next(&mut conn).await["id"], 4);
    // Unsubscribing from a channel one is not subscribed to is fine.
    conn.send_json(r#"{"id":5,"unsubscribe":{"channel":"other"}}"#);
    assert_eq!(next(&mut conn).await["id"], 5);
}
