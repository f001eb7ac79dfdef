//! Publication tags filters wired into subscribe, fan-out and recovery: only matching publications
//! reach the subscriber, filtered ones still advance its position, recovery skips them, cache
//! recovery picks the latest passing one, and bad or unpermitted filters are error 107.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use common::*;
use gyre_core::{DeltaType, Observer, PublishOptions, RecoveryMode, StreamPosition, SubscribeOptions};
use parking_lot::Mutex;
use serde_json::{json, Value};

fn filter_options() -> SubscribeOptions {
    SubscribeOptions {
        allow_tags_filter: true,
        enable_recovery: true,
        ..Default::default()
    }
}

fn filter_node(options: SubscribeOptions) -> Node {
    node(TestHandler {
        subscribe_options: options,
        ..Default::default()
    })
}

const BTC: &str = r#"{"key":"ticker","cmp":"eq","val":"BTC"}"#;

/// Publishes `{"n":<n>}` with `ticker` as the only tag (none when empty).
async fn publish_tagged(
    node: &Node,
    channel: &str,
    n: u64,
    ticker: &str,
    opts: &PublishOptions,
) -> StreamPosition {
    let mut opts = opts.clone();
    if !ticker.is_empty() {
        opts.tags = HashMap::from([("ticker".to_string(), ticker.to_string())]);
    }
    node.publish(channel, Bytes::from(format!(r#"{{"n":{n}}}"#)), opts)
        .await
        .unwrap()
        .position
}

async fn subscribe_filtered(conn: &mut TestConn, id: u32, channel: &str, tf: &str, extra: &str) -> Value {
    conn.send_json(&format!(
        r#"{{"id":{id},"subscribe":{{"channel":"{channel}","tf":{tf}{extra}}}}}"#
    ));
    let reply = next(conn).await;
    assert_eq!(reply["id"], id, "unexpected message {reply}");
    reply
}

/// Publications (their `n`) received until the reply to a marker `presence` command, which
/// proves that nothing else is on its way.
async fn drain(conn: &mut TestConn, channel: &str, marker: u32) -> Vec<u64> {
    conn.send_json(&format!(
        r#"{{"id":{marker},"presence_stats":{{"channel":"{channel}"}}}}"#
    ));
    let mut got = Vec::new();
    loop {
        let msg = next(conn).await;
        if msg["id"] == marker {
            return got;
        }
        let p = &msg["push"]["pub"];
        assert!(p.is_object(), "unexpected message {msg}");
        got.push(p["data"]["n"].as_u64().unwrap());
    }
}

#[tokio::test]
async fn only_matching_publications_are_delivered() {
    let node = filter_node(filter_options());
    let (mut btc, _) = connect_json(&node, "btc").await;
    let (mut all, _) = connect_json(&node, "all").await;
    let reply = subscribe_filtered(&mut btc, 2, "ch", BTC, "").await;
    assert!(reply.get("error").is_none(), "{reply}");
    subscribe(&mut all, 2, "ch").await;
    let opts = with_history(10);
    for (n, ticker) in [(1, "BTC"), (2, "ETH"), (3, ""), (4, "BTC")] {
        publish_tagged(&node, "ch", n, ticker, &opts).await;
    }
    assert_eq!(drain(&mut btc, "ch", 10).await, vec![1, 4]);
    assert_eq!(drain(&mut all, "ch", 10).await, vec![1, 2, 3, 4]);
    // Tags travel with the publication.
    publish_tagged(&node, "ch", 5, "BTC", &opts).await;
    let msg = next(&mut btc).await;
    assert_eq!(msg["push"]["pub"]["tags"], json!({"ticker": "BTC"}));
}

#[tokio::test]
async fn filtered_publications_advance_the_position() {
    let node = filter_node(filter_options());
    let (mut conn, _) = connect_json(&node, "u").await;
    let reply = subscribe_filtered(&mut conn, 2, "ch", BTC, "").await;
    assert_eq!(reply["subscribe"]["positioned"], true, "{reply}");
    let opts = with_history(10);
    for (n, ticker) in [(1, "BTC"), (2, "ETH"), (3, "ETH"), (4, "BTC"), (5, "SOL")] {
        publish_tagged(&node, "ch", n, ticker, &opts).await;
    }
    publish_tagged(&node, "ch", 6, "BTC", &opts).await;
    // No unsubscribe 2500 (a false gap) in between.
    assert_eq!(drain(&mut conn, "ch", 10).await, vec![1, 4, 6]);
}

#[tokio::test]
async fn recovery_skips_filtered_publications() {
    let node = filter_node(filter_options());
    let (mut conn, _) = connect_json(&node, "u").await;
    subscribe_filtered(&mut conn, 2, "ch", BTC, "").await;
    let opts = with_history(10);
    publish_tagged(&node, "ch", 1, "BTC", &opts).await;
    let pos = publish_tagged(&node, "ch", 2, "ETH", &opts).await;
    assert_eq!(drain(&mut conn, "ch", 3).await, vec![1]);
    conn.send_json(r#"{"id":4,"unsubscribe":{"channel":"ch"}}"#);
    assert_eq!(next(&mut conn).await["id"], 4);
    for (n, ticker) in [(3, "ETH"), (4, "BTC"), (5, "ETH")] {
        publish_tagged(&node, "ch", n, ticker, &opts).await;
    }
    let extra = format!(r#","recover":true,"offset":2,"epoch":"{}""#, pos.epoch);
    let reply = subscribe_filtered(&mut conn, 5, "ch", BTC, &extra).await;
    let result = &reply["subscribe"];
    assert_eq!(result["recovered"], true, "{reply}");
    assert_eq!(offsets(&result["publications"]), vec![4]);
    assert_eq!(result["offset"], 2);
    // The position is the stream top (5), so 6 continues it.
    publish_tagged(&node, "ch", 6, "BTC", &opts).await;
    assert_eq!(drain(&mut conn, "ch", 6).await, vec![6]);
}

#[tokio::test]
async fn cache_recovery_picks_the_latest_passing_publication() {
    let node = filter_node(SubscribeOptions {
        recovery_mode: RecoveryMode::Cache,
        ..filter_options()
    });
    let opts = with_history(10);
    for (n, ticker) in [(1, "BTC"), (2, "BTC"), (3, "ETH")] {
        publish_tagged(&node, "ch", n, ticker, &opts).await;
    }
    let (mut conn, _) = connect_json(&node, "u").await;
    let reply = subscribe_filtered(&mut conn, 2, "ch", BTC, r#","recover":true"#).await;
    let result = &reply["subscribe"];
    assert_eq!(result["recovered"], true, "{reply}");
    assert_eq!(offsets(&result["publications"]), vec![2]);
    assert_eq!(result["publications"][0]["data"]["n"], 2);
    // None passing: as an empty cache (not recovered, nothing sent).
    for (n, ticker) in [(1, "BTC"), (2, "ETH")] {
        publish_tagged(&node, "other", n, ticker, &opts).await;
    }
    let sol = r#"{"key":"ticker","cmp":"eq","val":"SOL"}"#;
    let reply = subscribe_filtered(&mut conn, 4, "other", sol, r#","recover":true"#).await;
    let result = &reply["subscribe"];
    assert!(result.get("recovered").is_none(), "{reply}");
    assert!(result.get("publications").is_none());
    assert_eq!(result["offset"], 2);
}

#[tokio::test]
async fn invalid_filter_is_107_and_the_connection_goes_on() {
    let node = filter_node(filter_options());
    let (mut conn, _) = connect_json(&node, "u").await;
    for (id, tf) in [
        (2, r#"{"key":"a","cmp":"bogus","val":"x"}"#),
        (3, r#"{"op":"not","nodes":[]}"#),
        (4, r#"{"key":"a","cmp":"in"}"#),
    ] {
        let reply = subscribe_filtered(&mut conn, id, "ch", tf, "").await;
        assert_eq!(reply["error"]["code"], 107, "{tf}: {reply}");
    }
    // Nothing was left behind: the channel can be subscribed.
    let reply = subscribe_filtered(&mut conn, 5, "ch", BTC, "").await;
    assert!(reply.get("error").is_none(), "{reply}");
}

#[tokio::test]
async fn filter_without_permission_is_107() {
    let node = filter_node(SubscribeOptions::default());
    let (mut conn, _) = connect_json(&node, "u").await;
    let reply = subscribe_filtered(&mut conn, 2, "ch", BTC, "").await;
    assert_eq!(reply["error"]["code"], 107, "{reply}");
    subscribe(&mut conn, 3, "ch").await;
}

#[tokio::test]
async fn filtered_publication_breaks_the_delta_chain() {
    let node = filter_node(SubscribeOptions {
        allowed_delta_types: vec![DeltaType::Fossil],
        ..filter_options()
    });
    let (mut conn, _) = connect_json(&node, "u").await;
    let reply = subscribe_filtered(&mut conn, 2, "ch", BTC, r#","delta":"fossil""#).await;
    assert_eq!(reply["subscribe"]["delta"], true, "{reply}");
    let opts = PublishOptions {
        delta: true,
        ..with_history(10)
    };
    let filler = "z".repeat(300);
    let mut expect_delta = Vec::new();
    for (n, ticker) in [(1, "BTC"), (2, "BTC"), (3, "ETH"), (4, "BTC"), (5, "BTC")] {
        let mut o = opts.clone();
        o.tags = HashMap::from([("ticker".to_string(), ticker.to_string())]);
        let data = format!(r#"{{"n":{n},"f":"{filler}"}}"#);
        node.publish("ch", Bytes::from(data), o).await.unwrap();
        if ticker == "BTC" {
            let msg = next(&mut conn).await;
            let p = &msg["push"]["pub"];
            assert_eq!(p["offset"], n, "{msg}");
            expect_delta.push(p.get("delta").is_some());
        }
    }
    // 1 full, 2 patch, 3 filtered, 4 full (the client's base is 2, not 3), 5 patch.
    assert_eq!(expect_delta, vec![false, true, false, true]);
}

#[derive(Default)]
struct Dropped(Mutex<Vec<(String, usize)>>);

impl Observer for Dropped {
    fn tags_filter_dropped(&self, channel: &str, count: usize) {
        self.0.lock().push((channel.to_string(), count));
    }
}

#[tokio::test]
async fn observer_counts_filtered_deliveries() {
    let node = filter_node(filter_options());
    let observer = Arc::new(Dropped::default());
    node.set_observer(observer.clone());
    let (mut a, _) = connect_json(&node, "a").await;
    let (mut b, _) = connect_json(&node, "b").await;
    let (mut c, _) = connect_json(&node, "c").await;
    subscribe_filtered(&mut a, 2, "ch", BTC, "").await;
    subscribe_filtered(&mut b, 2, "ch", BTC, "").await;
    subscribe(&mut c, 2, "ch").await;
    let opts = with_history(10);
    publish_tagged(&node, "ch", 1, "BTC", &opts).await;
    publish_tagged(&node, "ch", 2, "ETH", &opts).await;
    assert_eq!(*observer.0.lock(), vec![("ch".to_string(), 2)]);
    assert_eq!(drain(&mut c, "ch", 3).await, vec![1, 2]);
}

#[tokio::test]
async fn publications_held_during_subscribe_are_filtered_and_advance_the_position() {
    let handler = Arc::new(TestHandler {
        subscribe_options: filter_options(),
        ..Default::default()
    });
    let (node, broker) = common::faulty::faulty_node(NodeConfig::default(), handler);
    let opts = with_history(10);
    publish_tagged(&node, "ch", 1, "BTC", &opts).await;
    let (mut conn, _) = connect_json(&node, "u").await;
    let (read, resume) = broker.gate_next_history();
    conn.send_json(&format!(
        r#"{{"id":2,"subscribe":{{"channel":"ch","tf":{BTC}}}}}"#
    ));
    tokio::time::timeout(WAIT, read).await.unwrap().unwrap();
    for (n, ticker) in [(2, "ETH"), (3, "BTC"), (4, "ETH")] {
        publish_tagged(&node, "ch", n, ticker, &opts).await;
    }
    resume.send(()).unwrap();
    let reply = next(&mut conn).await;
    assert_eq!(reply["subscribe"]["offset"], 1, "{reply}");
    publish_tagged(&node, "ch", 5, "BTC", &opts).await;
    // 2 and 4 were held and filtered; 5 continues the position without a gap.
    assert_eq!(drain(&mut conn, "ch", 3).await, vec![3, 5]);
}
