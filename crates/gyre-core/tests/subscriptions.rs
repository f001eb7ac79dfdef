//! Subscribe rules, server-side subscriptions, presence, join/leave, positioning and history.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use common::*;
use gyre_core::{
    Broker, BrokerError, BrokerEventHandler, HistoryOptions, HistoryResult, MemoryBroker,
    MemoryPresenceManager, PublishOptions, PublishResult, StreamPosition, SubscribeOptions,
};
use gyre_protocol::{ClientInfo, Publication};

fn history() -> PublishOptions {
    PublishOptions {
        history_size: 10,
        history_ttl: Duration::from_secs(300),
        ..Default::default()
    }
}

#[tokio::test]
async fn already_subscribed_and_channel_limit() {
    let config = NodeConfig {
        client_channel_limit: 2,
        ..Default::default()
    };
    let node = node_with(config, TestHandler::default());
    let (mut conn, _) = connect_json(&node, "u").await;
    subscribe(&mut conn, 2, "a").await;
    conn.send_json(r#"{"id":3,"subscribe":{"channel":"a"}}"#);
    let reply = next(&mut conn).await;
    assert_eq!(reply["error"]["code"], 105);
    assert_eq!(reply["error"]["message"], "already subscribed");
    subscribe(&mut conn, 4, "b").await;
    conn.send_json(r#"{"id":5,"subscribe":{"channel":"c"}}"#);
    assert_eq!(next(&mut conn).await["error"]["code"], 106);
    // Errors keep the connection.
    conn.send_json(r#"{"id":6,"rpc":{"method":"m"}}"#);
    assert_eq!(next(&mut conn).await["id"], 6);
}

fn server_side(channels: &[&str]) -> HashMap<String, SubscribeOptions> {
    channels
        .iter()
        .map(|c| (c.to_string(), SubscribeOptions::default()))
        .collect()
}

#[tokio::test]
async fn server_side_subscriptions_at_connect() {
    let handler = TestHandler {
        subscriptions: server_side(&["news", "#u"]),
        ..Default::default()
    };
    let node = node(handler);
    let (mut conn, result) = connect_json(&node, "u").await;
    let subs = result["subs"].as_object().unwrap();
    assert_eq!(subs.len(), 2);
    assert!(subs.contains_key("news") && subs.contains_key("#u"));
    node.publish(
        "news",
        Bytes::from_static(b"{\"n\":1}"),
        PublishOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(next(&mut conn).await["push"]["channel"], "news");
    // A client subscribe to a server-side channel is a duplicate.
    conn.send_json(r#"{"id":2,"subscribe":{"channel":"news"}}"#);
    assert_eq!(next(&mut conn).await["error"]["code"], 105);
}

#[tokio::test]
async fn too_many_server_side_subscriptions() {
    let config = NodeConfig {
        client_channel_limit: 1,
        ..Default::default()
    };
    let handler = TestHandler {
        subscriptions: server_side(&["a", "b"]),
        ..Default::default()
    };
    let node = node_with(config, handler);
    let mut conn = testing::connect(&node, json());
    conn.send_json(r#"{"id":1,"connect":{"token":"u"}}"#);
    assert_eq!(code(closed(&mut conn).await), Some(3505));
    finished(&mut conn).await;
    assert!(node.channels().is_empty());
    assert_eq!(node.info().num_clients, 0);
}

fn presence_handler() -> TestHandler {
    TestHandler {
        subscribe_options: SubscribeOptions {
            emit_presence: true,
            emit_join_leave: true,
            push_join_leave: true,
            channel_info: Bytes::from_static(br#"{"role":"x"}"#),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[tokio::test]
async fn presence_and_stats() {
    let node = node(presence_handler());
    let (mut a, ra) = connect_json(&node, "alice").await;
    let (mut b, _) = connect_json(&node, "alice").await;
    subscribe(&mut a, 2, "room").await;
    subscribe(&mut b, 2, "room").await;
    // Drain join pushes.
    while a.try_recv().is_some() {}
    a.send_json(r#"{"id":3,"presence":{"channel":"room"}}"#);
    let reply = loop {
        let msg = next(&mut a).await;
        if msg["id"] == 3 {
            break msg;
        }
    };
    let presence = reply["presence"]["presence"].as_object().unwrap();
    assert_eq!(presence.len(), 2);
    let mine = &presence[ra["client"].as_str().unwrap()];
    assert_eq!(mine["user"], "alice");
    assert_eq!(mine["chan_info"]["role"], "x");
    a.send_json(r#"{"id":4,"presence_stats":{"channel":"room"}}"#);
    let reply = loop {
        let msg = next(&mut a).await;
        if msg["id"] == 4 {
            break msg;
        }
    };
    assert_eq!(reply["presence_stats"]["num_clients"], 2);
    assert_eq!(reply["presence_stats"]["num_users"], 1);
    b.close();
    finished(&mut b).await;
    assert_eq!(node.presence("room").await.unwrap().len(), 1);
}

#[tokio::test]
async fn join_and_leave() {
    let node = node(presence_handler());
    let (mut a, _) = connect_json(&node, "alice").await;
    let (mut b, rb) = connect_json(&node, "bob").await;
    subscribe(&mut a, 2, "room").await;
    // Alice sees her own join.
    assert_eq!(next(&mut a).await["push"]["join"]["info"]["user"], "alice");
    subscribe(&mut b, 2, "room").await;
    let join = next(&mut a).await;
    assert_eq!(join["push"]["channel"], "room");
    assert_eq!(join["push"]["join"]["info"]["user"], "bob");
    assert_eq!(join["push"]["join"]["info"]["client"], rb["client"]);
    b.close();
    let leave = next(&mut a).await;
    assert_eq!(leave["push"]["leave"]["info"]["user"], "bob");
}

#[tokio::test]
async fn positioned_subscribe_reports_stream_top() {
    let handler = TestHandler {
        subscribe_options: SubscribeOptions {
            enable_positioning: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let node = node(handler);
    for _ in 0..3 {
        node.publish("s", Bytes::from_static(b"{}"), history())
            .await
            .unwrap();
    }
    let (mut conn, _) = connect_json(&node, "u").await;
    let result = subscribe(&mut conn, 2, "s").await;
    assert_eq!(result["positioned"], true);
    assert!(result.get("recoverable").is_none());
    assert_eq!(result["offset"], 3);
    let epoch = result["epoch"].as_str().unwrap().to_string();
    node.publish("s", Bytes::from_static(b"{}"), history())
        .await
        .unwrap();
    let push = next(&mut conn).await;
    assert_eq!(push["push"]["pub"]["offset"], 4);
    // The epoch travels only with offset 1.
    assert!(push["push"]["pub"].get("epoch").is_none());
    let _ = epoch;
}

#[tokio::test]
async fn first_publication_carries_epoch() {
    let handler = TestHandler {
        subscribe_options: SubscribeOptions {
            enable_recovery: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let node = node(handler);
    let (mut conn, _) = connect_json(&node, "u").await;
    let result = subscribe(&mut conn, 2, "fresh").await;
    assert_eq!(result["recoverable"], true);
    assert!(result.get("offset").is_none());
    node.publish("fresh", Bytes::from_static(b"{}"), history())
        .await
        .unwrap();
    let p = &next(&mut conn).await["push"]["pub"];
    assert_eq!(p["offset"], 1);
    assert_eq!(p["epoch"], result["epoch"]);
}

#[tokio::test]
async fn recovery_answers() {
    let handler = TestHandler {
        subscribe_options: SubscribeOptions {
            enable_recovery: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let node = node(handler);
    for _ in 0..5 {
        node.publish("r", Bytes::from_static(b"{}"), history())
            .await
            .unwrap();
    }
    let top = node
        .history("r", HistoryOptions::default())
        .await
        .unwrap()
        .position;
    let (mut conn, _) = connect_json(&node, "u").await;
    // At the top: nothing missed, recovered.
    conn.send_json(&format!(
        r#"{{"id":2,"subscribe":{{"channel":"r","recover":true,"offset":5,"epoch":"{}"}}}}"#,
        top.epoch
    ));
    let r = next(&mut conn).await;
    assert_eq!(r["subscribe"]["recovered"], true);
    assert_eq!(r["subscribe"]["was_recovering"], true);
    assert_eq!(r["subscribe"]["offset"], 5);
    // Another (empty) stream: its epoch differs, so not recovered; the position is its top.
    conn.send_json(&format!(
        r#"{{"id":3,"subscribe":{{"channel":"r2","recover":true,"offset":2,"epoch":"{}"}}}}"#,
        top.epoch
    ));
    let r = next(&mut conn).await;
    assert!(r["subscribe"].get("recovered").is_none());
    assert_eq!(r["subscribe"]["was_recovering"], true);
    // Rejecting unrecovered subscriptions (flag 2) gives 112.
    conn.send_json(r#"{"id":4,"subscribe":{"channel":"r","recover":true,"offset":1,"epoch":"zz","flag":2}}"#);
    assert_eq!(next(&mut conn).await["error"]["code"], 105);
    conn.send_json(
        r#"{"id":5,"subscribe":{"channel":"r3","recover":true,"offset":1,"epoch":"zz","flag":2}}"#,
    );
    assert_eq!(next(&mut conn).await["error"]["code"], 112);
}

#[tokio::test]
async fn history_command() {
    let node = node(TestHandler::default());
    for n in 1..=5 {
        node.publish("h", Bytes::from(format!(r#"{{"n":{n}}}"#)), history())
            .await
            .unwrap();
    }
    let (mut conn, _) = connect_json(&node, "u").await;
    conn.send_json(r#"{"id":2,"history":{"channel":"h","limit":2}}"#);
    let h = &next(&mut conn).await["history"];
    assert_eq!(h["publications"].as_array().unwrap().len(), 2);
    assert_eq!(h["publications"][0]["data"]["n"], 1);
    assert_eq!(h["offset"], 5);
    assert!(h["publications"][0].get("time").is_none());
    conn.send_json(r#"{"id":3,"history":{"channel":"h","limit":0}}"#);
    let h = &next(&mut conn).await["history"];
    assert_eq!(h["publications"].as_array().unwrap().len(), 0);
    assert_eq!(h["offset"], 5);
    conn.send_json(r#"{"id":4,"history":{"channel":"h","limit":-1,"reverse":true}}"#);
    let h = &next(&mut conn).await["history"];
    let offsets: Vec<u64> = h["publications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["offset"].as_u64().unwrap())
        .collect();
    assert_eq!(offsets, vec![5, 4, 3, 2, 1]);
    let epoch = h["epoch"].as_str().unwrap();
    conn.send_json(&format!(
        r#"{{"id":5,"history":{{"channel":"h","limit":10,"since":{{"offset":3,"epoch":"{epoch}"}}}}}}"#
    ));
    let h = &next(&mut conn).await["history"];
    assert_eq!(h["publications"].as_array().unwrap().len(), 2);
}

/// A memory broker that lets the test deliver publications directly, as a broker with a lossy
/// PUB/SUB would.
struct TapBroker {
    inner: MemoryBroker,
    handler: OnceLock<Arc<dyn BrokerEventHandler>>,
}

#[async_trait]
impl Broker for TapBroker {
    fn register_event_handler(&self, handler: Arc<dyn BrokerEventHandler>) {
        let _ = self.handler.set(handler.clone());
        self.inner.register_event_handler(handler);
    }
    async fn publish(
        &self,
        ch: &str,
        data: Bytes,
        opts: PublishOptions,
    ) -> Result<PublishResult, BrokerError> {
        self.inner.publish(ch, data, opts).await
    }
    async fn publish_join(&self, ch: &str, info: ClientInfo) -> Result<(), BrokerError> {
        self.inner.publish_join(ch, info).await
    }
    async fn publish_leave(&self, ch: &str, info: ClientInfo) -> Result<(), BrokerError> {
        self.inner.publish_leave(ch, info).await
    }
    async fn subscribe(&self, chs: &[String]) -> Result<(), BrokerError> {
        self.inner.subscribe(chs).await
    }
    async fn unsubscribe(&self, chs: &[String]) -> Result<(), BrokerError> {
        self.inner.unsubscribe(chs).await
    }
    async fn history(&self, ch: &str, opts: HistoryOptions) -> Result<HistoryResult, BrokerError> {
        self.inner.history(ch, opts).await
    }
    async fn remove_history(&self, ch: &str) -> Result<(), BrokerError> {
        self.inner.remove_history(ch).await
    }
}

fn tap_node(handler: TestHandler) -> (Node, Arc<TapBroker>) {
    let broker = Arc::new(TapBroker {
        inner: MemoryBroker::default(),
        handler: OnceLock::new(),
    });
    let node = Node::with_engines(
        NodeConfig::default(),
        Arc::new(handler),
        broker.clone(),
        Arc::new(MemoryPresenceManager::new()),
    );
    (node, broker)
}

fn deliver(broker: &TapBroker, channel: &str, offset: u64, epoch: &str) {
    let publication = Publication {
        data: Bytes::from_static(b"{}"),
        offset,
        ..Default::default()
    };
    let position = StreamPosition {
        offset,
        epoch: epoch.into(),
    };
    broker
        .handler
        .get()
        .unwrap()
        .handle_publication(channel, Arc::new(publication), position, false, None);
}

#[tokio::test]
async fn gap_on_client_side_subscription_is_unsubscribe_2500() {
    let handler = TestHandler {
        subscribe_options: SubscribeOptions {
            enable_positioning: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let (node, broker) = tap_node(handler);
    let (mut conn, _) = connect_json(&node, "u").await;
    let result = subscribe(&mut conn, 2, "p").await;
    let epoch = result["epoch"].as_str().unwrap().to_string();
    deliver(&broker, "p", 1, &epoch);
    assert_eq!(next(&mut conn).await["push"]["pub"]["offset"], 1);
    // A stale duplicate is skipped silently.
    deliver(&broker, "p", 1, &epoch);
    // Offset 2 went missing.
    deliver(&broker, "p", 3, &epoch);
    let push = next(&mut conn).await;
    assert_eq!(push["push"]["channel"], "p");
    assert_eq!(push["push"]["unsubscribe"]["code"], 2500);
    conn.send_json(r#"{"id":3,"rpc":{"method":"m"}}"#);
    assert_eq!(next(&mut conn).await["id"], 3);
    assert!(node.channels().is_empty());
}

#[tokio::test]
async fn epoch_change_on_server_side_subscription_is_disconnect_3010() {
    let mut subscriptions = HashMap::new();
    subscriptions.insert(
        "p".to_string(),
        SubscribeOptions {
            enable_recovery: true,
            ..Default::default()
        },
    );
    let handler = TestHandler {
        subscriptions,
        ..Default::default()
    };
    let (node, broker) = tap_node(handler);
    let (mut conn, result) = connect_json(&node, "u").await;
    let epoch = result["subs"]["p"]["epoch"].as_str().unwrap().to_string();
    deliver(&broker, "p", 1, &epoch);
    assert_eq!(next(&mut conn).await["push"]["pub"]["offset"], 1);
    deliver(&broker, "p", 2, "another");
    assert_eq!(code(closed(&mut conn).await), Some(3010));
}

#[tokio::test]
async fn tags_filter_without_permission_is_refused() {
    let node = node(TestHandler::default());
    let (mut conn, _) = connect_json(&node, "u").await;
    conn.send_json(r#"{"id":2,"subscribe":{"channel":"t","tf":{"key":"k","cmp":"eq","val":"v"}}}"#);
    assert_eq!(next(&mut conn).await["error"]["code"], 107);
    assert!(node.channels().is_empty());
}
