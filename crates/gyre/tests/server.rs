//! The `gyre` binary as a process: start-up on a free port, the HTTP perimeter, and shutdown.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Option<Child>,
    port: u16,
    /// Addresses of listeners reported after the first one (external first, then internal).
    more: std::sync::mpsc::Receiver<std::net::SocketAddr>,
}

impl Server {
    fn start(config: &str) -> Server {
        let dir = std::env::temp_dir().join(format!("gyre-server-{}-{}", std::process::id(), rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.json"), config).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_gyre"))
            .args(["-c", "config.json", "-p", "0", "-a", "127.0.0.1"])
            .current_dir(&dir)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start gyre");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = listening_addr(&line) {
                    let _ = tx.send(addr);
                }
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("gyre did not report its port")
            .port();
        Server {
            child: Some(child),
            port,
            more: rx,
        }
    }

    fn request(&self, raw: &str) -> String {
        request((std::net::Ipv4Addr::LOCALHOST, self.port).into(), raw)
    }
}

fn request(addr: std::net::SocketAddr, raw: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(raw.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = stream.read_to_string(&mut out);
    out
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Only the status line: an upgraded connection stays open after it.
fn status_line(addr: std::net::SocketAddr, raw: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(raw.as_bytes()).unwrap();
    let mut line = String::new();
    let _ = BufReader::new(stream).read_line(&mut line);
    line
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
}

fn listening_addr(line: &str) -> Option<std::net::SocketAddr> {
    if !line.contains("HTTP server listening") {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    value["address"].as_str()?.parse().ok()
}

const CONFIG: &str =
    r#"{"health": {"enabled": true}, "prometheus": {"enabled": true}, "http_api": {"key": "k"}}"#;

#[test]
fn health_metrics_and_api_on_a_free_port() {
    let server = Server::start(CONFIG);
    assert_ne!(server.port, 8000);
    let health = server.request("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.ends_with("{}"), "{health}");
    let metrics = server.request("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(metrics.contains("centrifugo_node_num_clients 0"), "{metrics}");
    let body = r#"{"channel":"news","data":{"a":1}}"#;
    let publish = server.request(&format!(
        "POST /api/publish HTTP/1.1\r\nHost: x\r\nX-API-Key: k\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    assert!(
        publish.starts_with("HTTP/1.1 200") && publish.ends_with(r#"{"result":{}}"#),
        "{publish}"
    );
}

/// `http_server.internal_address`/`internal_port`: the API, health and metrics move to the
/// internal listener; client transports stay on the external one and each is absent from the other.
#[test]
fn internal_port_splits_the_endpoints() {
    let config = r#"{"health": {"enabled": true}, "prometheus": {"enabled": true}, "http_api": {"key": "k"},
        "http_server": {"internal_address": "127.0.0.2", "internal_port": "0"}}"#;
    let server = Server::start(config);
    let internal = server
        .more
        .recv_timeout(Duration::from_secs(20))
        .expect("gyre did not report its internal listener");
    assert_eq!(internal.ip().to_string(), "127.0.0.2");
    let external: std::net::SocketAddr = (std::net::Ipv4Addr::LOCALHOST, server.port).into();
    let get = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let body = r#"{"channel":"news","data":{}}"#;
    let publish = format!(
        "POST /api/publish HTTP/1.1\r\nHost: x\r\nX-API-Key: k\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let upgrade =
        "GET /connection/websocket HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
        Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    for (raw, on_internal) in [
        (get("/health"), true),
        (get("/metrics"), true),
        (publish, true),
        (upgrade.to_string(), false),
    ] {
        let (home, other) = if on_internal {
            (internal, external)
        } else {
            (external, internal)
        };
        let served = status_line(home, &raw);
        assert!(
            served.starts_with("HTTP/1.1 200") || served.starts_with("HTTP/1.1 101"),
            "{raw}: {served}"
        );
        let absent = status_line(other, &raw);
        assert!(absent.starts_with("HTTP/1.1 404"), "{raw}: {absent}");
    }
}

/// A client trickling its request headers is cut off by the header read timeout (10 s) while
/// other clients are served normally.
#[test]
fn slow_headers_are_cut_off() {
    let server = Server::start(CONFIG);
    let mut slow = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let started = Instant::now();
    let health = server.request("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(9), "closed too early: {waited:?}");
    assert!(
        waited < Duration::from_secs(19),
        "not closed by the header timeout: {waited:?}"
    );
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
}

#[test]
fn sigterm_exits_cleanly() {
    let mut server = Server::start(CONFIG);
    let mut child = server.child.take().unwrap();
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    match rx.recv_timeout(Duration::from_secs(15)) {
        Ok(status) => assert!(status.unwrap().success()),
        Err(_) => {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
            panic!("gyre did not exit after SIGTERM");
        }
    }
}
