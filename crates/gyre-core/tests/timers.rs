//! Timers under paused tokio time: stale, ping/pong, connection expiry and refresh.

mod common;

use std::time::Duration;

use common::*;

/// Waits for close under paused time, failing instead of hanging when it never comes.
async fn closed_paused(conn: &mut TestConn) -> Option<Disconnect> {
    tokio::time::timeout(Duration::from_secs(7200), conn.closed())
        .await
        .expect("connection not closed")
}

fn no_ping() -> NodeConfig {
    NodeConfig {
        ping_interval: None,
        pong_timeout: None,
        ..Default::default()
    }
}

#[tokio::test(start_paused = true)]
async fn stale_connection_is_closed() {
    let node = node(TestHandler::default());
    let mut conn = testing::connect(&node, json());
    let started = tokio::time::Instant::now();
    assert_eq!(code(closed_paused(&mut conn).await), Some(3502));
    assert!(started.elapsed() >= Duration::from_secs(10));
}

#[tokio::test(start_paused = true)]
async fn ping_then_no_pong_closes_with_3012() {
    let node = node(TestHandler::default());
    let (mut conn, result) = connect_json(&node, "u").await;
    assert_eq!(result["pong"], true);
    let started = tokio::time::Instant::now();
    let ping = conn.recv().await.unwrap();
    assert_eq!(&ping[..], b"{}");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(12_500) && elapsed < Duration::from_secs(25),
        "{elapsed:?}"
    );
    assert_eq!(code(closed_paused(&mut conn).await), Some(3012));
    assert!(started.elapsed() >= elapsed + Duration::from_secs(8));
}

#[tokio::test(start_paused = true)]
async fn answered_pings_keep_the_connection() {
    let node = node(TestHandler::default());
    let (mut conn, _) = connect_json(&node, "u").await;
    for _ in 0..3 {
        assert_eq!(&conn.recv().await.unwrap()[..], b"{}");
        conn.send_json("{}");
    }
    assert!(conn.try_closed().is_none());
}

#[tokio::test(start_paused = true)]
async fn other_commands_do_not_count_as_pong() {
    let node = node(TestHandler::default());
    let (mut conn, _) = connect_json(&node, "u").await;
    assert_eq!(&conn.recv().await.unwrap()[..], b"{}");
    conn.send_json(r#"{"id":2,"rpc":{"method":"m"}}"#);
    assert_eq!(conn.recv_json().await.unwrap()["id"], 2);
    assert_eq!(code(closed_paused(&mut conn).await), Some(3012));
}

#[tokio::test(start_paused = true)]
async fn pong_without_ping_is_bad_request() {
    let node = node(TestHandler::default());
    let (mut conn, _) = connect_json(&node, "u").await;
    conn.send_json("{}");
    assert_eq!(code(closed_paused(&mut conn).await), Some(3501));
}

#[tokio::test(start_paused = true)]
async fn second_pong_for_one_ping_is_bad_request() {
    let node = node(TestHandler::default());
    let (mut conn, _) = connect_json(&node, "u").await;
    assert_eq!(&conn.recv().await.unwrap()[..], b"{}");
    conn.send_json("{}\n{}");
    assert_eq!(code(closed_paused(&mut conn).await), Some(3501));
}

#[tokio::test(start_paused = true)]
async fn protobuf_ping_is_an_empty_message() {
    let node = node(TestHandler::default());
    let mut conn = testing::connect(&node, protobuf());
    conn.send_commands(&[gyre_protocol::Command {
        id: 1,
        connect: Some(Default::default()),
        ..Default::default()
    }]);
    assert_eq!(conn.recv_reply().await.unwrap().id, 1);
    let ping = conn.recv().await.unwrap();
    assert!(
        ping.is_empty(),
        "a protobuf ping is an empty Reply (framed as a single 0x00)"
    );
    conn.send_frame(&b"\x00"[..]);
    // The pong was accepted: the next ping comes, not a close.
    assert!(conn.recv().await.unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn client_side_expiry_closes_after_grace_delay() {
    let handler = TestHandler {
        client_side_refresh: true,
        expire_at: testing::unix_secs() + 10,
        ..Default::default()
    };
    let node = node_with(no_ping(), handler);
    let (mut conn, result) = connect_json(&node, "u").await;
    assert_eq!(result["expires"], true);
    assert_eq!(result["ttl"], 10);
    let started = tokio::time::Instant::now();
    assert_eq!(code(closed_paused(&mut conn).await), Some(3005));
    assert!(started.elapsed() >= Duration::from_secs(34));
}

#[tokio::test(start_paused = true)]
async fn refresh_extends_client_side_expiry() {
    let now = testing::unix_secs();
    let handler = TestHandler {
        client_side_refresh: true,
        expire_at: now + 10,
        refresh_expire_at: now + 100,
        ..Default::default()
    };
    let node = node_with(no_ping(), handler);
    let (mut conn, _) = connect_json(&node, "u").await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    conn.send_json(r#"{"id":2,"refresh":{"token":"new"}}"#);
    let reply = conn.recv_json().await.unwrap();
    assert_eq!(reply["refresh"]["expires"], true);
    assert_eq!(reply["refresh"]["ttl"], 95);
    let started = tokio::time::Instant::now();
    assert_eq!(code(closed_paused(&mut conn).await), Some(3005));
    // Closed at the new expiry plus the grace delay, not the old one.
    assert!(
        started.elapsed() >= Duration::from_secs(94 + 25),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn refresh_rules() {
    // Empty token.
    let handler = TestHandler {
        client_side_refresh: true,
        expire_at: testing::unix_secs() + 100,
        ..Default::default()
    };
    let node = node_with(no_ping(), handler);
    let (mut conn, _) = connect_json(&node, "u").await;
    conn.send_json(r#"{"id":2,"refresh":{"token":""}}"#);
    assert_eq!(code(closed_paused(&mut conn).await), Some(3501));

    // Server-side refresh mode: the client may not refresh.
    let handler = TestHandler {
        expire_at: testing::unix_secs() + 100,
        ..Default::default()
    };
    let node = node_with(no_ping(), handler);
    let (mut conn, result) = connect_json(&node, "u").await;
    assert!(result.get("expires").is_none());
    conn.send_json(r#"{"id":2,"refresh":{"token":"t"}}"#);
    assert_eq!(code(closed_paused(&mut conn).await), Some(3501));
}

#[tokio::test(start_paused = true)]
async fn server_side_refresh_asks_the_handler_at_expiry() {
    let now = testing::unix_secs();
    let handler = TestHandler {
        expire_at: now + 10,
        refresh_expire_at: now + 1000,
        ..Default::default()
    };
    let node = node_with(no_ping(), handler);
    let (mut conn, _) = connect_json(&node, "u").await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    conn.send_json(r#"{"id":2,"rpc":{"method":"alive"}}"#);
    assert_eq!(conn.recv_json().await.unwrap()["id"], 2);
    // The refreshed expiry is enforced in turn: the handler keeps returning the same time.
    let started = tokio::time::Instant::now();
    assert_eq!(code(closed_paused(&mut conn).await), Some(3005));
    assert!(started.elapsed() >= Duration::from_secs(900));
}

#[tokio::test(start_paused = true)]
async fn subscription_expiry_unsubscribes_client_side_subscription() {
    let now = testing::unix_secs();
    let handler = TestHandler {
        subscribe_options: gyre_core::SubscribeOptions {
            expire_at: now + 10,
            ..Default::default()
        },
        subscribe_client_side_refresh: true,
        ..Default::default()
    };
    let node = node_with(no_ping(), handler);
    let (mut conn, _) = connect_json(&node, "u").await;
    let result = subscribe(&mut conn, 2, "a").await;
    assert_eq!(result["expires"], true);
    assert_eq!(result["ttl"], 10);
    let started = tokio::time::Instant::now();
    let push = conn.recv_json().await.unwrap();
    assert_eq!(push["push"]["channel"], "a");
    assert_eq!(push["push"]["unsubscribe"]["code"], 2501);
    assert!(started.elapsed() >= Duration::from_secs(34));
    assert!(node.channels().is_empty());
}

#[tokio::test(start_paused = true)]
async fn sub_refresh_extends_subscription() {
    let now = testing::unix_secs();
    let handler = TestHandler {
        subscribe_options: gyre_core::SubscribeOptions {
            expire_at: now + 10,
            ..Default::default()
        },
        subscribe_client_side_refresh: true,
        refresh_expire_at: now + 500,
        ..Default::default()
    };
    let node = node_with(no_ping(), handler);
    let (mut conn, _) = connect_json(&node, "u").await;
    subscribe(&mut conn, 2, "a").await;
    conn.send_json(r#"{"id":3,"sub_refresh":{"channel":"a","token":"t"}}"#);
    let reply = conn.recv_json().await.unwrap();
    assert_eq!(reply["sub_refresh"]["expires"], true);
    assert_eq!(reply["sub_refresh"]["ttl"], 500);
    tokio::time::sleep(Duration::from_secs(100)).await;
    assert_eq!(node.channels().len(), 1);
    // Not subscribed: permission denied.
    conn.send_json(r#"{"id":4,"sub_refresh":{"channel":"b","token":"t"}}"#);
    assert_eq!(conn.recv_json().await.unwrap()["error"]["code"], 103);
    // No token: bad request error.
    conn.send_json(r#"{"id":5,"sub_refresh":{"channel":"a","token":""}}"#);
    assert_eq!(conn.recv_json().await.unwrap()["error"]["code"], 107);
}

/// Gyre decision: an expired sub_refresh token must not extend (or remove) the expiry.
#[tokio::test(start_paused = true)]
async fn expired_sub_refresh_token_keeps_expiry() {
    let now = testing::unix_secs();
    let handler = TestHandler {
        subscribe_options: gyre_core::SubscribeOptions {
            expire_at: now + 10,
            ..Default::default()
        },
        subscribe_client_side_refresh: true,
        refresh_expire_at: now + 500,
        ..Default::default()
    };
    let node = node_with(no_ping(), handler);
    let (mut conn, _) = connect_json(&node, "u").await;
    subscribe(&mut conn, 2, "a").await;
    conn.send_json(r#"{"id":3,"sub_refresh":{"channel":"a","token":"expired"}}"#);
    let reply = conn.recv_json().await.unwrap();
    assert_eq!(reply["sub_refresh"]["expires"], true);
    assert_eq!(reply["sub_refresh"]["ttl"], 10);
    // Once past its expiry (inside the close delay), an expired token gets 110.
    tokio::time::sleep(Duration::from_secs(11)).await;
    conn.send_json(r#"{"id":5,"sub_refresh":{"channel":"a","token":"expired"}}"#);
    assert_eq!(conn.recv_json().await.unwrap()["error"]["code"], 110);
    // And it still ends at the original deadline plus the close delay.
    let push = conn.recv_json().await.unwrap();
    assert_eq!(push["push"]["unsubscribe"]["code"], 2501);
}

#[tokio::test(start_paused = true)]
async fn server_side_subscription_expiry_disconnects() {
    let now = testing::unix_secs();
    let mut subscriptions = std::collections::HashMap::new();
    subscriptions.insert(
        "news".to_string(),
        gyre_core::SubscribeOptions {
            expire_at: now + 10,
            ..Default::default()
        },
    );
    let handler = TestHandler {
        subscriptions,
        // The handler refuses to extend it.
        refresh_expire_at: now - 100,
        ..Default::default()
    };
    let node = node_with(no_ping(), handler);
    let (mut conn, _) = connect_json(&node, "u").await;
    assert_eq!(code(closed_paused(&mut conn).await), Some(3006));
}
