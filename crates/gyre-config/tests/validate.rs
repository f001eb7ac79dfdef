mod common;

use common::load_json;
use gyre_config::{validate, Config, Duration, ValidationError};

fn problems(json: &str) -> Vec<ValidationError> {
    validate(&load_json(json, &[], &[]).config).expect_err("config should be invalid")
}

fn messages(json: &str) -> Vec<String> {
    problems(json).into_iter().map(|p| p.message).collect()
}

#[test]
fn every_problem_is_reported_at_once() {
    let errors = problems(
        r#"{
        "client": {
            "ping_interval": "5s", "pong_timeout": "10s",
            "token": {"user_id_claim": "user-id"},
            "subscribe_to_user_personal_channel": {"enabled": true, "personal_channel_namespace": "personal"}
        },
        "engine": {"type": "nats"},
        "http_api": {"error_mode": "custom"},
        "channel": {
            "publication_data_format": "xml",
            "namespaces": [
                {"name": "a"},
                {"name": "chat", "history_size": 10},
                {"name": "chat"},
                {"name": "sub", "history_size": 5, "history_ttl": "1.5s"},
                {"name": "rec", "force_recovery": true, "auto_cache_recover": true},
                {"name": "bad_re", "channel_regex": "("},
                {"name": "modes", "allowed_delta_types": ["xdelta"], "force_recovery_mode": "bogus",
                 "publication_data_format": "yaml", "subscription_type": "weird"},
                {"name": "long", "history_size": 5, "history_ttl": "48h", "history_meta_ttl": "24h"}
            ]
        },
        "rpc": {"namespaces": [{"name": "tools"}, {"name": "tools"}, {"name": "x"}]}
    }"#,
    );
    let text: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    let expected = [
        "ping_interval must be greater than pong_timeout (ping_interval 5s, pong_timeout 10s)",
        "invalid token custom user ID claim: user-id, must match ^[a-zA-Z_]+$ regular expression",
        "unknown engine type: nats",
        "http_api.error_mode: invalid value: custom, possible choices are: transport",
        "unknown channel.publication_data_format: \"xml\"",
        "namespace a: invalid namespace name – a (must match ^[-a-zA-Z0-9_.]{2,}$ regular expression)",
        "namespace chat: both history size and history ttl required for history",
        "namespace name must be unique: chat",
        "namespace sub: in history_ttl: malformed duration 1.5s, sub-second precision is not supported for this key",
        "namespace rec: both history size and history ttl required for recovery",
        "namespace rec: auto_cache_recover requires force_recovery and force_recovery_mode set to cache",
        "namespace modes: unknown allowed delta type: \"xdelta\"",
        "namespace modes: unknown recovery mode: \"bogus\"",
        "namespace modes: unknown publication_data_format: \"yaml\"",
        "namespace modes: unknown subscription_type: \"weird\"",
        "namespace long: history ttl (48h0m0s) can not be greater than history meta ttl (24h0m0s)",
        "namespace for user personal channel not found: personal",
        "rpc namespace name must be unique: tools",
        "rpc namespace x: invalid rpc namespace name – x (must match ^[-a-zA-Z0-9_.]{2,}$ regular expression)",
    ];
    for want in expected {
        assert!(text.contains(&want), "missing {want:?} in {text:#?}");
    }
    assert!(
        text.iter()
            .any(|m| m.starts_with("namespace bad_re: invalid channel regex (:")),
        "{text:#?}"
    );
    assert_eq!(errors.len(), expected.len() + 1, "{text:#?}");
    let sub = errors.iter().find(|e| e.message.contains("sub-second")).unwrap();
    assert_eq!(sub.path, "channel.namespaces[3].history_ttl");
}

#[test]
fn defaults_and_quickstart_configs_are_valid() {
    assert_eq!(validate(&Config::default()), Ok(()));
    let loaded = load_json(
        r#"{"channel": {"namespaces": [{"name": "chat", "history_size": 10, "history_ttl": "720h"}]}}"#,
        &[],
        &[],
    );
    assert_eq!(validate(&loaded.config), Ok(()));
}

#[test]
fn history_ttl_uses_the_effective_meta_ttl() {
    // Namespace meta TTL unset: the channel-level one (720h by default) bounds history_ttl.
    let msgs = messages(
        r#"{"channel": {"history_meta_ttl": "1h",
            "namespaces": [{"name": "chat", "history_size": 1, "history_ttl": "2h"}]}}"#,
    );
    assert_eq!(
        msgs,
        ["namespace chat: history ttl (2h0m0s) can not be greater than history meta ttl (1h0m0s)"]
    );
    let msgs = messages(r#"{"channel": {"history_meta_ttl": "1.5s"}}"#);
    assert_eq!(
        msgs,
        ["in channel.history_meta_ttl: malformed duration 1.5s, sub-second precision is not supported for this key"]
    );
}

#[test]
fn personal_channel_single_connection_needs_presence() {
    let msgs = messages(
        r#"{"client": {"subscribe_to_user_personal_channel":
              {"enabled": true, "personal_channel_namespace": "user", "single_connection": true}},
            "channel": {"namespaces": [{"name": "user"}]}}"#,
    );
    assert_eq!(
        msgs,
        ["presence must be enabled for namespace user to maintain single connection"]
    );
    let msgs = messages(
        r#"{"client": {"subscribe_to_user_personal_channel":
              {"enabled": true, "single_connection": true}}}"#,
    );
    assert_eq!(
        msgs,
        ["presence must be enabled on top level to maintain single connection"]
    );
    let ok = load_json(
        r#"{"client": {"subscribe_to_user_personal_channel":
              {"enabled": true, "personal_channel_namespace": "user", "single_connection": true}},
            "channel": {"namespaces": [{"name": "user", "presence": true}]}}"#,
        &[],
        &[],
    );
    assert_eq!(validate(&ok.config), Ok(()));
}

#[test]
fn cache_recovery_rules() {
    let ok = load_json(
        r#"{"channel": {"namespaces": [{"name": "state", "history_size": 1, "history_ttl": "60s",
            "force_recovery": true, "force_recovery_mode": "cache", "auto_cache_recover": true}]}}"#,
        &[],
        &[],
    );
    assert_eq!(validate(&ok.config), Ok(()));
    let msgs = messages(
        r#"{"channel": {"namespaces": [{"name": "state", "history_size": 1, "history_ttl": "60s",
            "force_recovery": true, "auto_cache_recover": true}]}}"#,
    );
    assert_eq!(
        msgs,
        ["namespace state: auto_cache_recover requires force_recovery and force_recovery_mode set to cache"]
    );
}

#[test]
fn proxies_and_brokers() {
    let msgs = messages(
        r#"{
        "client": {"proxy": {"connect": {"enabled": true}}},
        "proxies": [{"name": "default", "endpoint": "http://a"}, {"name": "p1"}, {"name": "p1", "endpoint": "http://b"}],
        "channel": {"without_namespace": {"subscribe_proxy_enabled": true, "subscribe_proxy_name": "missing"}},
        "rpc": {"without_namespace": {"proxy_name": "nope"}},
        "broker": {"type": "kafka"},
        "map_broker": {"type": "nats"},
        "consumers": [{"name": "c-1", "type": "kafka"}, {"name": "ok_name", "type": "rabbit"}]
    }"#,
    );
    for want in [
        "in client.proxy.connect: endpoint not set",
        "proxy name default is reserved",
        "in proxy p1: endpoint not set",
        "duplicate proxy name in proxies: p1",
        "in channel.without_namespace: subscribe proxy with name \"missing\" not found",
        "in rpc.without_namespace: proxy nope not found for rpc",
        "unknown broker: kafka",
        "unknown map broker type: nats",
        "invalid consumer name: c-1, must match ^[a-zA-Z0-9_]{2,}$ regular expression",
        "unknown consumer type: rabbit",
    ] {
        assert!(msgs.iter().any(|m| m == want), "missing {want:?} in {msgs:#?}");
    }
}

#[test]
fn http3_and_h2c_rules() {
    let msgs = messages(r#"{"webtransport": {"enabled": true}, "http_server": {"h2c_external": true}}"#);
    assert_eq!(
        msgs,
        [
            "external_h2c requires custom separate internal_port to be configured",
            "can not enable webtransport without experimental HTTP/3",
        ]
    );
    let msgs = messages(r#"{"http_server": {"http3": {"enabled": true}}}"#);
    assert_eq!(msgs, ["HTTP/3 requires TLS configured"]);
}

#[test]
fn ping_must_exceed_pong_even_in_code() {
    let mut cfg = Config::default();
    cfg.client.ping_interval = Duration::from_secs(8);
    let errors = validate(&cfg).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].path, "client.ping_interval");
}

#[test]
fn subscribe_stream_proxies_need_grpc_and_no_other_channel_proxy() {
    let msgs = messages(
        r#"{
        "proxies": [{"name": "web", "endpoint": "http://b"}, {"name": "rpc", "endpoint": "grpc://127.0.0.1:1"}],
        "channel": {"namespaces": [
            {"name": "a", "subscribe_stream_proxy_enabled": true, "subscribe_stream_proxy_name": "web"},
            {"name": "b", "subscribe_stream_proxy_enabled": true, "subscribe_stream_proxy_name": "rpc",
             "publish_proxy_enabled": true, "publish_proxy_name": "rpc"}
        ]}
    }"#,
    );
    let has = |s: &str| msgs.iter().any(|m| m.contains(s));
    assert!(
        has("subscribe stream proxy web: only GRPC endpoints supported"),
        "{msgs:#?}"
    );
    assert!(has("can't use subscribe stream proxy together"), "{msgs:#?}");
    assert!(!has("subscribe stream proxy rpc: only GRPC"), "{msgs:#?}");
}
