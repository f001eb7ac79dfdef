//! The QUIC endpoint's TLS configuration from `http_server.tls` (HTTP/3 runs over TLS 1.3 only).

use std::sync::Arc;

use base64::Engine;
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
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(&load_pem(cert_pem, "cert_pem")?)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("cert_pem: {e}"))?;
    if certs.is_empty() {
        return Err("cert_pem: no certificate".into());
    }
    let key =
        PrivateKeyDer::from_pem_slice(&load_pem(key_pem, "key_pem")?).map_err(|e| format!("key_pem: {e}"))?;
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

fn load_pem(value: &str, what: &str) -> Result<Vec<u8>, String> {
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
        Ok(_) => Err(format!("{what}: file {value:?} contains invalid PEM data")),
        Err(_) => Err(format!(
            "{what}: not PEM text, base64-encoded PEM or a readable PEM file"
        )),
    }
}

fn is_pem(data: &[u8]) -> bool {
    let mut reader = std::io::Cursor::new(data);
    matches!(rustls::pki_types::pem::from_buf(&mut reader), Ok(Some(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_text_base64_and_files() {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let (cert_pem, key_pem) = (cert.cert.pem(), cert.signing_key.serialize_pem());
        let config = server_config(&cert_pem, &key_pem).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"h3".to_vec()]);

        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert!(server_config(&b64(&cert_pem), &b64(&key_pem)).is_ok());

        let dir = std::env::temp_dir().join(format!("gyre-wt-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert_file, &cert_pem).unwrap();
        std::fs::write(&key_file, &key_pem).unwrap();
        let paths = (cert_file.to_str().unwrap(), key_file.to_str().unwrap());
        assert!(server_config(paths.0, paths.1).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();

        assert!(server_config("", &key_pem).unwrap_err().contains("required"));
        assert!(server_config("/no/such/file", &key_pem)
            .unwrap_err()
            .starts_with("cert_pem"));
        // A key that does not belong to the certificate.
        let other = rcgen::generate_simple_self_signed(vec!["x".to_owned()]).unwrap();
        assert!(server_config(&cert_pem, &other.signing_key.serialize_pem()).is_err());
    }
}
