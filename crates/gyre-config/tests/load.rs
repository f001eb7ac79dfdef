mod common;

use common::{fixture, load_fixture, load_json, try_load_json};
use gyre_config::{load, validate, Config, Duration, LoadError, LoadOptions};
use serde_json::json;

#[test]
fn fixtures_in_three_formats_load_to_the_same_config() {
    let from_json = load_fixture("config.json");
    let from_yaml = load_fixture("config.yaml");
    let from_toml = load_fixture("config.toml");
    for loaded in [&from_json, &from_yaml, &from_toml] {
        assert!(loaded.file_found);
        assert!(loaded.unknown_keys.is_empty(), "{:?}", loaded.unknown_keys);
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        assert_eq!(validate(&loaded.config), Ok(()));
    }
    assert_eq!(from_json.config, from_yaml.config);
    assert_eq!(from_json.config, from_toml.config);

    let c = &from_json.config;
    assert_eq!(c.http_server.address, "127.0.0.1");
    assert_eq!(c.http_server.port, 9000);
    assert_eq!(c.http_server.internal_port, "9001");
    assert_eq!(c.log.level, "debug");
    assert_eq!(c.client.token.hmac_secret_key, "fixture-secret");
    assert!(c.client.subscription_token.enabled);
    assert_eq!(
        c.client.subscription_token.token.hmac_secret_key,
        "fixture-sub-secret"
    );
    assert_eq!(
        c.client.allowed_origins,
        ["http://localhost:3000", "https://example.com"]
    );
    assert_eq!(c.client.ping_interval, Duration::from_secs(20));
    assert_eq!(c.client.pong_timeout, Duration::from_secs(5));
    assert_eq!(c.client.channel_limit, 64);
    // Untouched keys keep their defaults.
    assert_eq!(c.client.queue_max_size, 1_048_576);
    assert_eq!(c.channel.history_meta_ttl, Duration::from_secs(48 * 3600));
    let names: Vec<&str> = c.channel.namespaces.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["chat", "personal", "news.feed"]);
    let chat = &c.channel.namespaces[0].options;
    assert!(chat.presence && chat.join_leave && chat.force_recovery);
    assert_eq!(chat.history_size, 50);
    assert_eq!(chat.history_ttl, Duration::from_secs(300));
    assert_eq!(chat.allowed_delta_types, ["fossil"]);
    assert_eq!(chat.subscribe_proxy_name, "default");
    let personal = &c.channel.namespaces[1].options;
    assert_eq!(personal.history_ttl, Duration::from_secs(5400));
    assert_eq!(personal.history_meta_ttl, Duration::from_secs(24 * 3600));
    assert!(personal.auto_cache_recover);
    assert_eq!(c.channel.namespaces[2].options.channel_regex, "^[a-z0-9_-]+$");
    assert_eq!(c.rpc.namespaces[0].name, "tools");
    assert_eq!(c.rpc.namespaces[0].options.proxy_name, "default");
    assert_eq!(c.websocket.write_timeout, Duration::from_millis(1500));
    assert_eq!(c.websocket.message_size_limit, 131_072);
    assert_eq!(c.websocket.compression_level, 1);
    assert_eq!(c.shutdown.timeout, Duration::from_secs(10));
    assert!(c.admin.enabled && c.prometheus.enabled && c.health.enabled);
}

#[test]
fn empty_input_gives_defaults() {
    let loaded = load(&LoadOptions::default()).unwrap();
    assert_eq!(loaded.config, Config::default());
    assert!(!loaded.file_found);
    assert!(loaded.warnings.is_empty());
    assert_eq!(validate(&loaded.config), Ok(()));
    assert_eq!(load_json("{}", &[], &[]).config, Config::default());
}

#[test]
fn missing_file_warns_and_continues() {
    for explicit in [false, true] {
        let loaded = load(&LoadOptions {
            path: Some(fixture("does-not-exist.json")),
            path_explicit: explicit,
            env: common::env(&[("CENTRIFUGO_HTTP_SERVER_PORT", "8100")]),
            ..Default::default()
        })
        .unwrap();
        assert!(!loaded.file_found);
        assert_eq!(loaded.config.http_server.port, 8100);
        assert!(loaded.warnings[0].contains("not found"), "{:?}", loaded.warnings);
    }
}

#[test]
fn bad_files_are_errors() {
    let err = load(&LoadOptions {
        path: Some(fixture("config.ini")),
        ..Default::default()
    })
    .unwrap_err();
    assert!(matches!(err, LoadError::UnsupportedFormat(_)), "{err}");
    assert!(matches!(
        try_load_json("{\"client\": ", &[], &[]).unwrap_err(),
        LoadError::Parse { .. }
    ));
    assert!(matches!(
        try_load_json("[1, 2]", &[], &[]).unwrap_err(),
        LoadError::Parse { .. }
    ));
    let err = try_load_json(r#"{"client": {"ping_interval": "100"}}"#, &[], &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "client.ping_interval: time: missing unit in duration \"100\""
    );
    let err = try_load_json(r#"{"http_server": {"port": "http"}}"#, &[], &[]).unwrap_err();
    assert!(err.to_string().starts_with("http_server.port:"), "{err}");
    let err = try_load_json(r#"{"http_server": {"port": 70000}}"#, &[], &[]).unwrap_err();
    assert!(err.to_string().contains("http_server.port"), "{err}");
    let err = try_load_json(r#"{"engine": "redis"}"#, &[], &[]).unwrap_err();
    assert_eq!(err.to_string(), "engine: expected an object, got a string");
}

#[test]
fn unknown_keys_are_collected_not_fatal() {
    let loaded = load_json(
        r#"{
            "foo": 1,
            "client": {"bar": true, "proxy": {"connect": {"baz": 1}}},
            "channel": {"namespaces": [{"name": "x1", "qux": 1}, {"name": "x2"}]},
            "token_hmac_secret_key": "v5"
        }"#,
        &[],
        &[],
    );
    assert_eq!(
        loaded.unknown_keys,
        [
            "channel.namespaces.[0].qux",
            "client.bar",
            "client.proxy.connect.baz",
            "foo",
            "token_hmac_secret_key",
        ]
    );
    assert!(loaded
        .warnings
        .iter()
        .any(|w| w.contains("token_hmac_secret_key") && w.contains("client.token.hmac_secret_key")));
    assert_eq!(loaded.config.channel.namespaces.len(), 2);
}

#[test]
fn keys_are_case_insensitive_like_viper() {
    let loaded = load_json(
        r#"{"HTTP_SERVER": {"Port": 8100}, "Log": {"LEVEL": "warn"}}"#,
        &[],
        &[],
    );
    assert!(loaded.unknown_keys.is_empty(), "{:?}", loaded.unknown_keys);
    assert_eq!(loaded.config.http_server.port, 8100);
    assert_eq!(loaded.config.log.level, "warn");
}

#[test]
fn loose_values_are_coerced_like_mapstructure() {
    let loaded = load_json(
        r#"{
            "http_server": {"port": "8001", "internal_port": 9001},
            "client": {"insecure": "true", "allowed_origins": "http://one"},
            "engine": {"redis": {"address": "redis://x:6379"}},
            "prometheus": {"enabled": 1},
            "websocket": {"message_size_limit": 1024.0}
        }"#,
        &[],
        &[],
    );
    let c = &loaded.config;
    assert_eq!(c.http_server.port, 8001);
    assert_eq!(c.http_server.internal_port, "9001");
    assert!(c.client.insecure);
    assert_eq!(c.client.allowed_origins, ["http://one"]);
    assert_eq!(c.engine.redis.redis.address, ["redis://x:6379"]);
    assert!(c.prometheus.enabled);
    assert_eq!(c.websocket.message_size_limit, 1024);
}

#[test]
fn zero_and_negative_values_mean_default() {
    let loaded = load_json(
        r#"{
            "websocket": {"compression_level": 0, "message_size_limit": -1},
            "client": {"channel_limit": 0, "queue_max_size": -5, "ping_interval": "-1s",
                       "pong_timeout": 0, "history_max_publication_limit": 0,
                       "recovery_max_publication_limit": -300, "connection_limit": -1},
            "channel": {"max_length": 0, "history_meta_ttl": "0s", "private_prefix": ""},
            "http_api": {"handler_prefix": ""},
            "log": {"level": null}
        }"#,
        &[],
        &[],
    );
    let (c, d) = (&loaded.config, Config::default());
    assert_eq!(c.websocket.compression_level, d.websocket.compression_level);
    assert_eq!(c.websocket.message_size_limit, 65536);
    assert_eq!(c.client.channel_limit, 128);
    assert_eq!(c.client.queue_max_size, 1_048_576);
    assert_eq!(c.client.ping_interval, Duration::from_secs(25));
    assert_eq!(c.client.pong_timeout, Duration::from_secs(8));
    assert_eq!(c.client.history_max_publication_limit, 300);
    assert_eq!(c.client.recovery_max_publication_limit, 300);
    assert_eq!(c.client.connection_limit, 0);
    assert_eq!(c.channel.max_length, 255);
    assert_eq!(c.channel.history_meta_ttl, Duration::from_secs(720 * 3600));
    assert_eq!(c.channel.private_prefix, "$");
    assert_eq!(c.http_api.handler_prefix, "/api");
    assert_eq!(c.log.level, "info");
    let negatives = loaded.warnings.iter().filter(|w| w.contains("negative")).count();
    assert_eq!(negatives, 5, "{:?}", loaded.warnings);
    assert!(loaded
        .warnings
        .iter()
        .any(|w| w.starts_with("client.ping_interval: negative duration -1s")));

    // The same rule is available for configs built in code.
    let mut built = Config::default();
    built.client.channel_limit = 0;
    built.websocket.message_size_limit = -7;
    built.client.ping_interval = Duration::ZERO;
    let normalized = built.normalized();
    assert_eq!(normalized, Config::default());
}

#[test]
fn bare_number_durations_are_nanoseconds_with_a_warning() {
    let loaded = load_json(
        r#"{"client": {"ping_interval": 30000000000, "pong_timeout": 300}}"#,
        &[],
        &[],
    );
    assert_eq!(loaded.config.client.ping_interval, Duration::from_secs(30));
    assert_eq!(loaded.config.client.pong_timeout, Duration::from_nanos(300));
    assert_eq!(loaded.warnings.len(), 2, "{:?}", loaded.warnings);
    assert!(loaded.warnings[1].contains("client.pong_timeout: bare number 300"));
}

#[test]
fn v5_log_level_is_an_alias_of_log_level() {
    let loaded = load_json(r#"{"log_level": "debug"}"#, &[], &[]);
    assert_eq!(loaded.config.log.level, "debug");
    assert!(loaded.unknown_keys.is_empty());
    assert_eq!(
        loaded.warnings,
        ["log_level is a Centrifugo v5 key, use log.level instead"]
    );

    let loaded = load_json(r#"{"log_level": "debug", "log": {"level": "error"}}"#, &[], &[]);
    assert_eq!(loaded.config.log.level, "error");
    assert!(loaded.warnings[0].contains("ignored"));

    // Env still beats the file, alias included.
    let loaded = load_json(
        r#"{"log_level": "debug"}"#,
        &[("CENTRIFUGO_LOG_LEVEL", "warn")],
        &[],
    );
    assert_eq!(loaded.config.log.level, "warn");
}

#[test]
fn unknown_log_level_is_a_warning() {
    let loaded = load_json(r#"{"log": {"level": "loud"}}"#, &[], &[]);
    assert_eq!(loaded.config.log.level, "loud");
    assert_eq!(loaded.warnings, ["unknown log level loud, defaulting to INFO"]);
    assert_eq!(validate(&loaded.config), Ok(()));
}

#[test]
fn unsupported_sections_warn_only_when_set() {
    let loaded = load_json(
        r#"{"webtransport": {"enabled": true}, "sse": {"enabled": true}, "grpc_api": {"port": 10000},
            "uni_grpc": {"enabled": true}, "graphite": {"enabled": true},
            "proxies": [{"name": "p1", "endpoint": "http://x"}, {"name": "p2", "endpoint": "grpc://x:1"}, {"name": "p3", "endpoint": "https://x"}]}"#,
        &[],
        &[],
    );
    assert_eq!(
        loaded.warnings,
        ["graphite: not supported by this Gyre version yet; ignored",]
    );
    assert_eq!(loaded.config.proxies[0].proxy.timeout, Duration::from_secs(1));
}

/// HTTP/3 and the TLS certificate serve WebTransport; alone they still do nothing.
#[test]
fn http3_and_tls_warn_only_without_webtransport() {
    let tls = r#""http_server": {"http3": {"enabled": true}, "tls": {"enabled": true, "cert_pem": "c", "key_pem": "k"}}"#;
    let alone = load_json(&format!("{{{tls}}}"), &[], &[]);
    assert_eq!(
        alone.warnings,
        [
            "http_server.tls: not supported by this Gyre version yet; ignored",
            "http_server.http3: not supported by this Gyre version yet; ignored",
        ]
    );
    let with_wt = load_json(
        &format!(r#"{{{tls}, "webtransport": {{"enabled": true}}}}"#),
        &[],
        &[],
    );
    assert!(with_wt.warnings.is_empty(), "{:?}", with_wt.warnings);
}

/// Gyre decision: an explicit port 0 asks for a free port instead of falling back to 8000,
/// while other zero values still take their defaults.
#[test]
fn port_zero_is_kept() {
    let loaded = load_json(
        r#"{"client": {"channel_limit": 0}}"#,
        &[],
        &[("http_server.port", json!(0))],
    );
    assert_eq!(loaded.config.http_server.port, 0);
    assert_eq!(loaded.config.client.channel_limit, 128);
    assert_eq!(load_json("{}", &[], &[]).config.http_server.port, 8000);
}

#[test]
fn flags_override_env_override_file() {
    let file = r#"{"http_server": {"port": 9000}, "log": {"level": "debug"}, "http_api": {"key": "file"}}"#;
    let env = [
        ("CENTRIFUGO_HTTP_SERVER_PORT", "9100"),
        ("CENTRIFUGO_LOG_LEVEL", "warn"),
    ];
    let only_file = load_json(file, &[], &[]);
    assert_eq!(only_file.config.http_server.port, 9000);
    let with_env = load_json(file, &env, &[]);
    assert_eq!(with_env.config.http_server.port, 9100);
    assert_eq!(with_env.config.log.level, "warn");
    assert_eq!(with_env.config.http_api.key, "file");
    let with_flags = load_json(
        file,
        &env,
        &[
            ("http_server.port", json!("9200")),
            ("admin.enabled", json!(true)),
        ],
    );
    assert_eq!(with_flags.config.http_server.port, 9200);
    assert_eq!(with_flags.config.log.level, "warn");
    assert!(with_flags.config.admin.enabled);

    // A flagged key's env var is not even read (so a bad value there is harmless).
    let loaded = load_json(
        "{}",
        &[("CENTRIFUGO_HTTP_SERVER_PORT", "not-a-port")],
        &[("http_server.port", json!(8300))],
    );
    assert_eq!(loaded.config.http_server.port, 8300);
    assert!(loaded.unknown_envs.is_empty());

    let err = try_load_json("{}", &[], &[("http_server.nope", json!(1))]).unwrap_err();
    assert!(matches!(err, LoadError::Flag { .. }), "{err}");
}
