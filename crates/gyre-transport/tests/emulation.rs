//! Bidirectional emulation over real sockets: HTTP-streaming (JSON and protobuf) and SSE
//! connections, later commands through `/emulation`, and the statuses of bad requests.

mod common;

use bytes::Bytes;
use prost::Message as _;
use serde_json::{json, Value};

use common::*;
use gyre_core::testing::TestHandler;
use gyre_core::{Disconnect, Target};
use gyre_protocol::{Command, ConnectRequest, EmulationRequest, Reply, SubscribeRequest};

const JSON_HEADERS: &[(&str, &str)] = &[("Content-Type", "application/json")];
const PB_HEADERS: &[(&str, &str)] = &[("Content-Type", "application/octet-stream")];

/// Opens an HTTP-streaming connection with a JSON connect command; returns the response and the
/// connect result.
async fn http_stream_json(server: &Server, user: &str) -> (Response, Value) {
    let body = format!(r#"{{"id":1,"connect":{{"token":"{user}"}}}}"#);
    let mut response = request(
        server.addr,
        "POST",
        "/connection/http_stream",
        JSON_HEADERS,
        Some(body.as_bytes()),
    )
    .await;
    assert_eq!(response.status, 200);
    let reply = response.json_line().await.expect("connect reply");
    assert_eq!(reply["id"], 1, "{reply}");
    (response, reply["connect"].clone())
}

/// POSTs a JSON emulation request carrying `commands` (a JSON command frame) to the session.
async fn emulate_json(server: &Server, connect: &Value, commands: &str) -> u16 {
    let body = json!({
        "node": connect["node"],
        "session": connect["session"],
        "data": commands,
    })
    .to_string();
    request(
        server.addr,
        "POST",
        "/emulation",
        JSON_HEADERS,
        Some(body.as_bytes()),
    )
    .await
    .status
}

#[tokio::test]
async fn http_stream_json_round_trip() {
    let server = serve(all_enabled(), no_ping(), TestHandler::default()).await;
    let (mut stream, connect) = http_stream_json(&server, "alice").await;
    assert_eq!(connect["session"].as_str().unwrap().len(), 36, "{connect}");
    assert_eq!(connect["node"], server.node.id());
    assert_eq!(stream.header("x-accel-buffering"), Some("no"));
    assert_eq!(
        stream.header("cache-control"),
        Some("private, no-cache, no-store, must-revalidate, max-age=0")
    );

    let status = emulate_json(
        &server,
        &connect,
        "{\"id\":2,\"subscribe\":{\"channel\":\"news\"}}\n{\"id\":3,\"presence\":{\"channel\":\"news\"}}",
    )
    .await;
    assert_eq!(status, 204);
    let subscribed = stream.json_line().await.unwrap();
    assert_eq!(subscribed["id"], 2, "{subscribed}");
    let presence = stream.json_line().await.unwrap();
    assert_eq!(presence["id"], 3, "{presence}");

    server
        .node
        .publish("news", Bytes::from_static(b"{\"n\":1}"), Default::default())
        .await
        .unwrap();
    let publication = stream.json_line().await.unwrap();
    assert_eq!(publication["push"]["channel"], "news");
    assert_eq!(publication["push"]["pub"]["data"]["n"], 1);

    // A server disconnect is a disconnect push, then the end of the body.
    server
        .node
        .disconnect(
            Target {
                user: "alice".into(),
                ..Default::default()
            },
            Disconnect::FORCE_DISCONNECT,
            &[],
        )
        .await
        .unwrap();
    let push = stream.json_line().await.unwrap();
    assert_eq!(push["push"]["disconnect"]["code"], 3503, "{push}");
    assert!(stream.read_to_end().await.is_empty());
    wait_clients(&server.node, 0).await;
    // The session is gone: its commands are answered 204 all the same (the SDK learns from the
    // stream's end).
    assert_eq!(
        emulate_json(&server, &connect, "{\"id\":4,\"ping\":{}}").await,
        204
    );
}

#[tokio::test]
async fn http_stream_protobuf_round_trip() {
    let server = serve(all_enabled(), no_ping(), TestHandler::default()).await;
    let connect = Command {
        id: 1,
        connect: Some(ConnectRequest {
            token: "bob".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let body = gyre_core::testing::encode_commands(gyre_core::ProtocolType::Protobuf, &[connect]);
    let mut stream = request(
        server.addr,
        "POST",
        "/connection/http_stream",
        PB_HEADERS,
        Some(&body),
    )
    .await;
    assert_eq!(stream.status, 200);
    let reply = Reply::decode(&stream.protobuf_message().await.unwrap()[..]).unwrap();
    let result = reply.connect.expect("connect result");
    assert_eq!(reply.id, 1);

    let subscribe = Command {
        id: 2,
        subscribe: Some(SubscribeRequest {
            channel: "news".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let emulation = EmulationRequest {
        node: result.node.clone(),
        session: result.session.clone(),
        data: gyre_core::testing::encode_commands(gyre_core::ProtocolType::Protobuf, &[subscribe]),
    };
    let status = request(
        server.addr,
        "POST",
        "/emulation",
        PB_HEADERS,
        Some(&emulation.encode_to_vec()),
    )
    .await
    .status;
    assert_eq!(status, 204);
    let reply = Reply::decode(&stream.protobuf_message().await.unwrap()[..]).unwrap();
    assert_eq!(reply.id, 2);
    assert!(reply.subscribe.is_some(), "{reply:?}");

    server
        .node
        .publish("news", Bytes::from_static(b"\x01\x02"), Default::default())
        .await
        .unwrap();
    let reply = Reply::decode(&stream.protobuf_message().await.unwrap()[..]).unwrap();
    let publication = reply.push.and_then(|p| p.r#pub).expect("a publication push");
    assert_eq!(&publication.data[..], b"\x01\x02");
}

#[tokio::test]
async fn sse_get_and_post() {
    let server = serve(all_enabled(), no_ping(), TestHandler::default()).await;
    let query = "cf_connect=%7B%22id%22%3A1%2C%22connect%22%3A%7B%22token%22%3A%22carol%22%7D%7D";
    let mut stream = request(server.addr, "GET", &format!("/connection/sse?{query}"), &[], None).await;
    assert_eq!(stream.status, 200);
    assert_eq!(
        stream.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    assert_eq!(stream.read_exact(2).await.unwrap(), b"\r\n");
    let reply = stream.sse_event().await.unwrap();
    let connect = reply["connect"].clone();
    assert_eq!(reply["id"], 1);
    assert_eq!(
        emulate_json(
            &server,
            &connect,
            "{\"id\":2,\"subscribe\":{\"channel\":\"news\"}}"
        )
        .await,
        204
    );
    assert_eq!(stream.sse_event().await.unwrap()["id"], 2);

    let mut post = request(
        server.addr,
        "POST",
        "/connection/sse",
        JSON_HEADERS,
        Some(br#"{"id":1,"connect":{"token":"dave"}}"#),
    )
    .await;
    assert_eq!(post.status, 200);
    assert_eq!(post.read_exact(2).await.unwrap(), b"\r\n");
    assert_eq!(post.sse_event().await.unwrap()["id"], 1);
    wait_clients(&server.node, 2).await;
}

#[tokio::test]
async fn pings_need_pongs_through_emulation() {
    let node_config = gyre_core::NodeConfig {
        ping_interval: Some(std::time::Duration::from_millis(200)),
        pong_timeout: Some(std::time::Duration::from_millis(100)),
        ..Default::default()
    };
    let server = serve(all_enabled(), node_config, TestHandler::default()).await;
    let (mut stream, connect) = http_stream_json(&server, "erin").await;
    assert_eq!(connect["pong"], true);
    // Two pings answered through /emulation keep the connection.
    for _ in 0..2 {
        assert_eq!(stream.json_line().await.unwrap(), json!({}));
        assert_eq!(emulate_json(&server, &connect, "{}").await, 204);
    }
    // The next one goes unanswered: 3012, then the end.
    assert_eq!(stream.json_line().await.unwrap(), json!({}));
    let push = stream.json_line().await.unwrap();
    assert_eq!(push["push"]["disconnect"]["code"], 3012, "{push}");
    assert!(stream.read_to_end().await.is_empty());
}

#[tokio::test]
async fn client_leaving_ends_the_connection() {
    let server = serve(all_enabled(), no_ping(), TestHandler::default()).await;
    let (stream, _) = http_stream_json(&server, "frank").await;
    wait_clients(&server.node, 1).await;
    drop(stream);
    wait_clients(&server.node, 0).await;
}

#[tokio::test]
async fn emulation_statuses() {
    let mut config = all_enabled();
    config.emulation.max_request_body_size = 200;
    let server = serve(config, no_ping(), TestHandler::default()).await;
    let (_stream, connect) = http_stream_json(&server, "gina").await;
    let post = |body: Vec<u8>, headers: &'static [(&'static str, &'static str)]| {
        let addr = server.addr;
        async move {
            request(addr, "POST", "/emulation", headers, Some(&body))
                .await
                .status
        }
    };
    // Undecodable bodies.
    assert_eq!(post(b"{".to_vec(), JSON_HEADERS).await, 400);
    assert_eq!(post(b"\xff\xff".to_vec(), PB_HEADERS).await, 400);
    // Another node's id.
    let other_node = json!({"node": "elsewhere", "session": connect["session"], "data": "{}"});
    assert_eq!(post(other_node.to_string().into_bytes(), JSON_HEADERS).await, 404);
    // Unknown session, and data that is not a JSON string: accepted and dropped, as in Go.
    let unknown = json!({"node": connect["node"], "session": "nope", "data": "{}"});
    assert_eq!(post(unknown.to_string().into_bytes(), JSON_HEADERS).await, 204);
    let not_string = json!({"node": connect["node"], "session": connect["session"], "data": {"id": 2}});
    assert_eq!(post(not_string.to_string().into_bytes(), JSON_HEADERS).await, 204);
    // Over emulation.max_request_body_size.
    let big = json!({"node": connect["node"], "session": connect["session"], "data": "x".repeat(300)});
    assert_eq!(post(big.to_string().into_bytes(), JSON_HEADERS).await, 413);
    // Methods.
    assert_eq!(
        request(server.addr, "GET", "/emulation", &[], None).await.status,
        405
    );
    let preflight = request(
        server.addr,
        "OPTIONS",
        "/emulation",
        &[
            ("Origin", "http://ok.example"),
            ("Access-Control-Request-Headers", "content-type"),
        ],
        None,
    )
    .await;
    assert_eq!(preflight.status, 204);
    assert_eq!(preflight.header("access-control-max-age"), Some("300"));
    assert_eq!(
        preflight.header("access-control-allow-methods"),
        Some("POST, OPTIONS")
    );
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("http://ok.example")
    );
    assert_eq!(
        preflight.header("access-control-allow-headers"),
        Some("content-type")
    );
    assert_eq!(preflight.header("access-control-allow-credentials"), Some("true"));
}

#[tokio::test]
async fn connection_endpoint_statuses() {
    let mut config = all_enabled();
    config.http_stream.max_request_body_size = 100;
    config.sse.max_request_body_size = 100;
    let server = serve(config, no_ping(), TestHandler::default()).await;
    let big = vec![b' '; 101];
    for path in ["/connection/http_stream", "/connection/sse"] {
        let status = request(server.addr, "POST", path, JSON_HEADERS, Some(&big))
            .await
            .status;
        assert_eq!(status, 413, "{path}");
        assert_eq!(
            request(server.addr, "PUT", path, &[], None).await.status,
            405,
            "{path}"
        );
    }
    assert_eq!(
        request(server.addr, "GET", "/connection/http_stream", &[], None)
            .await
            .status,
        405
    );
    // SSE has no preflight, and a GET needs its connect command.
    assert_eq!(
        request(server.addr, "OPTIONS", "/connection/sse", &[], None)
            .await
            .status,
        405
    );
    assert_eq!(
        request(server.addr, "GET", "/connection/sse", &[], None)
            .await
            .status,
        400
    );
    assert_eq!(
        request(server.addr, "GET", "/connection/sse?cf_connect=", &[], None)
            .await
            .status,
        400
    );
    let preflight = request(server.addr, "OPTIONS", "/connection/http_stream", &[], None).await;
    assert_eq!(preflight.status, 204);
    assert_eq!(preflight.header("access-control-allow-origin"), None);

    // CORS: an allowed origin is echoed, another one gets no CORS headers (and the request is
    // still served, as in Centrifugo).
    let (allowed, refused) = (
        [("Origin", "http://ok.example")],
        [("Origin", "http://evil.example")],
    );
    let ok = request(server.addr, "OPTIONS", "/connection/http_stream", &allowed, None).await;
    assert_eq!(
        ok.header("access-control-allow-origin"),
        Some("http://ok.example")
    );
    let no = request(server.addr, "OPTIONS", "/connection/http_stream", &refused, None).await;
    assert_eq!(no.status, 204);
    assert_eq!(no.header("access-control-allow-origin"), None);
    assert_eq!(no.header("access-control-allow-credentials"), None);

    // An undecodable first frame is a bad request of the protocol: a disconnect push.
    let mut bad = request(
        server.addr,
        "POST",
        "/connection/http_stream",
        JSON_HEADERS,
        Some(b"{nope"),
    )
    .await;
    assert_eq!(bad.status, 200);
    let push = bad.json_line().await.unwrap();
    assert_eq!(push["push"]["disconnect"]["code"], 3501, "{push}");
    assert!(bad.read_to_end().await.is_empty());
}

#[tokio::test]
async fn disabled_transports_have_no_routes() {
    let server = serve(gyre_config::Config::default(), no_ping(), TestHandler::default()).await;
    for (method, path) in [
        ("POST", "/connection/http_stream"),
        ("GET", "/connection/sse"),
        ("POST", "/emulation"),
        ("GET", "/connection/uni_sse"),
        ("POST", "/connection/uni_http_stream"),
        ("GET", "/connection/uni_websocket"),
    ] {
        let status = request(server.addr, method, path, &[], Some(b"{}")).await.status;
        assert_eq!(status, 404, "{method} {path}");
    }
}

#[tokio::test]
async fn handler_prefixes() {
    let mut config = all_enabled();
    config.http_stream.handler_prefix = "/hs/".into();
    config.emulation.handler_prefix = "/emu".into();
    let server = serve(config, no_ping(), TestHandler::default()).await;
    let mut stream = request(
        server.addr,
        "POST",
        "/hs",
        JSON_HEADERS,
        Some(br#"{"id":1,"connect":{"token":"hal"}}"#),
    )
    .await;
    assert_eq!(stream.status, 200);
    let connect = stream.json_line().await.unwrap()["connect"].clone();
    let body = json!({"node": connect["node"], "session": connect["session"], "data": "{\"id\":2,\"subscribe\":{\"channel\":\"x\"}}"});
    let status = request(
        server.addr,
        "POST",
        "/emu",
        JSON_HEADERS,
        Some(body.to_string().as_bytes()),
    )
    .await
    .status;
    assert_eq!(status, 204);
    assert_eq!(stream.json_line().await.unwrap()["id"], 2);
    assert_eq!(
        request(server.addr, "POST", "/emulation", JSON_HEADERS, Some(b"{}"))
            .await
            .status,
        404
    );
}
