//! Centrifugo's PEM-valued options (`cert_pem`, `key_pem`, `server_ca_pem`, `client_ca_pem`):
//! each may hold PEM text, base64-encoded PEM, or the path of a PEM file, tried in that order.

use base64::Engine as _;

/// The PEM bytes an option value stands for. The error says why none of the three forms fits.
pub fn load(value: &str) -> Result<Vec<u8>, String> {
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

/// Whether the data holds at least one complete PEM block (Go's `pem.Decode` check).
fn is_pem(data: &[u8]) -> bool {
    let mut reader = std::io::Cursor::new(data);
    matches!(rustls_pki_types::pem::from_buf(&mut reader), Ok(Some(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";

    #[test]
    fn pem_text_base64_or_file() {
        assert_eq!(load(PEM).unwrap(), PEM.as_bytes());
        let b64 = base64::engine::general_purpose::STANDARD.encode(PEM);
        assert_eq!(load(&b64).unwrap(), PEM.as_bytes());
        let path = std::env::temp_dir().join(format!("gyre-config-pem-{}.pem", std::process::id()));
        std::fs::write(&path, PEM).unwrap();
        assert_eq!(load(path.to_str().unwrap()).unwrap(), PEM.as_bytes());
        std::fs::write(&path, "garbage").unwrap();
        assert!(load(path.to_str().unwrap()).is_err());
        let _ = std::fs::remove_file(&path);
        assert!(load("/nonexistent/file.pem").is_err());
        assert!(load("").is_err());
    }
}
