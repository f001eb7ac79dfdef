//! Metrics hooks fire where the server's metrics expect them.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use gyre_core::Observer;
use parking_lot::Mutex;

#[derive(Default)]
struct Counting {
    events: Mutex<Vec<String>>,
}

impl Observer for Counting {
    fn connection_accepted(&self, transport: &str, name: &str, _version: &str) {
        self.events.lock().push(format!("accepted {transport} {name}"));
    }
    fn subscription_accepted(&self, _client_name: &str) {
        self.events.lock().push("subscription".into());
    }
    fn command_processed(&self, method: &str, _elapsed: Duration) {
        self.events.lock().push(format!("command {method}"));
    }
    fn reply_error(&self, method: &str, code: u32) {
        self.events.lock().push(format!("error {method} {code}"));
    }
    fn server_disconnect(&self, code: u32) {
        self.events.lock().push(format!("disconnect {code}"));
    }
    fn transport_messages_sent(&self, _transport: &str, frame_type: &str, count: usize, _bytes: usize) {
        for _ in 0..count {
            self.events.lock().push(format!("sent {frame_type}"));
        }
    }
    fn transport_message_received(&self, _transport: &str, frame_type: &str, _size: usize) {
        self.events.lock().push(format!("received {frame_type}"));
    }
    fn node_message_sent(&self, kind: &str) {
        self.events.lock().push(format!("node sent {kind}"));
    }
    fn node_message_received(&self, kind: &str) {
        self.events.lock().push(format!("node received {kind}"));
    }
}

#[tokio::test]
async fn hooks_fire() {
    let node = node(TestHandler::default());
    let observer = Arc::new(Counting::default());
    node.set_observer(observer.clone());
    let mut conn = testing::connect(&node, json());
    conn.send_json(r#"{"id":1,"connect":{"token":"u","name":"js"}}"#);
    next(&mut conn).await;
    subscribe(&mut conn, 2, "a").await;
    conn.send_json(r#"{"id":3,"subscribe":{"channel":"a"}}"#);
    next(&mut conn).await;
    conn.send_json(r#"{"id":4,"publish":{"channel":"a","data":{}}}"#);
    next(&mut conn).await;
    next(&mut conn).await;
    conn.send_json(r#"{"id":5,"ping":{}}"#);
    finished(&mut conn).await;
    let events = observer.events.lock().clone();
    for expected in [
        "accepted websocket js",
        "subscription",
        "command connect",
        "command subscribe",
        "error subscribe 105",
        "received publish",
        "sent connect",
        "sent publication",
        "node sent publication",
        "node received publication",
        "disconnect 3501",
    ] {
        assert!(
            events.iter().any(|e| e == expected),
            "missing {expected:?} in {events:?}"
        );
    }
}
