//! permessage-deflate over real sockets on 127.0.0.1, with a raw client that controls every
//! frame bit (tungstenite does not implement the extension).

use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use flate2::{Compress, Compression, FlushCompress};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use gyre_config::{Config, SharedConfig, Snapshot};
use gyre_core::testing::TestHandler;
use gyre_core::{Node, NodeConfig};

const WAIT: Duration = Duration::from_secs(10);
const OFFER: &str = "permessage-deflate; client_max_window_bits";
const ACCEPTED: &str = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const RSV1: u8 = 0x40;

async fn serve(config: Config) -> (SocketAddr, Node) {
    let shared: SharedConfig = Arc::new(ArcSwap::from_pointee(Snapshot::new(config).unwrap()));
    let node = Node::new(NodeConfig::default(), Arc::new(TestHandler::default()));
    let app = gyre_transport::websocket_router(node.clone(), shared.clone())
        .merge(gyre_transport::unidirectional_router(node.clone(), shared));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(gyre_transport::serve_http(
        listener,
        app,
        tokio_util::sync::CancellationToken::new(),
    ));
    (addr, node)
}

fn compressing() -> Config {
    let mut config = Config::default();
    config.websocket.compression = true;
    config
}

struct Raw {
    stream: TcpStream,
    buf: Vec<u8>,
    /// The `Sec-WebSocket-Extensions` response header, if any.
    extensions: Option<String>,
}

/// A frame as received: its first byte (FIN, RSV, opcode) and payload.
struct Frame {
    b0: u8,
    payload: Vec<u8>,
}

impl Frame {
    fn compressed(&self) -> bool {
        self.b0 & RSV1 != 0
    }

    fn opcode(&self) -> u8 {
        self.b0 & 0x0F
    }

    /// The message inside: inflated when RSV1 is set, as a client does (RFC 7692 §7.2.2).
    fn message(&self) -> Vec<u8> {
        if !self.compressed() {
            return self.payload.clone();
        }
        let mut stream = self.payload.clone();
        stream.extend_from_slice(&[0, 0, 0xff, 0xff, 0x01, 0, 0, 0xff, 0xff]);
        let mut out = Vec::new();
        flate2::read::DeflateDecoder::new(&stream[..])
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn close_code(&self) -> (u16, String) {
        assert_eq!(self.opcode(), CLOSE, "not a close frame: {:#x}", self.b0);
        let code = u16::from_be_bytes([self.payload[0], self.payload[1]]);
        (code, String::from_utf8(self.payload[2..].to_vec()).unwrap())
    }
}

impl Raw {
    async fn dial(addr: SocketAddr, query: &str, extensions: Option<&str>) -> Raw {
        Raw::dial_path(addr, &format!("/connection/websocket{query}"), extensions).await
    }

    async fn dial_path(addr: SocketAddr, path: &str, extensions: Option<&str>) -> Raw {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let offer = extensions
            .map(|e| format!("Sec-WebSocket-Extensions: {e}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n{offer}\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Raw {
            stream,
            buf: Vec::new(),
            extensions: None,
        };
        let end = loop {
            if let Some(i) = raw.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            raw.fill().await;
        };
        let head = String::from_utf8(raw.buf.drain(..end + 4).collect()).unwrap();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        raw.extensions = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(name, _)| name.eq_ignore_ascii_case("sec-websocket-extensions"))
            .map(|(_, v)| v.trim().to_owned());
        raw
    }

    async fn fill(&mut self) {
        let mut chunk = [0u8; 16384];
        let n = tokio::time::timeout(WAIT, self.stream.read(&mut chunk))
            .await
            .expect("nothing received in time")
            .unwrap();
        assert!(n > 0, "connection closed");
        self.buf.extend_from_slice(&chunk[..n]);
    }

    async fn send(&mut self, b0: u8, payload: &[u8]) {
        let mut frame = vec![b0];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n <= 0xFFFF => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let mask = [0x11, 0x22, 0x33, 0x44];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame).await.unwrap();
    }

    /// Sends a whole message compressed in one frame.
    async fn send_compressed(&mut self, opcode: u8, message: &[u8]) {
        self.send(0x80 | RSV1 | opcode, &client_deflate(message)).await;
    }

    async fn recv(&mut self) -> Frame {
        loop {
            if self.buf.len() >= 2 {
                let (len, at) = match self.buf[1] & 0x7F {
                    126 if self.buf.len() >= 4 => {
                        (usize::from(u16::from_be_bytes([self.buf[2], self.buf[3]])), 4)
                    }
                    127 if self.buf.len() >= 10 => (
                        u64::from_be_bytes(self.buf[2..10].try_into().unwrap()) as usize,
                        10,
                    ),
                    126 | 127 => (usize::MAX, 0),
                    n => (usize::from(n), 2),
                };
                assert_eq!(self.buf[1] & 0x80, 0, "server frames are not masked");
                if len != usize::MAX && self.buf.len() >= at + len {
                    let b0 = self.buf[0];
                    let payload = self.buf[at..at + len].to_vec();
                    self.buf.drain(..at + len);
                    return Frame { b0, payload };
                }
            }
            self.fill().await;
        }
    }

    /// The next data frame, skipping protocol pings (empty JSON objects are not expected here).
    async fn recv_data(&mut self) -> Frame {
        let frame = self.recv().await;
        assert!(matches!(frame.opcode(), TEXT | BINARY), "{:#x}", frame.b0);
        frame
    }
}

/// What a client sends: the message compressed (sync flush), its `00 00 ff ff` tail stripped.
fn client_deflate(message: &[u8]) -> Vec<u8> {
    let mut compress = Compress::new(Compression::new(6), false);
    let mut out = Vec::with_capacity(message.len() / 2 + 1024);
    loop {
        let consumed = compress.total_in() as usize;
        compress
            .compress_vec(&message[consumed..], &mut out, FlushCompress::Sync)
            .unwrap();
        if compress.total_in() as usize == message.len() && out.len() < out.capacity() {
            break;
        }
        out.reserve(out.capacity());
    }
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
    out.truncate(out.len() - 4);
    out
}

fn connect_json(user: &str) -> Vec<u8> {
    format!(r#"{{"id":1,"connect":{{"token":"{user}"}}}}"#).into_bytes()
}

#[tokio::test]
async fn negotiated_only_when_enabled_and_offered() {
    let (on, _node) = serve(compressing()).await;
    assert_eq!(
        Raw::dial(on, "", Some(OFFER)).await.extensions.as_deref(),
        Some(ACCEPTED)
    );
    assert_eq!(Raw::dial(on, "", None).await.extensions, None);
    let declined = "permessage-deflate; server_max_window_bits=9";
    assert_eq!(Raw::dial(on, "", Some(declined)).await.extensions, None);

    let (off, _node) = serve(Config::default()).await;
    let mut client = Raw::dial(off, "", Some(OFFER)).await;
    assert_eq!(client.extensions, None);
    // Without the extension a compressed frame is a protocol violation.
    client.send_compressed(TEXT, &connect_json("alice")).await;
    assert_eq!(client.recv().await.close_code().0, 1002);
}

#[tokio::test]
async fn json_both_ways() {
    let (addr, node) = serve(compressing()).await;
    let mut client = Raw::dial(addr, "", Some(OFFER)).await;
    client.send_compressed(TEXT, &connect_json("alice")).await;
    let reply = client.recv_data().await;
    assert!(reply.compressed(), "min size 0 compresses every frame");
    assert_eq!(reply.opcode(), TEXT);
    let reply: serde_json::Value = serde_json::from_slice(&reply.message()).unwrap();
    assert_eq!(reply["id"], 1);
    assert!(reply["connect"]["client"].is_string());

    // Uncompressed messages stay valid on a compressing connection.
    client
        .send(0x81, br#"{"id":2,"subscribe":{"channel":"news"}}"#)
        .await;
    let reply: serde_json::Value = serde_json::from_slice(&client.recv_data().await.message()).unwrap();
    assert_eq!(reply["id"], 2);

    let data = format!(r#"{{"text":"{}"}}"#, "all work and no play ".repeat(100));
    node.publish("news", Bytes::from(data.clone()), Default::default())
        .await
        .unwrap();
    let push = client.recv_data().await;
    assert!(push.compressed());
    assert!(
        push.payload.len() * 5 < data.len(),
        "{} bytes on the wire",
        push.payload.len()
    );
    let push: serde_json::Value = serde_json::from_slice(&push.message()).unwrap();
    assert_eq!(push["push"]["pub"]["data"]["text"].as_str().unwrap().len(), 2100);
}

#[tokio::test]
async fn fragmented_compressed_message() {
    let (addr, _node) = serve(compressing()).await;
    let mut client = Raw::dial(addr, "", Some(OFFER)).await;
    let compressed = client_deflate(&connect_json("bob"));
    let (a, b) = compressed.split_at(compressed.len() / 2);
    // RSV1 on the first fragment only.
    client.send(RSV1 | TEXT, a).await;
    client.send(0x80, b).await;
    let reply: serde_json::Value = serde_json::from_slice(&client.recv_data().await.message()).unwrap();
    assert_eq!(reply["id"], 1);
}

#[tokio::test]
async fn protobuf_both_ways() {
    let (addr, _node) = serve(compressing()).await;
    let mut client = Raw::dial(addr, "?cf_protocol=protobuf", Some(OFFER)).await;
    let cmd = gyre_core::testing::encode_commands(
        gyre_core::ProtocolType::Protobuf,
        &[gyre_protocol::Command {
            id: 1,
            connect: Some(gyre_protocol::ConnectRequest {
                token: "carol".into(),
                ..Default::default()
            }),
            ..Default::default()
        }],
    );
    client.send_compressed(BINARY, &cmd).await;
    let frame = client.recv_data().await;
    assert!(frame.compressed());
    assert_eq!(frame.opcode(), BINARY);
    let message = frame.message();
    let mut buf = &message[..];
    let len = prost::encoding::decode_varint(&mut buf).unwrap() as usize;
    assert_eq!(len, buf.len());
    let reply = <gyre_protocol::Reply as prost::Message>::decode(buf).unwrap();
    assert_eq!(reply.id, 1);
    assert!(reply.connect.is_some());
}

#[tokio::test]
async fn frames_up_to_min_size_go_uncompressed() {
    let mut config = compressing();
    config.websocket.compression_min_size = 200;
    let (addr, node) = serve(config).await;
    let mut client = Raw::dial(addr, "", Some(OFFER)).await;
    client.send_compressed(TEXT, &connect_json("dave")).await;
    let reply = client.recv_data().await;
    assert!(reply.payload.len() <= 200, "{}", reply.payload.len());
    assert!(!reply.compressed());
    client
        .send(0x81, br#"{"id":2,"subscribe":{"channel":"news"}}"#)
        .await;
    client.recv_data().await;

    // The push frame around `data` adds about 40 bytes: 150 stays under 200, 400 goes over.
    for (size, compressed) in [(150, false), (400, true)] {
        let data = format!(r#""{}""#, "x".repeat(size));
        node.publish("news", Bytes::from(data), Default::default())
            .await
            .unwrap();
        let push = client.recv_data().await;
        assert_eq!(push.compressed(), compressed, "{size}");
        let push: serde_json::Value = serde_json::from_slice(&push.message()).unwrap();
        assert_eq!(push["push"]["pub"]["data"].as_str().unwrap().len(), size);
    }
}

#[tokio::test]
async fn compression_bomb_closes_with_1009() {
    let mut config = compressing();
    config.websocket.decompressed_message_size_limit = 100_000;
    let (addr, _node) = serve(config).await;

    // At the limit: accepted (a JSON connect padded with spaces to exactly 100 000 bytes).
    let mut exact = connect_json("erin");
    exact.resize(100_000, b' ');
    let mut client = Raw::dial(addr, "", Some(OFFER)).await;
    client.send_compressed(TEXT, &exact).await;
    let reply: serde_json::Value = serde_json::from_slice(&client.recv_data().await.message()).unwrap();
    assert_eq!(reply["id"], 1);

    // 16 MiB of spaces: about 16 KiB compressed, well under the 64 KiB wire limit.
    let mut bomb = connect_json("erin");
    bomb.resize(16 << 20, b' ');
    let compressed = client_deflate(&bomb);
    assert!(compressed.len() < 65536, "{}", compressed.len());
    let mut client = Raw::dial(addr, "", Some(OFFER)).await;
    client.send(0x80 | RSV1 | TEXT, &compressed).await;
    let (code, reason) = client.recv().await.close_code();
    assert_eq!(code, 1009);
    assert_eq!(reason, "message too big after decompression");
}

#[tokio::test]
async fn undecodable_compressed_data_is_bad_request() {
    let (addr, _node) = serve(compressing()).await;
    let mut client = Raw::dial(addr, "", Some(OFFER)).await;
    client.send(0x80 | RSV1 | TEXT, &[0xff, 0xff, 0xff]).await;
    assert_eq!(client.recv().await.close_code(), (3501, "bad request".into()));
}

#[tokio::test]
async fn rsv1_on_a_continuation_is_a_protocol_error() {
    let (addr, _node) = serve(compressing()).await;
    let mut client = Raw::dial(addr, "", Some(OFFER)).await;
    let compressed = client_deflate(&connect_json("frank"));
    client.send(RSV1 | TEXT, &compressed[..4]).await;
    client.send(0x80 | RSV1, &compressed[4..]).await;
    assert_eq!(client.recv().await.close_code().0, 1002);
}

/// `uni_websocket.compression`: the same negotiation; the connect request may come compressed
/// and the pushes go out compressed.
#[tokio::test]
async fn uni_websocket_compresses_too() {
    let mut config = Config::default();
    config.uni_websocket.enabled = true;
    let (addr, _node) = serve(config.clone()).await;
    let raw = Raw::dial_path(addr, "/connection/uni_websocket", Some(OFFER)).await;
    assert_eq!(raw.extensions, None, "off unless uni_websocket.compression");

    config.uni_websocket.compression = true;
    let (addr, _node) = serve(config).await;
    let mut raw = Raw::dial_path(addr, "/connection/uni_websocket", Some(OFFER)).await;
    assert_eq!(raw.extensions.as_deref(), Some(ACCEPTED));
    raw.send_compressed(TEXT, br#"{"token":"alice"}"#).await;
    let push = raw.recv_data().await;
    assert!(push.compressed());
    let push: serde_json::Value = serde_json::from_slice(&push.message()).unwrap();
    assert!(push["connect"]["client"].is_string(), "{push}");
}
