//! Uni GRPC with a plain tonic client: connect push, publications, pings, disconnects.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use gyre_core::testing::TestHandler;
use gyre_core::{ConnectingEvent, ConnectingReply, Credentials, HandlerError, NodeConfig};
use gyre_grpc::unistream::centrifugo_uni_stream_client::CentrifugoUniStreamClient;
use gyre_grpc::{pb, unistream};
use tonic::Streaming;

use crate::common::{base_config, Harness, WAIT};

fn node_config() -> NodeConfig {
    NodeConfig {
        ping_interval: Some(Duration::from_millis(300)),
        ..NodeConfig::default()
    }
}

async fn consume(
    h: &Harness,
    request: tonic::Request<unistream::ConnectRequest>,
) -> Streaming<unistream::Push> {
    let mut client = CentrifugoUniStreamClient::connect(format!("http://{}", h.uni_addr))
        .await
        .unwrap();
    client.consume(request).await.unwrap().into_inner()
}

fn connect_as(user: &str) -> tonic::Request<unistream::ConnectRequest> {
    tonic::Request::new(unistream::ConnectRequest {
        token: user.into(),
        ..Default::default()
    })
}

/// The next message; `None` when the stream ended cleanly (status OK).
async fn next(stream: &mut Streaming<unistream::Push>) -> Option<unistream::Push> {
    tokio::time::timeout(WAIT, stream.message())
        .await
        .expect("timed out waiting for a push")
        .expect("stream failed")
}

/// The next push that is not a ping.
async fn next_push(stream: &mut Streaming<unistream::Push>) -> unistream::Push {
    loop {
        let push = next(stream).await.expect("stream ended");
        if push != unistream::Push::default() {
            return push;
        }
    }
}

async fn ended(stream: &mut Streaming<unistream::Push>) {
    while let Some(push) = next(stream).await {
        assert_eq!(push, unistream::Push::default(), "only pings may remain");
    }
}

async fn wait_clients(h: &Harness, n: u32) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while h.node.info().num_clients != n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "num_clients stays {}",
            h.node.info().num_clients
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn connect_publication_ping_and_disconnect() {
    let h = Harness::with(base_config(), node_config()).await;
    let mut stream = consume(&h, connect_as("alice")).await;

    let push = next(&mut stream).await.unwrap();
    let connect = push.connect.expect("connect push first");
    assert_eq!(connect.client.len(), 36);
    assert_eq!(connect.session.len(), 36);
    assert!(!connect.pong, "no pong on unidirectional transports");

    // Subscribed server-side through the GRPC API, then a publication through it.
    let mut api = h.client().await;
    let subscribed = api
        .subscribe(h.request(pb::SubscribeRequest {
            user: "alice".into(),
            channel: "hist:news".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(subscribed.error.is_none());
    let push = next_push(&mut stream).await;
    assert_eq!(push.channel, "hist:news");
    assert!(push.subscribe.is_some(), "{push:?}");

    api.publish(h.request(pb::PublishRequest {
        channel: "hist:news".into(),
        data: bytes::Bytes::from_static(br#"{"n":1}"#),
        ..Default::default()
    }))
    .await
    .unwrap();
    let push = next_push(&mut stream).await;
    assert_eq!(push.channel, "hist:news");
    let publication = push.r#pub.expect("publication");
    assert_eq!(&publication.data[..], br#"{"n":1}"#);
    assert_eq!(publication.offset, 1);

    // Pings are empty pushes.
    let ping = next(&mut stream).await.unwrap();
    assert_eq!(ping, unistream::Push::default());

    let disconnected = api
        .disconnect(h.request(pb::DisconnectRequest {
            user: "alice".into(),
            disconnect: Some(pb::Disconnect {
                code: 4000,
                reason: "bye".into(),
            }),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(disconnected.error.is_none());
    let push = next_push(&mut stream).await;
    let disconnect = push.disconnect.expect("disconnect push");
    assert_eq!((disconnect.code, disconnect.reason.as_str()), (4000, "bye"));
    ended(&mut stream).await;
    wait_clients(&h, 0).await;
}

#[tokio::test]
async fn client_going_away_ends_the_connection() {
    let h = Harness::with(base_config(), node_config()).await;
    let mut stream = consume(&h, connect_as("alice")).await;
    assert!(next(&mut stream).await.unwrap().connect.is_some());
    wait_clients(&h, 1).await;
    drop(stream);
    wait_clients(&h, 0).await;
}

#[tokio::test]
async fn refused_connect_is_a_disconnect_push() {
    let handler = TestHandler {
        expire_at: 1,
        ..Default::default()
    };
    let h = Harness::with_handler(base_config(), node_config(), Arc::new(handler)).await;
    let mut stream = consume(&h, connect_as("alice")).await;
    let push = next_push(&mut stream).await;
    assert_eq!(push.disconnect.expect("disconnect push").code, 3005);
    ended(&mut stream).await;
}

#[tokio::test]
async fn node_shutdown_sends_3001() {
    let h = Harness::with(base_config(), node_config()).await;
    let mut stream = consume(&h, connect_as("alice")).await;
    assert!(next(&mut stream).await.unwrap().connect.is_some());
    h.node.shutdown().await;
    let push = next_push(&mut stream).await;
    assert_eq!(push.disconnect.expect("disconnect push").code, 3001);
    ended(&mut stream).await;
}

/// Records what the connect handler was given.
#[derive(Default)]
struct Recording {
    seen: Mutex<Option<ConnectingEvent>>,
}

#[async_trait]
impl gyre_core::ClientHandler for Recording {
    async fn on_connecting(&self, event: ConnectingEvent) -> Result<ConnectingReply, HandlerError> {
        let user = event.token.clone();
        *self.seen.lock().unwrap() = Some(event);
        Ok(ConnectingReply {
            credentials: Credentials {
                user,
                ..Default::default()
            },
            ..Default::default()
        })
    }
}

#[tokio::test]
async fn connect_request_fields_and_allowed_metadata_reach_the_handler() {
    let mut config = base_config();
    config.client.proxy.connect.proxy.grpc_metadata = vec!["x-tenant".into()];
    let handler = Arc::new(Recording::default());
    let h = Harness::with_handler(config, node_config(), handler.clone()).await;
    let mut request = tonic::Request::new(unistream::ConnectRequest {
        token: "alice".into(),
        data: bytes::Bytes::from_static(b"{\"d\":1}"),
        name: "consumer".into(),
        version: "1.0".into(),
        headers: HashMap::from([("x-emulated".to_owned(), "e".to_owned())]),
        subs: HashMap::from([(
            "hist:news".to_owned(),
            unistream::SubscribeRequest {
                recover: true,
                epoch: "ep".into(),
                offset: 3,
            },
        )]),
    });
    request.metadata_mut().insert("x-tenant", "acme".parse().unwrap());
    request.metadata_mut().insert("x-secret", "no".parse().unwrap());
    let mut stream = consume(&h, request).await;
    assert!(next(&mut stream).await.unwrap().connect.is_some());

    let event = handler.seen.lock().unwrap().take().unwrap();
    assert_eq!(event.transport.name, "uni_grpc");
    assert!(event.transport.unidirectional);
    assert_eq!(
        event.transport.headers.get("x-tenant").map(String::as_str),
        Some("acme")
    );
    assert!(!event.transport.headers.contains_key("x-secret"));
    assert_eq!((event.name.as_str(), event.version.as_str()), ("consumer", "1.0"));
    assert_eq!(&event.data[..], b"{\"d\":1}");
    assert_eq!(event.headers["x-emulated"], "e");
    let sub = &event.subs["hist:news"];
    assert!(sub.recover);
    assert_eq!((sub.epoch.as_str(), sub.offset), ("ep", 3));
}
