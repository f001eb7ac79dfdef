//! WebTransport over real HTTP/3 on 127.0.0.1 with the `wtransport` client: a self-signed
//! certificate made here (rcgen) that the client trusts, then connect, subscribe, publish and a
//! server disconnect over the session's one bidirectional stream.
#![cfg(feature = "webtransport")]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use prost::Message as _;
use wtransport::endpoint::ConnectOptions;
use wtransport::error::ConnectionError;
use wtransport::{ClientConfig, Connection, Endpoint, RecvStream, SendStream};

use gyre_config::{Config, SharedConfig, Snapshot};
use gyre_core::testing::TestHandler;
use gyre_core::{Disconnect, Node, NodeConfig, ProtocolType, Target};
use gyre_protocol::{Command, ConnectRequest, PublishRequest, Reply, SubscribeRequest};

const WAIT: Duration = Duration::from_secs(10);

struct Server {
    addr: SocketAddr,
    node: Node,
    /// The certificate the client trusts.
    cert_der: Vec<u8>,
}

async fn serve(mut config: Config) -> Server {
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    config.http_server.tls.cert_pem = cert.cert.pem();
    config.http_server.tls.key_pem = cert.signing_key.serialize_pem();
    let server =
        gyre_transport::WebTransportServer::bind("127.0.0.1:0".parse().unwrap(), &config.http_server.tls)
            .unwrap();
    let addr = server.local_addr().unwrap();
    let shared: SharedConfig = Arc::new(ArcSwap::from_pointee(Snapshot::new(config).unwrap()));
    let node = Node::new(NodeConfig::default(), Arc::new(TestHandler::default()));
    tokio::spawn(server.serve(node.clone(), shared, tokio_util::sync::CancellationToken::new()));
    Server {
        addr,
        node,
        cert_der: cert.cert.der().to_vec(),
    }
}

fn enabled() -> Config {
    let mut config = Config::default();
    config.webtransport.enabled = true;
    config
}

async fn session(
    server: &Server,
    path: &str,
    origin: Option<&str>,
) -> Result<Connection, wtransport::error::ConnectingError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(server.cert_der.clone().into()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"h3".to_vec()];
    let config = ClientConfig::builder()
        .with_bind_address("127.0.0.1:0".parse().unwrap())
        .with_custom_tls(tls)
        .build();
    let endpoint = Endpoint::client(config).unwrap();
    let url = format!("https://127.0.0.1:{}{path}", server.addr.port());
    let mut options = ConnectOptions::builder(url);
    if let Some(origin) = origin {
        options = options.add_header("origin", origin);
    }
    tokio::time::timeout(WAIT, endpoint.connect(options.build()))
        .await
        .expect("session not established in time")
}

struct Client {
    connection: Connection,
    send: SendStream,
    recv: RecvStream,
    buf: Vec<u8>,
}

impl Client {
    async fn open(server: &Server, path: &str) -> Client {
        let connection = session(server, path, None).await.unwrap();
        let (send, recv) = connection.open_bi().await.unwrap().await.unwrap();
        Client {
            connection,
            send,
            recv,
            buf: Vec::new(),
        }
    }

    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout(WAIT, self.recv.read(&mut chunk))
            .await
            .expect("nothing received in time")
        {
            Ok(Some(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Ok(None) | Err(_) => false,
        }
    }

    /// The next JSON message (one line), skipping protocol pings.
    async fn json(&mut self) -> serde_json::Value {
        loop {
            if let Some(end) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=end).collect();
                let value: serde_json::Value = serde_json::from_slice(&line[..end]).unwrap();
                if value != serde_json::json!({}) {
                    return value;
                }
                continue;
            }
            assert!(self.fill().await, "stream ended");
        }
    }

    /// The next varint-delimited protobuf Reply, skipping protocol pings.
    async fn reply(&mut self) -> Reply {
        loop {
            let mut slice = &self.buf[..];
            if let Ok(len) = prost::encoding::decode_varint(&mut slice) {
                let prefix = self.buf.len() - slice.len();
                if slice.len() >= len as usize {
                    let reply = Reply::decode(&slice[..len as usize]).unwrap();
                    self.buf.drain(..prefix + len as usize);
                    if reply != Reply::default() {
                        return reply;
                    }
                    continue;
                }
            }
            assert!(self.fill().await, "stream ended");
        }
    }

    async fn send_json(&mut self, text: &str) {
        self.send.write_all(format!("{text}\n").as_bytes()).await.unwrap();
    }
}

#[tokio::test]
async fn json_connect_subscribe_publish_disconnect() {
    let server = serve(enabled()).await;
    let mut client = Client::open(&server, "/connection/webtransport").await;
    // Two commands in one write, as a stream may deliver them.
    client
        .send_json(
            "{\"id\":1,\"connect\":{\"token\":\"alice\"}}\n{\"id\":2,\"subscribe\":{\"channel\":\"news\"}}",
        )
        .await;
    let connect = client.json().await;
    assert_eq!(connect["id"], 1);
    assert!(connect["connect"]["client"]
        .as_str()
        .is_some_and(|c| !c.is_empty()));
    assert_eq!(connect["connect"]["ping"], 25);
    let subscribe = client.json().await;
    assert_eq!(subscribe["id"], 2);
    assert!(subscribe.get("error").is_none(), "{subscribe}");

    server
        .node
        .publish(
            "news",
            Bytes::from_static(br#"{"text":"from the server"}"#),
            Default::default(),
        )
        .await
        .unwrap();
    let push = client.json().await;
    assert_eq!(push["push"]["channel"], "news");
    assert_eq!(push["push"]["pub"]["data"]["text"], "from the server");

    client
        .send_json(r#"{"id":3,"publish":{"channel":"news","data":{"text":"from the client"}}}"#)
        .await;
    // The reply and the publication it caused, in either order.
    let (a, b) = (client.json().await, client.json().await);
    let (reply, push) = if a.get("id").is_some() { (a, b) } else { (b, a) };
    assert_eq!(reply["id"], 3);
    assert!(reply.get("error").is_none(), "{reply}");
    assert_eq!(push["push"]["pub"]["data"]["text"], "from the client");

    let target = Target {
        user: "alice".into(),
        ..Default::default()
    };
    server
        .node
        .disconnect(target, Disconnect::FORCE_DISCONNECT, &[])
        .await
        .unwrap();
    let push = client.json().await;
    assert_eq!(push["push"]["disconnect"]["code"], 3503);
    assert_eq!(push["push"]["disconnect"]["reason"], "force disconnect");
    // Then the stream ends and the session closes with the disconnect's code.
    while client.fill().await {}
    match tokio::time::timeout(WAIT, client.connection.closed())
        .await
        .unwrap()
    {
        ConnectionError::ApplicationClosed(close) => {
            assert_eq!(close.code().into_inner(), 3503);
            assert_eq!(close.reason(), b"force disconnect");
        }
        other => panic!("unexpected close: {other:?}"),
    }
}

#[tokio::test]
async fn protobuf_by_query() {
    let server = serve(enabled()).await;
    let mut client = Client::open(&server, "/connection/webtransport?cf_protocol=protobuf").await;
    let commands = [
        Command {
            id: 1,
            connect: Some(ConnectRequest {
                token: "bob".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
        Command {
            id: 2,
            subscribe: Some(SubscribeRequest {
                channel: "news".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
        Command {
            id: 3,
            publish: Some(PublishRequest {
                channel: "news".into(),
                data: Bytes::from_static(b"binary \x00\x01"),
                ..Default::default()
            }),
            ..Default::default()
        },
    ];
    let bytes = gyre_core::testing::encode_commands(ProtocolType::Protobuf, &commands);
    // Split mid-message: the server must wait for the rest.
    client.send.write_all(&bytes[..5]).await.unwrap();
    tokio::task::yield_now().await;
    client.send.write_all(&bytes[5..]).await.unwrap();
    assert!(client.reply().await.connect.is_some());
    let subscribe = client.reply().await;
    assert_eq!((subscribe.id, subscribe.error), (2, None));
    let (a, b) = (client.reply().await, client.reply().await);
    let push = if a.push.is_some() { a } else { b };
    let publication = push.push.unwrap().r#pub.unwrap();
    assert_eq!(&publication.data[..], b"binary \x00\x01");
}

#[tokio::test]
async fn oversized_message_ends_the_session() {
    let mut config = enabled();
    config.webtransport.message_size_limit = 1024;
    let server = serve(config).await;
    let mut client = Client::open(&server, "/connection/webtransport").await;
    client.send_json(r#"{"id":1,"connect":{"token":"carol"}}"#).await;
    assert_eq!(client.json().await["id"], 1);
    // An unfinished line past the limit is refused without waiting for its end.
    client.send.write_all(&[b' '; 2048]).await.unwrap();
    let push = client.json().await;
    assert_eq!(push["push"]["disconnect"]["code"], 1009);
    assert!(matches!(
        tokio::time::timeout(WAIT, client.connection.closed()).await.unwrap(),
        ConnectionError::ApplicationClosed(c) if c.code().into_inner() == 1009
    ));
}

#[tokio::test]
async fn wrong_path_disabled_or_foreign_origin_is_refused() {
    let server = serve(enabled()).await;
    assert!(session(&server, "/connection/websocket", None).await.is_err());
    let server = serve(Config::default()).await;
    assert!(session(&server, "/connection/webtransport", None).await.is_err());

    let mut config = enabled();
    config.client.allowed_origins = vec!["https://app.example.com".into()];
    let server = serve(config).await;
    let path = "/connection/webtransport";
    assert!(session(&server, path, Some("https://evil.example.com"))
        .await
        .is_err());
    assert!(session(&server, path, Some("https://app.example.com"))
        .await
        .is_ok());
    // No Origin (not a browser) passes, as on every connection endpoint.
    assert!(session(&server, path, None).await.is_ok());
}
