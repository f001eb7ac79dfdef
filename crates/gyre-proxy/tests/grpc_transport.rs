//! GRPC proxy transport behaviour: metadata, credentials, compression, deadlines, failures and
//! the HTTP/GRPC choice of `Proxy::new`.

mod grpc_backend;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use grpc_backend::{start, Script};
use gyre_proxy::grpc_types as pb;
use gyre_proxy::{
    CallContext, ClientTls, ConfigError, ConnectRequest, Outcome, Proxy, ProxyConfig, ProxyError,
    ProxyHttpClient, RPCRequest,
};
use tonic::Code;

fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn metadata_precedence_allow_lists_and_credentials() {
    let mut b = start(Script::default()).await;
    let p = b.proxy(|c| {
        c.grpc_static_metadata = map(&[("x-static", "s"), ("authorization", "static")]);
        c.emulated_headers = vec!["Authorization".into(), "X-Emu".into(), "x-api-key".into()];
        c.http_headers = vec![
            "authorization".into(),
            "X-Real".into(),
            "te".into(),
            "grpc-timeout".into(),
        ];
        c.grpc_credentials_key = "X-Api-Key".into();
        c.grpc_credentials_value = "secret".into();
        // HTTP static headers are not GRPC metadata.
        c.static_headers = map(&[("x-http-only", "h")]);
    });
    let ctx = CallContext {
        headers: map(&[
            ("authorization", "transport"),
            ("x-real", "r"),
            ("cookie", "c"),
            ("te", "gzip"),
            ("grpc-timeout", "1H"),
        ]),
        emulated_headers: map(&[
            ("Authorization", "emu"),
            ("X-Emu", "e"),
            ("X-Real", "forged"),
            ("x-api-key", "forged"),
        ]),
        ..Default::default()
    };
    let out = p.connect(&ConnectRequest::default(), &ctx).await.unwrap();
    assert!(matches!(out, Outcome::Result(None)), "{out:?}");
    let md = b.next().await.metadata;
    assert_eq!(md["x-static"], "s");
    assert_eq!(md["authorization"], "transport");
    assert_eq!(md["x-emu"], "e");
    assert_eq!(md["x-real"], "r");
    assert!(md.get("cookie").is_none());
    assert!(md.get("x-http-only").is_none());
    // Credentials are set last: a client cannot replace them.
    assert_eq!(md.get_all("x-api-key").iter().collect::<Vec<_>>(), ["secret"]);
    // Reserved names stay GRPC's own even when allow-listed.
    assert_eq!(md["te"], "trailers");
    assert_ne!(md["grpc-timeout"], "1H");
    assert_eq!(md["content-type"], "application/grpc");
}

#[tokio::test]
async fn emulated_header_overrides_static_metadata() {
    let mut b = start(Script::default()).await;
    let p = b.proxy(|c| {
        c.grpc_static_metadata = map(&[("authorization", "static")]);
        c.emulated_headers = vec!["authorization".into()];
    });
    let ctx = CallContext {
        headers: HashMap::new(),
        emulated_headers: map(&[("Authorization", "emu")]),
        ..Default::default()
    };
    p.connect(&ConnectRequest::default(), &ctx).await.unwrap();
    assert_eq!(b.next().await.metadata["authorization"], "emu");
}

#[tokio::test]
async fn deadline_is_sent_as_grpc_timeout() {
    let mut b = start(Script::default()).await;
    let p = b.proxy(|c| c.timeout = Duration::from_millis(1500));
    p.connect(&ConnectRequest::default(), &CallContext::default())
        .await
        .unwrap();
    let md = b.next().await.metadata;
    let t = md["grpc-timeout"].to_str().unwrap().to_owned();
    // tonic writes the deadline in the finest unit that fits: 1.5 s as microseconds or ms.
    assert!(
        t == "1500000u" || t == "1500m" || t == "1500000000n",
        "grpc-timeout {t}"
    );
}

#[tokio::test]
async fn gzip_compression_on_request() {
    let mut b = start(Script {
        rpc: pb::RpcResponse {
            result: Some(pb::RpcResult {
                data: b"{}".to_vec(),
                b64data: String::new(),
            }),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let p = b.proxy(|c| c.grpc_compression = true);
    let req = RPCRequest {
        method: "m".into(),
        ..Default::default()
    };
    p.rpc(&req, &CallContext::default()).await.unwrap();
    let (seen, got) = b.next_as::<pb::RpcRequest>().await;
    assert_eq!(seen.metadata["grpc-encoding"], "gzip");
    assert_eq!(got.method, "m");

    let plain = b.proxy(|_| {});
    plain.rpc(&req, &CallContext::default()).await.unwrap();
    assert!(b.next().await.metadata.get("grpc-encoding").is_none());
}

#[tokio::test]
async fn slow_backend_times_out_within_deadline() {
    let mut b = start(Script {
        delay: Some(Duration::from_secs(30)),
        ..Default::default()
    })
    .await;
    let p = b.proxy(|c| c.timeout = Duration::from_millis(200));
    let started = Instant::now();
    let err = p
        .connect(&ConnectRequest::default(), &CallContext::default())
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, ProxyError::Timeout(_)), "{err:?}");
    assert!(took >= Duration::from_millis(200), "{took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    // The call did reach the backend: this is a slow reply, not a failed connection.
    b.next().await;
}

#[tokio::test]
async fn connection_refused_is_transport_error() {
    let cfg = ProxyConfig::new(format!("grpc://127.0.0.1:{}", free_port()));
    let p = gyre_proxy::GrpcProxy::new(cfg).unwrap();
    let err = p
        .connect(&ConnectRequest::default(), &CallContext::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ProxyError::Transport(_)), "{err:?}");
}

#[tokio::test]
async fn backend_status_is_reported() {
    let b = start(Script {
        status: Some((Code::PermissionDenied, "go away")),
        ..Default::default()
    })
    .await;
    let err = b
        .proxy(|_| {})
        .connect(&ConnectRequest::default(), &CallContext::default())
        .await
        .unwrap_err();
    match err {
        ProxyError::GrpcStatus { code, message } => {
            assert_eq!(code, Code::PermissionDenied as i32);
            assert_eq!(message, "go away");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn oversized_reply_is_refused() {
    let b = start(Script {
        connect: pb::ConnectResponse {
            result: Some(pb::ConnectResult {
                user: "x".repeat(4096),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let err = b
        .proxy(|c| c.max_response_body = 1024)
        .connect(&ConnectRequest::default(), &CallContext::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ProxyError::GrpcStatus { .. }), "{err:?}");
}

#[tokio::test]
async fn proxy_new_chooses_transport_by_endpoint() {
    let client = ProxyHttpClient::new();
    let pick = |e: &str| Proxy::new(ProxyConfig::new(e), client.clone());
    assert!(matches!(pick("http://127.0.0.1:1/connect"), Ok(Proxy::Http(_))));
    assert!(matches!(pick("https://127.0.0.1:1/connect"), Ok(Proxy::Http(_))));
    assert!(matches!(pick("grpc://127.0.0.1:1"), Ok(Proxy::Grpc(_))));
    assert!(matches!(pick("127.0.0.1:1"), Ok(Proxy::Grpc(_))));
    assert!(matches!(
        pick("unix:///tmp/x.sock"),
        Err(ConfigError::GrpcEndpoint(..))
    ));
    let mut tls = ProxyConfig::new("grpc://127.0.0.1:1");
    tls.grpc_tls = Some(ClientTls::default());
    assert!(matches!(Proxy::new(tls, client.clone()), Ok(Proxy::Grpc(_))));

    // The enum reaches a live GRPC backend through the shared API.
    let mut b = start(Script {
        connect: pb::ConnectResponse {
            result: Some(pb::ConnectResult {
                user: "via-enum".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let p = pick(&b.addr.to_string()).unwrap();
    assert_eq!(p.protocol(), "grpc");
    assert_eq!(p.config().endpoint, b.addr.to_string());
    match p
        .connect(&ConnectRequest::default(), &CallContext::default())
        .await
        .unwrap()
    {
        Outcome::Result(Some(r)) => assert_eq!(r.user, "via-enum"),
        other => panic!("{other:?}"),
    }
    b.next().await;
}
