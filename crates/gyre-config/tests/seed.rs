//! Every JSON snippet of the user's integration guide (tests/fixtures/seed) must load.

mod common;

use common::load_fixture;
use gyre_config::{validate, Duration};

#[test]
fn step2_essential_configuration() {
    let loaded = load_fixture("seed/step2.json");
    assert!(loaded.unknown_keys.is_empty() && loaded.warnings.is_empty());
    let c = &loaded.config;
    assert_eq!(c.client.token.hmac_secret_key, "<SECRET>");
    assert_eq!(c.client.allowed_origins, ["http://localhost:3000"]);
    assert_eq!(c.http_api.key, "<API_KEY>");
    assert!(c.channel.without_namespace.allow_subscribe_for_client);
    assert_eq!(validate(c), Ok(()));
}

#[test]
fn step4_namespaces() {
    let loaded = load_fixture("seed/step4.json");
    assert!(loaded.unknown_keys.is_empty() && loaded.warnings.is_empty());
    let c = &loaded.config;
    let chat = &c.channel.namespaces[0];
    assert_eq!(chat.name, "chat");
    assert!(chat.options.presence && chat.options.join_leave && chat.options.force_recovery);
    assert_eq!(chat.options.history_size, 50);
    assert_eq!(chat.options.history_ttl, Duration::from_secs(300));
    let notifications = &c.channel.namespaces[1];
    assert_eq!(notifications.name, "notifications");
    assert!(notifications.options.allow_user_limited_channels);
    assert_eq!(validate(c), Ok(()));
}

#[test]
fn step7_proxies_map_onto_v6_keys() {
    let loaded = load_fixture("seed/step7.json");
    // `client.proxy.rpc` and a namespace-level `proxy` object are not Centrifugo v6 keys: they
    // are mapped onto v6's own (with a warning each) rather than ignored.
    assert!(loaded.unknown_keys.is_empty(), "{:?}", loaded.unknown_keys);
    assert_eq!(loaded.warnings.len(), 3, "{:?}", loaded.warnings);
    assert!(loaded
        .warnings
        .iter()
        .all(|w| w.contains("not a Centrifugo v6 key")));
    let c = &loaded.config;
    assert!(c.client.proxy.connect.enabled);
    assert_eq!(
        c.client.proxy.connect.proxy.endpoint,
        "http://backend:3000/centrifugo/connect"
    );
    assert!(c.rpc.without_namespace.proxy_enabled);
    assert_eq!(c.rpc.proxy.endpoint, "http://backend:3000/centrifugo/rpc");
    let chat = &c.channel.namespaces[0];
    assert_eq!(chat.name, "chat");
    assert!(chat.options.subscribe_proxy_enabled && chat.options.publish_proxy_enabled);
    let named = |name: &str| {
        c.proxies
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.proxy.endpoint.as_str())
    };
    assert_eq!(
        named(&chat.options.subscribe_proxy_name),
        Some("http://backend:3000/centrifugo/subscribe")
    );
    assert_eq!(
        named(&chat.options.publish_proxy_name),
        Some("http://backend:3000/centrifugo/publish")
    );
    assert_eq!(validate(c), Ok(()));
}

#[test]
fn step8_redis_engine_falls_back_to_memory_with_a_warning() {
    let loaded = load_fixture("seed/step8.json");
    assert!(loaded.unknown_keys.is_empty());
    assert_eq!(loaded.warnings.len(), 1);
    assert!(loaded.warnings[0].starts_with("engine.type: the redis engine is not supported"));
    let c = &loaded.config;
    assert_eq!(c.engine.kind, "redis");
    assert_eq!(c.engine.redis.redis.address, ["redis://localhost:6379"]);
    assert_eq!(c.engine.redis.redis.prefix, "centrifugo");
    assert_eq!(validate(c), Ok(()));
}

#[test]
fn step9_history_and_recovery() {
    let loaded = load_fixture("seed/step9.json");
    assert!(loaded.unknown_keys.is_empty() && loaded.warnings.is_empty());
    let chat = &loaded.config.channel.namespaces[0].options;
    assert_eq!(chat.history_size, 100);
    assert_eq!(chat.history_ttl, Duration::from_secs(600));
    assert!(chat.force_recovery && chat.force_positioning);
    assert_eq!(validate(&loaded.config), Ok(()));
}

#[test]
fn step10_observability_with_v5_log_level() {
    let loaded = load_fixture("seed/step10.json");
    assert!(loaded.unknown_keys.is_empty());
    assert_eq!(
        loaded.warnings,
        ["log_level is a Centrifugo v5 key, use log.level instead"]
    );
    let c = &loaded.config;
    assert_eq!(c.log.level, "info");
    assert!(c.prometheus.enabled && c.health.enabled);
    assert_eq!(validate(c), Ok(()));
}
