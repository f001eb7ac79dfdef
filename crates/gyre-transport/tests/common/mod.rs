//! A server with every transport on 127.0.0.1:0, and a minimal HTTP/1.1 client that reads a
//! chunked streaming body as it arrives (what an SSE or HTTP-streaming client does).
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use gyre_config::{Config, SharedConfig, Snapshot};
use gyre_core::testing::TestHandler;
use gyre_core::{Node, NodeConfig};

/// Upper bound for anything a test waits for; a hang fails instead of blocking CI.
pub const WAIT: Duration = Duration::from_secs(10);

pub struct Server {
    pub addr: SocketAddr,
    pub node: Node,
}

/// Serves the WebSocket, emulation and unidirectional routers of `config`.
pub async fn serve(config: Config, node_config: NodeConfig, handler: TestHandler) -> Server {
    let shared: SharedConfig = Arc::new(ArcSwap::from_pointee(Snapshot::new(config).unwrap()));
    let node = Node::new(node_config, Arc::new(handler));
    let emulation = gyre_transport::emulation_routers(node.clone(), shared.clone());
    let app = gyre_transport::websocket_router(node.clone(), shared.clone())
        .merge(emulation.connections)
        .merge(emulation.endpoint)
        .merge(gyre_transport::unidirectional_router(node.clone(), shared));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(gyre_transport::serve_http(
        listener,
        app,
        tokio_util::sync::CancellationToken::new(),
    ));
    Server { addr, node }
}

/// Every HTTP transport enabled, with allowed origin `http://ok.example`.
pub fn all_enabled() -> Config {
    let mut config = Config::default();
    config.sse.enabled = true;
    config.http_stream.enabled = true;
    config.uni_sse.enabled = true;
    config.uni_http_stream.enabled = true;
    config.uni_websocket.enabled = true;
    config.client.allowed_origins = vec!["http://ok.example".into()];
    config
}

/// Node settings without pings (tests that want pings set them).
pub fn no_ping() -> NodeConfig {
    NodeConfig {
        ping_interval: None,
        pong_timeout: None,
        ..Default::default()
    }
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    body: Body,
}

enum Framing {
    Chunked,
    Length(usize),
    /// No length: read to the end of the connection.
    Close,
}

struct Body {
    stream: TcpStream,
    /// Raw bytes read and not yet decoded.
    raw: Vec<u8>,
    /// Decoded body bytes not yet consumed.
    data: Vec<u8>,
    framing: Framing,
    done: bool,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Reads until the decoded body contains `delimiter`; returns everything up to and including
    /// it. `None` when the body ends first.
    pub async fn read_until(&mut self, delimiter: &[u8]) -> Option<Vec<u8>> {
        loop {
            if let Some(at) = find(&self.body.data, delimiter) {
                let rest = self.body.data.split_off(at + delimiter.len());
                return Some(std::mem::replace(&mut self.body.data, rest));
            }
            if !tokio::time::timeout(WAIT, self.body.fill())
                .await
                .expect("body stalled")
            {
                return None;
            }
        }
    }

    /// Reads exactly `n` body bytes; `None` when the body ends first.
    pub async fn read_exact(&mut self, n: usize) -> Option<Vec<u8>> {
        while self.body.data.len() < n {
            if !tokio::time::timeout(WAIT, self.body.fill())
                .await
                .expect("body stalled")
            {
                return None;
            }
        }
        let rest = self.body.data.split_off(n);
        Some(std::mem::replace(&mut self.body.data, rest))
    }

    /// The rest of the body (waits for its end).
    pub async fn read_to_end(&mut self) -> Vec<u8> {
        while tokio::time::timeout(WAIT, self.body.fill())
            .await
            .expect("body did not end")
        {}
        std::mem::take(&mut self.body.data)
    }

    /// The next JSON line of an HTTP-streaming body.
    pub async fn json_line(&mut self) -> Option<serde_json::Value> {
        let line = self.read_until(b"\n").await?;
        Some(
            serde_json::from_slice(&line)
                .unwrap_or_else(|e| panic!("not JSON: {e}: {:?}", String::from_utf8_lossy(&line))),
        )
    }

    /// The next SSE event's data, parsed as JSON.
    pub async fn sse_event(&mut self) -> Option<serde_json::Value> {
        let event = self.read_until(b"\n\n").await?;
        let text = String::from_utf8(event).unwrap();
        let data = text
            .strip_prefix("data: ")
            .unwrap_or_else(|| panic!("not an SSE data event: {text:?}"));
        Some(serde_json::from_str(data.trim_end()).unwrap())
    }

    /// The next varint-delimited protobuf message of a body.
    pub async fn protobuf_message(&mut self) -> Option<Vec<u8>> {
        let mut len = 0usize;
        for shift in (0..64).step_by(7) {
            let byte = self.read_exact(1).await?[0];
            len |= usize::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                break;
            }
        }
        self.read_exact(len).await
    }
}

impl Body {
    /// Reads more and decodes what it can; false once the body has ended.
    async fn fill(&mut self) -> bool {
        loop {
            if self.done {
                return false;
            }
            let before = self.data.len();
            self.decode();
            if self.data.len() > before || self.done {
                return self.data.len() > before;
            }
            let mut buf = [0u8; 16384];
            let n = self.stream.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                if let Framing::Close = self.framing {
                    self.data.append(&mut self.raw);
                }
                self.done = true;
                return false;
            }
            self.raw.extend_from_slice(&buf[..n]);
        }
    }

    fn decode(&mut self) {
        match self.framing {
            Framing::Close => self.data.append(&mut self.raw),
            Framing::Length(ref mut left) => {
                let n = (*left).min(self.raw.len());
                self.data.extend(self.raw.drain(..n));
                *left -= n;
                if *left == 0 {
                    self.done = true;
                }
            }
            Framing::Chunked => loop {
                let Some(eol) = find(&self.raw, b"\r\n") else {
                    return;
                };
                let size = std::str::from_utf8(&self.raw[..eol]).unwrap();
                let size = usize::from_str_radix(size.split(';').next().unwrap().trim(), 16)
                    .unwrap_or_else(|_| panic!("bad chunk size {size:?}"));
                if self.raw.len() < eol + 2 + size + 2 {
                    return;
                }
                if size == 0 {
                    self.done = true;
                    return;
                }
                let chunk: Vec<u8> = self.raw.drain(..eol + 2 + size + 2).collect();
                self.data.extend_from_slice(&chunk[eol + 2..eol + 2 + size]);
            },
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Sends one HTTP/1.1 request (with `Content-Length` when a body is given) and reads the head.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Response {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body.unwrap_or_default());
    stream.write_all(&out).await.unwrap();
    read_head(stream).await
}

async fn read_head(mut stream: TcpStream) -> Response {
    let mut raw = Vec::new();
    let end = loop {
        if let Some(at) = find(&raw, b"\r\n\r\n") {
            break at;
        }
        let mut buf = [0u8; 4096];
        let n = tokio::time::timeout(WAIT, stream.read(&mut buf))
            .await
            .expect("no response head")
            .unwrap();
        assert!(n > 0, "connection closed before the response head: {raw:?}");
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8(raw[..end].to_vec()).unwrap();
    let rest = raw[end + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    let get = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    let framing = if get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        Framing::Chunked
    } else if let Some(len) = get("content-length") {
        Framing::Length(len.parse().unwrap())
    } else {
        Framing::Close
    };
    let done = matches!(framing, Framing::Length(0));
    Response {
        status,
        headers,
        body: Body {
            stream,
            raw: rest,
            data: Vec::new(),
            framing,
            done,
        },
    }
}

/// Waits (bounded) until the node counts `n` connections.
pub async fn wait_clients(node: &Node, n: u32) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while node.info().num_clients != n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "node has {} clients, expected {n}",
            node.info().num_clients
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
