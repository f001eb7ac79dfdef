//! The WebSocket endpoint over real sockets on 127.0.0.1, with a tokio-tungstenite client.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use gyre_config::{Config, SharedConfig, Snapshot};
use gyre_core::testing::TestHandler;
use gyre_core::{Disconnect, Node, NodeConfig, ProtocolType, Target};
use gyre_protocol::{Command, ConnectRequest, Reply};

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Upper bound for anything a test waits for; a hang fails instead of blocking CI.
const WAIT: Duration = Duration::from_secs(10);

struct Server {
    addr: SocketAddr,
    node: Node,
}

async fn serve(config: Config) -> Server {
    let shared: SharedConfig = Arc::new(ArcSwap::from_pointee(Snapshot::new(config).unwrap()));
    let node = Node::new(NodeConfig::default(), Arc::new(TestHandler::default()));
    let app = gyre_transport::websocket_router(node.clone(), shared);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(gyre_transport::serve_http(
        listener,
        app,
        tokio_util::sync::CancellationToken::new(),
    ));
    Server { addr, node }
}

async fn dial(server: &Server, query: &str, headers: &[(&str, &str)]) -> Result<Client, WsError> {
    let url = format!("ws://{}/connection/websocket{query}", server.addr);
    let mut request = url.into_client_request().unwrap();
    for (name, value) in headers {
        let name = tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap();
        request.headers_mut().insert(name, value.parse().unwrap());
    }
    let (client, response) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .expect("handshake timed out")?;
    let _ = response;
    Ok(client)
}

async fn next(client: &mut Client) -> Option<Result<Message, WsError>> {
    tokio::time::timeout(WAIT, client.next())
        .await
        .expect("nothing received in time")
}

/// The next data or close message (native pings are skipped).
async fn next_message(client: &mut Client) -> Message {
    loop {
        match next(client).await {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(m)) => return m,
            other => panic!("connection ended: {other:?}"),
        }
    }
}

/// Reads until the server's close frame.
async fn close_frame(client: &mut Client) -> CloseFrame {
    loop {
        match next(client).await {
            Some(Ok(Message::Close(Some(frame)))) => return frame,
            Some(Ok(Message::Close(None))) => panic!("close without code"),
            Some(Ok(_)) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    }
}

async fn connect_json(client: &mut Client, user: &str) -> serde_json::Value {
    let cmd = format!(r#"{{"id":1,"connect":{{"token":"{user}"}}}}"#);
    client.send(Message::text(cmd)).await.unwrap();
    match next_message(client).await {
        Message::Text(text) => serde_json::from_str(text.as_str()).unwrap(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

fn protobuf_connect(user: &str) -> Vec<u8> {
    let cmd = Command {
        id: 1,
        connect: Some(ConnectRequest {
            token: user.into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    gyre_core::testing::encode_commands(ProtocolType::Protobuf, &[cmd]).to_vec()
}

/// Decodes the first varint-delimited Reply of a binary frame.
fn first_reply(frame: &[u8]) -> Reply {
    let mut buf = frame;
    let len = prost::encoding::decode_varint(&mut buf).unwrap() as usize;
    Reply::decode(&buf[..len]).unwrap()
}

#[tokio::test]
async fn json_connect() {
    let server = serve(Config::default()).await;
    let mut client = dial(&server, "", &[]).await.unwrap();
    let reply = connect_json(&mut client, "alice").await;
    assert_eq!(reply["id"], 1);
    assert!(reply["connect"]["client"].as_str().is_some_and(|c| !c.is_empty()));
    // Application-level pings are announced in the connect result.
    assert_eq!(reply["connect"]["ping"], 25);
}

#[tokio::test]
async fn subprotocol_negotiation() {
    let server = serve(Config::default()).await;
    let url = format!("ws://{}/connection/websocket", server.addr);

    // centrifuge-protobuf is echoed and selects protobuf.
    let mut request = url.clone().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "centrifuge-protobuf".parse().unwrap());
    let (mut client, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        "centrifuge-protobuf"
    );
    client
        .send(Message::binary(protobuf_connect("bob")))
        .await
        .unwrap();
    match next_message(&mut client).await {
        Message::Binary(data) => {
            let reply = first_reply(&data);
            assert_eq!(reply.id, 1);
            assert!(reply.connect.is_some_and(|c| !c.client.is_empty()));
        }
        other => panic!("expected a binary frame, got {other:?}"),
    }

    // centrifuge-json is echoed and keeps JSON.
    let mut request = url.clone().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "centrifuge-json".parse().unwrap());
    let (mut client, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "centrifuge-json");
    assert_eq!(connect_json(&mut client, "carol").await["id"], 1);

    // Without a subprotocol none is echoed.
    let (_client, response) = tokio_tungstenite::connect_async(url.into_client_request().unwrap())
        .await
        .unwrap();
    assert!(response.headers().get("sec-websocket-protocol").is_none());
}

#[tokio::test]
async fn protobuf_by_query() {
    let server = serve(Config::default()).await;
    for query in ["?format=protobuf", "?cf_protocol=protobuf"] {
        let mut client = dial(&server, query, &[]).await.unwrap();
        let cmd = protobuf_connect("dave");
        if query.contains("cf_protocol") {
            // Inbound text frames are accepted on a protobuf connection too.
            client
                .send(Message::text(String::from_utf8(cmd).unwrap()))
                .await
                .unwrap();
        } else {
            client.send(Message::binary(cmd)).await.unwrap();
        }
        match next_message(&mut client).await {
            Message::Binary(data) => assert_eq!(first_reply(&data).id, 1),
            other => panic!("expected a binary frame for {query}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn oversized_message_closes_with_1009() {
    let server = serve(Config::default()).await;
    for size in [65_537usize, 1 << 20] {
        let mut client = dial(&server, "", &[]).await.unwrap();
        connect_json(&mut client, "eve").await;
        // The send may fail if the server already closed; the close frame is what matters.
        let _ = client.send(Message::text("x".repeat(size))).await;
        let frame = close_frame(&mut client).await;
        assert_eq!(u16::from(frame.code), 1009, "size {size}");
        assert_eq!(frame.reason.as_str(), "message too big");
    }
    // Exactly at the limit the message is read (and refused as a bad command).
    let mut client = dial(&server, "", &[]).await.unwrap();
    client.send(Message::text("x".repeat(65_536))).await.unwrap();
    let frame = close_frame(&mut client).await;
    assert_eq!(u16::from(frame.code), 3501);
    assert_eq!(frame.reason.as_str(), "bad request");
}

#[tokio::test]
async fn custom_message_size_limit() {
    let mut config = Config::default();
    config.websocket.message_size_limit = 1024;
    let server = serve(config).await;
    let mut client = dial(&server, "", &[]).await.unwrap();
    connect_json(&mut client, "frank").await;
    let _ = client.send(Message::binary(vec![b'x'; 1025])).await;
    assert_eq!(u16::from(close_frame(&mut client).await.code), 1009);
}

#[tokio::test]
async fn origin_check_before_upgrade() {
    let forbidden = |r: Result<Client, WsError>| match r {
        Err(WsError::Http(response)) => response.status() == 403,
        Err(e) => panic!("unexpected error {e:?}"),
        Ok(_) => false,
    };
    // Default: empty allowed_origins → only requests without Origin.
    let server = serve(Config::default()).await;
    assert!(dial(&server, "", &[]).await.is_ok());
    assert!(forbidden(
        dial(&server, "", &[("origin", "https://a.example.com")]).await
    ));

    let mut config = Config::default();
    config.client.allowed_origins = vec!["https://*.example.com".into()];
    let server = serve(config).await;
    assert!(dial(&server, "", &[("origin", "https://A.Example.com")])
        .await
        .is_ok());
    assert!(forbidden(
        dial(&server, "", &[("origin", "https://example.com.evil.com")]).await
    ));
    assert!(forbidden(dial(&server, "", &[("origin", "null")]).await));

    let mut config = Config::default();
    config.client.allowed_origins = vec!["*".into()];
    let server = serve(config).await;
    assert!(dial(&server, "", &[("origin", "null")]).await.is_ok());
}

#[tokio::test]
async fn server_disconnect_is_a_close_frame() {
    let server = serve(Config::default()).await;
    let mut client = dial(&server, "", &[]).await.unwrap();
    connect_json(&mut client, "grace").await;
    let target = Target {
        user: "grace".into(),
        ..Default::default()
    };
    server
        .node
        .disconnect(target, Disconnect::FORCE_DISCONNECT, &[])
        .await
        .unwrap();
    let frame = close_frame(&mut client).await;
    assert_eq!(u16::from(frame.code), 3503);
    assert_eq!(frame.reason.as_str(), "force disconnect");
    // The client answers the close frame (tungstenite does it while reading) and the server
    // then ends the TCP connection.
    assert!(matches!(next(&mut client).await, None | Some(Err(_))));
}

#[tokio::test]
async fn client_close_handshake() {
    let server = serve(Config::default()).await;
    let mut client = dial(&server, "", &[]).await.unwrap();
    connect_json(&mut client, "heidi").await;
    client
        .close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "bye".into(),
        }))
        .await
        .unwrap();
    // The server echoes the close frame, then the stream ends.
    match next(&mut client).await {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::Normal),
        other => panic!("expected the close echo, got {other:?}"),
    }
    assert!(matches!(next(&mut client).await, None | Some(Err(_))));
}

#[tokio::test]
async fn garbage_is_bad_request() {
    let server = serve(Config::default()).await;
    let mut client = dial(&server, "", &[]).await.unwrap();
    client.send(Message::text("not json")).await.unwrap();
    let frame = close_frame(&mut client).await;
    assert_eq!(
        (u16::from(frame.code), frame.reason.as_str()),
        (3501, "bad request")
    );
}

#[tokio::test]
async fn native_ping_pong_on_request() {
    let mut config = Config::default();
    config.client.ping_interval = gyre_config::Duration::from_millis(100);
    config.client.pong_timeout = gyre_config::Duration::from_millis(100);
    let server = serve(config).await;
    let mut client = dial(&server, "?cf_ws_frame_ping_pong=true", &[]).await.unwrap();
    let reply = connect_json(&mut client, "ivan").await;
    assert!(
        reply["connect"].get("ping").is_none(),
        "no application pings: {reply}"
    );
    // The server pings with native frames; tungstenite answers them while we read.
    loop {
        match next(&mut client).await {
            Some(Ok(Message::Ping(_))) => break,
            Some(Ok(_)) => continue,
            other => panic!("connection ended before a ping: {other:?}"),
        }
    }
    // Still alive after several intervals thanks to the pongs: an RPC still gets its reply.
    for id in 2..5 {
        client
            .send(Message::text(format!(
                r#"{{"id":{id},"rpc":{{"method":"m","data":{{}}}}}}"#
            )))
            .await
            .unwrap();
        match next_message(&mut client).await {
            Message::Text(text) => {
                let v: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
                assert_eq!(v["id"], id);
            }
            other => panic!("expected an rpc reply, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn native_ping_without_pong_ends_the_connection() {
    let mut config = Config::default();
    config.client.ping_interval = gyre_config::Duration::from_millis(50);
    config.client.pong_timeout = gyre_config::Duration::from_millis(50);
    let server = serve(config).await;
    // A raw TCP client that completes the handshake and never reads or answers anything.
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = format!(
        "GET /connection/websocket?cf_ws_frame_ping_pong=true HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        server.addr
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    // Read until the server closes the socket: the ping goes unanswered.
    let mut buf = vec![0u8; 4096];
    // Well before the 10 s stale-connection close of the core.
    let ended = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "server kept a connection whose pings were not answered"
    );
}

#[tokio::test]
async fn huge_message_is_refused_while_still_arriving() {
    let server = serve(Config::default()).await;
    let mut client = dial(&server, "", &[]).await.unwrap();
    connect_json(&mut client, "judy").await;
    let (mut sink, mut stream) = client.split();
    // 16 MiB cannot sit in socket buffers: the send is still in progress when the server, having
    // read only the frame header, refuses it.
    let sender = tokio::spawn(async move {
        let _ = sink.send(Message::binary(vec![b'x'; 16 << 20])).await;
    });
    let frame = loop {
        match tokio::time::timeout(WAIT, stream.next())
            .await
            .expect("no close frame in time")
        {
            Some(Ok(Message::Close(Some(frame)))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    };
    assert_eq!(u16::from(frame.code), 1009);
    // The server then drops the connection, which unblocks the sender.
    tokio::time::timeout(WAIT, sender)
        .await
        .expect("sender still blocked")
        .unwrap();
}
