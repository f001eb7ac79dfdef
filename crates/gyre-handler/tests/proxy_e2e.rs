//! The HTTP backend proxies end to end: a real node and handler, in-memory client connections,
//! and a backend played by the test over real HTTP on 127.0.0.1:0.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use parking_lot::Mutex;
use serde_json::{json, Value};

use gyre_config::{ChannelNamespace, ChannelOptions, Config, SharedConfig, Snapshot};
use gyre_core::testing::{self, TestConn};
use gyre_core::{Disconnect, Node, NodeConfig, ProtocolType};
use gyre_handler::Handler;

const WAIT: Duration = Duration::from_secs(5);

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Requests the backend saw: (path, body), and a wake-up for each new one.
#[derive(Default)]
struct Calls {
    list: Mutex<Vec<(String, Value)>>,
    /// Request headers (lower-case names) per call, in arrival order.
    headers: Mutex<Vec<(String, std::collections::HashMap<String, String>)>>,
    added: tokio::sync::Notify,
}

type Seen = Arc<Calls>;

async fn backend() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let record = |path: &'static str| {
        move |State(seen): State<Seen>, headers: axum::http::HeaderMap, Json(body): Json<Value>| async move {
            let headers = headers
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                .collect();
            seen.headers.lock().push((path.to_string(), headers));
            seen.list.lock().push((path.to_string(), body.clone()));
            seen.added.notify_waiters();
            Json(answer(path, &body))
        }
    };
    let app = Router::new()
        .route("/connect", post(record("connect")))
        .route("/subscribe", post(record("subscribe")))
        .route("/publish", post(record("publish")))
        .route("/rpc", post(record("rpc")))
        .route("/refresh", post(record("refresh")))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

/// The backend's scripted decisions, keyed by what the client sent.
fn answer(path: &str, body: &Value) -> Value {
    match path {
        "connect" => match body["data"]["as"].as_str() {
            Some("refused") => json!({"error": {"code": 1000, "message": "custom"}}),
            Some("banned") => json!({"disconnect": {"code": 4501, "reason": "go away"}}),
            Some("nobody") => json!({}),
            Some(user @ ("sam" | "tim")) => json!({"result": {"user": user, "expire_at": unix_now() + 1}}),
            _ => json!({"result": {"user": "alice", "data": {"hello": 1}, "meta": {"plan": "pro"}}}),
        },
        "subscribe" if body["channel"] == "px:denied" => {
            json!({"error": {"code": 403, "message": "nope"}})
        }
        "subscribe" => json!({"result": {"info": {"seat": 7}}}),
        "publish" => json!({"result": {"data": {"replaced": true}}}),
        "rpc" if body["method"] == "fail" => json!({"error": {"code": 1001, "message": "bad"}}),
        "rpc" => json!({"result": {"data": {"year": 2026}}}),
        // Sam's connection is extended by an hour (with new meta); Tim's refresh has no result, so
        // it expires.
        "refresh" if body["user"] == "sam" => {
            json!({"result": {"expire_at": unix_now() + 3600, "meta": {"plan": "gold"}}})
        }
        "refresh" => json!({}),
        _ => json!({}),
    }
}

fn config(base: &str) -> Config {
    let mut config = Config::default();
    config.client.proxy.connect.enabled = true;
    config.client.proxy.connect.proxy.endpoint = format!("{base}/connect");
    config.channel.proxy.subscribe.endpoint = format!("{base}/subscribe");
    config.channel.proxy.publish.endpoint = format!("{base}/publish");
    config.channel.proxy.publish.include_connection_meta = true;
    config.rpc.proxy.endpoint = format!("{base}/rpc");
    config.rpc.without_namespace.proxy_enabled = true;
    config.channel.namespaces = vec![ChannelNamespace {
        name: "px".into(),
        options: ChannelOptions {
            subscribe_proxy_enabled: true,
            publish_proxy_enabled: true,
            ..Default::default()
        },
    }];
    config
}

fn start(config: Config) -> Node {
    let shared: SharedConfig = Arc::new(ArcSwap::from_pointee(Snapshot::new(config).unwrap()));
    let handler = Arc::new(Handler::new(shared).unwrap());
    let node = Node::new(NodeConfig::default(), handler.clone());
    handler.set_node(node.clone());
    node
}

fn conn(node: &Node) -> TestConn {
    testing::connect(node, testing::transport_info(ProtocolType::Json))
}

/// The reply to command `id` (pushes in between are skipped).
async fn command(conn: &mut TestConn, id: u64, method: &str, body: Value) -> Value {
    let mut cmd = json!({ "id": id });
    cmd[method] = body;
    conn.send_json(&cmd.to_string());
    loop {
        let msg = tokio::time::timeout(WAIT, conn.recv_json())
            .await
            .expect("no reply in time")
            .unwrap_or_else(|| panic!("connection closed before reply {id}"));
        if msg["id"].as_u64() == Some(id) {
            return msg;
        }
    }
}

fn calls(seen: &Seen, path: &str) -> Vec<Value> {
    seen.list
        .lock()
        .iter()
        .filter(|(p, _)| p == path)
        .map(|(_, b)| b.clone())
        .collect()
}

/// Waits (bounded) until the backend has seen a request matching `pred`.
async fn wait_for_call(seen: &Seen, path: &str, pred: impl Fn(&Value) -> bool) {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let added = seen.added.notified();
            tokio::pin!(added);
            added.as_mut().enable();
            if calls(seen, path).iter().any(&pred) {
                return;
            }
            added.await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the backend never saw the expected {path} call"));
}

#[tokio::test]
async fn connect_subscribe_publish_rpc_through_the_backend() {
    let (base, seen) = backend().await;
    let node = start(config(&base));

    let mut alice = conn(&node);
    let reply = command(
        &mut alice,
        1,
        "connect",
        json!({"data": {"as": "alice"}, "name": "js"}),
    )
    .await;
    assert_eq!(reply["connect"]["data"], json!({"hello": 1}), "{reply}");
    let request = &calls(&seen, "connect")[0];
    assert_eq!(request["transport"], "websocket");
    assert_eq!(request["protocol"], "json");
    assert_eq!(request["encoding"], "json");
    assert_eq!(request["name"], "js");
    assert_eq!(request["data"], json!({"as": "alice"}));
    assert_eq!(request["client"], reply["connect"]["client"]);

    let reply = command(&mut alice, 2, "subscribe", json!({"channel": "px:room"})).await;
    assert!(reply.get("error").is_none(), "{reply}");
    let request = &calls(&seen, "subscribe")[0];
    assert_eq!(
        (request["user"].as_str(), request["channel"].as_str()),
        (Some("alice"), Some("px:room"))
    );
    let reply = command(&mut alice, 3, "subscribe", json!({"channel": "px:denied"})).await;
    assert_eq!(reply["error"]["code"], 403);
    assert_eq!(reply["error"]["message"], "nope");

    // Another client publishes; the backend replaces the data, Alice receives the replacement.
    let mut bob = conn(&node);
    command(&mut bob, 1, "connect", json!({"data": {"as": "bob"}})).await;
    let reply = command(
        &mut bob,
        2,
        "publish",
        json!({"channel": "px:room", "data": {"orig": 1}}),
    )
    .await;
    assert!(reply.get("error").is_none(), "{reply}");
    let request = &calls(&seen, "publish")[0];
    assert_eq!(request["data"], json!({"orig": 1}));
    // include_connection_meta: the meta the connect proxy returned travels with the publish.
    assert_eq!(request["meta"], json!({"plan": "pro"}));
    let push = tokio::time::timeout(WAIT, alice.recv_json())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(push["push"]["pub"]["data"], json!({"replaced": true}), "{push}");

    let reply = command(&mut alice, 4, "rpc", json!({"method": "year", "data": {}})).await;
    assert_eq!(reply["rpc"]["data"], json!({"year": 2026}), "{reply}");
    let reply = command(&mut alice, 5, "rpc", json!({"method": "fail"})).await;
    assert_eq!(reply["error"]["code"], 1001);
}

#[tokio::test]
async fn backend_errors_and_disconnects_reach_the_client() {
    let (base, _seen) = backend().await;
    let node = start(config(&base));

    let mut c = conn(&node);
    let reply = command(&mut c, 1, "connect", json!({"data": {"as": "refused"}})).await;
    assert_eq!(
        (
            reply["error"]["code"].as_u64(),
            reply["error"]["message"].as_str()
        ),
        (Some(1000), Some("custom"))
    );

    let mut c = conn(&node);
    c.send_json(r#"{"id":1,"connect":{"data":{"as":"banned"}}}"#);
    let closed = tokio::time::timeout(WAIT, c.closed()).await.unwrap();
    assert_eq!(closed, Some(Disconnect::custom(4501, "go away")));

    // No result and no anonymous access: 3501, as in Centrifugo.
    let mut c = conn(&node);
    c.send_json(r#"{"id":1,"connect":{"data":{"as":"nobody"}}}"#);
    let closed = tokio::time::timeout(WAIT, c.closed()).await.unwrap();
    assert_eq!(closed.map(|d| d.code), Some(3501));
}

/// Proxy calls as the metrics see them: (type, name, failed) per finished call, and in flight.
#[derive(Default)]
struct ProxyMetrics {
    finished: Mutex<Vec<(String, String, bool)>>,
    inflight: std::sync::atomic::AtomicI64,
}

impl gyre_core::Observer for ProxyMetrics {
    fn proxy_started(&self, protocol: &str, _kind: &str, _name: &str) {
        assert_eq!(protocol, "http");
        self.inflight.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    fn proxy_finished(&self, _protocol: &str, kind: &str, name: &str, _seconds: f64, failed: bool) {
        self.inflight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        self.finished.lock().push((kind.into(), name.into(), failed));
    }
}

#[tokio::test]
async fn unreachable_or_slow_backend_is_error_100_within_the_timeout() {
    // A port nothing listens on.
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let node = start(config(&base));
    let metrics = Arc::new(ProxyMetrics::default());
    node.set_observer(metrics.clone());
    let mut c = conn(&node);
    let reply = command(&mut c, 1, "connect", json!({})).await;
    assert_eq!(reply["error"]["code"], 100, "{reply}");
    assert_eq!(
        *metrics.finished.lock(),
        [("connect".to_string(), "default".to_string(), true)]
    );
    assert_eq!(metrics.inflight.load(std::sync::atomic::Ordering::SeqCst), 0);

    // A backend that never answers: error 100 once the 200 ms timeout passes.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let slow = Router::new().route(
        "/connect",
        post(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Json(json!({}))
        }),
    );
    tokio::spawn(async move { axum::serve(listener, slow).await.unwrap() });
    let mut cfg = config(&format!("http://{addr}"));
    cfg.client.proxy.connect.proxy.timeout = gyre_config::Duration::from_millis(200);
    let node = start(cfg);
    let mut c = conn(&node);
    let started = std::time::Instant::now();
    let reply = command(&mut c, 1, "connect", json!({})).await;
    assert_eq!(reply["error"]["code"], 100, "{reply}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn refresh_proxy_extends_or_expires_connections() {
    let (base, seen) = backend().await;
    let mut cfg = config(&base);
    cfg.client.proxy.refresh.enabled = true;
    cfg.client.proxy.refresh.proxy.endpoint = format!("{base}/refresh");
    cfg.rpc.proxy.include_connection_meta = true;
    let node = start(cfg);

    let mut sam = conn(&node);
    let reply = command(&mut sam, 1, "connect", json!({"data": {"as": "sam"}})).await;
    // The server refreshes (refresh proxy): the client is not asked to.
    assert!(
        reply["connect"].get("expires").is_none() || reply["connect"]["expires"] == false,
        "{reply}"
    );
    let mut tim = conn(&node);
    command(&mut tim, 1, "connect", json!({"data": {"as": "tim"}})).await;

    // Tim's refresh finds no result: the connection expires (3005).
    let closed = tokio::time::timeout(Duration::from_secs(10), tim.closed())
        .await
        .unwrap();
    assert_eq!(closed.map(|d| d.code), Some(3005));
    // Sam was refreshed by the backend and still answers.
    wait_for_call(&seen, "refresh", |r| r["user"] == "sam").await;
    let reply = command(&mut sam, 2, "rpc", json!({"method": "year"})).await;
    assert_eq!(reply["rpc"]["data"], json!({"year": 2026}), "{reply}");
    // The refresh result's meta replaced the connection's: later proxy calls carry it.
    let rpc = calls(&seen, "rpc");
    assert_eq!(rpc.last().unwrap()["meta"], json!({"plan": "gold"}), "{rpc:?}");
}

#[tokio::test]
async fn only_allow_listed_headers_reach_the_backend() {
    let (base, seen) = backend().await;
    let mut cfg = config(&base);
    cfg.client.proxy.connect.proxy.http_headers = vec!["X-Test-Header".into()];
    cfg.client.proxy.connect.proxy.emulated_headers = vec!["X-Emulated".into()];
    cfg.client
        .proxy
        .connect
        .proxy
        .http
        .static_headers
        .0
        .insert("X-Static".into(), "s".into());
    let node = start(cfg);
    let mut info = testing::transport_info(ProtocolType::Json);
    info.headers.insert("x-test-header".into(), "yes".into());
    info.headers.insert("x-other".into(), "no".into());
    let mut c = testing::connect(&node, info);
    let reply = command(
        &mut c,
        1,
        "connect",
        json!({"headers": {"X-Emulated": "e", "X-Not-Listed": "n"}}),
    )
    .await;
    assert!(reply.get("error").is_none(), "{reply}");
    let headers = seen.headers.lock().clone();
    let connect = headers
        .iter()
        .find(|(p, _)| p == "connect")
        .map(|(_, h)| h)
        .unwrap();
    assert_eq!(connect.get("x-test-header").map(String::as_str), Some("yes"));
    assert_eq!(connect.get("x-emulated").map(String::as_str), Some("e"));
    assert_eq!(connect.get("x-static").map(String::as_str), Some("s"));
    assert_eq!(
        connect.get("content-type").map(String::as_str),
        Some("application/json")
    );
    assert!(
        !connect.contains_key("x-other") && !connect.contains_key("x-not-listed"),
        "{connect:?}"
    );
}
