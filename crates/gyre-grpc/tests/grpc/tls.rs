//! `grpc_api.tls` and `uni_grpc.tls`: TLS with a certificate from a test CA, and mutual TLS
//! with `client_ca_pem`.

use std::net::SocketAddr;
use std::sync::Arc;

use gyre_core::NodeConfig;
use gyre_grpc::pb;
use gyre_grpc::pb::centrifugo_api_client::CentrifugoApiClient;
use gyre_grpc::unistream;
use gyre_grpc::unistream::centrifugo_uni_stream_client::CentrifugoUniStreamClient;
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::common::{base_config, Harness};

struct Pki {
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "gyre-grpc test CA");
        Pki {
            ca: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap(),
        }
    }

    /// `(cert_pem, key_pem)` for `names`.
    fn leaf(&self, names: &[&str]) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let cert = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &self.ca)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// A channel speaking TLS (h2 by ALPN) to `localhost`, trusting `ca_pem`, optionally showing a
/// client certificate. The TLS is done by the test's own connector: tonic's TLS features stay
/// off in this workspace.
async fn channel(
    addr: SocketAddr,
    ca_pem: &str,
    identity: Option<(String, String)>,
) -> Result<Channel, tonic::transport::Error> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let mut config = match identity {
        Some((cert, key)) => {
            let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = TlsConnector::from(Arc::new(config));
    Endpoint::from_shared(format!("http://localhost:{}", addr.port()))
        .unwrap()
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let connector = connector.clone();
            async move {
                let tcp = TcpStream::connect(addr).await?;
                let name = ServerName::try_from("localhost").unwrap();
                let tls = connector.connect(name, tcp).await?;
                Ok::<_, std::io::Error>(TokioIo::new(tls))
            }
        }))
        .await
}

#[tokio::test]
async fn tls_and_mutual_tls() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf(&["localhost"]);
    let mut config = base_config();
    for tls in [&mut config.grpc_api.tls, &mut config.uni_grpc.tls] {
        tls.enabled = true;
        tls.cert_pem = cert.clone();
        tls.key_pem = key.clone();
    }
    // The uni server also asks for a client certificate.
    config.uni_grpc.tls.client_ca_pem = pki.ca.pem();
    let h = Harness::with(config, NodeConfig::default()).await;
    let ca = pki.ca.pem();

    let mut api = CentrifugoApiClient::new(channel(h.api_addr, &ca, None).await.unwrap());
    let info = api
        .info(h.request(pb::InfoRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.result.unwrap().nodes.len(), 1);
    // Plaintext against the TLS listener fails.
    let mut plain = h.client().await;
    assert!(plain.info(h.request(pb::InfoRequest {})).await.is_err());

    // mTLS: refused without a client certificate, served with one from the CA.
    let refused = match channel(h.uni_addr, &ca, None).await {
        Err(_) => true,
        Ok(ch) => CentrifugoUniStreamClient::new(ch)
            .consume(unistream::ConnectRequest::default())
            .await
            .is_err(),
    };
    assert!(refused, "a client without certificate got through");
    let (client_cert, client_key) = pki.leaf(&["consumer"]);
    let identity = Some((client_cert, client_key));
    let mut uni = CentrifugoUniStreamClient::new(channel(h.uni_addr, &ca, identity).await.unwrap());
    let mut stream = uni
        .consume(unistream::ConnectRequest {
            token: "alice".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(stream.message().await.unwrap().unwrap().connect.is_some());
}

#[test]
fn unusable_certificates_fail_at_build_time() {
    let mut config = base_config();
    config.grpc_api.tls.enabled = true;
    config.grpc_api.tls.cert_pem = "/nonexistent/cert.pem".into();
    config.grpc_api.tls.key_pem = "/nonexistent/key.pem".into();
    let node = gyre_core::Node::new(
        NodeConfig::default(),
        std::sync::Arc::new(gyre_core::testing::TestHandler::default()),
    );
    let shared = std::sync::Arc::new(arc_swap::ArcSwap::from_pointee(
        gyre_config::Snapshot::new(config.clone()).unwrap(),
    ));
    let executor = gyre_api::Executor::new(node, shared);
    let err = gyre_grpc::api_server(
        &config.grpc_api,
        &executor,
        std::sync::Arc::new(crate::common::Recorder::default()),
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("grpc_api.tls: cert_pem"), "{err}");
}
