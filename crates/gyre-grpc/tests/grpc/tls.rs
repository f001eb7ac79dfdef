//! `grpc_api.tls` and `uni_grpc.tls`: TLS with a certificate from a test CA, and mutual TLS
//! with `client_ca_pem`.

use gyre_core::NodeConfig;
use gyre_grpc::pb;
use gyre_grpc::pb::centrifugo_api_client::CentrifugoApiClient;
use gyre_grpc::unistream;
use gyre_grpc::unistream::centrifugo_uni_stream_client::CentrifugoUniStreamClient;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

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

async fn channel(
    addr: std::net::SocketAddr,
    tls: ClientTlsConfig,
) -> Result<Channel, tonic::transport::Error> {
    Channel::from_shared(format!("https://localhost:{}", addr.port()))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
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
    let trust = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(pki.ca.pem()))
        .domain_name("localhost");

    let mut api = CentrifugoApiClient::new(channel(h.api_addr, trust.clone()).await.unwrap());
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
    let refused = match channel(h.uni_addr, trust.clone()).await {
        Err(_) => true,
        Ok(ch) => CentrifugoUniStreamClient::new(ch)
            .consume(unistream::ConnectRequest::default())
            .await
            .is_err(),
    };
    assert!(refused, "a client without certificate got through");
    let (client_cert, client_key) = pki.leaf(&["consumer"]);
    let with_identity = trust.identity(Identity::from_pem(client_cert, client_key));
    let mut uni = CentrifugoUniStreamClient::new(channel(h.uni_addr, with_identity).await.unwrap());
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
