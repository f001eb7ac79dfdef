//! TLS to backends: `https://` HTTP proxies and `grpc_tls` GRPC proxies against servers whose
//! certificates come from a CA made in the test.

mod common;
mod grpc_backend;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tokio::net::TcpListener;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};

use gyre_proxy::grpc_types as pb;
use gyre_proxy::{
    CallContext, ClientTls, ConnectRequest, ConnectResult, GrpcProxy, HttpProxy, Outcome, Proxy, ProxyConfig,
    ProxyError, ProxyHttpClient,
};

/// A CA made for one test, issuing certificates for any names.
struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
}

struct Leaf {
    cert_pem: String,
    key_pem: String,
}

impl Pki {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "gyre test CA");
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self { ca }
    }

    fn ca_pem(&self) -> String {
        self.ca.pem()
    }

    fn leaf(&self, names: &[&str]) -> Leaf {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &self.ca)
            .unwrap();
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server config presenting `leaf`; with `client_ca`, clients must show a certificate from it.
fn server_config(leaf: &Leaf, client_ca: Option<&str>, alpn: &[&[u8]]) -> Arc<ServerConfig> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(leaf.cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).unwrap();
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(ca.as_bytes()) {
                roots.add(c.unwrap()).unwrap();
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .unwrap();
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// An HTTPS backend answering every request with a connect result naming the user `tls`.
async fn https_backend(config: Arc<ServerConfig>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(stream).await else {
                    return;
                };
                let svc = hyper::service::service_fn(|_req: Request<Incoming>| async {
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
                        br#"{"result":{"user":"tls"}}"#,
                    ))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

fn https_proxy(endpoint: String, tls: Option<ClientTls>) -> HttpProxy {
    let mut cfg = ProxyConfig::new(endpoint);
    cfg.timeout = Duration::from_secs(5);
    cfg.http_tls = tls;
    HttpProxy::new(cfg, ProxyHttpClient::new()).unwrap()
}

async fn http_call(p: &HttpProxy) -> Result<Outcome<ConnectResult>, ProxyError> {
    p.connect(&ConnectRequest::default(), &CallContext::default())
        .await
}

fn user(out: Result<Outcome<ConnectResult>, ProxyError>) -> String {
    match out {
        Ok(Outcome::Result(Some(r))) => r.user,
        other => panic!("expected a connect result, got {other:?}"),
    }
}

fn transport_error<T: std::fmt::Debug>(out: Result<T, ProxyError>) -> String {
    match out {
        Err(ProxyError::Transport(msg)) => msg,
        other => panic!("expected a transport error, got {other:?}"),
    }
}

fn trusting(ca_pem: &str) -> ClientTls {
    ClientTls {
        server_ca_pem: ca_pem.to_owned(),
        ..Default::default()
    }
}

#[tokio::test]
async fn https_trusts_only_the_configured_ca() {
    let pki = Pki::new();
    let addr = https_backend(server_config(&pki.leaf(&["127.0.0.1"]), None, &[])).await;
    let url = format!("https://{addr}/connect");

    assert_eq!(
        user(http_call(&https_proxy(url.clone(), Some(trusting(&pki.ca_pem())))).await),
        "tls"
    );

    // Default settings trust only the public roots; the test CA is not one of them.
    let msg = transport_error(http_call(&https_proxy(url.clone(), None)).await);
    assert!(msg.to_lowercase().contains("certificate"), "{msg}");

    // A different CA does not vouch for this server either.
    let other = Pki::new();
    transport_error(http_call(&https_proxy(url.clone(), Some(trusting(&other.ca_pem())))).await);

    // Centrifugo's other PEM forms: base64-encoded PEM and a PEM file path.
    let b64 = base64::engine::general_purpose::STANDARD.encode(pki.ca_pem());
    assert_eq!(
        user(http_call(&https_proxy(url.clone(), Some(trusting(&b64)))).await),
        "tls"
    );
    let path = std::env::temp_dir().join(format!("gyre-proxy-tls-ca-{}.pem", addr.port()));
    std::fs::write(&path, pki.ca_pem()).unwrap();
    let from_file = https_proxy(url, Some(trusting(path.to_str().unwrap())));
    std::fs::remove_file(&path).unwrap();
    assert_eq!(user(http_call(&from_file).await), "tls");
}

#[tokio::test]
async fn https_insecure_skip_verify_and_server_name() {
    let pki = Pki::new();
    // The certificate names another host, not the address dialled.
    let addr = https_backend(server_config(&pki.leaf(&["backend.internal"]), None, &[])).await;
    let url = format!("https://{addr}/connect");

    let msg = transport_error(http_call(&https_proxy(url.clone(), Some(trusting(&pki.ca_pem())))).await);
    assert!(msg.to_lowercase().contains("certificate"), "{msg}");

    let named = ClientTls {
        server_name: "backend.internal".into(),
        ..trusting(&pki.ca_pem())
    };
    assert_eq!(
        user(http_call(&https_proxy(url.clone(), Some(named))).await),
        "tls"
    );

    let insecure = ClientTls {
        insecure_skip_verify: true,
        ..Default::default()
    };
    assert_eq!(user(http_call(&https_proxy(url, Some(insecure))).await), "tls");
}

#[tokio::test]
async fn https_client_certificate_for_mutual_tls() {
    let pki = Pki::new();
    let clients = Pki::new();
    let config = server_config(&pki.leaf(&["127.0.0.1"]), Some(&clients.ca_pem()), &[]);
    let url = format!("https://{}/connect", https_backend(config).await);

    transport_error(http_call(&https_proxy(url.clone(), Some(trusting(&pki.ca_pem())))).await);

    let client = clients.leaf(&["gyre"]);
    let mutual = ClientTls {
        cert_pem: client.cert_pem,
        key_pem: client.key_pem,
        ..trusting(&pki.ca_pem())
    };
    assert_eq!(user(http_call(&https_proxy(url, Some(mutual))).await), "tls");
}

#[tokio::test]
async fn plain_http_ignores_the_tls_object() {
    let mut b = common::start(common::Reply::Json(200, r#"{"result":{}}"#)).await;
    let p = https_proxy(b.url(), Some(trusting("not used for http://")));
    let out = http_call(&p).await.unwrap();
    assert!(matches!(out, Outcome::Result(_)), "{out:?}");
    b.next_request().await;
}

fn grpc_proxy(addr: SocketAddr, tls: ClientTls) -> GrpcProxy {
    let mut cfg = ProxyConfig::new(format!("grpc://{addr}"));
    cfg.timeout = Duration::from_secs(5);
    cfg.grpc_tls = Some(tls);
    GrpcProxy::new(cfg).unwrap()
}

fn grpc_script() -> grpc_backend::Script {
    grpc_backend::Script {
        connect: pb::ConnectResponse {
            result: Some(pb::ConnectResult {
                user: "grpc-tls".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[tokio::test]
async fn grpc_over_tls() {
    let pki = Pki::new();
    let config = server_config(&pki.leaf(&["127.0.0.1"]), None, &[b"h2"]);
    let mut b = grpc_backend::start_tls(grpc_script(), config).await;
    let ctx = CallContext::default();

    let p = grpc_proxy(b.addr, trusting(&pki.ca_pem()));
    let out = p.connect(&ConnectRequest::default(), &ctx).await;
    assert_eq!(user(out), "grpc-tls");
    // The call reached the backend over TLS with its scheme saying so.
    assert!(b.next().await.path.ends_with("/Connect"));

    // Through the transport-choosing enum as well.
    let mut cfg = ProxyConfig::new(b.endpoint());
    cfg.grpc_tls = Some(trusting(&pki.ca_pem()));
    let p = Proxy::new(cfg, ProxyHttpClient::new()).unwrap();
    assert_eq!(
        user(p.connect(&ConnectRequest::default(), &ctx).await),
        "grpc-tls"
    );

    let untrusted = grpc_proxy(b.addr, trusting(&Pki::new().ca_pem()));
    transport_error(untrusted.connect(&ConnectRequest::default(), &ctx).await);
    let defaults = grpc_proxy(b.addr, ClientTls::default());
    transport_error(defaults.connect(&ConnectRequest::default(), &ctx).await);
}

#[tokio::test]
async fn grpc_tls_server_name_and_insecure_skip_verify() {
    let pki = Pki::new();
    let config = server_config(&pki.leaf(&["proxy.internal"]), None, &[b"h2"]);
    let b = grpc_backend::start_tls(grpc_script(), config).await;
    let ctx = CallContext::default();

    transport_error(
        grpc_proxy(b.addr, trusting(&pki.ca_pem()))
            .connect(&ConnectRequest::default(), &ctx)
            .await,
    );
    let named = ClientTls {
        server_name: "proxy.internal".into(),
        ..trusting(&pki.ca_pem())
    };
    let out = grpc_proxy(b.addr, named)
        .connect(&ConnectRequest::default(), &ctx)
        .await;
    assert_eq!(user(out), "grpc-tls");
    let insecure = ClientTls {
        insecure_skip_verify: true,
        ..Default::default()
    };
    let out = grpc_proxy(b.addr, insecure)
        .connect(&ConnectRequest::default(), &ctx)
        .await;
    assert_eq!(user(out), "grpc-tls");
}

#[tokio::test]
async fn plaintext_grpc_client_cannot_talk_to_a_tls_backend() {
    let pki = Pki::new();
    let config = server_config(&pki.leaf(&["127.0.0.1"]), None, &[b"h2"]);
    let b = grpc_backend::start_tls(grpc_script(), config).await;
    let mut cfg = ProxyConfig::new(b.endpoint());
    cfg.timeout = Duration::from_secs(5);
    let out = GrpcProxy::new(cfg)
        .unwrap()
        .connect(&ConnectRequest::default(), &CallContext::default())
        .await;
    assert!(out.is_err(), "{out:?}");
}
