//! Publications written straight to one client's subscription (`ClientRef::write_publication`),
//! the unsubscribe hook, and server-initiated unsubscribe through `ClientRef::unsubscribe`: what a
//! subscribe stream proxy is built on.

mod common;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use common::*;
use gyre_core::{
    ClientHandler, ClientRef, ConnectingEvent, ConnectingReply, HandlerError, SubscribeEvent, SubscribeReply,
    Unsubscribe,
};
use gyre_protocol::Publication;
use parking_lot::Mutex;

/// Writes one publication while the subscription is still being accepted, keeps the client for
/// the test, and records every unsubscribe hook call.
#[derive(Default)]
struct StreamingHandler {
    client: Mutex<Option<ClientRef>>,
    unsubscribed: Mutex<Vec<String>>,
}

fn publication(data: &str) -> Publication {
    Publication {
        data: Bytes::from(data.to_owned()),
        tags: [("k".to_string(), "v".to_string())].into(),
        ..Default::default()
    }
}

#[async_trait]
impl ClientHandler for StreamingHandler {
    async fn on_connecting(&self, e: ConnectingEvent) -> Result<ConnectingReply, HandlerError> {
        let mut reply = ConnectingReply::default();
        reply.credentials.user = e.token;
        Ok(reply)
    }
    async fn on_subscribe(&self, c: &ClientRef, e: SubscribeEvent) -> Result<SubscribeReply, HandlerError> {
        assert!(c.write_publication(&e.channel, publication(r#"{"n":0}"#)));
        assert!(!c.is_subscribed(&e.channel), "not yet live while being accepted");
        *self.client.lock() = Some(c.clone());
        Ok(SubscribeReply {
            tag: 7,
            ..Default::default()
        })
    }
    fn on_unsubscribe(&self, _c: &ClientRef, channel: &str) {
        self.unsubscribed.lock().push(channel.to_string());
    }
}

fn setup() -> (Node, Arc<StreamingHandler>) {
    let handler = Arc::new(StreamingHandler::default());
    let node = Node::new(no_ping(), handler.clone());
    (node, handler)
}

/// A client subscribed to `s` (its held publication already read), and the `ClientRef` the
/// handler kept. The node is returned so that it lives as long as the test.
async fn subscribed() -> (Node, Arc<StreamingHandler>, TestConn, ClientRef) {
    let (node, handler) = setup();
    let (mut conn, _) = connect_json(&node, "u").await;
    subscribe(&mut conn, 2, "s").await;
    let _held = next(&mut conn).await;
    let client = handler.client.lock().clone().unwrap();
    (node, handler, conn, client)
}

#[tokio::test]
async fn written_publications_follow_the_reply_and_stop_with_the_subscription() {
    let (node, handler) = setup();
    let (mut conn, _) = connect_json(&node, "u").await;
    conn.send_json(r#"{"id":2,"subscribe":{"channel":"s"}}"#);
    // The publication written during on_subscribe was held: the reply comes first.
    let reply = next(&mut conn).await;
    assert_eq!(reply["id"], 2);
    assert!(reply["subscribe"].is_object());
    let held = next(&mut conn).await;
    assert_eq!(held["push"]["channel"], "s");
    assert_eq!(held["push"]["pub"]["data"]["n"], 0);
    assert_eq!(held["push"]["pub"]["tags"]["k"], "v");
    assert!(
        held["push"]["pub"].get("offset").is_none(),
        "outside the stream: no offset"
    );

    let client = handler.client.lock().clone().expect("subscribe seen");
    assert!(client.write_publication("s", publication(r#"{"n":1}"#)));
    assert_eq!(next(&mut conn).await["push"]["pub"]["data"]["n"], 1);
    // Only the subscribed channel takes publications.
    assert!(!client.write_publication("other", publication("{}")));

    conn.send_json(r#"{"id":3,"unsubscribe":{"channel":"s"}}"#);
    assert_eq!(next(&mut conn).await["id"], 3);
    assert_eq!(*handler.unsubscribed.lock(), vec!["s".to_string()]);
    assert!(!client.write_publication("s", publication("{}")));
}

#[tokio::test]
async fn invalid_json_closes_a_json_client_with_3506() {
    let (_node, handler, mut conn, client) = subscribed().await;
    client.write_publication("s", publication("not json"));
    assert_eq!(code(closed(&mut conn).await), Some(3506));
    finished(&mut conn).await;
    // Teardown ends the subscription through the hook as well.
    assert_eq!(*handler.unsubscribed.lock(), vec!["s".to_string()]);
}

#[tokio::test]
async fn unsubscribe_from_the_server_side_pushes_the_code() {
    let (_node, handler, mut conn, client) = subscribed().await;
    client.unsubscribe("s", Unsubscribe::INSUFFICIENT_STATE);
    let push = next(&mut conn).await;
    assert_eq!(push["push"]["channel"], "s");
    assert_eq!(push["push"]["unsubscribe"]["code"], 2500);
    assert!(!client.is_subscribed("s"));
    assert_eq!(*handler.unsubscribed.lock(), vec!["s".to_string()]);
}

#[tokio::test]
async fn tagged_unsubscribe_ends_only_the_tagged_subscription() {
    let (_node, _handler, mut conn, client) = subscribed().await;
    // Another subscription's tag: nothing happens. Ops queued before a frame are handled before
    // it, so the RPC reply coming first shows the op was processed and pushed nothing.
    client.unsubscribe_tagged("s", 8, Unsubscribe::INSUFFICIENT_STATE);
    conn.send_json(r#"{"id":3,"rpc":{"method":"m"}}"#);
    let reply = next(&mut conn).await;
    assert_eq!(reply["id"], 3, "no unsubscribe push first: {reply}");
    assert!(client.is_subscribed("s"));
    client.unsubscribe_tagged("s", 7, Unsubscribe::SERVER);
    let push = next(&mut conn).await;
    assert_eq!(push["push"]["unsubscribe"]["code"], 2000, "{push}");
    assert!(!client.is_subscribed("s"));
}
