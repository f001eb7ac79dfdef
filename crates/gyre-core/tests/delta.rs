//! Fossil delta compression wired into subscribe, fan-out and recovery: negotiation, full then
//! patches, the JSON string rule, the fallbacks to full payloads, shared encodings, delta-chained
//! recovery, and history that is never delta.

mod common;

use std::sync::Arc;

use bytes::Bytes;
use common::*;
use gyre_core::{DeltaType, HistoryOptions, PublishOptions, StreamPosition, SubscribeOptions};
use gyre_protocol::{fossil, Publication, Reply, SubscribeRequest};
use serde_json::Value;

fn delta_options() -> SubscribeOptions {
    SubscribeOptions {
        allowed_delta_types: vec![DeltaType::Fossil],
        enable_recovery: true,
        ..Default::default()
    }
}

fn delta_node(options: SubscribeOptions) -> Node {
    node(TestHandler {
        subscribe_options: options,
        ..Default::default()
    })
}

/// History of 100 publications, published with delta.
fn delta_publish() -> PublishOptions {
    PublishOptions {
        delta: true,
        ..with_history(100)
    }
}

/// About 400 bytes of JSON; consecutive documents differ in a few bytes, so patches are small.
fn doc(n: u64) -> String {
    let levels: Vec<String> = (0..12)
        .map(|i| {
            format!(
                r#"{{"price":{},"size":{},"venue":"venue-{}"}}"#,
                1000 + i,
                (i * 7) % 13,
                i % 4
            )
        })
        .collect();
    format!(
        r#"{{"seq":{n},"title":"order book","levels":[{}],"note":"caf\u00e9 {n}"}}"#,
        levels.join(",")
    )
}

async fn publish_doc(node: &Node, channel: &str, data: &str, opts: &PublishOptions) -> StreamPosition {
    node.publish(channel, Bytes::copy_from_slice(data.as_bytes()), opts.clone())
        .await
        .unwrap()
        .position
}

/// Subscribes with `delta: "fossil"` and returns the subscribe result.
async fn subscribe_delta(conn: &mut TestConn, id: u32, channel: &str) -> Value {
    conn.send_json(&format!(
        r#"{{"id":{id},"subscribe":{{"channel":"{channel}","delta":"fossil"}}}}"#
    ));
    let reply = next(conn).await;
    assert_eq!(reply["id"], id, "unexpected message {reply}");
    assert!(reply.get("error").is_none(), "subscribe failed: {reply}");
    reply["subscribe"].clone()
}

/// What a JSON SDK does with publications of a delta subscription: `data` is always a JSON string;
/// a patch is applied to the previous payload's bytes, a full payload replaces them.
#[derive(Default)]
struct JsonDecoder {
    base: Vec<u8>,
    patches: usize,
    fulls: usize,
}

impl JsonDecoder {
    fn apply(&mut self, publication: &Value) -> Vec<u8> {
        let data = publication["data"]
            .as_str()
            .unwrap_or_else(|| panic!("delta data must be a JSON string: {publication}"));
        if publication["delta"] == true {
            self.base = fossil::apply(&self.base, data.as_bytes()).expect("patch applies");
            self.patches += 1;
        } else {
            assert!(publication.get("delta").is_none(), "{publication}");
            self.base = data.as_bytes().to_vec();
            self.fulls += 1;
        }
        self.base.clone()
    }
}

/// The same for protobuf, where data is raw bytes.
#[derive(Default)]
struct ProtoDecoder {
    base: Vec<u8>,
    patches: usize,
}

impl ProtoDecoder {
    fn apply(&mut self, publication: &Publication) -> Vec<u8> {
        if publication.delta {
            self.base = fossil::apply(&self.base, &publication.data).expect("patch applies");
            self.patches += 1;
        } else {
            self.base = publication.data.to_vec();
        }
        self.base.clone()
    }
}

async fn next_pub(conn: &mut TestConn) -> Value {
    let msg = next(conn).await;
    assert!(
        msg["push"]["pub"].is_object(),
        "expected a publication, got {msg}"
    );
    msg["push"]["pub"].clone()
}

async fn next_proto_pub(conn: &mut TestConn) -> Publication {
    let reply = tokio::time::timeout(WAIT, conn.recv_reply())
        .await
        .expect("timed out")
        .expect("closed");
    reply.push.and_then(|p| p.r#pub).expect("a publication push")
}

async fn connect_protobuf(node: &Node, channel: &str, delta: &str) -> (TestConn, Reply) {
    let (conn, reply) = connect_protobuf_with(
        node,
        SubscribeRequest {
            channel: channel.into(),
            delta: delta.into(),
            ..Default::default()
        },
    )
    .await;
    assert!(reply.subscribe.is_some(), "{reply:?}");
    (conn, reply)
}

#[tokio::test]
async fn negotiation() {
    let node = delta_node(delta_options());
    let (mut conn, _) = connect_json(&node, "u").await;
    assert_eq!(subscribe_delta(&mut conn, 2, "on").await["delta"], true);
    // Not asked: no delta.
    assert!(subscribe(&mut conn, 3, "off").await.get("delta").is_none());
    // Unknown type: bad request, the connection is closed.
    conn.send_json(r#"{"id":4,"subscribe":{"channel":"x","delta":"xdelta"}}"#);
    assert_eq!(code(closed(&mut conn).await), Some(3501));

    // Asked where the handler does not allow it: silently no delta, plain embedded JSON.
    let node = delta_node(SubscribeOptions {
        enable_recovery: true,
        ..Default::default()
    });
    let (mut conn, _) = connect_json(&node, "u").await;
    assert!(subscribe_delta(&mut conn, 2, "ch").await.get("delta").is_none());
    for n in 1..=2 {
        publish_doc(&node, "ch", &doc(n), &delta_publish()).await;
        let p = next_pub(&mut conn).await;
        assert_eq!(p["data"]["seq"], n, "{p}");
        assert!(p.get("delta").is_none());
    }
}

#[tokio::test]
async fn json_first_full_then_patches_that_apply() {
    let node = delta_node(delta_options());
    let (mut conn, _) = connect_json(&node, "u").await;
    subscribe_delta(&mut conn, 2, "ch").await;
    let mut decoder = JsonDecoder::default();
    for n in 1..=8 {
        publish_doc(&node, "ch", &doc(n), &delta_publish()).await;
        let p = next_pub(&mut conn).await;
        assert_eq!(p["offset"], n);
        if n == 1 {
            assert!(p.get("delta").is_none(), "the first publication is full: {p}");
        } else {
            assert_eq!(p["delta"], true, "publication {n} should be a patch: {p}");
            assert!(p["data"].as_str().unwrap().len() < doc(n).len() / 2);
        }
        assert_eq!(decoder.apply(&p), doc(n).as_bytes());
    }
    assert_eq!((decoder.fulls, decoder.patches), (1, 7));
}

#[tokio::test]
async fn protobuf_patches_are_raw_bytes() {
    let node = delta_node(delta_options());
    let (mut conn, reply) = connect_protobuf(&node, "ch", "fossil").await;
    assert!(reply.subscribe.unwrap().delta);
    let mut decoder = ProtoDecoder::default();
    for n in 1..=6 {
        publish_doc(&node, "ch", &doc(n), &delta_publish()).await;
        let p = next_proto_pub(&mut conn).await;
        assert_eq!(p.delta, n > 1, "publication {n}");
        assert_eq!(decoder.apply(&p), doc(n).as_bytes());
    }
    assert_eq!(decoder.patches, 5);
}

#[tokio::test]
async fn without_delta_publish_every_payload_is_full_but_still_a_string() {
    let node = delta_node(delta_options());
    let (mut conn, _) = connect_json(&node, "u").await;
    subscribe_delta(&mut conn, 2, "ch").await;
    let mut decoder = JsonDecoder::default();
    for n in 1..=3 {
        publish_doc(&node, "ch", &doc(n), &with_history(10)).await;
        let p = next_pub(&mut conn).await;
        assert_eq!(decoder.apply(&p), doc(n).as_bytes());
    }
    assert_eq!(decoder.patches, 0);
}

#[tokio::test]
async fn patch_not_smaller_is_sent_full() {
    let node = delta_node(delta_options());
    let (mut conn, _) = connect_json(&node, "u").await;
    subscribe_delta(&mut conn, 2, "ch").await;
    let mut decoder = JsonDecoder::default();
    for (n, data) in [r#"{"a":1}"#, r#"{"b":2}"#, r#"{"c":3}"#].into_iter().enumerate() {
        publish_doc(&node, "ch", data, &delta_publish()).await;
        let p = next_pub(&mut conn).await;
        assert!(p.get("delta").is_none(), "publication {n}: {p}");
        assert_eq!(decoder.apply(&p), data.as_bytes());
    }
}

#[tokio::test]
async fn non_utf8_patch_is_full_on_json_only() {
    // Payloads differing in the second byte of a two-byte character: the patch inserts that byte
    // alone, which a JSON string cannot carry.
    let filler = "x".repeat(200);
    let prev = format!(r#"{{"t":"{filler}é{filler}"}}"#);
    let next_doc = format!(r#"{{"t":"{filler}è{filler}"}}"#);
    let patch = fossil::create(prev.as_bytes(), next_doc.as_bytes());
    assert!(
        std::str::from_utf8(&patch).is_err(),
        "precondition: the patch splits a character"
    );
    assert!(patch.len() < next_doc.len());

    let node = delta_node(delta_options());
    let (mut json_conn, _) = connect_json(&node, "u").await;
    subscribe_delta(&mut json_conn, 2, "ch").await;
    let (mut pb, _) = connect_protobuf(&node, "ch", "fossil").await;
    let mut json_decoder = JsonDecoder::default();
    let mut pb_decoder = ProtoDecoder::default();
    for data in [&prev, &next_doc] {
        publish_doc(&node, "ch", data, &delta_publish()).await;
        let p = next_pub(&mut json_conn).await;
        assert!(p.get("delta").is_none(), "JSON gets the full payload: {p}");
        assert_eq!(json_decoder.apply(&p), data.as_bytes());
        assert_eq!(pb_decoder.apply(&next_proto_pub(&mut pb).await), data.as_bytes());
    }
    // Protobuf carries the same patch as raw bytes.
    assert_eq!(pb_decoder.patches, 1);
    // The JSON subscriber's base is the full payload, so the chain goes on with patches.
    let third = format!(r#"{{"t":"{filler}è{filler}!"}}"#);
    publish_doc(&node, "ch", &third, &delta_publish()).await;
    let p = next_pub(&mut json_conn).await;
    assert_eq!(p["delta"], true, "{p}");
    assert_eq!(json_decoder.apply(&p), third.as_bytes());
}

#[tokio::test]
async fn mixed_subscribers_share_one_encoding_per_flavour() {
    let node = delta_node(delta_options());
    let (mut dj1, _) = connect_json(&node, "dj1").await;
    let (mut dj2, _) = connect_json(&node, "dj2").await;
    let (mut pj1, _) = connect_json(&node, "pj1").await;
    let (mut pj2, _) = connect_json(&node, "pj2").await;
    subscribe_delta(&mut dj1, 2, "ch").await;
    subscribe_delta(&mut dj2, 2, "ch").await;
    subscribe(&mut pj1, 2, "ch").await;
    subscribe(&mut pj2, 2, "ch").await;
    let (mut dp1, _) = connect_protobuf(&node, "ch", "fossil").await;
    let (mut dp2, _) = connect_protobuf(&node, "ch", "fossil").await;
    let (mut pp, _) = connect_protobuf(&node, "ch", "").await;

    for n in 1..=3 {
        publish_doc(&node, "ch", &doc(n), &delta_publish()).await;
        let [a, b, c, d, e, f, g] = [
            &mut dj1, &mut dj2, &mut pj1, &mut pj2, &mut dp1, &mut dp2, &mut pp,
        ];
        let (dj1m, dj2m) = (a.recv().await.unwrap(), b.recv().await.unwrap());
        let (pj1m, pj2m) = (c.recv().await.unwrap(), d.recv().await.unwrap());
        let (dp1m, dp2m, ppm) = (
            e.recv().await.unwrap(),
            f.recv().await.unwrap(),
            g.recv().await.unwrap(),
        );
        // One buffer per flavour, shared by every subscriber of it.
        assert_eq!(dj1m.as_ptr(), dj2m.as_ptr(), "delta JSON, publication {n}");
        assert_eq!(pj1m.as_ptr(), pj2m.as_ptr(), "plain JSON, publication {n}");
        assert_eq!(dp1m.as_ptr(), dp2m.as_ptr(), "delta protobuf, publication {n}");
        assert_ne!(dj1m.as_ptr(), pj1m.as_ptr());
        if n == 1 {
            // A full payload is encoded the same in protobuf with or without delta.
            assert_eq!(dp1m.as_ptr(), ppm.as_ptr());
        } else {
            assert_ne!(dp1m.as_ptr(), ppm.as_ptr());
            let delta: Reply = prost::Message::decode(dp1m).unwrap();
            assert!(delta.push.unwrap().r#pub.unwrap().delta);
        }
        let plain: Value = serde_json::from_slice(&pj1m).unwrap();
        assert_eq!(
            plain["push"]["pub"]["data"]["seq"], n,
            "plain JSON stays embedded"
        );
        let delta: Value = serde_json::from_slice(&dj1m).unwrap();
        assert!(delta["push"]["pub"]["data"].is_string());
    }
}

#[tokio::test]
async fn first_publication_after_subscribe_is_full() {
    let node = delta_node(delta_options());
    for n in 1..=3 {
        publish_doc(&node, "ch", &doc(n), &delta_publish()).await;
    }
    let (mut conn, _) = connect_json(&node, "u").await;
    let result = subscribe_delta(&mut conn, 2, "ch").await;
    assert_eq!(result["offset"], 3);
    let mut decoder = JsonDecoder::default();
    for n in 4..=5 {
        publish_doc(&node, "ch", &doc(n), &delta_publish()).await;
        let p = next_pub(&mut conn).await;
        // The broker has publication 3 as a base, but the client does not.
        assert_eq!(p.get("delta").is_some(), n == 5, "{p}");
        assert_eq!(decoder.apply(&p), doc(n).as_bytes());
    }
}

#[tokio::test]
async fn non_positioned_delta_subscription_gets_patches_too() {
    let node = delta_node(SubscribeOptions {
        allowed_delta_types: vec![DeltaType::Fossil],
        ..Default::default()
    });
    let (mut conn, _) = connect_json(&node, "u").await;
    let result = subscribe_delta(&mut conn, 2, "ch").await;
    assert!(result.get("positioned").is_none());
    let mut decoder = JsonDecoder::default();
    for n in 1..=3 {
        publish_doc(&node, "ch", &doc(n), &delta_publish()).await;
        let p = next_pub(&mut conn).await;
        assert_eq!(decoder.apply(&p), doc(n).as_bytes());
    }
    assert_eq!((decoder.fulls, decoder.patches), (1, 2));
}

/// Sends a recovering delta subscribe and returns the subscribe result.
async fn recover_delta(conn: &mut TestConn, id: u32, channel: &str, offset: u64, epoch: &str) -> Value {
    conn.send_json(&format!(
        r#"{{"id":{id},"subscribe":{{"channel":"{channel}","delta":"fossil","recover":true,"offset":{offset},"epoch":"{epoch}"}}}}"#
    ));
    let reply = next(conn).await;
    assert_eq!(reply["id"], id, "unexpected message {reply}");
    reply["subscribe"].clone()
}

#[tokio::test]
async fn recovered_publications_are_delta_chained() {
    let node = delta_node(delta_options());
    let (mut conn, _) = connect_json(&node, "u").await;
    subscribe_delta(&mut conn, 2, "ch").await;
    let mut decoder = JsonDecoder::default();
    let mut epoch = String::new();
    for n in 1..=3 {
        epoch = publish_doc(&node, "ch", &doc(n), &delta_publish()).await.epoch;
        decoder.apply(&next_pub(&mut conn).await);
    }
    conn.send_json(r#"{"id":3,"unsubscribe":{"channel":"ch"}}"#);
    assert_eq!(next(&mut conn).await["id"], 3);
    for n in 4..=7 {
        publish_doc(&node, "ch", &doc(n), &delta_publish()).await;
    }
    let result = recover_delta(&mut conn, 4, "ch", 3, &epoch).await;
    assert_eq!(result["recovered"], true, "{result}");
    assert_eq!(result["delta"], true);
    let pubs = result["publications"].as_array().unwrap();
    assert_eq!(offsets(&result["publications"]), vec![4, 5, 6, 7]);
    // The chain starts full (the client's base is not trusted), then patches against the
    // previous recovered publication.
    let mut decoder = JsonDecoder::default();
    for (p, n) in pubs.iter().zip(4..) {
        assert_eq!(p.get("delta").is_some(), n > 4, "{p}");
        assert_eq!(decoder.apply(p), doc(n).as_bytes());
    }
    // Live publications continue the chain.
    publish_doc(&node, "ch", &doc(8), &delta_publish()).await;
    let p = next_pub(&mut conn).await;
    assert_eq!(p["delta"], true, "{p}");
    assert_eq!(decoder.apply(&p), doc(8).as_bytes());

    // History is never delta: embedded JSON, no flag.
    conn.send_json(r#"{"id":5,"history":{"channel":"ch","limit":-1}}"#);
    let reply = next(&mut conn).await;
    let history = reply["history"]["publications"].as_array().unwrap();
    assert_eq!(history.len(), 8);
    for (p, n) in history.iter().zip(1..) {
        assert_eq!(p["data"]["seq"], n, "{p}");
        assert!(p.get("delta").is_none());
    }
}

#[tokio::test]
async fn recovered_publications_are_delta_chained_in_protobuf() {
    let node = delta_node(delta_options());
    let pos = {
        let mut last = StreamPosition::default();
        for n in 1..=4 {
            last = publish_doc(&node, "ch", &doc(n), &delta_publish()).await;
        }
        last
    };
    let (mut conn, reply) = connect_protobuf_with(
        &node,
        SubscribeRequest {
            channel: "ch".into(),
            delta: "fossil".into(),
            recover: true,
            offset: 1,
            epoch: pos.epoch.clone(),
            ..Default::default()
        },
    )
    .await;
    let result = reply.subscribe.unwrap();
    assert!(result.recovered && result.delta);
    let mut decoder = ProtoDecoder::default();
    for (p, n) in result.publications.iter().zip(2..) {
        assert_eq!(p.delta, n > 2);
        assert_eq!(decoder.apply(p), doc(n).as_bytes());
    }
    publish_doc(&node, "ch", &doc(5), &delta_publish()).await;
    let p = next_proto_pub(&mut conn).await;
    assert!(p.delta);
    assert_eq!(decoder.apply(&p), doc(5).as_bytes());
}

#[tokio::test]
async fn recovery_without_publications_resets_the_base() {
    let node = delta_node(delta_options());
    let pos = publish_doc(&node, "ch", &doc(1), &delta_publish()).await;
    let (mut conn, _) = connect_json(&node, "u").await;
    let result = recover_delta(&mut conn, 2, "ch", 1, &pos.epoch).await;
    assert_eq!(result["recovered"], true, "{result}");
    assert!(result.get("publications").is_none());
    // Gyre does not trust the client to still hold publication 1: full first.
    publish_doc(&node, "ch", &doc(2), &delta_publish()).await;
    let p = next_pub(&mut conn).await;
    assert!(p.get("delta").is_none(), "{p}");
    publish_doc(&node, "ch", &doc(3), &delta_publish()).await;
    assert_eq!(next_pub(&mut conn).await["delta"], true);
}

#[tokio::test]
async fn non_json_payload_closes_json_delta_subscribers_with_3506() {
    let node = delta_node(delta_options());
    let (mut json_conn, _) = connect_json(&node, "u").await;
    subscribe_delta(&mut json_conn, 2, "ch").await;
    let (mut pb, _) = connect_protobuf(&node, "ch", "fossil").await;
    node.publish("ch", Bytes::from_static(b"\xff\x00binary"), delta_publish())
        .await
        .unwrap();
    assert_eq!(code(closed(&mut json_conn).await), Some(3506));
    assert_eq!(next_proto_pub(&mut pb).await.data.as_ref(), b"\xff\x00binary");
}

#[tokio::test]
async fn publications_held_during_subscribe_are_full_then_patches_follow() {
    let handler = Arc::new(TestHandler {
        subscribe_options: delta_options(),
        ..Default::default()
    });
    let (node, broker) = common::faulty::faulty_node(NodeConfig::default(), handler);
    publish_doc(&node, "ch", &doc(1), &delta_publish()).await;
    let (mut conn, _) = connect_json(&node, "u").await;
    let (read, resume) = broker.gate_next_history();
    conn.send_json(r#"{"id":2,"subscribe":{"channel":"ch","delta":"fossil"}}"#);
    tokio::time::timeout(WAIT, read).await.unwrap().unwrap();
    // Published after the stream top was read: held, then delivered behind the reply.
    for n in 2..=3 {
        publish_doc(&node, "ch", &doc(n), &delta_publish()).await;
    }
    resume.send(()).unwrap();
    let reply = next(&mut conn).await;
    assert_eq!(reply["subscribe"]["offset"], 1, "{reply}");
    let mut decoder = JsonDecoder::default();
    for n in 2..=3 {
        let p = next_pub(&mut conn).await;
        assert!(p.get("delta").is_none(), "held publications are full: {p}");
        assert_eq!(decoder.apply(&p), doc(n).as_bytes());
    }
    publish_doc(&node, "ch", &doc(4), &delta_publish()).await;
    let p = next_pub(&mut conn).await;
    assert_eq!(p["delta"], true, "the last held publication is the base: {p}");
    assert_eq!(decoder.apply(&p), doc(4).as_bytes());
    let history = node.history("ch", HistoryOptions::default()).await.unwrap();
    assert_eq!(history.position.offset, 4);
}

#[tokio::test]
async fn a_lost_publication_makes_the_next_one_full() {
    // Without positioning nothing notices the loss, but the patch of publication 3 is against 2,
    // which the client never got.
    let handler = Arc::new(TestHandler {
        subscribe_options: SubscribeOptions {
            allowed_delta_types: vec![DeltaType::Fossil],
            ..Default::default()
        },
        ..Default::default()
    });
    let (node, broker) = common::faulty::faulty_node(NodeConfig::default(), handler);
    let (mut conn, _) = connect_json(&node, "u").await;
    subscribe_delta(&mut conn, 2, "ch").await;
    let mut decoder = JsonDecoder::default();
    publish_doc(&node, "ch", &doc(1), &delta_publish()).await;
    decoder.apply(&next_pub(&mut conn).await);
    broker.drop_next(1);
    publish_doc(&node, "ch", &doc(2), &delta_publish()).await;
    for n in 3..=4 {
        publish_doc(&node, "ch", &doc(n), &delta_publish()).await;
        let p = next_pub(&mut conn).await;
        assert_eq!(p["offset"], n);
        assert_eq!(p.get("delta").is_some(), n == 4, "{p}");
        assert_eq!(decoder.apply(&p), doc(n).as_bytes());
    }
}
