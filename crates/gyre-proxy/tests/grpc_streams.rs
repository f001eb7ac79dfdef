//! Subscribe stream proxies against a tonic backend played by the test: the first message decides,
//! later ones are publications, the client's publishes reach a bidirectional backend, and
//! dropping the stream cancels the call on the backend.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use hyper::http::{Request, Response};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tonic::body::Body;
use tonic::transport::server::TcpIncoming;
use tonic::{Status, Streaming};

use gyre_proxy::grpc_types as pb;
use gyre_proxy::{CallContext, GrpcProxy, Outcome, ProxyConfig, ProxyError, SubscribeRequest};

const WAIT: Duration = Duration::from_secs(5);

type Out = mpsc::Sender<Result<pb::StreamSubscribeResponse, Status>>;

/// One stream call as the backend sees it; the test answers through `out`.
struct Call {
    path: String,
    request: pb::SubscribeRequest,
    out: Out,
    /// Bidirectional calls: what the client sends after the subscribe request.
    inbound: Option<Streaming<pb::StreamSubscribeRequest>>,
}

async fn backend() -> (String, mpsc::UnboundedReceiver<Call>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (calls, rx) = mpsc::unbounded_channel();
    let svc = tower::service_fn(move |req: Request<Body>| {
        let calls = calls.clone();
        async move { Ok::<_, Infallible>(route(req, calls).await) }
    });
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .serve_with_incoming(svc, TcpIncoming::from(listener))
            .await
            .unwrap();
    });
    (format!("grpc://{addr}"), rx)
}

fn response_stream(
    rx: mpsc::Receiver<Result<pb::StreamSubscribeResponse, Status>>,
) -> impl futures_util::Stream<Item = Result<pb::StreamSubscribeResponse, Status>> {
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|m| (m, rx)) })
}

async fn route(req: Request<Body>, calls: mpsc::UnboundedSender<Call>) -> Response<Body> {
    let path = req.uri().path().to_owned();
    if path.ends_with("/SubscribeUnidirectional") {
        let svc = tower::service_fn(move |r: tonic::Request<pb::SubscribeRequest>| {
            let (calls, path) = (calls.clone(), path.clone());
            async move {
                let (out, rx) = mpsc::channel(16);
                let _ = calls.send(Call {
                    path,
                    request: r.into_inner(),
                    out,
                    inbound: None,
                });
                Ok::<_, Status>(tonic::Response::new(response_stream(rx)))
            }
        });
        let codec = tonic_prost::ProstCodec::<pb::StreamSubscribeResponse, pb::SubscribeRequest>::default();
        tonic::server::Grpc::new(codec).server_streaming(svc, req).await
    } else if path.ends_with("/SubscribeBidirectional") {
        let svc = tower::service_fn(move |r: tonic::Request<Streaming<pb::StreamSubscribeRequest>>| {
            let (calls, path) = (calls.clone(), path.clone());
            async move {
                let mut inbound = r.into_inner();
                let first = inbound.message().await?.unwrap_or_default();
                let (out, rx) = mpsc::channel(16);
                let _ = calls.send(Call {
                    path,
                    request: first.subscribe_request.unwrap_or_default(),
                    out,
                    inbound: Some(inbound),
                });
                Ok::<_, Status>(tonic::Response::new(response_stream(rx)))
            }
        });
        let codec =
            tonic_prost::ProstCodec::<pb::StreamSubscribeResponse, pb::StreamSubscribeRequest>::default();
        tonic::server::Grpc::new(codec).streaming(svc, req).await
    } else {
        Status::unimplemented(path).into_http()
    }
}

fn proxy(endpoint: &str, timeout: Duration) -> GrpcProxy {
    let mut cfg = ProxyConfig::new(endpoint);
    cfg.timeout = timeout;
    GrpcProxy::new(cfg).unwrap()
}

fn request(channel: &str) -> SubscribeRequest {
    SubscribeRequest {
        client: "c1".into(),
        transport: "websocket".into(),
        protocol: "json".into(),
        encoding: "json".into(),
        user: "alice".into(),
        channel: channel.into(),
        ..Default::default()
    }
}

fn accepted(info: &[u8]) -> pb::StreamSubscribeResponse {
    pb::StreamSubscribeResponse {
        subscribe_response: Some(pb::SubscribeResponse {
            result: Some(pb::SubscribeResult {
                info: info.to_vec(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        publication: None,
    }
}

fn publication(data: &str) -> pb::StreamSubscribeResponse {
    pb::StreamSubscribeResponse {
        subscribe_response: None,
        publication: Some(pb::Publication {
            data: Bytes::from(data.to_owned()),
            tags: [("t".to_string(), "1".to_string())].into(),
        }),
    }
}

async fn open(
    p: &GrpcProxy,
    bidirectional: bool,
    channel: &str,
) -> Result<(Outcome<gyre_proxy::SubscribeResult>, gyre_proxy::SubscribeStream), ProxyError> {
    p.subscribe_stream(bidirectional, &request(channel), &CallContext::default())
        .await
}

async fn next_call(calls: &mut mpsc::UnboundedReceiver<Call>) -> Call {
    tokio::time::timeout(WAIT, calls.recv())
        .await
        .expect("backend saw no call")
        .unwrap()
}

#[tokio::test]
async fn unidirectional_stream_decides_then_publishes_then_ends() {
    let (endpoint, mut calls) = backend().await;
    let p = proxy(&endpoint, Duration::from_secs(5));
    let (opened, call) = tokio::join!(open(&p, false, "s:1"), async {
        let call = next_call(&mut calls).await;
        call.out.send(Ok(accepted(br#"{"seat":1}"#))).await.unwrap();
        call.out.send(Ok(publication(r#"{"n":1}"#))).await.unwrap();
        call
    });
    assert!(call.path.ends_with("/SubscribeUnidirectional"));
    assert_eq!(call.request.channel, "s:1");
    assert_eq!(call.request.user, "alice");
    let (outcome, mut stream) = opened.unwrap();
    match outcome {
        Outcome::Result(Some(r)) => assert_eq!(r.info_bytes().unwrap().unwrap(), br#"{"seat":1}"#),
        other => panic!("expected a result, got {other:?}"),
    }
    assert!(stream.publisher().is_none());
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.data, Bytes::from_static(br#"{"n":1}"#));
    assert_eq!(first.tags["t"], "1");
    // A message without a publication is skipped, not an end.
    call.out.send(Ok(accepted(b""))).await.unwrap();
    call.out.send(Ok(publication(r#"{"n":2}"#))).await.unwrap();
    assert_eq!(
        stream.next().await.unwrap().unwrap().data,
        Bytes::from_static(br#"{"n":2}"#)
    );
    // The backend returning ends the stream normally.
    drop(call);
    assert!(stream.next().await.unwrap().is_none());
}

#[tokio::test]
async fn a_failed_stream_is_an_error_and_a_dropped_one_is_cancelled() {
    let (endpoint, mut calls) = backend().await;
    let p = proxy(&endpoint, Duration::from_secs(5));
    let (opened, call) = tokio::join!(open(&p, false, "s:2"), async {
        let call = next_call(&mut calls).await;
        call.out.send(Ok(accepted(b""))).await.unwrap();
        call
    });
    let (_, mut stream) = opened.unwrap();
    call.out
        .send(Err(Status::internal("backend broke")))
        .await
        .unwrap();
    assert!(matches!(
        stream.next().await,
        Err(ProxyError::GrpcStatus { code: 13, .. })
    ));

    let (opened, call) = tokio::join!(open(&p, false, "s:3"), async {
        let call = next_call(&mut calls).await;
        call.out.send(Ok(accepted(b""))).await.unwrap();
        call
    });
    let (_, stream) = opened.unwrap();
    drop(stream);
    // The backend's sender notices that nobody reads the call any more.
    tokio::time::timeout(WAIT, call.out.closed())
        .await
        .expect("dropping the stream cancels the call");
}

#[tokio::test]
async fn bidirectional_stream_carries_the_clients_publications() {
    let (endpoint, mut calls) = backend().await;
    let p = proxy(&endpoint, Duration::from_secs(5));
    let (opened, mut call) = tokio::join!(open(&p, true, "b:1"), async {
        let call = next_call(&mut calls).await;
        call.out.send(Ok(accepted(b""))).await.unwrap();
        call
    });
    assert!(call.path.ends_with("/SubscribeBidirectional"));
    assert_eq!(call.request.channel, "b:1");
    let (_, stream) = opened.unwrap();
    let publisher = stream.publisher().expect("bidirectional");
    publisher.publish(Bytes::from_static(b"hello")).await.unwrap();
    let inbound = call.inbound.as_mut().unwrap();
    let got = tokio::time::timeout(WAIT, inbound.message())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(got.subscribe_request.is_none());
    assert_eq!(got.publication.unwrap().data, Bytes::from_static(b"hello"));
    // Dropping both halves ends the client's side of the call.
    drop(publisher);
    drop(stream);
    let end = tokio::time::timeout(WAIT, inbound.message()).await.unwrap();
    assert!(matches!(end, Ok(None) | Err(_)), "{end:?}");
}

#[tokio::test]
async fn refusals_and_protocol_mistakes() {
    let (endpoint, mut calls) = backend().await;
    let p = proxy(&endpoint, Duration::from_millis(300));

    // Error and disconnect in the first message reach the caller as outcomes.
    let (opened, _call) = tokio::join!(open(&p, false, "r:1"), async {
        let call = next_call(&mut calls).await;
        let mut first = accepted(b"");
        first.subscribe_response.as_mut().unwrap().disconnect = Some(pb::Disconnect {
            code: 4500,
            reason: "bye".into(),
        });
        call.out.send(Ok(first)).await.unwrap();
        call
    });
    assert!(matches!(
        opened.unwrap().0,
        Outcome::Disconnect { code: 4500, .. }
    ));

    // A first message without a subscribe response is a protocol error.
    let (opened, _call) = tokio::join!(open(&p, false, "r:2"), async {
        let call = next_call(&mut calls).await;
        call.out.send(Ok(publication("{}"))).await.unwrap();
        call
    });
    assert!(matches!(opened, Err(ProxyError::Decode(_))));

    // No first message within the proxy timeout.
    let (opened, call) = tokio::join!(open(&p, false, "r:3"), next_call(&mut calls));
    assert!(matches!(opened, Err(ProxyError::Timeout(_))));
    tokio::time::timeout(WAIT, call.out.closed())
        .await
        .expect("a timed-out stream is cancelled");

    // Nothing listening.
    let dead = proxy("grpc://127.0.0.1:1", Duration::from_millis(300));
    assert!(open(&dead, false, "r:4").await.is_err());
}
