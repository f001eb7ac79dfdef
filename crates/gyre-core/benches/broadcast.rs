//! Cost of broadcasting one publication to a channel's local subscribers, through the public API:
//! a [`Node`] on the memory broker, clients on the in-memory transport of `gyre_core::testing`
//! (connected and subscribed by real connect/subscribe commands), publications by
//! [`Node::publish`].
//!
//!     cargo bench -p gyre-core --bench broadcast
//!     cargo bench -p gyre-core --bench broadcast -- --warm-up-time 1 --measurement-time 3
//!     cargo bench -p gyre-core --bench broadcast -- fanout/json   # a name filter
//!
//! Shapes: 1, 100 and 10 000 subscribers of one channel, and 4 channels × 2 500 subscribers (one
//! publication into each channel per iteration), each with JSON and with Protobuf clients. The
//! payload is 100 bytes of JSON. Throughput counts deliveries (subscribers reached).
//!
//! * `fanout/*` times the `publish` call alone. With the memory broker it returns only after the
//!   hub encoded the publication and queued it into every subscriber's outbox, so this is the
//!   synchronous fan-out.
//! * `delivered/*` times from the `publish` call until every subscriber's transport received the
//!   message: fan-out plus waking every connection's writer task and its write.
//!
//! Everything runs on a current-thread runtime, so `fanout` is not disturbed by writer tasks
//! running alongside it and `delivered` is the whole CPU cost of one broadcast. Between
//! iterations (outside the `fanout` timing) every subscriber's message is read, so no outbox
//! grows; the outbox limit stays at its default and every connection is checked to be still
//! open, with nothing left unread, after each benchmark (a slow-consumer disconnect fails it).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tokio::runtime::Runtime;

use gyre_core::testing::{self, TestConn, TestHandler};
use gyre_core::{Node, NodeConfig, ProtocolType, PublishOptions};
use gyre_protocol::{Command, ConnectRequest, SubscribeRequest};

/// Upper bound for anything the benchmark waits on: a broadcast that never arrives fails it
/// instead of hanging.
const WAIT: Duration = Duration::from_secs(30);

/// `channels` channels with `per_channel` subscribers each.
#[derive(Debug, Clone, Copy)]
struct Shape {
    channels: usize,
    per_channel: usize,
}

impl Shape {
    fn subscribers(self) -> usize {
        self.channels * self.per_channel
    }

    fn label(self) -> String {
        if self.channels == 1 {
            self.per_channel.to_string()
        } else {
            format!("{}x{}", self.channels, self.per_channel)
        }
    }
}

const SHAPES: [Shape; 4] = [
    Shape {
        channels: 1,
        per_channel: 1,
    },
    Shape {
        channels: 1,
        per_channel: 100,
    },
    Shape {
        channels: 1,
        per_channel: 10_000,
    },
    Shape {
        channels: 4,
        per_channel: 2_500,
    },
];

/// A node and its subscribed connections.
struct Fleet {
    node: Node,
    channels: Vec<String>,
    conns: Vec<TestConn>,
    /// What every publication carries (a cheap clone: the buffer is shared).
    data: Bytes,
    /// Size of the encoded publication push every subscriber receives.
    message_len: usize,
}

fn payload() -> Bytes {
    let text = "x".repeat(100 - r#"{"text":""}"#.len());
    let data = format!(r#"{{"text":"{text}"}}"#);
    assert_eq!(data.len(), 100);
    Bytes::from(data)
}

fn handshake(channel: &str) -> [Command; 2] {
    [
        Command {
            id: 1,
            connect: Some(ConnectRequest {
                token: "bench".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
        Command {
            id: 2,
            subscribe: Some(SubscribeRequest {
                channel: channel.into(),
                ..Default::default()
            }),
            ..Default::default()
        },
    ]
}

/// The `id` of a reply and whether it carries an error, in either protocol.
fn reply_status(proto: ProtocolType, msg: &Bytes) -> (u32, bool) {
    match proto {
        ProtocolType::Json => {
            let v: serde_json::Value = serde_json::from_slice(msg).expect("JSON reply");
            let id = v["id"].as_u64().expect("reply id") as u32;
            (id, v.get("error").is_some())
        }
        ProtocolType::Protobuf => {
            let r: gyre_protocol::Reply = prost::Message::decode(msg.clone()).expect("Protobuf reply");
            (r.id, r.error.is_some())
        }
    }
}

impl Fleet {
    async fn start(proto: ProtocolType, shape: Shape) -> Fleet {
        let config = NodeConfig {
            // Nothing may arrive but the benchmark's publications, and nobody answers pings.
            ping_interval: None,
            pong_timeout: None,
            ..Default::default()
        };
        let node = Node::new(config, Arc::new(TestHandler::default()));
        let channels: Vec<String> = (0..shape.channels).map(|i| format!("bench:{i}")).collect();
        let mut conns = Vec::with_capacity(shape.subscribers());
        // All handshakes are sent before any reply is awaited, so the sessions run them together.
        for channel in &channels {
            for _ in 0..shape.per_channel {
                let conn = testing::connect(&node, testing::transport_info(proto));
                conn.send_commands(&handshake(channel));
                conns.push(conn);
            }
        }
        tokio::time::timeout(WAIT, async {
            for conn in &mut conns {
                for expected in [1, 2] {
                    let msg = conn.recv().await.expect("connection closed during handshake");
                    assert_eq!(reply_status(proto, &msg), (expected, false), "handshake failed");
                }
            }
        })
        .await
        .expect("handshakes timed out");
        let mut fleet = Fleet {
            node,
            channels,
            conns,
            data: payload(),
            message_len: 0,
        };
        fleet.check_first_broadcast(shape).await;
        fleet
    }

    /// Publishes once and checks what the benchmark relies on: one message per subscriber, all
    /// subscribers of a channel sharing one encoding.
    async fn check_first_broadcast(&mut self, shape: Shape) {
        self.publish().await;
        let mut lens = Vec::new();
        tokio::time::timeout(WAIT, async {
            for per_channel in self.conns.chunks_mut(shape.per_channel) {
                let mut first: Option<Bytes> = None;
                for conn in per_channel {
                    let msg = conn.recv().await.expect("connection closed");
                    match &first {
                        None => first = Some(msg),
                        Some(f) => assert_eq!(f.as_ptr(), msg.as_ptr(), "publication encoded per subscriber"),
                    }
                }
                lens.push(first.expect("channel has subscribers").len());
            }
        })
        .await
        .expect("first broadcast not delivered");
        lens.dedup();
        assert_eq!(lens.len(), 1, "channels got differently sized pushes");
        self.message_len = lens[0];
        self.check_idle();
    }

    async fn publish(&self) {
        for channel in &self.channels {
            let result = self
                .node
                .publish(channel, self.data.clone(), PublishOptions::default())
                .await
                .expect("publish");
            black_box(result);
        }
    }

    /// Reads the one message each subscriber must have received.
    async fn drain(&mut self) {
        let len = self.message_len;
        tokio::time::timeout(WAIT, async {
            for conn in &mut self.conns {
                let msg = conn
                    .recv()
                    .await
                    .expect("subscriber disconnected during the benchmark");
                assert_eq!(msg.len(), len, "unexpected message");
            }
        })
        .await
        .expect("broadcast not delivered to every subscriber");
    }

    /// Every connection is open and has nothing unread.
    fn check_idle(&mut self) {
        for conn in &mut self.conns {
            assert_eq!(conn.try_closed(), None, "a subscriber was disconnected");
            assert!(
                conn.try_recv().is_none(),
                "a subscriber got an unexpected message"
            );
        }
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn bench_shape(c: &mut Criterion, proto: ProtocolType, shape: Shape) {
    let rt = runtime();
    let mut fleet = rt.block_on(Fleet::start(proto, shape));
    let id = BenchmarkId::new(proto.as_str(), shape.label());
    let deliveries = Throughput::Elements(shape.subscribers() as u64);
    // Big fleets take milliseconds per iteration; criterion's minimum of 10 samples keeps them
    // within seconds.
    let samples = if shape.subscribers() >= 1_000 { 10 } else { 100 };

    let mut group = c.benchmark_group("fanout");
    group.throughput(deliveries.clone()).sample_size(samples);
    group.bench_function(id.clone(), |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut publishing = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    fleet.publish().await;
                    publishing += start.elapsed();
                    fleet.drain().await;
                }
                publishing
            })
        });
    });
    group.finish();
    fleet.check_idle();

    let mut group = c.benchmark_group("delivered");
    group.throughput(deliveries).sample_size(samples);
    group.bench_function(id, |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    fleet.publish().await;
                    fleet.drain().await;
                }
                start.elapsed()
            })
        });
    });
    group.finish();
    fleet.check_idle();
    // Dropping the runtime ends every session and writer task of this fleet.
    drop(fleet);
    drop(rt);
}

fn benches(c: &mut Criterion) {
    for proto in [ProtocolType::Json, ProtocolType::Protobuf] {
        for shape in SHAPES {
            bench_shape(c, proto, shape);
        }
    }
}

criterion_group!(broadcast, benches);
criterion_main!(broadcast);
