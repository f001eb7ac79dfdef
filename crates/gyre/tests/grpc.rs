//! The `gyre` binary's GRPC servers: ports reported in the log when started on port 0, the API
//! answering like the HTTP API, a uni GRPC consumer, and the consumer told 3001 on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use gyre_grpc::pb;
use gyre_grpc::pb::centrifugo_api_client::CentrifugoApiClient;
use gyre_grpc::unistream;
use gyre_grpc::unistream::centrifugo_uni_stream_client::CentrifugoUniStreamClient;

const CONFIG: &str = r#"{
    "http_api": {"key": "http-key"},
    "grpc_api": {"enabled": true, "address": "127.0.0.1", "key": "grpc-key"},
    "uni_grpc": {"enabled": true, "address": "127.0.0.1"},
    "client": {"insecure": true},
    "channel": {"without_namespace": {"history_size": 10, "history_ttl": "60s"}}
}"#;

struct Gyre {
    child: Child,
    http: u16,
    grpc: u16,
    uni: u16,
}

impl Drop for Gyre {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port of a `<message>` log line.
fn port(line: &str, message: &str) -> Option<u16> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    if value["message"] != message {
        return None;
    }
    value["address"].as_str()?.rsplit(':').next()?.parse().ok()
}

fn start() -> Gyre {
    let dir = std::env::temp_dir().join(format!("gyre-grpc-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.json"), CONFIG).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gyre"))
        .args(["-c", "config.json", "-p", "0", "-a", "127.0.0.1"])
        .args(["--grpc_api.port", "0", "--uni_grpc.port", "0"])
        .current_dir(&dir)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("start gyre");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            for message in [
                "HTTP server listening",
                "GRPC API server listening",
                "uni GRPC server listening",
            ] {
                if let Some(p) = port(&line, message) {
                    let _ = tx.send((message, p));
                }
            }
        }
    });
    let (mut http, mut grpc, mut uni) = (None, None, None);
    while http.is_none() || grpc.is_none() || uni.is_none() {
        let (message, p) = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("gyre did not report its ports");
        match message {
            "HTTP server listening" => http = Some(p),
            "GRPC API server listening" => grpc = Some(p),
            _ => uni = Some(p),
        }
    }
    Gyre {
        child,
        http: http.unwrap(),
        grpc: grpc.unwrap(),
        uni: uni.unwrap(),
    }
}

fn http_api(port: u16, method: &str, body: &str) -> serde_json::Value {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        stream,
        "POST /api/{method} HTTP/1.1\r\nHost: x\r\nX-API-Key: http-key\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    let _ = stream.read_to_string(&mut out);
    let (_, body) = out.split_once("\r\n\r\n").unwrap();
    serde_json::from_str(body).unwrap()
}

fn keyed<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", "apikey grpc-key".parse().unwrap());
    request
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_api_and_uni_grpc_from_the_binary() {
    let mut gyre = start();
    assert!(gyre.grpc != 0 && gyre.uni != 0 && gyre.grpc != gyre.uni);

    let mut uni = CentrifugoUniStreamClient::connect(format!("http://127.0.0.1:{}", gyre.uni))
        .await
        .unwrap();
    let mut stream = uni
        .consume(unistream::ConnectRequest::default())
        .await
        .unwrap()
        .into_inner();
    let first = stream.message().await.unwrap().unwrap();
    assert!(first.connect.is_some(), "{first:?}");

    let mut api = CentrifugoApiClient::connect(format!("http://127.0.0.1:{}", gyre.grpc))
        .await
        .unwrap();
    let refused = api.info(pb::InfoRequest {}).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    let info = api.info(keyed(pb::InfoRequest {})).await.unwrap().into_inner();
    let node = &info.result.unwrap().nodes[0];
    let http_info = http_api(gyre.http, "info", "{}");
    let http_node = &http_info["result"]["nodes"][0];
    assert_eq!(node.num_clients, 1);
    assert_eq!(http_node["num_clients"], node.num_clients);
    assert_eq!(http_node["uid"], node.uid.as_str());
    assert_eq!(http_node["version"], node.version.as_str());

    let published = api
        .publish(keyed(pb::PublishRequest {
            channel: "news".into(),
            data: bytes::Bytes::from_static(b"{}"),
            idempotency_key: "once".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let via_http = http_api(
        gyre.http,
        "publish",
        r#"{"channel":"news","data":{},"idempotency_key":"once"}"#,
    );
    let result = published.result.unwrap();
    assert_eq!(result.offset, 1);
    assert_eq!(via_http["result"]["offset"], result.offset);
    assert_eq!(via_http["result"]["epoch"], result.epoch.as_str());

    let pid = gyre.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let disconnect = loop {
        let push = tokio::time::timeout(Duration::from_secs(15), stream.message())
            .await
            .expect("no disconnect push after SIGTERM")
            .unwrap()
            .expect("stream ended without a disconnect push");
        if let Some(d) = push.disconnect {
            break d;
        }
    };
    assert_eq!(disconnect.code, 3001);
    let status = tokio::task::spawn_blocking(move || {
        let status = gyre.child.wait();
        (status, gyre)
    });
    let (status, _gyre) = tokio::time::timeout(Duration::from_secs(15), status)
        .await
        .expect("gyre did not exit after SIGTERM")
        .unwrap();
    assert!(status.unwrap().success());
}
