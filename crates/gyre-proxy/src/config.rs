//! One proxy's settings, as plain values (the caller maps its configuration format onto this).

use std::collections::HashMap;
use std::time::Duration;

use serde_json::value::RawValue;

use crate::payload::encoding_name;
use crate::types_response::{DisconnectReply, ErrorReply, Outcome};

/// Centrifugo reads proxy bodies without a limit; a backend bug (or a hostile endpoint) could then
/// make every connection buffer an unbounded body, so Gyre caps it.
pub const DEFAULT_MAX_RESPONSE_BODY: usize = 10 * 1024 * 1024;

/// `http.status_to_code_transforms` entry: a non-200 status turned into a protocol reply.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusTransform {
    pub status_code: u16,
    pub to_error: Option<ErrorReply>,
    pub to_disconnect: Option<DisconnectReply>,
}

/// The client side of Centrifugo's TLS object (`enabled` is the `Option` around it; the
/// server-only `client_ca_pem` has no meaning here). Each PEM value may be PEM text,
/// base64-encoded PEM or a PEM file path, as in Centrifugo.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientTls {
    /// CA certificates the backend's certificate must chain to; empty = the bundled Mozilla
    /// roots (webpki-roots).
    pub server_ca_pem: String,
    /// Client certificate chain and its key for mutual TLS; used only when both are set.
    pub cert_pem: String,
    pub key_pem: String,
    /// Accept any certificate and host name (the handshake signature is still checked).
    pub insecure_skip_verify: bool,
    /// Name sent as SNI and checked against the certificate instead of the endpoint's host.
    pub server_name: String,
}

#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// `http://host:port/path` for HTTP; anything else is a GRPC target (`grpc://host:port` or
    /// `host:port`), as in Centrifugo.
    pub endpoint: String,
    /// Covers the whole call: connect, request, status line and body.
    pub timeout: Duration,
    /// Allow-list of transport request header names (any case).
    pub http_headers: Vec<String>,
    /// Allow-list of client-emulated header names (any case), v6.9.0+ semantics.
    pub emulated_headers: Vec<String>,
    /// Allow-list of incoming GRPC metadata keys (any case), for connections made over GRPC
    /// (uni GRPC), which have metadata instead of HTTP headers.
    pub grpc_metadata: Vec<String>,
    /// `http.static_headers`, sent on every call with the lowest priority.
    pub static_headers: HashMap<String, String>,
    pub status_to_code_transforms: Vec<StatusTransform>,
    pub binary_encoding: bool,
    pub include_connection_meta: bool,
    /// Gyre-specific guard; see [`DEFAULT_MAX_RESPONSE_BODY`]. For GRPC it caps the decoded
    /// reply message.
    pub max_response_body: usize,
    /// `grpc.static_metadata`, sent on every GRPC call with the lowest priority.
    pub grpc_static_metadata: HashMap<String, String>,
    /// `grpc.credentials_key` / `grpc.credentials_value`: one metadata pair added to every GRPC
    /// call (Centrifugo's per-RPC credentials). Empty key = none.
    pub grpc_credentials_key: String,
    pub grpc_credentials_value: String,
    /// `grpc.compression`: gzip-compress GRPC requests.
    pub grpc_compression: bool,
    /// `http.tls` when enabled: how `https://` endpoints are checked and which client
    /// certificate is shown. `None` = the bundled Mozilla roots, no client certificate. Unused
    /// for `http://` endpoints.
    pub http_tls: Option<ClientTls>,
    /// `grpc.tls` when enabled; `None` = plaintext GRPC.
    pub grpc_tls: Option<ClientTls>,
}

impl ProxyConfig {
    /// Centrifugo's defaults: 1 s timeout, no headers forwarded, JSON encoding, no meta, plaintext
    /// uncompressed GRPC without credentials.
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            timeout: Duration::from_secs(1),
            http_headers: Vec::new(),
            emulated_headers: Vec::new(),
            grpc_metadata: Vec::new(),
            static_headers: HashMap::new(),
            status_to_code_transforms: Vec::new(),
            binary_encoding: false,
            include_connection_meta: false,
            max_response_body: DEFAULT_MAX_RESPONSE_BODY,
            grpc_static_metadata: HashMap::new(),
            grpc_credentials_key: String::new(),
            grpc_credentials_value: String::new(),
            grpc_compression: false,
            http_tls: None,
            grpc_tls: None,
        }
    }

    /// Value for the request `encoding` field.
    pub fn encoding(&self) -> &'static str {
        encoding_name(self.binary_encoding)
    }

    /// The connection meta to put into a non-connect request, if this proxy forwards it.
    pub fn request_meta(&self, meta: Option<&RawValue>) -> Option<Box<RawValue>> {
        if self.include_connection_meta {
            meta.map(|m| m.to_owned())
        } else {
            None
        }
    }

    /// Centrifugo's lookup: the first entry for the status whose `to_error` has a non-zero code
    /// wins, otherwise one whose `to_disconnect` has a non-zero code.
    pub(crate) fn transform_status<T>(&self, status: u16) -> Option<Outcome<T>> {
        for t in &self.status_to_code_transforms {
            if t.status_code != status {
                continue;
            }
            if let Some(e) = t.to_error.as_ref().filter(|e| e.code > 0) {
                return Some(Outcome::Error {
                    code: e.code,
                    message: e.message.clone(),
                    temporary: e.temporary,
                });
            }
            if let Some(d) = t.to_disconnect.as_ref().filter(|d| d.code > 0) {
                return Some(Outcome::Disconnect {
                    code: d.code,
                    reason: d.reason.clone(),
                });
            }
        }
        None
    }
}

/// Whether Centrifugo would talk HTTP (rather than GRPC) to this endpoint.
pub fn is_http_endpoint(endpoint: &str) -> bool {
    endpoint.starts_with("http://") || endpoint.starts_with("https://")
}

/// Why a proxy could not be built from a [`ProxyConfig`].
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("proxy endpoint {0:?} is not an http:// or https:// URL")]
    NotHttp(String),
    #[error("proxy endpoint {0:?} is invalid: {1}")]
    InvalidEndpoint(String, String),
    #[error("proxy timeout must be greater than zero")]
    ZeroTimeout,
    #[error("invalid static header {0:?}")]
    InvalidStaticHeader(String),
    #[error("invalid GRPC static metadata {0:?}")]
    InvalidStaticMetadata(String),
    #[error("invalid GRPC credentials key or value for key {0:?}")]
    InvalidGrpcCredentials(String),
    #[error("proxy TLS configuration: {0}")]
    Tls(String),
    #[error("GRPC proxy endpoint {0:?} is not supported: {1}")]
    GrpcEndpoint(String, String),
}
