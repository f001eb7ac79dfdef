//! A scripted backend on 127.0.0.1:0 that records what the proxy sent.
#![allow(dead_code, unreachable_pub)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::HeaderMap;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use gyre_proxy::{HttpProxy, ProxyConfig, ProxyHttpClient};

#[derive(Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

#[derive(Clone)]
pub enum Reply {
    Json(u16, &'static str),
    /// Answer only after this delay (a slow backend).
    Delayed(Duration, &'static str),
    /// `chunks` chunks of `chunk_size` spaces, produced only as fast as the client reads them;
    /// `declared` sends a Content-Length, otherwise the body is chunked.
    Huge {
        chunks: usize,
        chunk_size: usize,
        declared: bool,
    },
}

pub struct Backend {
    pub addr: SocketAddr,
    pub requests: mpsc::UnboundedReceiver<Recorded>,
    /// Bytes of `Reply::Huge` bodies handed to hyper so far.
    pub produced: Arc<AtomicUsize>,
    pub connections: Arc<AtomicUsize>,
}

impl Backend {
    pub fn url(&self) -> String {
        format!("http://{}/proxy", self.addr)
    }

    pub fn proxy(&self, tweak: impl FnOnce(&mut ProxyConfig)) -> HttpProxy {
        let mut cfg = ProxyConfig::new(self.url());
        cfg.timeout = Duration::from_secs(5);
        tweak(&mut cfg);
        HttpProxy::new(cfg, ProxyHttpClient::new()).unwrap()
    }

    pub async fn next_request(&mut self) -> Recorded {
        tokio::time::timeout(Duration::from_secs(5), self.requests.recv())
            .await
            .expect("backend saw no request")
            .expect("backend closed")
    }

    pub fn body_json(rec: &Recorded) -> serde_json::Value {
        serde_json::from_slice(&rec.body).expect("request body is JSON")
    }
}

struct SpaceBody {
    remaining: usize,
    chunk_size: usize,
    declared: bool,
    produced: Arc<AtomicUsize>,
}

impl Body for SpaceBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        self.remaining -= 1;
        self.produced.fetch_add(self.chunk_size, Ordering::SeqCst);
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b' '; self.chunk_size])))))
    }

    fn size_hint(&self) -> SizeHint {
        if self.declared {
            SizeHint::with_exact((self.remaining * self.chunk_size) as u64)
        } else {
            SizeHint::default()
        }
    }
}

pub async fn start(reply: Reply) -> Backend {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let produced = Arc::new(AtomicUsize::new(0));
    let connections = Arc::new(AtomicUsize::new(0));
    let (p, c) = (produced.clone(), connections.clone());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            c.fetch_add(1, Ordering::SeqCst);
            let (tx, reply, p) = (tx.clone(), reply.clone(), p.clone());
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    let (tx, reply, p) = (tx.clone(), reply.clone(), p.clone());
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await.unwrap().to_bytes().to_vec();
                        let _ = tx.send(Recorded {
                            method: parts.method.to_string(),
                            path: parts.uri.path().to_string(),
                            headers: parts.headers,
                            body,
                        });
                        Ok::<_, Infallible>(respond(reply, p).await)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Backend {
        addr,
        requests: rx,
        produced,
        connections,
    }
}

async fn respond(reply: Reply, produced: Arc<AtomicUsize>) -> Response<BoxBody<Bytes, Infallible>> {
    let json = |status: u16, body: &'static str| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(body.as_bytes())).boxed())
            .unwrap()
    };
    match reply {
        Reply::Json(status, body) => json(status, body),
        Reply::Delayed(delay, body) => {
            tokio::time::sleep(delay).await;
            json(200, body)
        }
        Reply::Huge {
            chunks,
            chunk_size,
            declared,
        } => Response::new(
            SpaceBody {
                remaining: chunks,
                chunk_size,
                declared,
                produced,
            }
            .boxed(),
        ),
    }
}
