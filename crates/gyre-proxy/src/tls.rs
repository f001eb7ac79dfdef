//! Client-side TLS for backend calls: a rustls configuration built from [`ClientTls`] the way
//! Centrifugo builds its Go `tls.Config` for a proxy, and the connectors that use it.

use std::sync::Arc;
use std::time::Duration;

use hyper_rustls::{FixedServerNameResolver, HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::config::{ClientTls, ConfigError};

/// What an HTTP or GRPC proxy dials with: plain TCP for `http://`, TLS for `https://`.
pub(crate) type Connector = HttpsConnector<HttpConnector>;

/// The HTTP/1 connector (plain `http://` and `https://`); `tls` decides how `https://` servers
/// are checked.
pub(crate) fn http_connector(tls: &ClientTls) -> Result<Connector, ConfigError> {
    let builder = HttpsConnectorBuilder::new()
        .with_tls_config(client_config(tls)?)
        .https_or_http();
    let builder = match server_name(tls)? {
        Some(name) => builder.with_server_name_resolver(FixedServerNameResolver::new(name)),
        None => builder,
    };
    Ok(builder.enable_http1().wrap_connector(tcp_connector(None)))
}

/// The GRPC connector: TLS only, HTTP/2 negotiated by ALPN as grpc-go does.
pub(crate) fn grpc_connector(tls: &ClientTls, connect_timeout: Duration) -> Result<Connector, ConfigError> {
    let builder = HttpsConnectorBuilder::new()
        .with_tls_config(client_config(tls)?)
        .https_only();
    let builder = match server_name(tls)? {
        Some(name) => builder.with_server_name_resolver(FixedServerNameResolver::new(name)),
        None => builder,
    };
    Ok(builder
        .enable_http2()
        .wrap_connector(tcp_connector(Some(connect_timeout))))
}

fn tcp_connector(connect_timeout: Option<Duration>) -> HttpConnector {
    let mut tcp = HttpConnector::new();
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(connect_timeout);
    // The scheme check is the TLS layer's job: it sees `https://` URIs.
    tcp.enforce_http(false);
    tcp
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn bad(what: &str, why: impl std::fmt::Display) -> ConfigError {
    ConfigError::Tls(format!("{what}: {why}"))
}

/// Go's rules as Centrifugo uses them: TLS 1.2 or newer; `server_ca_pem` replaces the default
/// roots; a client certificate only when both `cert_pem` and `key_pem` are set.
fn client_config(tls: &ClientTls) -> Result<ClientConfig, ConfigError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("protocol versions", e))?;
    let builder = if tls.insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(SkipVerify(provider)))
    } else if tls.server_ca_pem.is_empty() {
        builder.with_root_certificates(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        })
    } else {
        builder.with_root_certificates(roots(&tls.server_ca_pem)?)
    };
    if tls.cert_pem.is_empty() || tls.key_pem.is_empty() {
        return Ok(builder.with_no_client_auth());
    }
    let certs = certificates(&gyre_config::pem::load(&tls.cert_pem).map_err(|e| bad("cert_pem", e))?)
        .map_err(|e| bad("cert_pem", e))?;
    let key =
        PrivateKeyDer::from_pem_slice(&gyre_config::pem::load(&tls.key_pem).map_err(|e| bad("key_pem", e))?)
            .map_err(|e| bad("key_pem", e))?;
    builder
        .with_client_auth_cert(certs, key)
        .map_err(|e| bad("client certificate", e))
}

fn roots(pem: &str) -> Result<RootCertStore, ConfigError> {
    let pem = gyre_config::pem::load(pem).map_err(|e| bad("server_ca_pem", e))?;
    let mut store = RootCertStore::empty();
    // Like Go's AppendCertsFromPEM: unusable blocks are skipped, but at least one must be usable.
    let (added, _) =
        store.add_parsable_certificates(certificates(&pem).map_err(|e| bad("server_ca_pem", e))?);
    if added == 0 {
        return Err(bad("server_ca_pem", "no valid certificates found"));
    }
    Ok(store)
}

fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, rustls::pki_types::pem::Error> {
    CertificateDer::pem_slice_iter(pem).collect()
}

fn server_name(tls: &ClientTls) -> Result<Option<ServerName<'static>>, ConfigError> {
    if tls.server_name.is_empty() {
        return Ok(None);
    }
    ServerName::try_from(tls.server_name.clone())
        .map(Some)
        .map_err(|e| bad("server_name", e))
}

/// `insecure_skip_verify`: like Go, accept any certificate chain and name, but still check that
/// the server holds the key of the certificate it sent.
#[derive(Debug)]
struct SkipVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for SkipVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
