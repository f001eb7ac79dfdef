//! Server TLS from Centrifugo's unified TLS object (`grpc_api.tls`, `uni_grpc.tls`):
//! `cert_pem` + `key_pem`, and mutual TLS when `client_ca_pem` is set (a client certificate
//! signed by that CA is then required, Go's `RequireAndVerifyClientCert`).
//!
//! Done with rustls here rather than tonic's `tls-*` features: those features change how every
//! tonic channel in the binary treats `https://` targets, which breaks the GRPC proxy client's
//! own TLS connector.

use std::sync::Arc;

use gyre_config::Tls;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::ConfigError;

/// `None` when TLS is off.
pub(crate) fn acceptor(section: &'static str, tls: &Tls) -> Result<Option<TlsAcceptor>, ConfigError> {
    if !tls.enabled {
        return Ok(None);
    }
    let error = |reason: String| ConfigError::Tls { section, reason };
    if tls.cert_pem.is_empty() || tls.key_pem.is_empty() {
        return Err(error("cert_pem and key_pem are required".into()));
    }
    let cert = gyre_config::pem::load(&tls.cert_pem).map_err(|e| error(format!("cert_pem: {e}")))?;
    let chain = CertificateDer::pem_slice_iter(&cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(format!("cert_pem: {e}")))?;
    let key = gyre_config::pem::load(&tls.key_pem).map_err(|e| error(format!("key_pem: {e}")))?;
    let key = PrivateKeyDer::from_pem_slice(&key).map_err(|e| error(format!("key_pem: {e}")))?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| error(e.to_string()))?;
    let builder = if tls.client_ca_pem.is_empty() {
        builder.with_no_client_auth()
    } else {
        let ca =
            gyre_config::pem::load(&tls.client_ca_pem).map_err(|e| error(format!("client_ca_pem: {e}")))?;
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&ca) {
            let cert = cert.map_err(|e| error(format!("client_ca_pem: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| error(format!("client_ca_pem: {e}")))?;
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| error(format!("client_ca_pem: {e}")))?;
        builder.with_client_cert_verifier(verifier)
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| error(e.to_string()))?;
    // GRPC is HTTP/2 only.
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Some(TlsAcceptor::from(Arc::new(config))))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";

    #[test]
    fn off_incomplete_or_unusable() {
        assert!(acceptor("grpc_api", &Tls::default()).unwrap().is_none());
        let half = Tls {
            enabled: true,
            cert_pem: PEM.into(),
            ..Default::default()
        };
        assert!(acceptor("grpc_api", &half).is_err_and(|e| e.to_string().contains("required")));
        let garbage = Tls {
            enabled: true,
            cert_pem: PEM.into(),
            key_pem: PEM.into(),
            ..Default::default()
        };
        let Err(err) = acceptor("uni_grpc", &garbage) else {
            panic!("a certificate as key was accepted");
        };
        let err = err.to_string();
        assert!(err.starts_with("uni_grpc.tls: key_pem"), "{err}");
    }
}
