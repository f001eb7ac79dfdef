//! Engine, broker, presence manager, map broker and controller sections. Only the memory
//! engine runs in Gyre today; the rest is typed so Centrifugo configs load unchanged.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::duration::Duration;
use crate::types_net::Tls;
use crate::types_proxy::StringMap;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RedisReplicaClient {
    pub enabled: bool,
}

/// Redis connection options shared by every Redis-backed component (`prefix` included).
/// `address` accepts a single string in files (Centrifugo's weak decoding does the same).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Redis {
    pub prefix: String,
    pub address: Vec<String>,
    pub connect_timeout: Duration,
    pub io_timeout: Duration,
    pub db: i64,
    pub user: String,
    pub password: String,
    pub client_name: String,
    pub force_resp2: bool,
    pub cluster_address: Vec<String>,
    pub tls: Tls,
    pub sentinel_address: Vec<String>,
    pub sentinel_user: String,
    pub sentinel_password: String,
    pub sentinel_master_name: String,
    pub sentinel_client_name: String,
    pub sentinel_tls: Tls,
    pub replica_client: RedisReplicaClient,
}

impl Default for Redis {
    fn default() -> Self {
        Redis {
            prefix: "centrifugo".into(),
            address: vec!["redis://127.0.0.1:6379".into()],
            connect_timeout: Duration::from_secs(1),
            io_timeout: Duration::from_secs(4),
            db: 0,
            user: String::new(),
            password: String::new(),
            client_name: String::new(),
            force_resp2: false,
            cluster_address: Vec::new(),
            tls: Tls::default(),
            sentinel_address: Vec::new(),
            sentinel_user: String::new(),
            sentinel_password: String::new(),
            sentinel_master_name: String::new(),
            sentinel_client_name: String::new(),
            sentinel_tls: Tls::default(),
            replica_client: RedisReplicaClient::default(),
        }
    }
}

/// `engine.redis`: broker and presence manager on the same Redis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RedisEngine {
    #[serde(flatten)]
    pub redis: Redis,
    pub history_use_lists: bool,
    pub presence_ttl: Duration,
    pub presence_hash_field_ttl: bool,
    pub presence_user_mapping: bool,
}

impl Default for RedisEngine {
    fn default() -> Self {
        RedisEngine {
            redis: Redis::default(),
            history_use_lists: false,
            presence_ttl: Duration::from_secs(60),
            presence_hash_field_ttl: false,
            presence_user_mapping: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RedisBroker {
    #[serde(flatten)]
    pub redis: Redis,
    pub history_use_lists: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RedisPresenceManager {
    #[serde(flatten)]
    pub redis: Redis,
    pub presence_ttl: Duration,
    pub presence_hash_field_ttl: bool,
    pub presence_user_mapping: bool,
}

impl Default for RedisPresenceManager {
    fn default() -> Self {
        RedisPresenceManager {
            redis: Redis::default(),
            presence_ttl: Duration::from_secs(60),
            presence_hash_field_ttl: false,
            presence_user_mapping: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RedisMapBroker {
    #[serde(flatten)]
    pub redis: Redis,
    pub cleanup_interval: Duration,
    pub cleanup_batch_size: i64,
    pub idempotent_result_ttl: Duration,
    pub skip_pub_sub: bool,
}

impl Default for RedisMapBroker {
    fn default() -> Self {
        RedisMapBroker {
            redis: Redis::default(),
            cleanup_interval: Duration::from_secs(1),
            cleanup_batch_size: 100,
            idempotent_result_ttl: Duration::from_secs(300),
            skip_pub_sub: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NatsRawMode {
    pub enabled: bool,
    pub channel_replacements: StringMap,
    pub prefix: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NatsBroker {
    pub prefix: String,
    pub url: String,
    pub dial_timeout: Duration,
    pub write_timeout: Duration,
    pub tls: Tls,
    pub allow_wildcards: bool,
    pub raw_mode: NatsRawMode,
}

impl Default for NatsBroker {
    fn default() -> Self {
        NatsBroker {
            prefix: "centrifugo".into(),
            url: "nats://localhost:4222".into(),
            dial_timeout: Duration::from_secs(1),
            write_timeout: Duration::from_secs(1),
            tls: Tls::default(),
            allow_wildcards: false,
            raw_mode: NatsRawMode::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PostgresOutbox {
    pub poll_interval: Duration,
    pub batch_size: i64,
}

impl Default for PostgresOutbox {
    fn default() -> Self {
        PostgresOutbox {
            poll_interval: Duration::from_millis(100),
            batch_size: 1000,
        }
    }
}

/// Declares the PostgreSQL broker option structs; the map broker variant has one extra key
/// (`ttl_check_interval`) in the middle, and key order matters for generated configs.
macro_rules! postgres_broker {
    ($(#[$meta:meta])* $name:ident { $($extra:ident : $extra_default:expr),* }) => {
$(#[$meta])*
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct $name {
    pub dsn: String,
    pub tls: Tls,
    pub pool_size: i64,
    pub num_shards: i64,
    $(pub $extra: Duration,)*
    pub cleanup_interval: Duration,
    pub idempotent_result_ttl: Duration,
    pub binary_data: bool,
    pub stream_retention: Duration,
    pub use_notify: bool,
    pub notify_dsn: String,
    pub table_prefix: String,
    pub skip_schema_init: bool,
    pub outbox: PostgresOutbox,
    pub partition_lookahead_days: i64,
    pub partition_retention_days: i64,
}

impl Default for $name {
    fn default() -> Self {
        $name {
            dsn: String::new(),
            tls: Tls::default(),
            pool_size: 16,
            num_shards: 8,
            $($extra: $extra_default,)*
            cleanup_interval: Duration::from_secs(60),
            idempotent_result_ttl: Duration::from_secs(300),
            binary_data: false,
            stream_retention: Duration::from_secs(24 * 3600),
            use_notify: false,
            notify_dsn: String::new(),
            table_prefix: "cf".into(),
            skip_schema_init: false,
            outbox: PostgresOutbox::default(),
            partition_lookahead_days: 2,
            partition_retention_days: 7,
        }
    }
}
    };
}

postgres_broker!(
    /// `broker.postgres` (PostgreSQL stream broker).
    PostgresBroker {}
);
postgres_broker!(
    /// `map_broker.postgres`.
    PostgresMapBroker { ttl_check_interval: Duration::from_secs(1) }
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Broker {
    pub enabled: bool,
    #[serde(rename = "type")]
    pub kind: String,
    pub redis: RedisBroker,
    pub nats: NatsBroker,
    pub postgres: PostgresBroker,
    /// Unreleased in Centrifugo and omitted from generated configs; kept raw.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redisnats: Option<Value>,
}

impl Default for Broker {
    fn default() -> Self {
        Broker {
            enabled: false,
            kind: "memory".into(),
            redis: RedisBroker::default(),
            nats: NatsBroker::default(),
            postgres: PostgresBroker::default(),
            redisnats: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PresenceManager {
    pub enabled: bool,
    #[serde(rename = "type")]
    pub kind: String,
    pub redis: RedisPresenceManager,
}

impl Default for PresenceManager {
    fn default() -> Self {
        PresenceManager {
            enabled: false,
            kind: "memory".into(),
            redis: RedisPresenceManager::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MapBroker {
    #[serde(rename = "type")]
    pub kind: String,
    pub redis: RedisMapBroker,
    pub postgres: PostgresMapBroker,
}

impl Default for MapBroker {
    fn default() -> Self {
        MapBroker {
            kind: "memory".into(),
            redis: RedisMapBroker::default(),
            postgres: PostgresMapBroker::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PostgresController {
    pub dsn: String,
    pub tls: Tls,
    pub pool_size: i64,
    pub num_shards: i64,
    pub table_prefix: String,
    pub poll_interval: Duration,
    pub use_notify: bool,
    pub notify_dsn: String,
    pub partition_retention_days: i64,
    pub partition_lookahead_days: i64,
    pub partition_cleanup_interval: Duration,
    pub batch_size: i64,
    pub skip_schema_init: bool,
}

impl Default for PostgresController {
    fn default() -> Self {
        PostgresController {
            dsn: String::new(),
            tls: Tls::default(),
            pool_size: 8,
            num_shards: 1,
            table_prefix: "cf".into(),
            poll_interval: Duration::from_millis(50),
            use_notify: false,
            notify_dsn: String::new(),
            partition_retention_days: 1,
            partition_lookahead_days: 2,
            partition_cleanup_interval: Duration::from_secs(60),
            batch_size: 1000,
            skip_schema_init: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Controller {
    pub enabled: bool,
    #[serde(rename = "type")]
    pub kind: String,
    pub postgres: PostgresController,
}
