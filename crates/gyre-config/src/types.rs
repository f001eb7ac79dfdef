//! The configuration tree. Field names are Centrifugo v6 keys; `Default` gives Centrifugo's
//! defaults. Sections of features Gyre does not implement yet are typed too (in `types_net`,
//! `types_engine`, `types_proxy`) so that configs carrying them load, render and take env vars
//! like in Centrifugo; the loader warns when they are set (see `crate::unsupported`).

use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::types_engine::{Broker, Controller, MapBroker, PresenceManager, RedisEngine};
use crate::types_net::{
    ConnInit, DebugEndpoint, Emulation, Graphite, GrpcApi, Http3, HttpStream, OpenTelemetry, Sse, Swagger,
    Tls, TlsAutocert, UniGrpc, UniHttpStream, UniSse, UniWebSocket, UsageStats, WebTransport,
};
use crate::types_proxy::{
    ChannelProxies, ClientProxies, ConnectCodeToUnidirectionalDisconnect, Consumer, MapOptions, NamedProxy,
    Proxy, SharedPoll, SharedPollOptions,
};

/// The whole configuration. `Default` gives Centrifugo's defaults section by section.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    pub http_server: HttpServer,
    pub log: Log,
    pub engine: Engine,
    pub broker: Broker,
    pub presence_manager: PresenceManager,
    pub map_broker: MapBroker,
    pub controller: Controller,
    pub shared_poll: SharedPoll,
    pub client: Client,
    pub channel: Channel,
    pub rpc: Rpc,
    pub proxies: Vec<NamedProxy>,
    pub http_api: HttpApi,
    pub grpc_api: GrpcApi,
    pub consumers: Vec<Consumer>,
    pub websocket: WebSocket,
    pub sse: Sse,
    pub http_stream: HttpStream,
    pub webtransport: WebTransport,
    pub uni_sse: UniSse,
    pub uni_http_stream: UniHttpStream,
    pub uni_websocket: UniWebSocket,
    pub uni_grpc: UniGrpc,
    pub emulation: Emulation,
    pub admin: Admin,
    pub prometheus: Prometheus,
    pub health: Health,
    pub swagger: Swagger,
    pub debug: DebugEndpoint,
    pub init: ConnInit,
    pub opentelemetry: OpenTelemetry,
    pub graphite: Graphite,
    pub usage_stats: UsageStats,
    pub node: Node,
    pub shutdown: Shutdown,
    pub pid_file: String,
    pub enable_unreleased_features: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpServer {
    pub address: String,
    pub port: u16,
    pub internal_address: String,
    /// A string in Centrifugo ("" = same as `port`).
    pub internal_port: String,
    pub tls: Tls,
    pub tls_autocert: TlsAutocert,
    pub tls_external: bool,
    pub internal_tls: Tls,
    pub http3: Http3,
    pub h2c_external: bool,
}

impl Default for HttpServer {
    fn default() -> Self {
        HttpServer {
            address: String::new(),
            port: 8000,
            internal_address: String::new(),
            internal_port: String::new(),
            tls: Tls::default(),
            tls_autocert: TlsAutocert::default(),
            tls_external: false,
            internal_tls: Tls::default(),
            http3: Http3::default(),
            h2c_external: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Log {
    /// none, trace, debug, info, warn, error (fatal accepted).
    pub level: String,
    pub file: String,
}

impl Default for Log {
    fn default() -> Self {
        Log {
            level: "info".into(),
            file: String::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Engine {
    /// `memory` (default) or `redis`.
    #[serde(rename = "type")]
    pub kind: String,
    pub redis: RedisEngine,
}

impl Default for Engine {
    fn default() -> Self {
        Engine {
            kind: "memory".into(),
            redis: RedisEngine::default(),
        }
    }
}

/// Connection token verification settings (`client.token`, `client.subscription_token`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Token {
    pub hmac_secret_key: String,
    pub hmac_previous_secret_key: String,
    pub hmac_previous_secret_key_valid_until: i64,
    pub rsa_public_key: String,
    pub ecdsa_public_key: String,
    pub jwks_public_endpoint: String,
    pub audience: String,
    pub audience_regex: String,
    pub issuer: String,
    pub issuer_regex: String,
    pub user_id_claim: String,
    pub insecure_skip_jwks_endpoint_safety_check: bool,
}

/// `client.subscription_token`: used for subscription tokens when enabled, else `client.token`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SubscriptionToken {
    pub enabled: bool,
    #[serde(flatten)]
    pub token: Token,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SubscribeToUserPersonalChannel {
    pub enabled: bool,
    pub personal_channel_namespace: String,
    pub single_connection: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Client {
    /// `client.proxy.{connect,refresh}` (issue: backend proxy).
    pub proxy: ClientProxies,
    pub allowed_origins: Vec<String>,
    pub token: Token,
    pub subscription_token: SubscriptionToken,
    pub allow_anonymous_connect_without_token: bool,
    pub disallow_anonymous_connection_tokens: bool,
    pub ping_interval: Duration,
    pub pong_timeout: Duration,
    pub expired_close_delay: Duration,
    pub expired_sub_close_delay: Duration,
    pub stale_close_delay: Duration,
    pub channel_limit: i64,
    pub queue_max_size: i64,
    pub presence_update_interval: Duration,
    pub concurrency: i64,
    pub channel_position_check_delay: Duration,
    pub channel_position_max_time_lag: Duration,
    pub connection_limit: i64,
    pub user_connection_limit: i64,
    pub connection_rate_limit: i64,
    pub connect_include_server_time: bool,
    pub history_max_publication_limit: i64,
    pub recovery_max_publication_limit: i64,
    pub insecure_skip_token_signature_verify: bool,
    pub user_id_http_header: String,
    pub insecure: bool,
    pub subscribe_to_user_personal_channel: SubscribeToUserPersonalChannel,
    pub connect_code_to_unidirectional_disconnect: ConnectCodeToUnidirectionalDisconnect,
}

impl Default for Client {
    fn default() -> Self {
        Client {
            proxy: ClientProxies::default(),
            allowed_origins: Vec::new(),
            token: Token::default(),
            subscription_token: SubscriptionToken::default(),
            allow_anonymous_connect_without_token: false,
            disallow_anonymous_connection_tokens: false,
            ping_interval: Duration::from_secs(25),
            pong_timeout: Duration::from_secs(8),
            expired_close_delay: Duration::from_secs(25),
            expired_sub_close_delay: Duration::from_secs(25),
            stale_close_delay: Duration::from_secs(10),
            channel_limit: 128,
            queue_max_size: 1_048_576,
            presence_update_interval: Duration::from_secs(27),
            concurrency: 0,
            channel_position_check_delay: Duration::from_secs(40),
            channel_position_max_time_lag: Duration::ZERO,
            connection_limit: 0,
            user_connection_limit: 0,
            connection_rate_limit: 0,
            connect_include_server_time: false,
            history_max_publication_limit: 300,
            recovery_max_publication_limit: 300,
            insecure_skip_token_signature_verify: false,
            user_id_http_header: String::new(),
            insecure: false,
            subscribe_to_user_personal_channel: SubscribeToUserPersonalChannel::default(),
            connect_code_to_unidirectional_disconnect: ConnectCodeToUnidirectionalDisconnect::default(),
        }
    }
}

/// Options of a namespace (or of channels without a namespace).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelOptions {
    pub presence: bool,
    pub join_leave: bool,
    pub force_push_join_leave: bool,
    pub history_size: i64,
    pub history_ttl: Duration,
    /// Zero = inherit `channel.history_meta_ttl`.
    pub history_meta_ttl: Duration,
    pub force_positioning: bool,
    pub allow_positioning: bool,
    pub force_recovery: bool,
    pub allow_recovery: bool,
    /// "" (= stream), `stream` or `cache`.
    pub force_recovery_mode: String,
    pub auto_cache_recover: bool,
    pub allowed_delta_types: Vec<String>,
    pub allow_tags_filter: bool,
    pub delta_publish: bool,
    pub allow_subscribe_for_anonymous: bool,
    pub allow_subscribe_for_client: bool,
    pub allow_publish_for_anonymous: bool,
    pub allow_publish_for_subscriber: bool,
    pub allow_publish_for_client: bool,
    pub allow_presence_for_anonymous: bool,
    pub allow_presence_for_subscriber: bool,
    pub allow_presence_for_client: bool,
    pub allow_history_for_anonymous: bool,
    pub allow_history_for_subscriber: bool,
    pub allow_history_for_client: bool,
    pub allow_user_limited_channels: bool,
    pub channel_regex: String,
    pub publication_data_format: String,
    pub subscribe_proxy_enabled: bool,
    pub subscribe_proxy_name: String,
    pub publish_proxy_enabled: bool,
    pub publish_proxy_name: String,
    pub sub_refresh_proxy_enabled: bool,
    pub sub_refresh_proxy_name: String,
    pub subscribe_stream_proxy_enabled: bool,
    pub subscribe_stream_proxy_name: String,
    pub subscribe_stream_proxy_bidirectional: bool,
    pub subscription_type: String,
    pub map: MapOptions,
    pub shared_poll: SharedPollOptions,
    pub map_clients_presence_channel_prefix: String,
    pub map_users_presence_channel_prefix: String,
}

impl Default for ChannelOptions {
    fn default() -> Self {
        ChannelOptions {
            presence: false,
            join_leave: false,
            force_push_join_leave: false,
            history_size: 0,
            history_ttl: Duration::ZERO,
            history_meta_ttl: Duration::ZERO,
            force_positioning: false,
            allow_positioning: false,
            force_recovery: false,
            allow_recovery: false,
            force_recovery_mode: String::new(),
            auto_cache_recover: false,
            allowed_delta_types: Vec::new(),
            allow_tags_filter: false,
            delta_publish: false,
            allow_subscribe_for_anonymous: false,
            allow_subscribe_for_client: false,
            allow_publish_for_anonymous: false,
            allow_publish_for_subscriber: false,
            allow_publish_for_client: false,
            allow_presence_for_anonymous: false,
            allow_presence_for_subscriber: false,
            allow_presence_for_client: false,
            allow_history_for_anonymous: false,
            allow_history_for_subscriber: false,
            allow_history_for_client: false,
            allow_user_limited_channels: false,
            channel_regex: String::new(),
            publication_data_format: String::new(),
            subscribe_proxy_enabled: false,
            subscribe_proxy_name: "default".into(),
            publish_proxy_enabled: false,
            publish_proxy_name: "default".into(),
            sub_refresh_proxy_enabled: false,
            sub_refresh_proxy_name: "default".into(),
            subscribe_stream_proxy_enabled: false,
            subscribe_stream_proxy_name: "default".into(),
            subscribe_stream_proxy_bidirectional: false,
            subscription_type: String::new(),
            map: MapOptions::default(),
            shared_poll: SharedPollOptions::default(),
            map_clients_presence_channel_prefix: String::new(),
            map_users_presence_channel_prefix: String::new(),
        }
    }
}

/// One entry of `channel.namespaces`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelNamespace {
    pub name: String,
    #[serde(flatten)]
    pub options: ChannelOptions,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Channel {
    /// `channel.proxy.{subscribe,publish,…}` (issue: backend proxy).
    pub proxy: ChannelProxies,
    pub without_namespace: ChannelOptions,
    pub namespaces: Vec<ChannelNamespace>,
    pub history_meta_ttl: Duration,
    pub publication_data_format: String,
    pub max_length: i64,
    pub private_prefix: String,
    pub namespace_boundary: String,
    pub user_boundary: String,
    pub user_separator: String,
}

impl Default for Channel {
    fn default() -> Self {
        Channel {
            proxy: ChannelProxies::default(),
            without_namespace: ChannelOptions::default(),
            namespaces: Vec::new(),
            history_meta_ttl: Duration::from_secs(720 * 3600),
            publication_data_format: String::new(),
            max_length: 255,
            private_prefix: "$".into(),
            namespace_boundary: ":".into(),
            user_boundary: "#".into(),
            user_separator: ",".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RpcOptions {
    pub proxy_enabled: bool,
    pub proxy_name: String,
}

impl Default for RpcOptions {
    fn default() -> Self {
        RpcOptions {
            proxy_enabled: false,
            proxy_name: "default".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RpcNamespace {
    pub name: String,
    #[serde(flatten)]
    pub options: RpcOptions,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RpcPing {
    pub enabled: bool,
    pub method: String,
}

impl Default for RpcPing {
    fn default() -> Self {
        RpcPing {
            enabled: false,
            method: "ping".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Rpc {
    pub proxy: Proxy,
    pub without_namespace: RpcOptions,
    pub namespaces: Vec<RpcNamespace>,
    pub ping: RpcPing,
    pub namespace_boundary: String,
}

impl Default for Rpc {
    fn default() -> Self {
        Rpc {
            proxy: Proxy::default(),
            without_namespace: RpcOptions::default(),
            namespaces: Vec::new(),
            ping: RpcPing::default(),
            namespace_boundary: ":".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpApi {
    pub disabled: bool,
    pub handler_prefix: String,
    pub key: String,
    /// "" (errors in the body, HTTP 200) or `transport`.
    pub error_mode: String,
    pub external: bool,
    pub insecure: bool,
}

impl Default for HttpApi {
    fn default() -> Self {
        HttpApi {
            disabled: false,
            handler_prefix: "/api".into(),
            key: String::new(),
            error_mode: String::new(),
            external: false,
            insecure: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct WebSocket {
    pub disabled: bool,
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
}

impl Default for WebSocket {
    fn default() -> Self {
        WebSocket {
            disabled: false,
            handler_prefix: "/connection/websocket".into(),
            compression: false,
            compression_min_size: 0,
            compression_level: 1,
            read_buffer_size: 0,
            use_write_buffer_pool: false,
            write_buffer_size: 0,
            write_timeout: Duration::from_millis(1000),
            message_size_limit: 65536,
            decompressed_message_size_limit: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Admin {
    pub enabled: bool,
    pub handler_prefix: String,
    pub password: String,
    pub secret: String,
    pub insecure: bool,
    pub web_path: String,
    pub web_proxy_address: String,
    pub external: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Prometheus {
    pub enabled: bool,
    pub handler_prefix: String,
    pub instrument_http_handlers: bool,
    pub recovered_publications_histogram: bool,
    pub native_histograms: bool,
}

impl Default for Prometheus {
    fn default() -> Self {
        Prometheus {
            enabled: false,
            handler_prefix: "/metrics".into(),
            instrument_http_handlers: false,
            recovered_publications_histogram: false,
            native_histograms: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Health {
    pub enabled: bool,
    pub handler_prefix: String,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            enabled: false,
            handler_prefix: "/health".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Node {
    pub name: String,
    pub info_metrics_aggregate_interval: Duration,
}

impl Default for Node {
    fn default() -> Self {
        Node {
            name: String::new(),
            info_metrics_aggregate_interval: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Shutdown {
    pub timeout: Duration,
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown {
            timeout: Duration::from_secs(30),
        }
    }
}
