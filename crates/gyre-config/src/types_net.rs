//! Listener, TLS and transport sections. Most of these features are not served by Gyre yet;
//! they are typed anyway so that configs carrying them load, validate and round-trip with
//! Centrifugo's key names and defaults (`defaultconfig`, `defaultenv`, unknown-key warnings).

use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::types_proxy::ConnectCodeToHttpResponse;

/// The TLS object used by every listener and outgoing client. PEM fields accept raw PEM,
/// base64 PEM or a file path (resolved by whoever builds the TLS config).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Tls {
    pub enabled: bool,
    pub cert_pem: String,
    pub key_pem: String,
    pub server_ca_pem: String,
    pub client_ca_pem: String,
    pub insecure_skip_verify: bool,
    pub server_name: String,
}

/// `http_server.tls_autocert` (ACME).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TlsAutocert {
    pub enabled: bool,
    pub host_whitelist: Vec<String>,
    pub cache_dir: String,
    pub email: String,
    pub server_name: String,
    pub http: bool,
    pub http_addr: String,
}

impl Default for TlsAutocert {
    fn default() -> Self {
        TlsAutocert {
            enabled: false,
            host_whitelist: Vec::new(),
            cache_dir: String::new(),
            email: String::new(),
            server_name: String::new(),
            http: false,
            http_addr: ":80".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Http3 {
    pub enabled: bool,
}

/// Declares a section struct whose only difference from its siblings is the default
/// `handler_prefix`, so each type's `Default` is right even outside the loader.
macro_rules! prefixed_section {
    ($(#[$meta:meta])* $name:ident, $prefix:literal { $($field:ident : $ty:ty = $default:expr),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(default)]
        pub struct $name {
            pub enabled: bool,
            pub handler_prefix: String,
            $(pub $field: $ty,)*
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    enabled: false,
                    handler_prefix: $prefix.into(),
                    $($field: $default,)*
                }
            }
        }
    };
}

prefixed_section!(
    /// `sse`: bidirectional emulation over Server-Sent Events.
    Sse, "/connection/sse" { max_request_body_size: i64 = 65536 }
);
prefixed_section!(
    /// `http_stream`: bidirectional emulation over HTTP streaming.
    HttpStream, "/connection/http_stream" { max_request_body_size: i64 = 65536 }
);
prefixed_section!(
    /// `uni_sse`.
    UniSse, "/connection/uni_sse" {
        max_request_body_size: i64 = 65536,
        connect_code_to_http_response: ConnectCodeToHttpResponse = ConnectCodeToHttpResponse::default(),
    }
);
prefixed_section!(
    /// `uni_http_stream`.
    UniHttpStream, "/connection/uni_http_stream" {
        max_request_body_size: i64 = 65536,
        connect_code_to_http_response: ConnectCodeToHttpResponse = ConnectCodeToHttpResponse::default(),
    }
);
prefixed_section!(
    /// `webtransport` (needs `http_server.http3`).
    WebTransport, "/connection/webtransport" { message_size_limit: i64 = 65536 }
);
prefixed_section!(
    /// `swagger`.
    Swagger, "/swagger" {}
);
prefixed_section!(
    /// `debug` (pprof in Centrifugo).
    DebugEndpoint, "/debug/pprof" {}
);
prefixed_section!(
    /// `init`: GET endpoint answering `{}`.
    ConnInit, "/connection/init" {}
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UniWebSocket {
    pub enabled: bool,
    pub handler_prefix: String,
    pub compression: bool,
    pub compression_min_size: i64,
    pub compression_level: i64,
    pub read_buffer_size: i64,
    pub use_write_buffer_pool: bool,
    pub write_buffer_size: i64,
    pub write_timeout: Duration,
    pub message_size_limit: i64,
    pub decompressed_message_size_limit: i64,
    pub disable_closing_handshake: bool,
    pub disable_disconnect_push: bool,
    pub join_push_messages: bool,
}

impl Default for UniWebSocket {
    fn default() -> Self {
        UniWebSocket {
            enabled: false,
            handler_prefix: "/connection/uni_websocket".into(),
            compression: false,
            compression_min_size: 0,
            compression_level: 1,
            read_buffer_size: 0,
            use_write_buffer_pool: false,
            write_buffer_size: 0,
            write_timeout: Duration::from_millis(1000),
            message_size_limit: 65536,
            decompressed_message_size_limit: 0,
            disable_closing_handshake: false,
            disable_disconnect_push: false,
            join_push_messages: false,
        }
    }
}

/// `grpc_api` and `uni_grpc` share most keys; `uni_grpc` has no key/error mode/reflection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GrpcApi {
    pub enabled: bool,
    pub error_mode: String,
    pub address: String,
    pub port: u16,
    pub key: String,
    pub tls: Tls,
    pub reflection: bool,
    pub max_receive_message_size: i64,
}

impl Default for GrpcApi {
    fn default() -> Self {
        GrpcApi {
            enabled: false,
            error_mode: String::new(),
            address: String::new(),
            port: 10000,
            key: String::new(),
            tls: Tls::default(),
            reflection: false,
            max_receive_message_size: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UniGrpc {
    pub enabled: bool,
    pub address: String,
    pub port: u16,
    pub max_receive_message_size: i64,
    pub tls: Tls,
}

impl Default for UniGrpc {
    fn default() -> Self {
        UniGrpc {
            enabled: false,
            address: String::new(),
            port: 11000,
            max_receive_message_size: 0,
            tls: Tls::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Emulation {
    pub handler_prefix: String,
    pub max_request_body_size: i64,
}

impl Default for Emulation {
    fn default() -> Self {
        Emulation {
            handler_prefix: "/emulation".into(),
            max_request_body_size: 65536,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct OpenTelemetry {
    pub enabled: bool,
    pub api: bool,
    pub consuming: bool,
    pub google_cloud_adc_auth: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Graphite {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    pub prefix: String,
    pub interval: Duration,
    pub tags: bool,
}

impl Default for Graphite {
    fn default() -> Self {
        Graphite {
            enabled: false,
            host: "localhost".into(),
            port: 2003,
            prefix: "centrifugo".into(),
            interval: Duration::from_secs(10),
            tags: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UsageStats {
    pub disabled: bool,
}
