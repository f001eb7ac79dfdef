//! The delivery invariant behind recovery and positioning: a subscriber either sees a channel's
//! publications gap-free, duplicate-free and in the stream's order, or it is told that it may have
//! missed some (unsubscribe 2500, disconnect 3010, `recovered: false`).
//!
//! Client-side and server-side subscribers follow several channels while publishers write to
//! them concurrently, the broker loses a share of the publications on their way to the node (they
//! stay in the history stream, as with a PUB/SUB hiccup), and subscribers' connections are killed
//! at random and come back asking to recover, as the SDKs do. Each subscriber models an SDK's
//! position bookkeeping and counts every silent gap and duplicate; the data at every offset is
//! compared with what the publishers were told they published.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use common::faulty::faulty_node;
use common::*;
use gyre_core::{
    ClientHandler, ClientRef, ConnectingEvent, ConnectingReply, HandlerError, HistoryOptions, SubscribeEvent,
    SubscribeOptions, SubscribeReply,
};
use parking_lot::Mutex;
use rand::Rng;
use serde_json::{json, Value};

const CHANNELS: [&str; 3] = ["c0", "c1", "c2"];
const PUBLISHERS: u64 = 3;
const PER_PUBLISHER: u64 = 300;
const SUBSCRIBERS: usize = 8;
/// History shorter than what a subscriber away for long misses: some recoveries must fail.
const HISTORY: usize = 40;

fn recoverable() -> SubscribeOptions {
    SubscribeOptions {
        enable_recovery: true,
        ..Default::default()
    }
}

/// Users named `srv…` get server-side subscriptions to every channel; everyone may subscribe to
/// them client-side.
struct App;

#[async_trait]
impl ClientHandler for App {
    async fn on_connecting(&self, e: ConnectingEvent) -> Result<ConnectingReply, HandlerError> {
        let mut reply = ConnectingReply::default();
        if e.token.starts_with("srv") {
            for ch in CHANNELS {
                reply.subscriptions.insert(ch.into(), recoverable());
            }
        }
        reply.credentials.user = e.token;
        Ok(reply)
    }

    async fn on_subscribe(&self, _c: &ClientRef, _e: SubscribeEvent) -> Result<SubscribeReply, HandlerError> {
        Ok(SubscribeReply {
            options: recoverable(),
            client_side_refresh: false,
            tag: 0,
        })
    }
}

#[derive(Default, Debug)]
struct Report {
    silent_gaps: usize,
    duplicates: usize,
    /// 2500, 3010 and `recovered: false` answers to a recovery.
    told: usize,
    recovered: usize,
    /// (channel, offset, data) in the order applied.
    received: Vec<(usize, u64, Value)>,
}

#[derive(Clone, Default)]
struct Position {
    offset: u64,
    epoch: String,
    known: bool,
}

/// An SDK's view of its subscriptions.
struct Subscriber {
    who: usize,
    server_side: bool,
    positions: Vec<Position>,
    report: Report,
    next_id: u32,
    /// Command id → (channel, whether it asked to recover).
    pending: HashMap<u32, (usize, bool)>,
}

fn channel_index(name: &str) -> usize {
    CHANNELS.iter().position(|c| *c == name).expect("known channel")
}

enum End {
    /// The client went away on purpose, or the server closed the connection.
    Gone,
    /// Every channel reached its final top.
    CaughtUp,
}

impl Subscriber {
    fn apply(&mut self, ch: usize, offset: u64, data: Value) {
        let pos = &mut self.positions[ch];
        if offset == pos.offset + 1 {
            pos.offset = offset;
            self.report.received.push((ch, offset, data));
        } else if offset <= pos.offset {
            self.report.duplicates += 1;
        } else {
            self.report.silent_gaps += 1;
            pos.offset = offset;
        }
    }

    fn result(&mut self, ch: usize, res: &Value, asked: bool) {
        let offset = res["offset"].as_u64().unwrap_or(0);
        let epoch = res["epoch"].as_str().unwrap_or_default().to_string();
        if asked && res["recovered"] == true {
            assert_eq!(
                offset, self.positions[ch].offset,
                "recovered reply keeps the client's offset"
            );
            assert_eq!(epoch, self.positions[ch].epoch);
            self.report.recovered += 1;
            for p in res["publications"].as_array().cloned().unwrap_or_default() {
                self.apply(ch, p["offset"].as_u64().unwrap(), p["data"].clone());
            }
        } else {
            assert!(
                res.get("publications").is_none(),
                "publications without recovery: {res}"
            );
            if asked {
                self.report.told += 1;
            }
            self.positions[ch] = Position {
                offset,
                epoch,
                known: true,
            };
        }
    }

    fn subscribe(&mut self, conn: &TestConn, ch: usize) {
        let id = self.next_id;
        self.next_id += 1;
        let pos = &self.positions[ch];
        let mut req = json!({"channel": CHANNELS[ch]});
        if pos.known {
            req["recover"] = json!(true);
            req["offset"] = json!(pos.offset);
            req["epoch"] = json!(pos.epoch);
        }
        self.pending.insert(id, (ch, pos.known));
        conn.send_json(&json!({"id": id, "subscribe": req}).to_string());
    }

    fn caught_up(&self, tops: &[u64]) -> bool {
        self.positions
            .iter()
            .zip(tops)
            .all(|(p, top)| p.known && p.offset == *top)
    }

    /// One connection. Outside the final phase it is killed after a random number of messages
    /// or when the publishers are done; in the final phase it runs until every channel reached
    /// `tops`.
    async fn session(&mut self, node: &Node, done: &AtomicBool, tops: Option<&[u64]>) -> End {
        let mut conn = testing::connect(node, json());
        let mut subs = serde_json::Map::new();
        if self.server_side {
            for (ch, pos) in self.positions.iter().enumerate().filter(|(_, p)| p.known) {
                subs.insert(
                    CHANNELS[ch].into(),
                    json!({"recover": true, "offset": pos.offset, "epoch": pos.epoch}),
                );
            }
        }
        let token = if self.server_side {
            format!("srv{}", self.who)
        } else {
            format!("cli{}", self.who)
        };
        conn.send_json(&json!({"id": 1, "connect": {"token": token, "subs": subs}}).to_string());
        self.pending.clear();
        self.next_id = 2;
        let Some(reply) = tokio::time::timeout(WAIT, conn.recv_json())
            .await
            .expect("connect reply")
        else {
            return End::Gone;
        };
        assert!(reply.get("error").is_none(), "{reply}");
        if self.server_side {
            let results = reply["connect"]["subs"].as_object().cloned().unwrap_or_default();
            assert_eq!(results.len(), CHANNELS.len(), "{reply}");
            for (name, res) in results {
                let ch = channel_index(&name);
                let asked = subs.contains_key(&name);
                self.result(ch, &res, asked);
            }
        } else {
            for ch in 0..CHANNELS.len() {
                self.subscribe(&conn, ch);
            }
        }
        let kill_after = rand::rng().random_range(20..120);
        let mut seen = 0;
        loop {
            if let Some(tops) = tops {
                if self.pending.is_empty() && self.caught_up(tops) {
                    return End::CaughtUp;
                }
            }
            let wait = if tops.is_some() {
                WAIT
            } else {
                Duration::from_millis(100)
            };
            let msg = match tokio::time::timeout(wait, conn.recv_json()).await {
                Ok(Some(msg)) => msg,
                Ok(None) => {
                    // Closed by the server: 3010 tells the client it may have missed something.
                    if conn.try_closed().flatten().is_some_and(|d| d.code == 3010) {
                        self.report.told += 1;
                    }
                    return End::Gone;
                }
                Err(_) if tops.is_none() => {
                    if done.load(Ordering::Acquire) {
                        conn.close();
                        return End::Gone;
                    }
                    continue;
                }
                Err(_) => panic!(
                    "subscriber {} stuck: {:?} vs {:?}",
                    self.who,
                    self.offsets(),
                    tops
                ),
            };
            if let Some(id) = msg["id"].as_u64() {
                let (ch, asked) = self
                    .pending
                    .remove(&(id as u32))
                    .expect("reply to a command sent");
                assert!(msg.get("error").is_none(), "{msg}");
                self.result(ch, &msg["subscribe"], asked);
            } else {
                let push = &msg["push"];
                let ch = channel_index(push["channel"].as_str().expect("channel"));
                if let Some(offset) = push["pub"]["offset"].as_u64() {
                    self.apply(ch, offset, push["pub"]["data"].clone());
                } else if push["unsubscribe"]["code"] == 2500 {
                    assert!(!self.server_side);
                    self.report.told += 1;
                    self.subscribe(&conn, ch);
                } else {
                    panic!("unexpected push {msg}");
                }
            }
            seen += 1;
            if tops.is_none() && (seen >= kill_after || done.load(Ordering::Acquire)) {
                conn.close();
                return End::Gone;
            }
        }
    }

    fn offsets(&self) -> Vec<u64> {
        self.positions.iter().map(|p| p.offset).collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_silent_loss_under_drops_and_reconnects() {
    let config = NodeConfig {
        ping_interval: None,
        pong_timeout: None,
        channel_position_check_delay: Duration::from_millis(100),
        ..Default::default()
    };
    let (node, broker) = faulty_node(config, Arc::new(App));
    broker.drop_per_mille(20);
    let opts = with_history(HISTORY);
    let truth: Arc<Mutex<HashMap<(usize, u64), Value>>> = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let final_tops: Arc<tokio::sync::OnceCell<Vec<u64>>> = Arc::default();
    let tops_ready = Arc::new(tokio::sync::Notify::new());

    let mut subscribers = Vec::new();
    for who in 0..SUBSCRIBERS {
        let (node, done, final_tops, tops_ready) =
            (node.clone(), done.clone(), final_tops.clone(), tops_ready.clone());
        subscribers.push(tokio::spawn(async move {
            let mut s = Subscriber {
                who,
                server_side: who % 2 == 0,
                positions: vec![Position::default(); CHANNELS.len()],
                report: Report::default(),
                next_id: 2,
                pending: HashMap::new(),
            };
            let mut sessions = 0;
            while !done.load(Ordering::Acquire) {
                s.session(&node, &done, None).await;
                sessions += 1;
                // Sometimes stay away long enough for the history to move past the position.
                if rand::rng().random_range(0..4) == 0 {
                    let away = rand::rng().random_range(5..40);
                    tokio::time::sleep(Duration::from_millis(away)).await;
                }
            }
            let tops = loop {
                if let Some(tops) = final_tops.get() {
                    break tops.clone();
                }
                let notified = tops_ready.notified();
                if final_tops.get().is_none() {
                    notified.await;
                }
            };
            for _ in 0..5 {
                if let End::CaughtUp = s.session(&node, &done, Some(&tops)).await {
                    return (s.report, sessions);
                }
            }
            panic!("subscriber {who} never caught up");
        }));
    }

    let mut publishers = Vec::new();
    for p in 0..PUBLISHERS {
        let (node, opts, truth) = (node.clone(), opts.clone(), truth.clone());
        publishers.push(tokio::spawn(async move {
            for n in 0..PER_PUBLISHER {
                let ch = rand::rng().random_range(0..CHANNELS.len());
                let data = json!({"p": p, "n": n});
                let result = node
                    .publish(CHANNELS[ch], Bytes::from(data.to_string()), opts.clone())
                    .await
                    .unwrap();
                truth.lock().insert((ch, result.position.offset), data);
                if n % 3 == 0 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }));
    }
    for p in publishers {
        p.await.unwrap();
    }
    // Everyone now converges on the final tops with a healthy broker.
    broker.drop_per_mille(0);
    let mut tops = Vec::new();
    for ch in CHANNELS {
        let top = node
            .history(ch, HistoryOptions::default())
            .await
            .unwrap()
            .position;
        tops.push(top.offset);
    }
    assert_eq!(tops.iter().sum::<u64>(), PUBLISHERS * PER_PUBLISHER);
    final_tops.set(tops).unwrap();
    done.store(true, Ordering::Release);
    tops_ready.notify_waiters();

    let truth = truth.lock().clone();
    let (mut told, mut recovered, mut sessions, mut delivered) = (0, 0, 0, 0);
    for (who, task) in subscribers.into_iter().enumerate() {
        let (report, n) = tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("subscriber finished")
            .unwrap();
        assert_eq!(report.silent_gaps, 0, "subscriber {who}: silent gaps");
        assert_eq!(report.duplicates, 0, "subscriber {who}: duplicates");
        for (ch, offset, data) in &report.received {
            assert_eq!(
                truth.get(&(*ch, *offset)),
                Some(data),
                "subscriber {who}: {} offset {offset}",
                CHANNELS[*ch]
            );
        }
        told += report.told;
        recovered += report.recovered;
        sessions += n;
        delivered += report.received.len();
    }
    eprintln!(
        "STATS told={told} recovered={recovered} sessions={sessions} delivered={delivered} dropped={}",
        broker.dropped()
    );
    // The run exercised what it claims to.
    assert!(broker.dropped() > 0, "no publication was lost");
    assert!(told > 0, "nobody was told about a loss");
    assert!(recovered > 0, "no recovery succeeded");
    assert!(sessions > SUBSCRIBERS, "no reconnects");
    assert!(delivered > 0);
}
