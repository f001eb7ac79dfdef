//! Recovery on subscribe: stream and cache modes, client-side and server-side subscriptions, the
//! "reject unrecovered" flag, and publications racing a subscribe.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use gyre_core::{
    ClientHandler, ConnectingEvent, ConnectingReply, HandlerError, HistoryOptions, Observer, PublishOptions,
    RecoveryMode, StreamPosition, SubscribeOptions, Target,
};
use gyre_protocol::{Command, SubscribeRequest};
use parking_lot::Mutex;
use serde_json::Value;

fn recoverable() -> SubscribeOptions {
    SubscribeOptions {
        enable_recovery: true,
        ..Default::default()
    }
}

fn recovering_node(config: NodeConfig) -> Node {
    node_with(
        config,
        TestHandler {
            subscribe_options: recoverable(),
            ..Default::default()
        },
    )
}

async fn top(node: &Node, channel: &str) -> StreamPosition {
    node.history(channel, HistoryOptions::default())
        .await
        .unwrap()
        .position
}

/// Sends a recovering subscribe and returns the whole reply.
async fn subscribe_from(conn: &mut TestConn, id: u32, channel: &str, offset: u64, epoch: &str) -> Value {
    conn.send_json(&format!(
        r#"{{"id":{id},"subscribe":{{"channel":"{channel}","recover":true,"offset":{offset},"epoch":"{epoch}"}}}}"#
    ));
    let reply = next(conn).await;
    assert_eq!(reply["id"], id, "unexpected message {reply}");
    reply
}

#[tokio::test]
async fn recovers_missed_publications_json() {
    let node = recovering_node(NodeConfig::default());
    let pos = publish_numbered(&node, "r", 1..=5, &with_history(10)).await;
    let (mut conn, _) = connect_json(&node, "u").await;
    let reply = subscribe_from(&mut conn, 2, "r", 2, &pos.epoch).await;
    let r = &reply["subscribe"];
    assert_eq!(r["recovered"], true, "{reply}");
    assert_eq!(r["was_recovering"], true);
    assert_eq!(r["positioned"], true);
    assert_eq!(r["recoverable"], true);
    assert_eq!(r["epoch"], pos.epoch.as_str());
    // The client's own offset: it advances while applying the publications.
    assert_eq!(r["offset"], 2);
    assert_eq!(offsets(&r["publications"]), vec![3, 4, 5]);
    for (p, n) in r["publications"].as_array().unwrap().iter().zip(3..) {
        assert_eq!(p["data"]["n"], n);
        assert!(p.get("time").is_none(), "broker time leaked: {p}");
    }
    publish_numbered(&node, "r", 6..=6, &with_history(10)).await;
    let push = next(&mut conn).await;
    assert_eq!(push["push"]["pub"]["offset"], 6);
    assert!(push["push"]["pub"].get("time").is_none());
}

#[tokio::test]
async fn recovers_missed_publications_protobuf() {
    let node = recovering_node(NodeConfig::default());
    let pos = publish_numbered(&node, "r", 1..=4, &with_history(10)).await;
    let mut conn = testing::connect(&node, protobuf());
    let connect = Command {
        id: 1,
        connect: Some(gyre_protocol::ConnectRequest {
            token: "u".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    conn.send_commands(&[connect]);
    assert!(conn.recv_reply().await.unwrap().connect.is_some());
    let subscribe = Command {
        id: 2,
        subscribe: Some(SubscribeRequest {
            channel: "r".into(),
            recover: true,
            offset: 1,
            epoch: pos.epoch.clone(),
            ..Default::default()
        }),
        ..Default::default()
    };
    conn.send_commands(&[subscribe]);
    let reply = conn.recv_reply().await.unwrap();
    let r = reply.subscribe.expect("subscribe result");
    assert!(r.recovered && r.was_recovering && r.positioned && r.recoverable);
    assert_eq!(r.offset, 1);
    assert_eq!(r.epoch, pos.epoch);
    let got: Vec<(u64, i64)> = r.publications.iter().map(|p| (p.offset, p.time)).collect();
    assert_eq!(got, vec![(2, 0), (3, 0), (4, 0)]);
    assert_eq!(&r.publications[0].data[..], br#"{"n":2}"#);
}

#[tokio::test]
async fn unrecoverable_positions() {
    let config = NodeConfig {
        recovery_max_publication_limit: 3,
        ..Default::default()
    };
    let node = recovering_node(config);
    let pos = publish_numbered(&node, "r", 1..=10, &with_history(20)).await;
    let (mut conn, _) = connect_json(&node, "u").await;
    let cases: [(u64, &str); 4] = [
        // Ahead of the top.
        (12, &pos.epoch),
        // Another incarnation of the stream.
        (9, "stale"),
        // More missed than the recovery limit.
        (5, &pos.epoch),
        // Nothing ever seen, more than the limit in the stream.
        (0, ""),
    ];
    for (i, (offset, epoch)) in cases.into_iter().enumerate() {
        let id = 2 + i as u32 * 2;
        let reply = subscribe_from(&mut conn, id, "r", offset, epoch).await;
        let r = &reply["subscribe"];
        assert!(r.get("recovered").is_none(), "case {offset}/{epoch}: {reply}");
        assert!(r.get("publications").is_none(), "case {offset}/{epoch}: {reply}");
        assert_eq!(r["was_recovering"], true);
        assert_eq!(r["offset"], 10);
        assert_eq!(r["epoch"], pos.epoch.as_str());
        conn.send_json(&format!(r#"{{"id":{},"unsubscribe":{{"channel":"r"}}}}"#, id + 1));
        assert_eq!(next(&mut conn).await["id"], id + 1);
    }
    // Exactly the limit is still recoverable.
    let reply = subscribe_from(&mut conn, 20, "r", 7, &pos.epoch).await;
    assert_eq!(reply["subscribe"]["recovered"], true);
    assert_eq!(offsets(&reply["subscribe"]["publications"]), vec![8, 9, 10]);
}

#[tokio::test(start_paused = true)]
async fn expired_history_is_not_recovered() {
    let node = recovering_node(no_ping());
    let opts = PublishOptions {
        history_size: 10,
        history_ttl: Duration::from_secs(5),
        ..Default::default()
    };
    let pos = publish_numbered(&node, "r", 1..=3, &opts).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (mut conn, _) = connect_json(&node, "u").await;
    let reply = subscribe_from(&mut conn, 2, "r", 1, &pos.epoch).await;
    let r = &reply["subscribe"];
    assert!(r.get("recovered").is_none(), "{reply}");
    assert!(r.get("publications").is_none());
    // Items expired, the position did not.
    assert_eq!(r["offset"], 3);
    assert_eq!(r["epoch"], pos.epoch.as_str());
}

#[tokio::test]
async fn reject_unrecovered_flag_gives_112() {
    let node = recovering_node(NodeConfig::default());
    let pos = publish_numbered(&node, "r", 1..=3, &with_history(10)).await;
    let (mut conn, _) = connect_json(&node, "u").await;
    conn.send_json(
        r#"{"id":2,"subscribe":{"channel":"r","recover":true,"offset":1,"epoch":"stale","flag":3}}"#,
    );
    let reply = next(&mut conn).await;
    assert_eq!(reply["error"]["code"], 112, "{reply}");
    assert_eq!(reply["error"]["message"], "unrecoverable position");
    assert!(node.channels().is_empty());
    // A recoverable position with the same flag succeeds.
    conn.send_json(&format!(
        r#"{{"id":3,"subscribe":{{"channel":"r","recover":true,"offset":1,"epoch":"{}","flag":2}}}}"#,
        pos.epoch
    ));
    let reply = next(&mut conn).await;
    assert_eq!(reply["subscribe"]["recovered"], true, "{reply}");
    assert_eq!(offsets(&reply["subscribe"]["publications"]), vec![2, 3]);
}

fn cache_options(auto: bool) -> SubscribeOptions {
    SubscribeOptions {
        enable_recovery: true,
        recovery_mode: RecoveryMode::Cache,
        auto_cache_recover: auto,
        ..Default::default()
    }
}

#[tokio::test]
async fn cache_mode() {
    let handler = TestHandler {
        subscribe_options: cache_options(false),
        ..Default::default()
    };
    let node = node(handler);
    let pos = publish_numbered(&node, "c", 1..=3, &with_history(1)).await;
    let (mut conn, _) = connect_json(&node, "u").await;
    // `since: {}` in the SDK: recover without a position → the latest publication only.
    let reply = subscribe_from(&mut conn, 2, "c", 0, "").await;
    let r = &reply["subscribe"];
    assert_eq!(r["recovered"], true, "{reply}");
    assert_eq!(offsets(&r["publications"]), vec![3]);
    assert_eq!(r["publications"][0]["data"]["n"], 3);
    assert!(r.get("offset").is_none());
    // Already at the top: recovered, nothing to send.
    conn.send_json(r#"{"id":3,"unsubscribe":{"channel":"c"}}"#);
    assert_eq!(next(&mut conn).await["id"], 3);
    let reply = subscribe_from(&mut conn, 4, "c", 3, &pos.epoch).await;
    assert_eq!(reply["subscribe"]["recovered"], true, "{reply}");
    assert!(reply["subscribe"].get("publications").is_none());
    assert_eq!(reply["subscribe"]["offset"], 3);
    // Empty stream: not recovered, nothing to send.
    let reply = subscribe_from(&mut conn, 5, "empty", 0, "").await;
    assert!(reply["subscribe"].get("recovered").is_none(), "{reply}");
    assert!(reply["subscribe"].get("publications").is_none());
    assert_eq!(reply["subscribe"]["was_recovering"], true);
    // The reject flag does not apply to cache recovery: an empty cache is normal.
    conn.send_json(r#"{"id":6,"subscribe":{"channel":"empty2","recover":true,"flag":2}}"#);
    let reply = next(&mut conn).await;
    assert!(reply.get("error").is_none(), "{reply}");
    assert_eq!(reply["subscribe"]["was_recovering"], true);
    assert!(reply["subscribe"].get("recovered").is_none());
}

#[tokio::test]
async fn auto_cache_recover() {
    let handler = TestHandler {
        subscribe_options: cache_options(true),
        ..Default::default()
    };
    let node = node(handler);
    publish_numbered(&node, "c", 1..=2, &with_history(1)).await;
    let (mut conn, _) = connect_json(&node, "u").await;
    let r = subscribe(&mut conn, 2, "c").await;
    assert_eq!(r["was_recovering"], true, "{r}");
    assert_eq!(r["recovered"], true);
    assert_eq!(offsets(&r["publications"]), vec![2]);

    // Stream mode ignores it: no position, no recovery.
    let handler = TestHandler {
        subscribe_options: SubscribeOptions {
            recovery_mode: RecoveryMode::Stream,
            ..cache_options(true)
        },
        ..Default::default()
    };
    let node = self::node(handler);
    publish_numbered(&node, "s", 1..=2, &with_history(5)).await;
    let (mut conn, _) = connect_json(&node, "u").await;
    let r = subscribe(&mut conn, 2, "s").await;
    assert!(r.get("was_recovering").is_none(), "{r}");
    assert!(r.get("publications").is_none());
    assert_eq!(r["offset"], 2);
}

#[tokio::test]
async fn server_side_recovery_at_connect() {
    let mut subscriptions = HashMap::new();
    subscriptions.insert("s".to_string(), recoverable());
    let node = node(TestHandler {
        subscriptions,
        ..Default::default()
    });
    let pos = publish_numbered(&node, "s", 1..=4, &with_history(10)).await;
    let mut conn = testing::connect(&node, json());
    conn.send_json(&format!(
        r#"{{"id":1,"connect":{{"token":"u","subs":{{"s":{{"recover":true,"offset":1,"epoch":"{}"}}}}}}}}"#,
        pos.epoch
    ));
    let reply = next(&mut conn).await;
    let s = &reply["connect"]["subs"]["s"];
    assert_eq!(s["recovered"], true, "{reply}");
    assert_eq!(s["was_recovering"], true);
    assert_eq!(s["offset"], 1);
    assert_eq!(offsets(&s["publications"]), vec![2, 3, 4]);
    publish_numbered(&node, "s", 5..=5, &with_history(10)).await;
    assert_eq!(next(&mut conn).await["push"]["pub"]["offset"], 5);
}

/// Gives every connection a recoverable server-side subscription to "s" from a position set
/// by the test.
#[derive(Default)]
struct PositionHandler {
    since: Mutex<Option<StreamPosition>>,
}

#[async_trait::async_trait]
impl ClientHandler for PositionHandler {
    async fn on_connecting(&self, e: ConnectingEvent) -> Result<ConnectingReply, HandlerError> {
        let mut reply = ConnectingReply::default();
        reply.credentials.user = e.token;
        let options = SubscribeOptions {
            recover_since: self.since.lock().clone(),
            ..recoverable()
        };
        reply.subscriptions.insert("s".into(), options);
        Ok(reply)
    }
}

#[tokio::test]
async fn handler_position_wins_at_connect() {
    let handler = Arc::new(PositionHandler::default());
    let node = Node::new(NodeConfig::default(), handler.clone());
    let pos = publish_numbered(&node, "s", 1..=3, &with_history(10)).await;
    *handler.since.lock() = Some(StreamPosition {
        offset: 1,
        epoch: pos.epoch.clone(),
    });
    let mut conn = testing::connect(&node, json());
    conn.send_json(
        r#"{"id":1,"connect":{"token":"u","subs":{"s":{"recover":true,"offset":0,"epoch":"stale"}}}}"#,
    );
    let reply = next(&mut conn).await;
    let s = &reply["connect"]["subs"]["s"];
    assert_eq!(s["recovered"], true, "{reply}");
    assert_eq!(s["offset"], 1);
    assert_eq!(offsets(&s["publications"]), vec![2, 3]);
}

#[tokio::test]
async fn server_api_subscribe_recovers_since() {
    let node = node(TestHandler::default());
    let pos = publish_numbered(&node, "api", 1..=5, &with_history(10)).await;
    let (mut conn, _) = connect_json(&node, "u").await;
    let opts = SubscribeOptions {
        recover_since: Some(StreamPosition {
            offset: 2,
            epoch: pos.epoch.clone(),
        }),
        ..recoverable()
    };
    let target = Target {
        user: "u".into(),
        ..Default::default()
    };
    node.subscribe(target, "api", opts).await.unwrap();
    let push = next(&mut conn).await;
    let sub = &push["push"]["subscribe"];
    assert_eq!(push["push"]["channel"], "api");
    assert_eq!(sub["offset"], 2, "{push}");
    assert_eq!(sub["epoch"], pos.epoch.as_str());
    assert_eq!(sub["recoverable"], true);
    // The recovered publications follow the push, then live ones.
    publish_numbered(&node, "api", 6..=6, &with_history(10)).await;
    for offset in 3..=6 {
        let p = next(&mut conn).await;
        assert_eq!(p["push"]["channel"], "api");
        assert_eq!(p["push"]["pub"]["offset"], offset, "{p}");
        assert_eq!(p["push"]["pub"]["data"]["n"], offset);
    }
}

#[derive(Default)]
struct Recoveries(Mutex<Vec<(bool, bool)>>);

impl Observer for Recoveries {
    fn recover(&self, recovered: bool, has_recovered_publications: bool) {
        self.0.lock().push((recovered, has_recovered_publications));
    }
}

#[tokio::test]
async fn observer_sees_each_attempt() {
    let node = recovering_node(NodeConfig::default());
    let observer = Arc::new(Recoveries::default());
    node.set_observer(observer.clone());
    let pos = publish_numbered(&node, "r", 1..=3, &with_history(10)).await;
    let (mut conn, _) = connect_json(&node, "u").await;
    subscribe_from(&mut conn, 2, "r", 1, &pos.epoch).await;
    subscribe_from(&mut conn, 3, "r2", 4, "stale").await;
    subscribe(&mut conn, 4, "r3").await;
    conn.send_json(r#"{"id":5,"subscribe":{"channel":"r4","recover":true,"epoch":"x","flag":2}}"#);
    assert_eq!(next(&mut conn).await["error"]["code"], 112);
    let r = subscribe_from(&mut conn, 6, "r5", 0, "").await;
    assert!(r["subscribe"]["recovered"] == true);
    assert_eq!(
        *observer.0.lock(),
        vec![(true, true), (false, false), (true, false)]
    );
}

/// Contiguity checker for one subscriber of one channel.
struct Seq {
    last: u64,
}

impl Seq {
    fn apply(&mut self, offset: u64, who: usize) {
        assert_eq!(
            offset,
            self.last + 1,
            "subscriber {who}: after {} got {offset}",
            self.last
        );
        self.last = offset;
    }
}

/// Reads this subscriber's messages until `until` is applied, checking contiguity; returns when
/// the reply to command `stop_id` (if any) was read too.
async fn read_until(conn: &mut TestConn, seq: &mut Seq, until: u64, stop_id: Option<u32>, who: usize) {
    let mut stopped = stop_id.is_none();
    while seq.last < until || !stopped {
        let msg = next(conn).await;
        if let Some(offset) = msg["push"]["pub"]["offset"].as_u64() {
            seq.apply(offset, who);
        } else if msg["id"].as_u64().map(|id| id as u32) == stop_id {
            assert!(msg.get("error").is_none(), "{msg}");
            stopped = true;
        } else {
            panic!("subscriber {who}: unexpected {msg}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publications_racing_subscribes() {
    const PUBLISHERS: u64 = 4;
    const PER_PUBLISHER: u64 = 250;
    const TOTAL: u64 = PUBLISHERS * PER_PUBLISHER;
    const SUBSCRIBERS: usize = 12;
    const CYCLES: usize = 6;
    let config = NodeConfig {
        recovery_max_publication_limit: 0,
        ..Default::default()
    };
    let handler = TestHandler {
        subscribe_options: recoverable(),
        ..Default::default()
    };
    let (node, broker) = faulty::faulty_node(config, Arc::new(handler));
    broker.history_delay(Duration::from_millis(2));
    let opts = with_history(10_000);
    // Create the stream so every subscriber sees one epoch.
    let epoch = top(&node, "race").await.epoch;

    let mut tasks = Vec::new();
    for who in 0..SUBSCRIBERS {
        let node = node.clone();
        let epoch = epoch.clone();
        tasks.push(tokio::spawn(async move {
            let (mut conn, _) = connect_json(&node, &format!("u{who}")).await;
            let mut seq: Option<Seq> = None;
            let mut id = 2;
            for cycle in 0..CYCLES {
                // Subscribe fresh the first time (odd subscribers recover from an earlier offset
                // they pretend to have seen), then always recover from the last applied offset.
                let reply = match &seq {
                    None if who % 2 == 1 => {
                        let t = top(&node, "race").await.offset;
                        let since = t.saturating_sub((who as u64 * 7) % 20);
                        let reply = subscribe_from(&mut conn, id, "race", since, &epoch).await;
                        seq = Some(Seq { last: since });
                        reply
                    }
                    None => {
                        conn.send_json(&format!(r#"{{"id":{id},"subscribe":{{"channel":"race"}}}}"#));
                        let reply = next(&mut conn).await;
                        let offset = reply["subscribe"]["offset"].as_u64().unwrap_or(0);
                        seq = Some(Seq { last: offset });
                        reply
                    }
                    Some(s) => subscribe_from(&mut conn, id, "race", s.last, &epoch).await,
                };
                id += 1;
                let r = &reply["subscribe"];
                assert!(reply.get("error").is_none(), "{reply}");
                let s = seq.as_mut().unwrap();
                if r["was_recovering"] == true {
                    assert_eq!(r["recovered"], true, "subscriber {who}: {reply}");
                    assert_eq!(r["offset"].as_u64().unwrap_or(0), s.last);
                    for offset in offsets(&r["publications"]) {
                        s.apply(offset, who);
                    }
                }
                if cycle + 1 == CYCLES {
                    read_until(&mut conn, s, TOTAL, None, who).await;
                } else {
                    let target = (s.last + 20 + who as u64 * 3).min(TOTAL);
                    read_until(&mut conn, s, target, None, who).await;
                    conn.send_json(&format!(r#"{{"id":{id},"unsubscribe":{{"channel":"race"}}}}"#));
                    read_until(&mut conn, s, 0, Some(id), who).await;
                    id += 1;
                }
            }
            // Nothing beyond the total, nothing twice.
            tokio::time::sleep(Duration::from_millis(20)).await;
            assert!(conn.try_recv().is_none());
        }));
        tokio::task::yield_now().await;
    }
    let mut publishers = Vec::new();
    for p in 0..PUBLISHERS {
        let node = node.clone();
        let opts = opts.clone();
        publishers.push(tokio::spawn(async move {
            for n in 0..PER_PUBLISHER {
                let data = Bytes::from(format!(r#"{{"p":{p},"n":{n}}}"#));
                node.publish("race", data, opts.clone()).await.unwrap();
                // Spread the publications over the subscribers' cycles.
                if n % 4 == 0 {
                    tokio::time::sleep(Duration::from_micros(200)).await;
                }
            }
        }));
    }
    for p in publishers {
        p.await.unwrap();
    }
    assert_eq!(top(&node, "race").await.offset, TOTAL);
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(30), t)
            .await
            .expect("subscriber stuck")
            .unwrap();
    }
}
