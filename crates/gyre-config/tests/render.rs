mod common;

use common::load_fixture;
use gyre_config::{
    defaultconfig, defaultenv, genconfig, load, load_str, parse_dotenv, validate, Config, Consumer, Format,
    LoadOptions, Loaded,
};

const FORMATS: [Format; 3] = [Format::Json, Format::Yaml, Format::Toml];

fn reload(text: &str, format: Format) -> Loaded {
    load_str(text, format, &LoadOptions::default()).unwrap_or_else(|e| panic!("{format:?}: {e}\n{text}"))
}

fn is_base64url(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[test]
fn genconfig_round_trips_and_validates_in_every_format() {
    for format in FORMATS {
        let text = genconfig(format).unwrap();
        let loaded = reload(&text, format);
        assert!(loaded.unknown_keys.is_empty(), "{:?}", loaded.unknown_keys);
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        assert_eq!(validate(&loaded.config), Ok(()));
        let c = &loaded.config;
        // 64 random bytes → 86 base64url characters, 16 bytes → 22.
        assert_eq!(c.client.token.hmac_secret_key.len(), 86);
        assert_eq!(c.admin.password.len(), 22);
        assert_eq!(c.admin.secret.len(), 86);
        assert_eq!(c.http_api.key.len(), 86);
        for secret in [
            &c.client.token.hmac_secret_key,
            &c.admin.password,
            &c.admin.secret,
            &c.http_api.key,
        ] {
            assert!(is_base64url(secret), "{secret}");
        }
        assert!(!c.admin.enabled);
        assert!(c.client.allowed_origins.is_empty());
        let again = reload(&genconfig(format).unwrap(), format);
        assert_ne!(again.config.http_api.key, c.http_api.key);
    }
}

#[test]
fn defaultconfig_round_trips_in_every_format() {
    let fixture = load_fixture("config.json").config;
    for format in FORMATS {
        let text = defaultconfig(format, None);
        let loaded = reload(&text, format);
        assert!(
            loaded.unknown_keys.is_empty(),
            "{format:?}: {:?}",
            loaded.unknown_keys
        );
        assert!(loaded.warnings.is_empty(), "{format:?}: {:?}", loaded.warnings);
        assert_eq!(loaded.config, Config::default(), "{format:?}");

        let text = defaultconfig(format, Some(&fixture));
        let loaded = reload(&text, format);
        assert!(
            loaded.unknown_keys.is_empty(),
            "{format:?}: {:?}",
            loaded.unknown_keys
        );
        assert_eq!(loaded.config, fixture, "{format:?}");
    }
    let json = defaultconfig(Format::Json, None);
    assert!(json.starts_with("{\n  \"http_server\": {\n    \"address\": \"\",\n    \"port\": 8000,"));
    assert!(json.contains("\"history_meta_ttl\": \"720h0m0s\""));
    assert!(!json.contains("redisnats"));
}

#[test]
fn defaultenv_lists_every_option_sorted() {
    let text = defaultenv(None, false);
    let lines: Vec<&str> = text.lines().collect();
    for want in [
        "CENTRIFUGO_HTTP_SERVER_PORT=8000",
        "CENTRIFUGO_CLIENT_TOKEN_HMAC_SECRET_KEY=\"\"",
        "CENTRIFUGO_CLIENT_PING_INTERVAL=25s",
        "CENTRIFUGO_CLIENT_ALLOWED_ORIGINS=\"\"",
        "CENTRIFUGO_CHANNEL_HISTORY_META_TTL=720h0m0s",
        "CENTRIFUGO_CHANNEL_NAMESPACES=\"\"",
        "CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_PRESENCE=false",
        "CENTRIFUGO_ENGINE_REDIS_ADDRESS=\"redis://127.0.0.1:6379\"",
        "CENTRIFUGO_ENGINE_REDIS_PRESENCE_TTL=1m0s",
        "CENTRIFUGO_CLIENT_PROXY_CONNECT_HTTP_STATIC_HEADERS=\"{}\"",
        "CENTRIFUGO_CLIENT_PROXY_CONNECT_HTTP_STATUS_TO_CODE_TRANSFORMS=\"[]\"",
        "CENTRIFUGO_LOG_LEVEL=\"info\"",
    ] {
        assert!(lines.contains(&want), "missing {want}");
    }
    let mut sorted = lines.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, lines);
    // Every printed name is one the loader reads.
    let env = parse_dotenv(&text, &[]).unwrap();
    let loaded = load(&LoadOptions {
        env,
        ..Default::default()
    })
    .unwrap();
    assert!(loaded.unknown_envs.is_empty(), "{:?}", loaded.unknown_envs);
    assert_eq!(loaded.config, Config::default());
}

#[test]
fn defaultenv_of_a_base_config_round_trips_through_the_environment() {
    let fixture = load_fixture("config.json").config;
    for non_zero_only in [false, true] {
        let text = defaultenv(Some(&fixture), non_zero_only);
        assert!(text.contains("CENTRIFUGO_CHANNEL_NAMESPACES=\"chat personal news.feed\"\n"));
        assert!(text.contains("CENTRIFUGO_CHANNEL_NAMESPACES_NEWS_FEED_CHANNEL_REGEX=\"^[a-z0-9_-]+$\"\n"));
        assert!(text
            .contains("CENTRIFUGO_CLIENT_ALLOWED_ORIGINS=\"http://localhost:3000 https://example.com\"\n"));
        assert!(text.contains("CENTRIFUGO_HTTP_SERVER_PORT=9000\n"));
        assert_eq!(
            text.contains("CENTRIFUGO_WEBSOCKET_COMPRESSION_LEVEL="),
            !non_zero_only
        );
        let loaded = load(&LoadOptions {
            env: parse_dotenv(&text, &[]).unwrap(),
            ..Default::default()
        })
        .unwrap();
        assert!(loaded.unknown_envs.is_empty(), "{:?}", loaded.unknown_envs);
        assert_eq!(loaded.config, fixture, "non_zero_only={non_zero_only}");
    }
    let short = defaultenv(Some(&fixture), true);
    assert!(short.lines().count() < 60, "{short}");
    assert!(!short.contains("CENTRIFUGO_CHANNEL_NAMESPACES_CHAT_SUBSCRIBE_PROXY_NAME"));
}

#[test]
fn defaultconfig_toml_survives_nulls_in_raw_options() {
    let mut config = Config::default();
    config.consumers.push(Consumer {
        name: "events".into(),
        kind: "kafka".into(),
        kafka: serde_json::json!({"brokers": ["k1:9092"], "tls": null}),
        ..Consumer::default()
    });
    let text = defaultconfig(Format::Toml, Some(&config));
    let loaded = reload(&text, Format::Toml);
    assert_eq!(loaded.config.consumers[0].name, "events");
    assert_eq!(
        loaded.config.consumers[0].kafka,
        serde_json::json!({"brokers": ["k1:9092"]})
    );
}
