//! Node operations of the server API reaching live connections, and shutdown.

mod common;

use bytes::Bytes;
use common::*;
use gyre_core::{PublishOptions, SubscribeOptions, Target, Unsubscribe};

fn user(u: &str) -> Target {
    Target {
        user: u.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn server_subscribe_pushes_and_delivers() {
    let node = node(TestHandler::default());
    let (mut conn, _) = connect_json(&node, "u").await;
    let opts = SubscribeOptions {
        data: Bytes::from_static(br#"{"welcome":true}"#),
        ..Default::default()
    };
    node.subscribe(user("u"), "news", opts.clone()).await.unwrap();
    let push = next(&mut conn).await;
    assert_eq!(push["push"]["channel"], "news");
    assert_eq!(push["push"]["subscribe"]["data"]["welcome"], true);
    // Already subscribed: skipped, no second push.
    node.subscribe(user("u"), "news", opts).await.unwrap();
    node.publish(
        "news",
        Bytes::from_static(b"{\"n\":1}"),
        PublishOptions::default(),
    )
    .await
    .unwrap();
    let publication = next(&mut conn).await;
    assert_eq!(publication["push"]["pub"]["data"]["n"], 1);
    assert_eq!(node.channels(), vec![("news".to_string(), 1)]);
}

#[tokio::test]
async fn server_subscribe_positioned_push_has_position() {
    let node = node(TestHandler::default());
    let history = PublishOptions {
        history_size: 10,
        history_ttl: std::time::Duration::from_secs(60),
        ..Default::default()
    };
    for _ in 0..3 {
        node.publish("news", Bytes::from_static(b"{}"), history.clone())
            .await
            .unwrap();
    }
    let (mut conn, _) = connect_json(&node, "u").await;
    let opts = SubscribeOptions {
        enable_recovery: true,
        ..Default::default()
    };
    node.subscribe(user("u"), "news", opts).await.unwrap();
    let push = next(&mut conn).await;
    let sub = &push["push"]["subscribe"];
    assert_eq!(sub["recoverable"], true);
    assert_eq!(sub["positioned"], true);
    assert_eq!(sub["offset"], 3);
    assert_eq!(sub["epoch"].as_str().unwrap().len(), 8);
}

#[tokio::test]
async fn server_unsubscribe_pushes_2000() {
    let node = node(TestHandler::default());
    let (mut conn, _) = connect_json(&node, "u").await;
    subscribe(&mut conn, 2, "a").await;
    subscribe(&mut conn, 3, "b").await;
    node.unsubscribe(user("u"), "a", Unsubscribe::SERVER)
        .await
        .unwrap();
    let push = next(&mut conn).await;
    assert_eq!(push["push"]["channel"], "a");
    assert_eq!(push["push"]["unsubscribe"]["code"], 2000);
    assert_eq!(push["push"]["unsubscribe"]["reason"], "server unsubscribe");
    assert_eq!(node.channels(), vec![("b".to_string(), 1)]);
    // An empty channel unsubscribes from everything.
    node.unsubscribe(user("u"), "", Unsubscribe::SERVER)
        .await
        .unwrap();
    assert_eq!(next(&mut conn).await["push"]["channel"], "b");
    assert!(node.channels().is_empty());
}

#[tokio::test]
async fn server_disconnect_respects_targets_and_whitelist() {
    let node = node(TestHandler::default());
    let (mut one, r1) = connect_json(&node, "u").await;
    let (mut two, r2) = connect_json(&node, "u").await;
    let (mut other, _) = connect_json(&node, "other").await;
    let keep = r2["client"].as_str().unwrap().to_string();
    node.disconnect(user("u"), Disconnect::FORCE_DISCONNECT, &[keep])
        .await
        .unwrap();
    assert_eq!(code(closed(&mut one).await), Some(3503));
    finished(&mut one).await;
    assert_eq!(node.info().num_clients, 2);
    // By client id.
    let target = Target {
        user: "u".into(),
        client: r2["client"].as_str().unwrap().into(),
        ..Default::default()
    };
    node.disconnect(target, Disconnect::custom(4000, "custom"), &[])
        .await
        .unwrap();
    assert_eq!(code(closed(&mut two).await), Some(4000));
    let _ = r1;
    // The empty user targets anonymous connections only.
    node.disconnect(user(""), Disconnect::FORCE_DISCONNECT, &[])
        .await
        .unwrap();
    other.send_json(r#"{"id":2,"rpc":{"method":"m"}}"#);
    assert_eq!(next(&mut other).await["id"], 2);
}

#[tokio::test]
async fn server_refresh_pushes_and_expires() {
    let node = node(TestHandler::default());
    let (mut conn, _) = connect_json(&node, "u").await;
    let at = testing::unix_secs() + 100;
    node.refresh(user("u"), false, at, None).await.unwrap();
    let push = next(&mut conn).await;
    assert_eq!(push["push"]["refresh"]["expires"], true);
    let ttl = push["push"]["refresh"]["ttl"].as_u64().unwrap();
    assert!((99..=100).contains(&ttl));
    node.refresh(user("u"), true, 0, None).await.unwrap();
    assert_eq!(code(closed(&mut conn).await), Some(3005));
}

#[tokio::test]
async fn shutdown_closes_everyone_with_3001() {
    let node = node(TestHandler::default());
    let mut conns = Vec::new();
    for u in ["a", "b", "c"] {
        let (mut conn, _) = connect_json(&node, u).await;
        subscribe(&mut conn, 2, "chat").await;
        conns.push(conn);
    }
    // Not connected yet: closed too.
    let mut pending = testing::connect(&node, json());
    tokio::time::timeout(WAIT, node.shutdown())
        .await
        .expect("shutdown hangs");
    for conn in conns.iter_mut().chain(std::iter::once(&mut pending)) {
        assert_eq!(code(closed(conn).await), Some(3001));
    }
    assert_eq!(node.info().num_clients, 0);
    assert!(node.channels().is_empty());
    // New connections are refused.
    let mut late = testing::connect(&node, json());
    assert_eq!(code(closed(&mut late).await), Some(3001));
}

#[tokio::test]
async fn shutdown_respects_close_concurrency() {
    let config = NodeConfig {
        shutdown_close_concurrency: 1,
        ..Default::default()
    };
    let node = node_with(config, TestHandler::default());
    let mut conns = Vec::new();
    for n in 0..5 {
        let (conn, _) = connect_json(&node, &format!("u{n}")).await;
        conns.push(conn);
    }
    tokio::time::timeout(WAIT, node.shutdown())
        .await
        .expect("shutdown hangs");
    for conn in &mut conns {
        assert_eq!(code(closed(conn).await), Some(3001));
    }
}

#[tokio::test]
async fn info_counts() {
    let node = node(TestHandler::default());
    let (mut a, _) = connect_json(&node, "a").await;
    let (mut b, _) = connect_json(&node, "a").await;
    let (_c, _) = connect_json(&node, "").await;
    subscribe(&mut a, 2, "x").await;
    subscribe(&mut b, 2, "x").await;
    subscribe(&mut b, 3, "y").await;
    let info = node.info();
    assert_eq!(info.num_clients, 3);
    assert_eq!(info.num_users, 2);
    assert_eq!(info.num_subs, 3);
    assert_eq!(info.num_channels, 2);
    assert_eq!(info.uid, node.id());
    let mut channels = node.channels();
    channels.sort();
    assert_eq!(channels, vec![("x".to_string(), 2), ("y".to_string(), 1)]);
}
