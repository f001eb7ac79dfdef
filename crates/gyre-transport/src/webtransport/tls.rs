//! The QUIC endpoint's TLS configuration from `http_server.tls` (HTTP/3 runs over TLS 1.3 only).

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// ALPN of HTTP/3, which WebTransport sessions are opened over.
const ALPN_H3: &[u8] = b"h3";

/// A rustls server configuration for HTTP/3 from Centrifugo's `cert_pem` / `key_pem` values
/// (each PEM text, base64-encoded PEM, or a PEM file path, tried in that order).
pub(super) fn server_config(cert_pem: &str, key_pem: &str) -> Result<rustls::ServerConfig, String> {
    if cert_pem.is_empty() || key_pem.is_empty() {
        return Err("http_server.tls.cert_pem and key_pem are required".into());
    }
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(
        &gyre_config::pem::load(cert_pem).map_err(|e| format!("cert_pem: {e}"))?,
    )
    .collect::<Result<_, _>>()
    .map_err(|e| format!("cert_pem: {e}"))?;
    if certs.is_empty() {
        return Err("cert_pem: no certificate".into());
    }
    let key =
        PrivateKeyDer::from_pem_slice(&gyre_config::pem::load(key_pem).map_err(|e| format!("key_pem: {e}"))?)
            .map_err(|e| format!("key_pem: {e}"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("certificate and key: {e}"))?;
    config.alpn_protocols = vec![ALPN_H3.to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_and_key_make_an_h3_config() {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let (cert_pem, key_pem) = (cert.cert.pem(), cert.signing_key.serialize_pem());
        let config = server_config(&cert_pem, &key_pem).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"h3".to_vec()]);

        // The PEM value forms (text, base64, file) are gyre_config::pem's tests.
        assert!(server_config("", &key_pem).unwrap_err().contains("required"));
        assert!(server_config("/no/such/file", &key_pem)
            .unwrap_err()
            .starts_with("cert_pem"));
        // A key that does not belong to the certificate.
        let other = rcgen::generate_simple_self_signed(vec!["x".to_owned()]).unwrap();
        assert!(server_config(&cert_pem, &other.signing_key.serialize_pem()).is_err());
    }
}
