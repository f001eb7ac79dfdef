mod common;

use common::{load_json, try_load_json};
use gyre_config::{merge_env, read_dotenv, Duration, LoadError};

const FILE: &str = r#"{
    "http_api": {"key": "from-file"},
    "channel": {"namespaces": [{"name": "news.feed"}, {"name": "chat-room"}]},
    "rpc": {"namespaces": [{"name": "tools"}]}
}"#;

#[test]
fn top_level_and_nested_keys() {
    let loaded = load_json(
        FILE,
        &[
            ("CENTRIFUGO_HTTP_SERVER_PORT", "9100"),
            ("CENTRIFUGO_PID_FILE", "/run/gyre.pid"),
            ("CENTRIFUGO_CLIENT_TOKEN_HMAC_SECRET_KEY", "env-secret"),
            ("CENTRIFUGO_CLIENT_SUBSCRIPTION_TOKEN_HMAC_SECRET_KEY", "sub"),
            ("CENTRIFUGO_CHANNEL_WITHOUT_NAMESPACE_PRESENCE", "T"),
            ("CENTRIFUGO_CLIENT_PING_INTERVAL", "1m30s"),
            ("CENTRIFUGO_CLIENT_QUEUE_MAX_SIZE", "0x100000"),
            ("CENTRIFUGO_ENGINE_REDIS_PRESENCE_TTL", "30s"),
        ],
        &[],
    );
    let c = &loaded.config;
    assert_eq!(c.http_server.port, 9100);
    assert_eq!(c.pid_file, "/run/gyre.pid");
    assert_eq!(c.client.token.hmac_secret_key, "env-secret");
    assert_eq!(c.client.subscription_token.token.hmac_secret_key, "sub");
    assert!(c.channel.without_namespace.presence);
    assert_eq!(c.client.ping_interval, Duration::from_secs(90));
    assert_eq!(c.client.queue_max_size, 1_048_576);
    assert_eq!(c.engine.redis.presence_ttl, Duration::from_secs(30));
    assert!(loaded.unknown_envs.is_empty(), "{:?}", loaded.unknown_envs);
}

#[test]
fn lists_maps_and_json_arrays() {
    let loaded = load_json(
        FILE,
        &[
            (
                "CENTRIFUGO_CLIENT_ALLOWED_ORIGINS",
                "http://a.example  https://b.example",
            ),
            (
                "CENTRIFUGO_ENGINE_REDIS_ADDRESS",
                "redis://r1:6379 redis://r2:6379",
            ),
            (
                "CENTRIFUGO_CLIENT_PROXY_CONNECT_HTTP_STATIC_HEADERS",
                r#"{"X-Token": "${CENTRIFUGO_VAR_TOKEN}", "X-Plain": "p"}"#,
            ),
            ("CENTRIFUGO_VAR_TOKEN", "t0k3n"),
            (
                "CENTRIFUGO_RPC_NAMESPACES",
                r#"[{"name": "env_rpc", "proxy_enabled": true}]"#,
            ),
        ],
        &[],
    );
    let c = &loaded.config;
    assert_eq!(
        c.client.allowed_origins,
        ["http://a.example", "https://b.example"]
    );
    assert_eq!(
        c.engine.redis.redis.address,
        ["redis://r1:6379", "redis://r2:6379"]
    );
    let headers = &c.client.proxy.connect.proxy.http.static_headers.0;
    assert_eq!(headers["X-Token"], "t0k3n");
    assert_eq!(headers["X-Plain"], "p");
    assert_eq!(c.rpc.namespaces.len(), 1);
    assert_eq!(c.rpc.namespaces[0].name, "env_rpc");
    assert!(c.rpc.namespaces[0].options.proxy_enabled);
    assert_eq!(c.rpc.namespaces[0].options.proxy_name, "default");
    assert!(loaded.unknown_envs.is_empty(), "{:?}", loaded.unknown_envs);

    let err = try_load_json(
        "{}",
        &[(
            "CENTRIFUGO_CLIENT_PROXY_CONNECT_HTTP_STATIC_HEADERS",
            r#"{"X": "${CENTRIFUGO_VAR_MISSING}"}"#,
        )],
        &[],
    )
    .unwrap_err();
    assert!(err.to_string().contains("CENTRIFUGO_VAR_MISSING"), "{err}");
}

#[test]
fn whole_namespace_list_then_per_item_overrides() {
    let loaded = load_json(
        FILE,
        &[
            (
                "CENTRIFUGO_CHANNEL_NAMESPACES",
                r#"[{"name": "env_ns", "presence": true}, {"name": "news.feed"}]"#,
            ),
            ("CENTRIFUGO_CHANNEL_NAMESPACES_NEWS_FEED_HISTORY_SIZE", "20"),
            ("CENTRIFUGO_CHANNEL_NAMESPACES_NEWS_FEED_HISTORY_TTL", "60s"),
            ("CENTRIFUGO_CHANNEL_NAMESPACES_ENV_NS_JOIN_LEAVE", "1"),
            (
                "CENTRIFUGO_CHANNEL_NAMESPACES_ENV_NS_ALLOWED_DELTA_TYPES",
                "fossil",
            ),
            ("CENTRIFUGO_RPC_NAMESPACES_TOOLS_PROXY_ENABLED", "true"),
        ],
        &[],
    );
    let c = &loaded.config;
    let names: Vec<&str> = c.channel.namespaces.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["env_ns", "news.feed"]);
    let env_ns = &c.channel.namespaces[0].options;
    assert!(env_ns.presence && env_ns.join_leave);
    assert_eq!(env_ns.allowed_delta_types, ["fossil"]);
    let news = &c.channel.namespaces[1].options;
    assert_eq!(news.history_size, 20);
    assert_eq!(news.history_ttl, Duration::from_secs(60));
    assert!(c.rpc.namespaces[0].options.proxy_enabled);
    assert!(loaded.unknown_envs.is_empty(), "{:?}", loaded.unknown_envs);
}

#[test]
fn per_item_vars_need_an_existing_item() {
    let loaded = load_json(
        FILE,
        &[
            ("CENTRIFUGO_CHANNEL_NAMESPACES_CHAT_ROOM_PRESENCE", "true"),
            ("CENTRIFUGO_CHANNEL_NAMESPACES_GHOST_PRESENCE", "true"),
        ],
        &[],
    );
    let c = &loaded.config;
    assert_eq!(c.channel.namespaces.len(), 2);
    assert!(c.channel.namespaces[1].options.presence);
    assert_eq!(
        loaded.unknown_envs,
        ["CENTRIFUGO_CHANNEL_NAMESPACES_GHOST_PRESENCE"]
    );
}

#[test]
fn names_only_list_declares_items() {
    let loaded = load_json(
        "{}",
        &[
            ("CENTRIFUGO_CHANNEL_NAMESPACES", "alpha beta"),
            ("CENTRIFUGO_CHANNEL_NAMESPACES_ALPHA_HISTORY_SIZE", "10"),
            ("CENTRIFUGO_CHANNEL_NAMESPACES_ALPHA_HISTORY_TTL", "5m"),
        ],
        &[],
    );
    let c = &loaded.config;
    assert_eq!(c.channel.namespaces.len(), 2);
    assert_eq!(c.channel.namespaces[0].options.history_size, 10);
    assert_eq!(
        c.channel.namespaces[0].options.history_ttl,
        Duration::from_secs(300)
    );
    assert_eq!(c.channel.namespaces[1].name, "beta");
}

#[test]
fn empty_var_counts_as_unset() {
    let loaded = load_json(
        FILE,
        &[
            ("CENTRIFUGO_HTTP_API_KEY", ""),
            ("CENTRIFUGO_CHANNEL_NAMESPACES", ""),
            ("CENTRIFUGO_CLIENT_PING_INTERVAL", ""),
        ],
        &[],
    );
    assert_eq!(loaded.config.http_api.key, "from-file");
    assert_eq!(loaded.config.channel.namespaces.len(), 2);
    assert_eq!(loaded.config.client.ping_interval, Duration::from_secs(25));
    assert!(loaded.unknown_envs.is_empty());
}

#[test]
fn unknown_vars_are_reported_with_exemptions() {
    let loaded = load_json(
        "{}",
        &[
            ("CENTRIFUGO_GRPC_API", "1"),
            ("CENTRIFUGO_OPENTELEMETRY", "1"),
            ("CENTRIFUGO_HTTP_SERVER_PORT", "8000"),
            ("CENTRIFUGO_PORT", "tcp://10.0.0.1:8000"),
            ("CENTRIFUGO_PORT_8000_TCP_ADDR", "10.0.0.1"),
            ("CENTRIFUGO_SERVICE_HOST", "10.0.0.1"),
            ("CENTRIFUGO_VAR_SECRET", "x"),
            ("CENTRIFUGO_EMPTY_UNKNOWN", ""),
            ("PATH", "/usr/bin"),
        ],
        &[],
    );
    assert_eq!(
        loaded.unknown_envs,
        [
            "CENTRIFUGO_EMPTY_UNKNOWN",
            "CENTRIFUGO_GRPC_API",
            "CENTRIFUGO_OPENTELEMETRY"
        ]
    );
}

#[test]
fn unreadable_values_are_errors() {
    let cases = [
        ("CENTRIFUGO_CLIENT_INSECURE", "yes"),
        ("CENTRIFUGO_CLIENT_PING_INTERVAL", "100"),
        ("CENTRIFUGO_HTTP_SERVER_PORT", "80a"),
        ("CENTRIFUGO_CHANNEL_NAMESPACES", "[{\"name\": "),
        ("CENTRIFUGO_CLIENT_PROXY_CONNECT_HTTP_STATIC_HEADERS", "[1]"),
    ];
    for (var, value) in cases {
        let err = try_load_json("{}", &[(var, value)], &[]).unwrap_err();
        match &err {
            LoadError::Env { var: got, .. } => assert_eq!(got, var),
            other => panic!("{var}: unexpected {other}"),
        }
    }
}

#[test]
fn dotenv_file_is_merged_under_the_process_env() {
    let dir = std::env::temp_dir().join(format!("gyre-config-dotenv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(".env");
    std::fs::write(
        &path,
        "CENTRIFUGO_HTTP_API_KEY=from-dotenv\nCENTRIFUGO_LOG_LEVEL=debug\n",
    )
    .unwrap();
    let process = common::env(&[("CENTRIFUGO_LOG_LEVEL", "error")]);
    let dotenv = read_dotenv(&path).unwrap();
    let merged = merge_env(process, dotenv);
    let pairs: Vec<(&str, &str)> = merged.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let loaded = load_json("{}", &pairs, &[]);
    assert_eq!(loaded.config.http_api.key, "from-dotenv");
    assert_eq!(loaded.config.log.level, "error");
    assert!(read_dotenv(dir.join("missing.env")).unwrap().is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}
