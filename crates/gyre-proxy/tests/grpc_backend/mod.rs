//! A scripted CentrifugoProxy GRPC backend on 127.0.0.1:0 (tonic server utilities, no generated
//! code) that records every call.
#![allow(dead_code, unreachable_pub)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::header::HeaderMap;
use hyper::http::{Request, Response};
use prost::Message;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tonic::body::Body;
use tonic::codec::CompressionEncoding;
use tonic::transport::server::TcpIncoming;
use tonic::{Code, Status};

use gyre_proxy::grpc_types as pb;
use gyre_proxy::{GrpcProxy, ProxyConfig};

#[derive(Debug)]
pub struct Seen {
    /// Full request path, e.g. `/centrifugal.centrifugo.proxy.CentrifugoProxy/Connect`.
    pub path: String,
    pub metadata: HeaderMap,
    /// The decoded request message, encoded again: decode it as the method's request type.
    pub message: Vec<u8>,
}

/// What the backend answers, per method.
#[derive(Clone, Default)]
pub struct Script {
    pub connect: pb::ConnectResponse,
    pub refresh: pb::RefreshResponse,
    pub subscribe: pb::SubscribeResponse,
    pub publish: pb::PublishResponse,
    pub rpc: pb::RpcResponse,
    pub sub_refresh: pb::SubRefreshResponse,
    /// Wait this long before answering.
    pub delay: Option<Duration>,
    /// Answer with this status instead of a message.
    pub status: Option<(Code, &'static str)>,
}

pub struct GrpcBackend {
    pub addr: SocketAddr,
    pub seen: mpsc::UnboundedReceiver<Seen>,
}

impl GrpcBackend {
    pub fn endpoint(&self) -> String {
        format!("grpc://{}", self.addr)
    }

    pub fn proxy(&self, tweak: impl FnOnce(&mut ProxyConfig)) -> GrpcProxy {
        let mut cfg = ProxyConfig::new(self.endpoint());
        tweak(&mut cfg);
        GrpcProxy::new(cfg).unwrap()
    }

    /// The next recorded call; a bounded wait so a missing call fails instead of hanging.
    pub async fn next(&mut self) -> Seen {
        tokio::time::timeout(Duration::from_secs(5), self.seen.recv())
            .await
            .expect("backend saw no call")
            .expect("backend stopped")
    }

    pub async fn next_as<M: Message + Default>(&mut self) -> (Seen, M) {
        let seen = self.next().await;
        let msg = M::decode(seen.message.as_slice()).unwrap();
        (seen, msg)
    }
}

pub async fn start(script: Script) -> GrpcBackend {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, seen) = mpsc::unbounded_channel();
    let script = Arc::new(script);
    let svc = tower::service_fn(move |req: Request<Body>| {
        let script = script.clone();
        let tx = tx.clone();
        async move { Ok::<_, Infallible>(route(req, script, tx).await) }
    });
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .serve_with_incoming(svc, TcpIncoming::from(listener))
            .await
            .unwrap();
    });
    GrpcBackend { addr, seen }
}

/// The same backend behind TLS: each accepted connection is handshaken with `tls` (whose ALPN
/// should offer `h2`) and served as HTTP/2. The address is still `grpc://127.0.0.1:PORT`.
pub async fn start_tls(script: Script, tls: Arc<tokio_rustls::rustls::ServerConfig>) -> GrpcBackend {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, seen) = mpsc::unbounded_channel();
    let script = Arc::new(script);
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, script, tx) = (acceptor.clone(), script.clone(), tx.clone());
            tokio::spawn(async move {
                // A client that rejects the certificate aborts here; nothing to serve.
                let Ok(stream) = acceptor.accept(stream).await else {
                    return;
                };
                let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    let (script, tx) = (script.clone(), tx.clone());
                    async move { Ok::<_, Infallible>(route(req.map(Body::new), script, tx).await) }
                });
                let _ = hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    GrpcBackend { addr, seen }
}

async fn route(req: Request<Body>, s: Arc<Script>, tx: mpsc::UnboundedSender<Seen>) -> Response<Body> {
    let method = req.uri().path().rsplit('/').next().unwrap_or_default().to_owned();
    match method.as_str() {
        "Connect" => unary::<pb::ConnectRequest, _>(req, s.connect.clone(), s, tx).await,
        "Refresh" => unary::<pb::RefreshRequest, _>(req, s.refresh.clone(), s, tx).await,
        "Subscribe" => unary::<pb::SubscribeRequest, _>(req, s.subscribe.clone(), s, tx).await,
        "Publish" => unary::<pb::PublishRequest, _>(req, s.publish.clone(), s, tx).await,
        "RPC" => unary::<pb::RpcRequest, _>(req, s.rpc.clone(), s, tx).await,
        "SubRefresh" => unary::<pb::SubRefreshRequest, _>(req, s.sub_refresh.clone(), s, tx).await,
        _ => Status::unimplemented(method).into_http(),
    }
}

async fn unary<Req, Rep>(
    req: Request<Body>,
    reply: Rep,
    script: Arc<Script>,
    tx: mpsc::UnboundedSender<Seen>,
) -> Response<Body>
where
    Req: Message + Default + Send + Sync + 'static,
    Rep: Message + Clone + Send + Sync + 'static,
{
    let path = req.uri().path().to_owned();
    let metadata = req.headers().clone();
    let svc = tower::service_fn(move |r: tonic::Request<Req>| {
        let (path, metadata, reply, script, tx) = (
            path.clone(),
            metadata.clone(),
            reply.clone(),
            script.clone(),
            tx.clone(),
        );
        async move {
            let _ = tx.send(Seen {
                path,
                metadata,
                message: r.get_ref().encode_to_vec(),
            });
            if let Some(d) = script.delay {
                tokio::time::sleep(d).await;
            }
            if let Some((code, msg)) = script.status {
                return Err(Status::new(code, msg));
            }
            Ok(tonic::Response::new(reply))
        }
    });
    tonic::server::Grpc::new(tonic_prost::ProstCodec::<Rep, Req>::default())
        .accept_compressed(CompressionEncoding::Gzip)
        .unary(svc, req)
        .await
}
