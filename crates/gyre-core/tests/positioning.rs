//! Positioning: live gaps, the periodic stream position check (paused time) and the PUB/SUB
//! time lag.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use common::faulty::{faulty_node, FaultyBroker};
use common::*;
use gyre_core::{
    ClientHandler, ClientRef, ConnectingEvent, ConnectingReply, HandlerError, PublishOptions, RpcEvent,
    RpcReply, SubscribeEvent, SubscribeOptions, SubscribeReply,
};
use tokio::time::Instant;

const CHECK: Duration = Duration::from_secs(40);

fn positioned() -> SubscribeOptions {
    SubscribeOptions {
        enable_positioning: true,
        ..Default::default()
    }
}

fn recoverable() -> SubscribeOptions {
    SubscribeOptions {
        enable_recovery: true,
        ..Default::default()
    }
}

/// A node whose client-side subscriptions get `options` and whose connections get server-side
/// subscriptions to `server_side` channels.
fn setup(config: NodeConfig, options: SubscribeOptions, server_side: &[&str]) -> (Node, Arc<FaultyBroker>) {
    let subscriptions: HashMap<String, SubscribeOptions> = server_side
        .iter()
        .map(|ch| (ch.to_string(), recoverable()))
        .collect();
    let handler = TestHandler {
        subscribe_options: options,
        subscriptions,
        ..Default::default()
    };
    faulty_node(config, Arc::new(handler))
}

/// Waits for the next message under paused time (hours may pass).
async fn next_paused(conn: &mut TestConn) -> serde_json::Value {
    let msg = tokio::time::timeout(Duration::from_secs(7200), conn.recv_json())
        .await
        .expect("nothing arrived")
        .expect("connection closed");
    msg
}

async fn closed_paused(conn: &mut TestConn) -> Option<Disconnect> {
    tokio::time::timeout(Duration::from_secs(7200), conn.closed())
        .await
        .expect("connection not closed")
}

/// The connection is alive and nothing is pending for it.
async fn quiet(conn: &mut TestConn, id: u32) {
    conn.send_json(&format!(r#"{{"id":{id},"rpc":{{"method":"ping"}}}}"#));
    let reply = next_paused(conn).await;
    assert_eq!(
        reply["id"], id,
        "unexpected message before the rpc reply: {reply}"
    );
    assert!(conn.try_closed().is_none());
}

#[tokio::test]
async fn live_gap_is_2500_then_recovered() {
    let (node, broker) = setup(NodeConfig::default(), recoverable(), &[]);
    let opts = with_history(10);
    let (mut conn, _) = connect_json(&node, "u").await;
    let sub = subscribe(&mut conn, 2, "g").await;
    let epoch = sub["epoch"].as_str().unwrap().to_string();
    publish_numbered(&node, "g", 1..=1, &opts).await;
    assert_eq!(next(&mut conn).await["push"]["pub"]["offset"], 1);
    broker.drop_next(1);
    publish_numbered(&node, "g", 2..=3, &opts).await;
    let push = next(&mut conn).await;
    assert_eq!(push["push"]["channel"], "g");
    assert_eq!(push["push"]["unsubscribe"]["code"], 2500, "{push}");
    assert_eq!(push["push"]["unsubscribe"]["reason"], "insufficient state");
    // The SDK resubscribes from its position and gets what it missed.
    conn.send_json(&format!(
        r#"{{"id":3,"subscribe":{{"channel":"g","recover":true,"offset":1,"epoch":"{epoch}"}}}}"#
    ));
    let reply = next(&mut conn).await;
    assert_eq!(reply["subscribe"]["recovered"], true, "{reply}");
    assert_eq!(offsets(&reply["subscribe"]["publications"]), vec![2, 3]);
}

#[tokio::test]
async fn live_gap_on_server_side_subscription_is_3010() {
    let (node, broker) = setup(NodeConfig::default(), positioned(), &["s"]);
    let opts = with_history(10);
    let (mut conn, _) = connect_json(&node, "u").await;
    publish_numbered(&node, "s", 1..=1, &opts).await;
    assert_eq!(next(&mut conn).await["push"]["pub"]["offset"], 1);
    broker.drop_next(1);
    publish_numbered(&node, "s", 2..=3, &opts).await;
    assert_eq!(code(closed(&mut conn).await), Some(3010));
}

#[tokio::test]
async fn stale_and_duplicate_publications_are_skipped() {
    let (node, broker) = setup(NodeConfig::default(), positioned(), &[]);
    let (mut conn, _) = connect_json(&node, "u").await;
    let sub = subscribe(&mut conn, 2, "p").await;
    let epoch = sub["epoch"].as_str().unwrap().to_string();
    publish_numbered(&node, "p", 1..=2, &with_history(10)).await;
    for offset in 1..=2 {
        assert_eq!(next(&mut conn).await["push"]["pub"]["offset"], offset);
    }
    // PUB/SUB lag: offsets the client already has.
    broker.inject("p", 1, &epoch);
    broker.inject("p", 2, &epoch);
    quiet(&mut conn, 3).await;
}

/// Recoverable subscriptions everywhere; channels starting with `short-meta` keep their stream
/// meta for 10 s only (as a namespace's `history_meta_ttl` would), so it is forgotten between two
/// checks. Connections get the server-side subscriptions `s-idle` and `s-empty`.
struct IdleHandler;

fn short_meta(channel: &str) -> Option<Duration> {
    channel
        .starts_with("short-meta")
        .then_some(Duration::from_secs(10))
}

#[async_trait::async_trait]
impl ClientHandler for IdleHandler {
    async fn on_connecting(&self, e: ConnectingEvent) -> Result<ConnectingReply, HandlerError> {
        let mut reply = ConnectingReply::default();
        reply.credentials.user = e.token;
        for ch in ["s-idle", "s-empty"] {
            reply.subscriptions.insert(ch.into(), recoverable());
        }
        Ok(reply)
    }
    async fn on_subscribe(&self, _c: &ClientRef, e: SubscribeEvent) -> Result<SubscribeReply, HandlerError> {
        Ok(SubscribeReply {
            options: SubscribeOptions {
                history_meta_ttl: short_meta(&e.channel),
                ..recoverable()
            },
            client_side_refresh: false,
            tag: 0,
        })
    }
    async fn on_rpc(&self, _c: &ClientRef, e: RpcEvent) -> Result<RpcReply, HandlerError> {
        Ok(RpcReply { data: e.data })
    }
}

#[tokio::test(start_paused = true)]
async fn idle_channels_never_fail_the_periodic_check() {
    let (node, _broker) = faulty_node(no_ping(), Arc::new(IdleHandler));
    assert_eq!(node.config().channel_position_check_delay, CHECK);
    publish_numbered(&node, "c-idle", 1..=3, &with_history(10)).await;
    publish_numbered(&node, "s-idle", 1..=2, &with_history(10)).await;
    // A stream whose items expire long before the checks end.
    let short_items = PublishOptions {
        history_ttl: Duration::from_secs(5),
        ..with_history(10)
    };
    publish_numbered(&node, "c-items", 1..=2, &short_items).await;
    let meta = PublishOptions {
        history_meta_ttl: short_meta("short-meta"),
        ..with_history(10)
    };
    publish_numbered(&node, "short-meta", 1..=2, &meta).await;

    let (mut conn, result) = connect_json(&node, "u").await;
    assert_eq!(result["subs"]["s-idle"]["offset"], 2);
    for (id, channel) in [
        (2, "c-idle"),
        (3, "c-empty"),
        (4, "c-items"),
        (5, "short-meta-empty"),
    ] {
        subscribe(&mut conn, id, channel).await;
    }
    let meta_sub = subscribe(&mut conn, 6, "short-meta").await;
    assert_eq!(meta_sub["offset"], 2);
    let started = Instant::now();
    for round in 0..10u32 {
        tokio::time::sleep(CHECK).await;
        quiet(&mut conn, 10 + round).await;
    }
    assert!(started.elapsed() >= CHECK * 10);
    // The short meta really was forgotten: the stream has another epoch now.
    let now = node
        .history("short-meta", gyre_core::HistoryOptions::default())
        .await
        .unwrap()
        .position;
    assert_ne!(now.epoch, meta_sub["epoch"].as_str().unwrap());
    // Still subscribed everywhere: live publications flow.
    publish_numbered(&node, "c-idle", 4..=4, &with_history(10)).await;
    publish_numbered(&node, "s-idle", 3..=3, &with_history(10)).await;
    assert_eq!(next_paused(&mut conn).await["push"]["pub"]["offset"], 4);
    assert_eq!(next_paused(&mut conn).await["push"]["pub"]["offset"], 3);
    // The first publication of the forgotten stream's new incarnation is an epoch change.
    publish_numbered(&node, "short-meta", 1..=1, &meta).await;
    let push = next_paused(&mut conn).await;
    assert_eq!(push["push"]["channel"], "short-meta");
    assert_eq!(push["push"]["unsubscribe"]["code"], 2500, "{push}");
}

#[tokio::test(start_paused = true)]
async fn lost_publication_is_found_within_one_check_period() {
    let (node, broker) = setup(no_ping(), positioned(), &[]);
    let (mut conn, _) = connect_json(&node, "u").await;
    publish_numbered(&node, "p", 1..=2, &with_history(10)).await;
    subscribe(&mut conn, 2, "p").await;
    tokio::time::sleep(Duration::from_secs(15)).await;
    // Lost on the way to this node; nothing follows it.
    broker.drop_next(1);
    let lost_at = Instant::now();
    publish_numbered(&node, "p", 3..=3, &with_history(10)).await;
    assert_eq!(broker.dropped(), 1);
    let push = next_paused(&mut conn).await;
    assert_eq!(push["push"]["unsubscribe"]["code"], 2500, "{push}");
    let elapsed = lost_at.elapsed();
    // Due 40 s after the subscribe; a position behind the top gets one second for in-flight
    // publications before it is reported.
    assert!(elapsed <= CHECK + Duration::from_secs(1), "{elapsed:?}");
    assert!(elapsed >= CHECK - Duration::from_secs(15), "{elapsed:?}");
}

#[tokio::test(start_paused = true)]
async fn lost_publication_on_server_side_subscription_is_3010() {
    let (node, broker) = setup(no_ping(), positioned(), &["s"]);
    let (mut conn, _) = connect_json(&node, "u").await;
    broker.drop_next(1);
    let lost_at = Instant::now();
    publish_numbered(&node, "s", 1..=1, &with_history(10)).await;
    assert_eq!(code(closed_paused(&mut conn).await), Some(3010));
    assert!(lost_at.elapsed() <= CHECK + Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn check_racing_an_in_flight_publication_is_not_a_gap() {
    let (node, broker) = setup(no_ping(), positioned(), &[]);
    let (mut conn, _) = connect_json(&node, "u").await;
    subscribe(&mut conn, 2, "p").await;
    tokio::time::sleep(CHECK - Duration::from_millis(10)).await;
    // In the stream, still on its way through PUB/SUB when the check reads the top.
    broker.hold_next();
    publish_numbered(&node, "p", 1..=1, &with_history(10)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    broker.release();
    assert_eq!(next_paused(&mut conn).await["push"]["pub"]["offset"], 1);
    tokio::time::sleep(CHECK * 3).await;
    quiet(&mut conn, 3).await;
}

#[tokio::test(start_paused = true)]
async fn client_ahead_of_the_stream_is_reported() {
    let (node, broker) = setup(no_ping(), positioned(), &[]);
    let (mut conn, _) = connect_json(&node, "u").await;
    publish_numbered(&node, "p", 1..=2, &with_history(10)).await;
    let sub = subscribe(&mut conn, 2, "p").await;
    let epoch = sub["epoch"].as_str().unwrap().to_string();
    // Delivered by a primary that then lost it: the stream never got offset 3.
    broker.inject("p", 3, &epoch);
    assert_eq!(next_paused(&mut conn).await["push"]["pub"]["offset"], 3);
    let push = next_paused(&mut conn).await;
    assert_eq!(push["push"]["unsubscribe"]["code"], 2500, "{push}");
}

#[tokio::test(start_paused = true)]
async fn check_can_be_disabled() {
    let config = NodeConfig {
        channel_position_check_delay: Duration::ZERO,
        ..no_ping()
    };
    let (node, broker) = setup(config, positioned(), &[]);
    let (mut conn, _) = connect_json(&node, "u").await;
    subscribe(&mut conn, 2, "p").await;
    broker.drop_next(1);
    publish_numbered(&node, "p", 1..=1, &with_history(10)).await;
    tokio::time::sleep(CHECK * 5).await;
    quiet(&mut conn, 3).await;
}

#[tokio::test]
async fn publications_older_than_the_max_lag_are_insufficient_state() {
    let config = NodeConfig {
        channel_position_max_time_lag: Some(Duration::from_secs(5)),
        ..Default::default()
    };
    let handler = TestHandler {
        subscribe_options: positioned(),
        ..Default::default()
    };
    let (node, broker) = faulty_node(config, Arc::new(handler));
    let (mut conn, _) = connect_json(&node, "u").await;
    subscribe(&mut conn, 2, "p").await;
    // Fresh enough.
    broker.age(4_000);
    publish_numbered(&node, "p", 1..=1, &with_history(10)).await;
    let push = next(&mut conn).await;
    assert_eq!(push["push"]["pub"]["offset"], 1);
    assert!(
        push["push"]["pub"].get("time").is_none(),
        "broker time leaked: {push}"
    );
    // Too old.
    broker.age(10_000);
    publish_numbered(&node, "p", 2..=2, &with_history(10)).await;
    assert_eq!(next(&mut conn).await["push"]["unsubscribe"]["code"], 2500);
}

#[tokio::test]
async fn max_lag_does_not_apply_to_unpositioned_subscriptions() {
    let config = NodeConfig {
        channel_position_max_time_lag: Some(Duration::from_secs(5)),
        ..Default::default()
    };
    let (node, broker) = faulty_node(config, Arc::new(TestHandler::default()));
    let (mut conn, _) = connect_json(&node, "u").await;
    subscribe(&mut conn, 2, "p").await;
    broker.age(60_000);
    publish_numbered(&node, "p", 1..=1, &with_history(10)).await;
    assert_eq!(next(&mut conn).await["push"]["pub"]["offset"], 1);
}

#[tokio::test]
async fn gap_while_merging_a_subscribe_is_3010() {
    let (node, broker) = setup(NodeConfig::default(), positioned(), &[]);
    let opts = with_history(10);
    publish_numbered(&node, "m", 1..=2, &opts).await;
    let (mut conn, _) = connect_json(&node, "u").await;
    // The subscribe is registered and has read the top (2); publications arrive before it
    // replies, and one of them is lost on the way.
    let (read, resume) = broker.gate_next_history();
    conn.send_json(r#"{"id":2,"subscribe":{"channel":"m"}}"#);
    tokio::time::timeout(WAIT, read).await.unwrap().unwrap();
    publish_numbered(&node, "m", 3..=3, &opts).await;
    broker.drop_next(1);
    publish_numbered(&node, "m", 4..=5, &opts).await;
    resume.send(()).unwrap();
    let reply = next(&mut conn).await;
    assert_eq!(reply["subscribe"]["offset"], 2, "{reply}");
    // Held publications continuing the position are delivered behind the reply...
    assert_eq!(next(&mut conn).await["push"]["pub"]["offset"], 3);
    // ...and the hole after them closes the connection.
    assert_eq!(code(closed(&mut conn).await), Some(3010));
}

#[tokio::test]
async fn publications_held_during_a_recovering_subscribe_are_merged() {
    let (node, broker) = setup(NodeConfig::default(), recoverable(), &[]);
    let opts = with_history(10);
    let pos = publish_numbered(&node, "m", 1..=4, &opts).await;
    let (mut conn, _) = connect_json(&node, "u").await;
    let (read, resume) = broker.gate_next_history();
    conn.send_json(&format!(
        r#"{{"id":2,"subscribe":{{"channel":"m","recover":true,"offset":1,"epoch":"{}"}}}}"#,
        pos.epoch
    ));
    tokio::time::timeout(WAIT, read).await.unwrap().unwrap();
    // Arrive while the recovered publications (2..=4) are on their way to the reply.
    publish_numbered(&node, "m", 5..=6, &opts).await;
    resume.send(()).unwrap();
    let reply = next(&mut conn).await;
    assert_eq!(reply["subscribe"]["recovered"], true, "{reply}");
    assert_eq!(offsets(&reply["subscribe"]["publications"]), vec![2, 3, 4]);
    for offset in 5..=6 {
        assert_eq!(next(&mut conn).await["push"]["pub"]["offset"], offset);
    }
    quiet(&mut conn, 3).await;
}
