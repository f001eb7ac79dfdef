//! Backend failures: refused connections, slow replies and oversized bodies.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::{start, Reply};
use gyre_proxy::{
    CallContext, ClientTls, ConfigError, ConnectRequest, HttpProxy, ProxyConfig, ProxyError, ProxyHttpClient,
    DEFAULT_MAX_RESPONSE_BODY,
};

#[tokio::test]
async fn connection_refused_is_transport_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cfg = ProxyConfig::new(format!("http://127.0.0.1:{port}/connect"));
    let p = HttpProxy::new(cfg, ProxyHttpClient::new()).unwrap();
    let err = p
        .connect(&ConnectRequest::default(), &CallContext::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ProxyError::Transport(_)), "{err:?}");
}

#[tokio::test]
async fn slow_backend_times_out_on_time() {
    let b = start(Reply::Delayed(Duration::from_secs(30), "{}")).await;
    let p = b.proxy(|c| c.timeout = Duration::from_millis(200));
    let started = Instant::now();
    let err = p
        .connect(&ConnectRequest::default(), &CallContext::default())
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, ProxyError::Timeout(_)), "{err:?}");
    assert!(took >= Duration::from_millis(200), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

const MIB: usize = 1024 * 1024;
const CHUNK: usize = 64 * 1024;

/// Calls a backend streaming `total` bytes and returns the error and how much the backend got to
/// hand to its socket before the client gave up.
async fn huge(total: usize, declared: bool, limit: usize) -> (ProxyError, usize) {
    let b = start(Reply::Huge {
        chunks: total / CHUNK,
        chunk_size: CHUNK,
        declared,
    })
    .await;
    let p = b.proxy(|c| c.max_response_body = limit);
    let started = Instant::now();
    let err = p
        .connect(&ConnectRequest::default(), &CallContext::default())
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    (err, b.produced.load(Ordering::SeqCst))
}

// What the backend "produced" includes what sits in kernel socket buffers (several MiB on
// loopback), so the bounds below are loose; the point is that the body was not read to the end.

#[tokio::test]
async fn declared_20mib_body_rejected_before_reading() {
    let (err, produced) = huge(20 * MIB, true, DEFAULT_MAX_RESPONSE_BODY).await;
    assert!(
        matches!(err, ProxyError::BodyTooLarge { limit } if limit == DEFAULT_MAX_RESPONSE_BODY),
        "{err:?}"
    );
    assert!(produced < 20 * MIB, "backend produced {produced} bytes");
}

#[tokio::test]
async fn chunked_20mib_body_stops_at_limit() {
    let (err, produced) = huge(20 * MIB, false, MIB).await;
    assert!(
        matches!(err, ProxyError::BodyTooLarge { limit } if limit == MIB),
        "{err:?}"
    );
    assert!(produced < 20 * MIB, "backend produced {produced} bytes");
}

#[tokio::test]
async fn chunked_128mib_body_stops_near_default_limit() {
    let (err, produced) = huge(128 * MIB, false, DEFAULT_MAX_RESPONSE_BODY).await;
    assert!(matches!(err, ProxyError::BodyTooLarge { .. }), "{err:?}");
    assert!(produced < 40 * MIB, "backend produced {produced} bytes");
}

#[tokio::test]
async fn small_limit_applies_to_normal_bodies() {
    let b = start(Reply::Json(200, r#"{"result":{"user":"123456789"}}"#)).await;
    let p = b.proxy(|c| c.max_response_body = 10);
    let err = p
        .connect(&ConnectRequest::default(), &CallContext::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ProxyError::BodyTooLarge { limit: 10 }), "{err:?}");
}

#[test]
fn bad_tls_settings_and_zero_timeout_refused() {
    let mut cfg = ProxyConfig::new("https://backend.example/connect");
    cfg.http_tls = Some(ClientTls {
        server_ca_pem: "neither PEM nor base64 nor a file".into(),
        ..Default::default()
    });
    let err = HttpProxy::new(cfg.clone(), ProxyHttpClient::new()).unwrap_err();
    assert!(matches!(err, ConfigError::Tls(_)), "{err:?}");
    assert!(err.to_string().contains("server_ca_pem"), "{err}");
    // The TLS object only matters for https:// endpoints.
    cfg.endpoint = "http://backend.example/connect".into();
    assert!(HttpProxy::new(cfg, ProxyHttpClient::new()).is_ok());

    let mut cfg = ProxyConfig::new("http://127.0.0.1:1/");
    cfg.timeout = Duration::ZERO;
    assert!(matches!(
        HttpProxy::new(cfg, ProxyHttpClient::new()),
        Err(ConfigError::ZeroTimeout)
    ));
}
