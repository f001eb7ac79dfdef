//! Encode and decode cost of the messages on a connection's hot paths, JSON against Protobuf.
//!
//!     cargo bench -p gyre-protocol --bench codec
//!     cargo bench -p gyre-protocol --bench codec -- --warm-up-time 1 --measurement-time 3
//!     cargo bench -p gyre-protocol --bench codec -- decode/     # one group (a name filter)
//!
//! * `encode/publication_*`: a publication push wrapped in a reply (what every subscriber of a
//!   bidirectional connection receives), with 100 B and 4 KiB of data, info and an offset.
//! * `encode/connect_reply`, `encode/subscribe_reply`: the replies that follow a handshake.
//! * `decode/*`: a connect command, a subscribe command and one frame of 16 publish commands
//!   (JSON lines joined by `\n`, Protobuf varint-delimited), decoded as the session does it:
//!   one command at a time from `iter_commands_shared` (`bytes` fields zero-copy from the frame).
//! * `frame/16_messages`: joining 16 encoded 100 B publication pushes into one WebSocket frame.
//!
//! Throughput is bytes of the encoded message or frame (input for decode, output for encode).

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use prost::Message as _;

use gyre_protocol::codec::{decode_commands_shared, encode_reply, frame_messages, iter_commands_shared};
use gyre_protocol::{
    ClientInfo, Command, ConnectRequest, ConnectResult, ProtocolType, Publication, PublishRequest, Push,
    Reply, SubscribeRequest, SubscribeResult,
};

const PROTOCOLS: [ProtocolType; 2] = [ProtocolType::Json, ProtocolType::Protobuf];

/// Frame limit of the decoder, as a transport would pass it (64 KiB messages).
const MAX_MESSAGE: usize = 65536;

/// A JSON object of exactly `len` bytes (valid for both protocols: Protobuf carries it as bytes).
fn json_payload(len: usize) -> Bytes {
    let head = r#"{"type":"score","text":""#;
    let tail = r#""}"#;
    assert!(len >= head.len() + tail.len());
    let mut out = String::with_capacity(len);
    out.push_str(head);
    let filler = len - head.len() - tail.len();
    out.extend((0..filler).map(|i| char::from(b'a' + (i % 26) as u8)));
    out.push_str(tail);
    Bytes::from(out)
}

fn publication_push(data: Bytes) -> Reply {
    Reply {
        push: Some(Push {
            channel: "news:sport".into(),
            r#pub: Some(Publication {
                data,
                info: Some(ClientInfo {
                    user: "42".into(),
                    client: "5f1c0a3e-8d7b-4c52-9a61-0e2f3b4c5d6e".into(),
                    ..Default::default()
                }),
                offset: 1_234,
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn connect_reply() -> Reply {
    Reply {
        id: 1,
        connect: Some(ConnectResult {
            client: "5f1c0a3e-8d7b-4c52-9a61-0e2f3b4c5d6e".into(),
            version: "0.1.0".into(),
            expires: true,
            ttl: 3_540,
            ping: 25,
            pong: true,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn subscribe_reply() -> Reply {
    Reply {
        id: 2,
        subscribe: Some(SubscribeResult {
            recoverable: true,
            epoch: "xGhT".into(),
            offset: 1_234,
            positioned: true,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A token shaped like an HS256 JWT (three base64url parts), the usual connect credential.
fn token() -> String {
    let part = |n: usize| -> String {
        (0..n)
            .map(|i| {
                char::from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[i * 7 % 64])
            })
            .collect()
    };
    format!("{}.{}.{}", part(36), part(96), part(43))
}

fn connect_command() -> Command {
    Command {
        id: 1,
        connect: Some(ConnectRequest {
            token: token(),
            name: "js".into(),
            version: "5.2.0".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn subscribe_command() -> Command {
    Command {
        id: 2,
        subscribe: Some(SubscribeRequest {
            channel: "news:sport".into(),
            recover: true,
            epoch: "xGhT".into(),
            offset: 1_234,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn publish_command(id: u32) -> Command {
    Command {
        id,
        publish: Some(PublishRequest {
            channel: "chat:lobby".into(),
            data: Bytes::from(format!(r#"{{"text":"message number {id} from the benchmark"}}"#)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// One command as a client SDK writes it in JSON (the JSON codec has no command encoder: the
/// server never writes commands).
fn command_json(c: &Command) -> String {
    let data = |b: &Bytes| std::str::from_utf8(b).expect("JSON data").to_owned();
    if let Some(r) = &c.connect {
        format!(
            r#"{{"id":{},"connect":{{"token":"{}","name":"{}","version":"{}"}}}}"#,
            c.id, r.token, r.name, r.version
        )
    } else if let Some(r) = &c.subscribe {
        format!(
            r#"{{"id":{},"subscribe":{{"channel":"{}","recover":{},"epoch":"{}","offset":{}}}}}"#,
            c.id, r.channel, r.recover, r.epoch, r.offset
        )
    } else if let Some(r) = &c.publish {
        format!(
            r#"{{"id":{},"publish":{{"channel":"{}","data":{}}}}}"#,
            c.id,
            r.channel,
            data(&r.data)
        )
    } else {
        unreachable!("the benchmark only builds connect, subscribe and publish commands")
    }
}

/// A client frame holding `commands`: JSON lines joined by `\n`, or varint-delimited Protobuf.
fn command_frame(proto: ProtocolType, commands: &[Command]) -> Bytes {
    match proto {
        ProtocolType::Json => {
            let lines: Vec<String> = commands.iter().map(command_json).collect();
            Bytes::from(lines.join("\n"))
        }
        ProtocolType::Protobuf => {
            let mut out = BytesMut::new();
            for c in commands {
                c.encode_length_delimited(&mut out).expect("BytesMut grows");
            }
            out.freeze()
        }
    }
}

fn bench_encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    let cases = [
        ("publication_100B", publication_push(json_payload(100))),
        ("publication_4KiB", publication_push(json_payload(4096))),
        ("connect_reply", connect_reply()),
        ("subscribe_reply", subscribe_reply()),
    ];
    for (name, reply) in &cases {
        for proto in PROTOCOLS {
            let size = encode_reply(proto, reply).expect("encodable").len();
            group.throughput(Throughput::Bytes(size as u64));
            group.bench_with_input(BenchmarkId::new(*name, proto.as_str()), reply, |b, reply| {
                b.iter(|| encode_reply(proto, black_box(reply)).expect("encodable"));
            });
        }
    }
    group.finish();
}

fn bench_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    let publishes: Vec<Command> = (1..=16).map(publish_command).collect();
    let cases = [
        ("connect", vec![connect_command()]),
        ("subscribe", vec![subscribe_command()]),
        ("publish_x16", publishes),
    ];
    for (name, commands) in &cases {
        for proto in PROTOCOLS {
            let frame = command_frame(proto, commands);
            // The benchmark must decode what it claims to: the frame round-trips.
            let decoded = decode_commands_shared(proto, &frame, MAX_MESSAGE).expect("decodable");
            assert_eq!(&decoded, commands, "{name} {proto:?}");
            group.throughput(Throughput::Bytes(frame.len() as u64));
            group.bench_with_input(BenchmarkId::new(*name, proto.as_str()), &frame, |b, frame| {
                // One command at a time, as the session consumes a frame: no Vec of commands.
                b.iter(|| {
                    for command in iter_commands_shared(proto, black_box(frame), MAX_MESSAGE) {
                        black_box(command.expect("decodable"));
                    }
                });
            });
        }
    }
    group.finish();
}

fn bench_frame(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame");
    for proto in PROTOCOLS {
        let messages: Vec<Bytes> = (0..16)
            .map(|_| encode_reply(proto, &publication_push(json_payload(100))).expect("encodable"))
            .collect();
        let mut sized = BytesMut::new();
        frame_messages(proto, &messages, &mut sized);
        group.throughput(Throughput::Bytes(sized.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("16_messages", proto.as_str()),
            &messages,
            |b, messages| {
                // A fresh buffer per frame, as the WebSocket writer does.
                b.iter(|| {
                    let mut out = BytesMut::new();
                    frame_messages(proto, black_box(messages), &mut out);
                    out.freeze()
                });
            },
        );
    }
    group.finish();
}

/// Checks a claim the benchmark names rely on: the payloads have the sizes they are called by.
fn check_payload_sizes() {
    assert_eq!(json_payload(100).len(), 100);
    assert_eq!(json_payload(4096).len(), 4096);
}

fn benches(c: &mut Criterion) {
    check_payload_sizes();
    bench_encode(c);
    bench_decode(c);
    bench_frame(c);
}

criterion_group!(codec, benches);
criterion_main!(codec);
