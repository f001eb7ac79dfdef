//! Server TLS from Centrifugo's unified TLS object (`grpc_api.tls`, `uni_grpc.tls`):
//! `cert_pem` + `key_pem`, and mutual TLS when `client_ca_pem` is set (a client certificate
//! signed by that CA is then required).

use base64::Engine as _;
use gyre_config::Tls;
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

use crate::ConfigError;

/// `None` when TLS is off.
pub(crate) fn server_tls(section: &'static str, tls: &Tls) -> Result<Option<ServerTlsConfig>, ConfigError> {
    if !tls.enabled {
        return Ok(None);
    }
    let error = |reason: String| ConfigError::Tls { section, reason };
    if tls.cert_pem.is_empty() || tls.key_pem.is_empty() {
        return Err(error("cert_pem and key_pem are required".into()));
    }
    let cert = load_pem(&tls.cert_pem).map_err(|e| error(format!("cert_pem: {e}")))?;
    let key = load_pem(&tls.key_pem).map_err(|e| error(format!("key_pem: {e}")))?;
    let mut config = ServerTlsConfig::new().identity(Identity::from_pem(cert, key));
    if !tls.client_ca_pem.is_empty() {
        let ca = load_pem(&tls.client_ca_pem).map_err(|e| error(format!("client_ca_pem: {e}")))?;
        config = config.client_ca_root(Certificate::from_pem(ca));
    }
    Ok(Some(config))
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

/// A PEM block: a `-----BEGIN` line with a matching `-----END` after it. Whether the block
/// parses is for the TLS acceptor to say (at start-up).
fn is_pem(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    text.find("-----BEGIN ")
        .is_some_and(|start| text[start..].contains("-----END "))
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
    fn off_or_incomplete() {
        assert!(server_tls("grpc_api", &Tls::default()).unwrap().is_none());
        let half = Tls {
            enabled: true,
            cert_pem: PEM.into(),
            ..Default::default()
        };
        assert!(server_tls("grpc_api", &half).is_err());
    }
}
