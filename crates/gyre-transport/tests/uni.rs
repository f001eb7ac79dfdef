//! Unidirectional transports over real sockets: uni_sse, uni_http_stream and uni_websocket with
//! plain clients (no SDK).

mod common;

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use common::*;
use gyre_config::{
    ConnectCodeToHttpResponse, ConnectCodeToHttpResponseTransform, TransformedConnectErrorHttpResponse,
};
use gyre_core::testing::TestHandler;
use gyre_core::{Disconnect, NodeConfig, Target};

/// A handler that subscribes every connection to `news` server-side.
fn news() -> TestHandler {
    TestHandler {
        subscriptions: HashMap::from([("news".to_string(), Default::default())]),
        ..Default::default()
    }
}

fn fast_pings() -> NodeConfig {
    NodeConfig {
        ping_interval: Some(Duration::from_millis(300)),
        pong_timeout: Some(Duration::from_millis(100)),
        ..Default::default()
    }
}

async fn publish(server: &Server, n: u32) {
    server
        .node
        .publish("news", Bytes::from(format!("{{\"n\":{n}}}")), Default::default())
        .await
        .unwrap();
}

async fn force_disconnect(server: &Server, user: &str) {
    server
        .node
        .disconnect(
            Target {
                user: user.into(),
                ..Default::default()
            },
            Disconnect::FORCE_DISCONNECT,
            &[],
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn uni_sse_event_source_reader() {
    let server = serve(all_enabled(), fast_pings(), news()).await;
    let query = "cf_connect=%7B%22token%22%3A%22ann%22%7D";
    let mut events = request(
        server.addr,
        "GET",
        &format!("/connection/uni_sse?{query}"),
        &[],
        None,
    )
    .await;
    assert_eq!(events.status, 200);
    assert_eq!(
        events.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    assert_eq!(events.read_exact(2).await.unwrap(), b"\r\n");
    let connect = events.sse_event().await.unwrap();
    let result = &connect["connect"];
    assert_eq!(result["session"].as_str().unwrap().len(), 36, "{connect}");
    assert!(result["subs"]["news"].is_object(), "{connect}");
    assert!(
        result.get("pong").is_none(),
        "no pong on unidirectional transports"
    );
    assert!(result.get("node").is_none());

    publish(&server, 1).await;
    let publication = events.sse_event().await.unwrap();
    assert_eq!(publication["channel"], "news");
    assert_eq!(publication["pub"]["data"], json!({"n": 1}));
    // Pings are empty pushes, and need no answer.
    assert_eq!(events.sse_event().await.unwrap(), json!({}));
    assert_eq!(events.sse_event().await.unwrap(), json!({}));

    force_disconnect(&server, "ann").await;
    let push = events.sse_event().await.unwrap();
    assert_eq!(
        push,
        json!({"disconnect": {"code": 3503, "reason": "force disconnect"}})
    );
    assert!(events.read_to_end().await.is_empty());
}

#[tokio::test]
async fn uni_sse_requests() {
    let mut config = all_enabled();
    config.uni_sse.max_request_body_size = 50;
    let server = serve(config, no_ping(), news()).await;
    // No cf_connect: an empty connect request (anonymous here).
    let mut events = request(server.addr, "GET", "/connection/uni_sse", &[], None).await;
    assert_eq!(events.status, 200);
    events.read_exact(2).await.unwrap();
    assert!(events.sse_event().await.unwrap()["connect"].is_object());
    // POST body.
    let mut posted = request(
        server.addr,
        "POST",
        "/connection/uni_sse",
        &[],
        Some(br#"{"token":"bo"}"#),
    )
    .await;
    assert_eq!(posted.status, 200);
    posted.read_exact(2).await.unwrap();
    assert!(posted.sse_event().await.unwrap()["connect"].is_object());

    let bad = request(
        server.addr,
        "GET",
        "/connection/uni_sse?cf_connect=%7Bx",
        &[],
        None,
    )
    .await;
    assert_eq!(bad.status, 400);
    let bad = request(server.addr, "POST", "/connection/uni_sse", &[], Some(b"[1]")).await;
    assert_eq!(bad.status, 400);
    let big = request(server.addr, "POST", "/connection/uni_sse", &[], Some(&[b' '; 51])).await;
    assert_eq!(big.status, 413);
    let put = request(server.addr, "PUT", "/connection/uni_sse", &[], None).await;
    assert_eq!(put.status, 405);
}

#[tokio::test]
async fn uni_http_stream_chunked_reader() {
    let server = serve(all_enabled(), fast_pings(), news()).await;
    let mut stream = request(
        server.addr,
        "POST",
        "/connection/uni_http_stream",
        &[("Origin", "http://ok.example")],
        Some(br#"{"token":"cy","name":"plain"}"#),
    )
    .await;
    assert_eq!(stream.status, 200);
    assert_eq!(stream.header("transfer-encoding"), Some("chunked"));
    assert_eq!(
        stream.header("access-control-allow-origin"),
        Some("http://ok.example")
    );
    let connect = stream.json_line().await.unwrap();
    assert!(connect["connect"]["client"].is_string(), "{connect}");
    publish(&server, 2).await;
    let publication = stream.json_line().await.unwrap();
    assert_eq!(publication["pub"]["data"], json!({"n": 2}));
    assert_eq!(stream.json_line().await.unwrap(), json!({}));
    force_disconnect(&server, "cy").await;
    assert_eq!(stream.json_line().await.unwrap()["disconnect"]["code"], 3503);
    assert!(stream.read_to_end().await.is_empty());
}

#[tokio::test]
async fn uni_http_stream_requests() {
    let mut config = all_enabled();
    config.uni_http_stream.max_request_body_size = 20;
    let server = serve(config, no_ping(), news()).await;
    let path = "/connection/uni_http_stream";
    assert_eq!(
        request(server.addr, "POST", path, &[], Some(b"")).await.status,
        400
    );
    assert_eq!(
        request(server.addr, "POST", path, &[], Some(b"{\"token\":"))
            .await
            .status,
        400
    );
    assert_eq!(
        request(server.addr, "POST", path, &[], Some(&[b' '; 21]))
            .await
            .status,
        413
    );
    assert_eq!(request(server.addr, "GET", path, &[], None).await.status, 405);
    let preflight = request(server.addr, "OPTIONS", path, &[], None).await;
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-methods"),
        Some("POST, OPTIONS")
    );
    // `null` is an empty request.
    let mut stream = request(server.addr, "POST", path, &[], Some(b"null")).await;
    assert_eq!(stream.status, 200);
    assert!(stream.json_line().await.unwrap()["connect"].is_object());
}

/// A connect error without `connect_code_to_http_response`: 200 and a disconnect push (the
/// built-in code mapping: 110 expired → 3005).
#[tokio::test]
async fn failed_connect_streams_a_disconnect() {
    let handler = TestHandler {
        expire_at: 1,
        ..Default::default()
    };
    let server = serve(all_enabled(), no_ping(), handler).await;
    let mut stream = request(
        server.addr,
        "POST",
        "/connection/uni_http_stream",
        &[],
        Some(b"{}"),
    )
    .await;
    assert_eq!(stream.status, 200);
    let push = stream.json_line().await.unwrap();
    assert_eq!(push["disconnect"]["code"], 3005, "{push}");
    assert!(stream.read_to_end().await.is_empty());
}

/// `connect_code_to_http_response`: a failed connect is an HTTP answer keyed by the error code.
#[tokio::test]
async fn failed_connect_as_http_response() {
    let handler = TestHandler {
        expire_at: 1,
        ..Default::default()
    };
    let transforms = |code, status_code, body: &str| ConnectCodeToHttpResponse {
        enabled: true,
        transforms: vec![ConnectCodeToHttpResponseTransform {
            code,
            to: TransformedConnectErrorHttpResponse {
                status_code,
                body: body.into(),
            },
        }],
    };
    let mut config = all_enabled();
    config.uni_sse.connect_code_to_http_response = transforms(110, 401, "");
    config.uni_http_stream.connect_code_to_http_response = transforms(110, 403, "go away");
    let server = serve(config.clone(), no_ping(), handler.clone()).await;
    let mut sse = request(server.addr, "GET", "/connection/uni_sse", &[], None).await;
    assert_eq!(sse.status, 401);
    assert_eq!(sse.read_to_end().await, b"expired");
    let mut stream = request(
        server.addr,
        "POST",
        "/connection/uni_http_stream",
        &[],
        Some(b"{}"),
    )
    .await;
    assert_eq!(stream.status, 403);
    assert_eq!(stream.read_to_end().await, b"go away");

    // No transform for the code: 500.
    config.uni_sse.connect_code_to_http_response = transforms(109, 401, "");
    let server = serve(config, no_ping(), handler).await;
    let mut sse = request(server.addr, "GET", "/connection/uni_sse", &[], None).await;
    assert_eq!(sse.status, 500);
    assert_eq!(sse.read_to_end().await, b"Internal Server Error");
    wait_clients(&server.node, 0).await;
}

#[tokio::test]
async fn stream_reader_leaving_ends_the_connection() {
    let server = serve(all_enabled(), no_ping(), news()).await;
    let mut stream = request(
        server.addr,
        "POST",
        "/connection/uni_http_stream",
        &[],
        Some(b"{}"),
    )
    .await;
    stream.json_line().await.unwrap();
    wait_clients(&server.node, 1).await;
    drop(stream);
    wait_clients(&server.node, 0).await;
}

// ---- uni_websocket ----------------------------------------------------------------------

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn dial_uni(server: &Server, query: &str) -> Ws {
    let url = format!("ws://{}/connection/uni_websocket{query}", server.addr);
    let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
        .await
        .expect("handshake timed out")
        .expect("handshake failed");
    ws
}

/// The next text message as JSON; native pings are counted in `pings` and skipped.
async fn next_json(ws: &mut Ws, pings: &mut usize) -> Value {
    loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("nothing received in time")
            .expect("connection ended")
            .expect("read error");
        match message {
            Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
            Message::Ping(_) => *pings += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn uni_websocket_raw_client() {
    // Native ping frames follow the configuration (the core's pings follow the node's settings).
    let mut config = all_enabled();
    config.client.ping_interval = gyre_config::Duration::from_millis(300);
    config.client.pong_timeout = gyre_config::Duration::from_millis(100);
    let server = serve(config, fast_pings(), news()).await;
    let mut ws = dial_uni(&server, "").await;
    ws.send(Message::text(r#"{"token":"dot"}"#)).await.unwrap();
    let mut pings = 0;
    let connect = next_json(&mut ws, &mut pings).await;
    assert!(connect["connect"]["subs"]["news"].is_object(), "{connect}");
    // Later messages are ignored.
    ws.send(Message::text("anything")).await.unwrap();
    publish(&server, 3).await;
    assert_eq!(
        next_json(&mut ws, &mut pings).await["pub"]["data"],
        json!({"n": 3})
    );
    // Empty-push pings, and native ping frames (answered by tungstenite).
    assert_eq!(next_json(&mut ws, &mut pings).await, json!({}));
    while pings == 0 {
        assert_eq!(next_json(&mut ws, &mut pings).await, json!({}));
    }
    force_disconnect(&server, "dot").await;
    let push = next_json(&mut ws, &mut pings).await;
    assert_eq!(push["disconnect"]["code"], 3503);
    let close = loop {
        match tokio::time::timeout(WAIT, ws.next()).await.unwrap() {
            Some(Ok(Message::Close(frame))) => break frame.expect("a close code"),
            Some(Ok(Message::Ping(_) | Message::Text(_))) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    };
    assert_eq!(close.code, CloseCode::from(3503));
    assert_eq!(close.reason.as_str(), "force disconnect");
}

#[tokio::test]
async fn uni_websocket_connect_in_query_and_bad_requests() {
    let server = serve(all_enabled(), no_ping(), news()).await;
    let mut ws = dial_uni(&server, "?cf_connect=%7B%22token%22%3A%22eve%22%7D").await;
    let mut pings = 0;
    assert!(next_json(&mut ws, &mut pings).await["connect"].is_object());

    // A malformed cf_connect is refused before the upgrade.
    let refused = request(
        server.addr,
        "GET",
        "/connection/uni_websocket?cf_connect=nope",
        &[],
        None,
    )
    .await;
    assert_eq!(refused.status, 400);
    // A first message that is not a connect request: close 3501, no disconnect push.
    let mut ws = dial_uni(&server, "").await;
    ws.send(Message::text("[1,2]")).await.unwrap();
    match tokio::time::timeout(WAIT, ws.next()).await.unwrap() {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(frame.code, CloseCode::from(3501));
            assert_eq!(frame.reason.as_str(), "bad request");
        }
        other => panic!("expected the close frame, got {other:?}"),
    }
    // A refused origin: 403 as for the bidirectional endpoint.
    let refused = request(
        server.addr,
        "GET",
        "/connection/uni_websocket",
        &[
            ("Origin", "http://evil.example"),
            ("Connection", "Upgrade"),
            ("Upgrade", "websocket"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ],
        None,
    )
    .await;
    assert_eq!(refused.status, 403);
}

#[tokio::test]
async fn uni_websocket_options() {
    let mut config = all_enabled();
    config.uni_websocket.disable_disconnect_push = true;
    config.uni_websocket.join_push_messages = true;
    let server = serve(config, no_ping(), news()).await;
    let mut ws = dial_uni(&server, "?cf_connect=%7B%22token%22%3A%22fay%22%7D").await;
    let mut pings = 0;
    assert!(next_json(&mut ws, &mut pings).await["connect"].is_object());
    force_disconnect(&server, "fay").await;
    // No push: the close frame alone.
    match tokio::time::timeout(WAIT, ws.next()).await.unwrap() {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::from(3503)),
        other => panic!("expected the close frame, got {other:?}"),
    }

    let mut config = all_enabled();
    config.uni_websocket.disable_closing_handshake = true;
    let server = serve(config, no_ping(), news()).await;
    let mut ws = dial_uni(&server, "?cf_connect=%7B%22token%22%3A%22gus%22%7D").await;
    assert!(next_json(&mut ws, &mut pings).await["connect"].is_object());
    force_disconnect(&server, "gus").await;
    assert_eq!(next_json(&mut ws, &mut pings).await["disconnect"]["code"], 3503);
    // The socket just ends: no close frame.
    match tokio::time::timeout(WAIT, ws.next()).await.unwrap() {
        None | Some(Err(_)) => {}
        other => panic!("expected the end of the connection, got {other:?}"),
    }
}
