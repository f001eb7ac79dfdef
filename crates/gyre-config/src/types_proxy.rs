//! Proxy objects, code transforms, consumers and the map/shared-poll namespace options.
//! Gyre does not run proxies or consumers yet; the types exist so configs load and validate.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::duration::Duration;
use crate::types_net::Tls;

/// Centrifugo's `MapStringString`: a JSON object of strings in env vars, and in files either an
/// object or a list of `{key, value}` items (the list keeps key case, which viper's object
/// form lowercases in Centrifugo). `${CENTRIFUGO_VAR_*}` references are expanded by the loader.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct StringMap(pub BTreeMap<String, String>);

impl<'de> Deserialize<'de> for StringMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StringMapVisitor)
    }
}

struct StringMapVisitor;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyValue {
    key: String,
    value: String,
}

impl<'de> Visitor<'de> for StringMapVisitor {
    type Value = StringMap;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of strings or a list of {key, value} objects")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StringMap, A::Error> {
        let mut out = BTreeMap::new();
        while let Some((k, v)) = map.next_entry::<String, String>()? {
            out.insert(k, v);
        }
        Ok(StringMap(out))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StringMap, A::Error> {
        let mut out = BTreeMap::new();
        let mut index = 0usize;
        while let Some(item) = seq.next_element::<KeyValue>()? {
            if out.insert(item.key.clone(), item.value).is_some() {
                return Err(de::Error::custom(format!(
                    "duplicate key {:?} at element {index}",
                    item.key
                )));
            }
            index += 1;
        }
        Ok(StringMap(out))
    }

    fn visit_unit<E: de::Error>(self) -> Result<StringMap, E> {
        Ok(StringMap::default())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TransformError {
    pub code: u32,
    pub message: String,
    pub temporary: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TransformDisconnect {
    pub code: u32,
    pub reason: String,
}

/// One item of `http.status_to_code_transforms`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpStatusToCodeTransform {
    pub status_code: i64,
    pub to_error: TransformError,
    pub to_disconnect: TransformDisconnect,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ProxyHttp {
    pub tls: Tls,
    pub static_headers: StringMap,
    pub status_to_code_transforms: Vec<HttpStatusToCodeTransform>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ProxyGrpc {
    pub tls: Tls,
    pub credentials_key: String,
    pub credentials_value: String,
    pub compression: bool,
    pub static_metadata: StringMap,
}

/// A proxy endpoint (HTTP or GRPC) with its header allow-lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Proxy {
    pub endpoint: String,
    pub timeout: Duration,
    pub http_headers: Vec<String>,
    pub grpc_metadata: Vec<String>,
    pub emulated_headers: Vec<String>,
    pub binary_encoding: bool,
    pub include_connection_meta: bool,
    pub http: ProxyHttp,
    pub grpc: ProxyGrpc,
}

impl Default for Proxy {
    fn default() -> Self {
        Proxy {
            endpoint: String::new(),
            timeout: Duration::from_secs(1),
            http_headers: Vec::new(),
            grpc_metadata: Vec::new(),
            emulated_headers: Vec::new(),
            binary_encoding: false,
            include_connection_meta: false,
            http: ProxyHttp::default(),
            grpc: ProxyGrpc::default(),
        }
    }
}

/// `client.proxy.connect` / `client.proxy.refresh`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SwitchedProxy {
    pub enabled: bool,
    #[serde(flatten)]
    pub proxy: Proxy,
}

/// `client.proxy`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientProxies {
    pub connect: SwitchedProxy,
    pub refresh: SwitchedProxy,
}

/// `channel.proxy`: the proxies referenced by the name `default` from channel options.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ChannelProxies {
    pub subscribe: Proxy,
    pub publish: Proxy,
    pub sub_refresh: Proxy,
    pub subscribe_stream: Proxy,
    pub map_publish: Proxy,
    pub map_remove: Proxy,
    pub shared_poll_refresh: Proxy,
}

/// One entry of the top-level `proxies` list.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NamedProxy {
    pub name: String,
    #[serde(flatten)]
    pub proxy: Proxy,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct UniConnectCodeToDisconnectTransform {
    pub code: u32,
    pub to: TransformDisconnect,
}

/// `client.connect_code_to_unidirectional_disconnect`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnectCodeToUnidirectionalDisconnect {
    pub enabled: bool,
    pub transforms: Vec<UniConnectCodeToDisconnectTransform>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TransformedConnectErrorHttpResponse {
    pub status_code: i64,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnectCodeToHttpResponseTransform {
    pub code: u32,
    pub to: TransformedConnectErrorHttpResponse,
}

/// `uni_sse.connect_code_to_http_response` / `uni_http_stream.…`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnectCodeToHttpResponse {
    pub enabled: bool,
    pub transforms: Vec<ConnectCodeToHttpResponseTransform>,
}

/// Consumer types Centrifugo knows.
pub const CONSUMER_TYPES: &[&str] = &[
    "postgresql",
    "kafka",
    "nats_jetstream",
    "google_pub_sub",
    "aws_sqs",
    "azure_service_bus",
    "redis_stream",
];

/// One entry of `consumers`. The per-type option objects stay raw JSON: Gyre has no consumers
/// yet, and their keys are neither checked nor reachable through per-key env vars.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Consumer {
    pub name: String,
    pub enabled: bool,
    #[serde(rename = "type")]
    pub kind: String,
    pub postgresql: Value,
    pub kafka: Value,
    pub nats_jetstream: Value,
    pub redis_stream: Value,
    pub google_pub_sub: Value,
    pub aws_sqs: Value,
    pub azure_service_bus: Value,
}

impl Default for Consumer {
    fn default() -> Self {
        let empty = || Value::Object(Default::default());
        Consumer {
            name: String::new(),
            enabled: false,
            kind: String::new(),
            postgresql: empty(),
            kafka: empty(),
            nats_jetstream: empty(),
            redis_stream: empty(),
            google_pub_sub: empty(),
            aws_sqs: empty(),
            azure_service_bus: empty(),
        }
    }
}

/// Top-level `shared_poll`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SharedPoll {
    pub hmac_secret_key: String,
    pub hmac_previous_secret_key: String,
    pub hmac_previous_secret_key_valid_until: i64,
    pub concurrency_limit: i64,
}

/// Namespace `map` options (map subscription types).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MapOptions {
    pub mode: String,
    pub key_ttl: Duration,
    pub stream_size: i64,
    pub stream_ttl: Duration,
    pub meta_ttl: Duration,
    pub remove_client_on_unsubscribe: bool,
    pub client_key: String,
    pub allow_publish_for_client: bool,
    pub allow_publish_for_subscriber: bool,
    pub allow_publish_for_anonymous: bool,
    pub allow_remove_for_client: bool,
    pub allow_remove_for_subscriber: bool,
    pub allow_remove_for_anonymous: bool,
    pub publish_proxy_enabled: bool,
    pub publish_proxy_name: String,
    pub remove_proxy_enabled: bool,
    pub remove_proxy_name: String,
    pub default_page_size: i64,
    pub min_page_size: i64,
    pub max_page_size: i64,
    pub live_transition_max_publication_limit: i64,
    pub subscribe_catch_up_timeout: Duration,
}

impl Default for MapOptions {
    fn default() -> Self {
        MapOptions {
            mode: String::new(),
            key_ttl: Duration::ZERO,
            stream_size: 0,
            stream_ttl: Duration::ZERO,
            meta_ttl: Duration::ZERO,
            remove_client_on_unsubscribe: false,
            client_key: String::new(),
            allow_publish_for_client: false,
            allow_publish_for_subscriber: false,
            allow_publish_for_anonymous: false,
            allow_remove_for_client: false,
            allow_remove_for_subscriber: false,
            allow_remove_for_anonymous: false,
            publish_proxy_enabled: false,
            publish_proxy_name: "default".into(),
            remove_proxy_enabled: false,
            remove_proxy_name: "default".into(),
            default_page_size: 0,
            min_page_size: 0,
            max_page_size: 0,
            live_transition_max_publication_limit: 0,
            subscribe_catch_up_timeout: Duration::ZERO,
        }
    }
}

/// Namespace `shared_poll` options.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SharedPollOptions {
    pub proxy_name: String,
    pub refresh_interval: Duration,
    pub refresh_batch_size: i64,
    pub max_keys_per_connection: i64,
    pub mode: String,
    pub channel_shutdown_delay: Duration,
    pub track_expired_extra_delay: Duration,
    pub publish_enabled: bool,
}

impl crate::Config {
    /// Every proxy the configuration defines, enabled or not, named or not.
    pub fn all_proxies(&self) -> impl Iterator<Item = &Proxy> {
        let c = &self.channel.proxy;
        [
            &self.client.proxy.connect.proxy,
            &self.client.proxy.refresh.proxy,
            &c.subscribe,
            &c.publish,
            &c.sub_refresh,
            &c.subscribe_stream,
            &c.map_publish,
            &c.map_remove,
            &c.shared_poll_refresh,
            &self.rpc.proxy,
        ]
        .into_iter()
        .chain(self.proxies.iter().map(|p| &p.proxy))
    }
}
