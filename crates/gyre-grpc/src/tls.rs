//! Server TLS from Centrifugo's unified TLS object (`grpc_api.tls`, `uni_grpc.tls`):
//! `cert_pem` + `key_pem`, and mutual TLS when `client_ca_pem` is set (a client certificate
//! signed by that CA is then required, Go's `RequireAndVerifyClientCert`).
//!
//! Done with rustls here rather than tonic's `tls-*` features: those features change how every
//! tonic channel in the binary treats `https://` targets, which breaks the GRPC proxy client's
//! own TLS connector.

use std::sync::Arc;

use base64::Engine as _;
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
    let cert = load_pem(&tls.cert_pem).map_err(|e| error(format!("cert_pem: {e}")))?;
    let chain = CertificateDer::pem_slice_iter(&cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| error(format!("cert_pem: {e}")))?;
    let key = load_pem(&tls.key_pem).map_err(|e| error(format!("key_pem: {e}")))?;
    let key = PrivateKeyDer::from_pem_slice(&key).map_err(|e| error(format!("key_pem: {e}")))?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| error(e.to_string()))?;
    let builder = if tls.client_ca_pem.is_empty() {
        builder.with_no_client_auth()
    } else {
        let ca = load_pem(&tls.client_ca_pem).map_err(|e| error(format!("client_ca_pem: {e}")))?;
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

/// Centrifugo's PEM values may be PEM text, base64-encoded PEM, or the path of a PEM file,
/// tried in that order.
fn load_pem(value: &str) -> Result<Vec<u8>, String> {
    if is_pem(value.as_bytes()) {
        return Ok(value.as_bytes().to_vec());
    }
    if let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(value.trim()) {
        if is_pem(&decoded) {
            return Ok(decoded);
        }
    }
    match std::fs::read(value) {
        Ok(content) if is_pem(&content) => Ok(content),
        Ok(_) => Err(format!("file {value:?} contains invalid PEM data")),
        Err(_) => Err("not PEM text, base64-encoded PEM or a readable PEM file".to_owned()),
    }
}

/// Whether the data holds at least one complete PEM block.
fn is_pem(data: &[u8]) -> bool {
    let mut reader = std::io::Cursor::new(data);
    matches!(rustls::pki_types::pem::from_buf(&mut reader), Ok(Some(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";

    #[test]
    fn pem_text_base64_or_file() {
        assert_eq!(load_pem(PEM).unwrap(), PEM.as_bytes());
        let b64 = base64::engine::general_purpose::STANDARD.encode(PEM);
        assert_eq!(load_pem(&b64).unwrap(), PEM.as_bytes());
        let path = std::env::temp_dir().join(format!("gyre-grpc-tls-{}.pem", std::process::id()));
        std::fs::write(&path, PEM).unwrap();
        assert_eq!(load_pem(path.to_str().unwrap()).unwrap(), PEM.as_bytes());
        std::fs::write(&path, "garbage").unwrap();
        assert!(load_pem(path.to_str().unwrap()).is_err());
        let _ = std::fs::remove_file(&path);
        assert!(load_pem("/nonexistent/file.pem").is_err());
    }

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
