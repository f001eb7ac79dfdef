//! Config validation: the rules of Centrifugo's `Config.Validate` plus the startup checks it
//! runs later (ping/pong, engine type, error modes, HTTP/3). Centrifugo stops at the first
//! problem; [`validate`] reports every problem, each with Centrifugo's wording where it has one.
//!
//! Validation is pure and runs on a loaded (normalised) config: zero values have already been
//! replaced by defaults, so e.g. a zero `ping_interval` built in code fails the ping/pong rule.

use std::sync::OnceLock;

use regex::Regex;

use crate::types::Config;
use crate::types_proxy::{HttpStatusToCodeTransform, Proxy};
use crate::validate_channel::{validate_channel_options, OptionsScope};

/// One validation problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValidationError {
    /// Key path of the offending value (`channel.namespaces[0].history_ttl`).
    pub path: String,
    /// Message in Centrifugo's style, including its context prefix
    /// (`namespace chat: both history size and history ttl required for history`).
    pub message: String,
}

/// The proxy name that refers to the proxies configured in `client.proxy`/`channel.proxy`/
/// `rpc.proxy`.
pub const DEFAULT_PROXY_NAME: &str = "default";

const KNOWN_BROKERS: &[&str] = &["memory", "nats", "redis", "redisnats", "postgres"];
const KNOWN_ENGINES: &[&str] = &["memory", "redis"];
const KNOWN_MAP_BROKERS: &[&str] = &["memory", "redis", "postgres"];
const NAME_PATTERN: &str = "^[-a-zA-Z0-9_.]{2,}$";
const CONSUMER_NAME_PATTERN: &str = "^[a-zA-Z0-9_]{2,}$";
const USER_ID_CLAIM_PATTERN: &str = "^[a-zA-Z_]+$";

fn regex(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("static regex"))
}

pub(crate) fn name_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    regex(&RE, NAME_PATTERN)
}

/// Collects problems; `push` is cheap so every rule can run.
#[derive(Default)]
pub(crate) struct Problems(pub(crate) Vec<ValidationError>);

impl Problems {
    pub(crate) fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ValidationError {
            path: path.into(),
            message: message.into(),
        });
    }

    /// Runs `f` on a sub-collector and re-adds its problems with a message prefix.
    pub(crate) fn scoped(&mut self, prefix: &str, f: impl FnOnce(&mut Problems)) {
        let mut inner = Problems::default();
        f(&mut inner);
        for p in inner.0 {
            self.push(p.path, format!("{prefix}{}", p.message));
        }
    }
}

/// Checks `cfg` and returns every problem found.
pub fn validate(cfg: &Config) -> Result<(), Vec<ValidationError>> {
    let mut p = Problems::default();
    validate_server(cfg, &mut p);
    validate_tokens(cfg, &mut p);
    validate_client(cfg, &mut p);
    let proxy_names = validate_named_proxies(cfg, &mut p);
    validate_channels(cfg, &proxy_names, &mut p);
    validate_rpc(cfg, &proxy_names, &mut p);
    validate_consumers(cfg, &mut p);
    if p.0.is_empty() {
        Ok(())
    } else {
        Err(p.0)
    }
}

fn validate_server(cfg: &Config, p: &mut Problems) {
    let http = &cfg.http_server;
    if http.h2c_external && (http.internal_port.is_empty() || http.port.to_string() == http.internal_port) {
        p.push(
            "http_server.h2c_external",
            "external_h2c requires custom separate internal_port to be configured",
        );
    }
    if http.h2c_external && http.tls.enabled {
        p.push(
            "http_server.h2c_external",
            "external_h2c cannot be used together with enabled TLS for external HTTP server",
        );
    }
    if cfg.webtransport.enabled && !http.http3.enabled {
        p.push(
            "webtransport.enabled",
            "can not enable webtransport without experimental HTTP/3",
        );
    }
    if http.http3.enabled && !http.tls.enabled {
        p.push("http_server.http3.enabled", "HTTP/3 requires TLS configured");
    }
    if http.http3.enabled && http.tls_autocert.enabled {
        p.push("http_server.http3.enabled", "can not use HTTP/3 with autocert");
    }
    if !KNOWN_ENGINES.contains(&cfg.engine.kind.as_str()) {
        p.push("engine.type", format!("unknown engine type: {}", cfg.engine.kind));
    }
    if !KNOWN_BROKERS.contains(&cfg.broker.kind.as_str()) {
        p.push("broker.type", format!("unknown broker: {}", cfg.broker.kind));
    }
    if !KNOWN_MAP_BROKERS.contains(&cfg.map_broker.kind.as_str()) {
        p.push(
            "map_broker.type",
            format!("unknown map broker type: {}", cfg.map_broker.kind),
        );
    }
    for (path, mode) in [
        ("http_api.error_mode", &cfg.http_api.error_mode),
        ("grpc_api.error_mode", &cfg.grpc_api.error_mode),
    ] {
        if !mode.is_empty() && mode != "transport" {
            p.push(
                path,
                format!("{path}: invalid value: {mode}, possible choices are: transport"),
            );
        }
    }
    if cfg.client.ping_interval <= cfg.client.pong_timeout {
        p.push(
            "client.ping_interval",
            format!(
                "ping_interval must be greater than pong_timeout (ping_interval {}, pong_timeout {})",
                cfg.client.ping_interval, cfg.client.pong_timeout
            ),
        );
    }
    for (path, transforms) in [
        (
            "uni_sse.connect_code_to_http_response.transforms",
            &cfg.uni_sse.connect_code_to_http_response.transforms,
        ),
        (
            "uni_http_stream.connect_code_to_http_response.transforms",
            &cfg.uni_http_stream.connect_code_to_http_response.transforms,
        ),
    ] {
        let section = path.split('.').next().unwrap_or_default();
        for (i, t) in transforms.iter().enumerate() {
            let prefix = format!("in {section}.connect_code_to_http_status.transforms: ");
            if t.code == 0 {
                p.push(
                    format!("{path}[{i}].code"),
                    format!("{prefix}code should be set in connect_code_to_http_status.transforms[{i}]"),
                );
            }
            if t.to.status_code == 0 {
                p.push(
                    format!("{path}[{i}].to.status_code"),
                    format!("{prefix}status_code should be set in connect_code_to_http_status.transforms[{i}].to_response"),
                );
            }
        }
    }
}

fn validate_tokens(cfg: &Config, p: &mut Problems) {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = regex(&RE, USER_ID_CLAIM_PATTERN);
    let claim = &cfg.client.token.user_id_claim;
    if !claim.is_empty() && !re.is_match(claim) {
        p.push(
            "client.token.user_id_claim",
            format!("invalid token custom user ID claim: {claim}, must match {USER_ID_CLAIM_PATTERN} regular expression"),
        );
    }
    let claim = &cfg.client.subscription_token.token.user_id_claim;
    if !claim.is_empty() && !re.is_match(claim) {
        p.push(
            "client.subscription_token.user_id_claim",
            format!("invalid subscription token custom user ID claim: {claim}, must match {USER_ID_CLAIM_PATTERN} regular expression"),
        );
    }
}

fn validate_client(cfg: &Config, p: &mut Problems) {
    let proxies = &cfg.client.proxy;
    if proxies.connect.enabled {
        p.scoped("in client.proxy.connect: ", |p| {
            validate_proxy(
                DEFAULT_PROXY_NAME,
                &proxies.connect.proxy,
                "client.proxy.connect",
                p,
            )
        });
    }
    if proxies.refresh.enabled {
        p.scoped("in client.proxy.refresh: ", |p| {
            validate_proxy(
                DEFAULT_PROXY_NAME,
                &proxies.refresh.proxy,
                "client.proxy.refresh",
                p,
            )
        });
    }
    let path = "client.connect_code_to_unidirectional_disconnect.transforms";
    p.scoped("in client.connect_code_to_unidirectional_disconnect: ", |p| {
        let transforms = &cfg.client.connect_code_to_unidirectional_disconnect.transforms;
        for (i, t) in transforms.iter().enumerate() {
            if t.code == 0 {
                p.push(
                    format!("{path}[{i}].code"),
                    format!("no code specified in transforms[{i}]"),
                );
            }
            if t.to.code == 0 {
                p.push(
                    format!("{path}[{i}].to.code"),
                    format!("no disconnect code specified in transforms[{i}].to"),
                );
            }
            if !t.to.reason.is_ascii() {
                p.push(
                    format!("{path}[{i}].to.reason"),
                    format!("disconnect reason must be ASCII in transforms[{i}].to"),
                );
            }
        }
    });
}

/// Checks the named proxies and returns the names channel/RPC options may reference.
fn validate_named_proxies(cfg: &Config, p: &mut Problems) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (i, named) in cfg.proxies.iter().enumerate() {
        let path = format!("proxies[{i}]");
        if names.contains(&named.name) {
            p.push(
                format!("{path}.name"),
                format!("duplicate proxy name in proxies: {}", named.name),
            );
        }
        if named.name == DEFAULT_PROXY_NAME {
            p.push(
                format!("{path}.name"),
                format!("proxy name {DEFAULT_PROXY_NAME} is reserved"),
            );
        }
        p.scoped(&format!("in proxy {}: ", named.name), |p| {
            validate_proxy(&named.name, &named.proxy, &path, p)
        });
        names.push(named.name.clone());
    }
    names.push(DEFAULT_PROXY_NAME.to_owned());
    names
}

/// Centrifugo's `validateProxy`: name pattern, timeout, endpoint, status transforms.
pub(crate) fn validate_proxy(name: &str, proxy: &Proxy, path: &str, p: &mut Problems) {
    if !name_regex().is_match(name) {
        p.push(
            format!("{path}.name"),
            format!("invalid proxy name: {name}, must match {NAME_PATTERN} regular expression"),
        );
    }
    if proxy.timeout.is_zero() {
        p.push(format!("{path}.timeout"), "timeout not set");
    }
    if proxy.endpoint.is_empty() {
        p.push(format!("{path}.endpoint"), "endpoint not set");
    }
    let transforms_path = format!("{path}.http.status_to_code_transforms");
    p.scoped("in status_to_code_transforms: ", |p| {
        validate_status_transforms(&proxy.http.status_to_code_transforms, &transforms_path, p)
    });
}

fn validate_status_transforms(transforms: &[HttpStatusToCodeTransform], path: &str, p: &mut Problems) {
    // WebSocket close reasons are limited to 123 bytes (RFC 6455).
    const MAX_TEXT: usize = 123;
    for (i, t) in transforms.iter().enumerate() {
        let at = format!("{path}[{i}]");
        if t.status_code == 0 {
            p.push(
                &at,
                format!("status_code should be set in status_to_code_transforms[{i}]"),
            );
        }
        if t.to_disconnect.code == 0 && t.to_error.code == 0 {
            p.push(
                &at,
                format!("no error or disconnect code set in status_to_code_transforms[{i}]"),
            );
        }
        if t.to_disconnect.code > 0 && t.to_error.code > 0 {
            p.push(&at, format!("only error or disconnect code can be set in status_to_code_transforms[{i}], but not both"));
        }
        if !t.to_disconnect.reason.is_ascii() {
            p.push(
                &at,
                format!("status_to_code_transforms[{i}] disconnect reason must be ASCII"),
            );
        }
        if !t.to_error.message.is_ascii() {
            p.push(
                &at,
                format!("status_to_code_transforms[{i}] error message must be ASCII"),
            );
        }
        if t.to_error.message.len() > MAX_TEXT {
            p.push(&at, format!("status_to_code_transforms[{i}] item error message can be up to {MAX_TEXT} characters long"));
        }
        if t.to_disconnect.reason.len() > MAX_TEXT {
            p.push(&at, format!("status_to_code_transforms[{i}] disconnect reason can be up to {MAX_TEXT} characters long"));
        }
    }
}

fn validate_channels(cfg: &Config, proxy_names: &[String], p: &mut Problems) {
    let channel = &cfg.channel;
    if let Some(message) = sub_second(channel.history_meta_ttl) {
        p.push(
            "channel.history_meta_ttl",
            format!("in channel.history_meta_ttl: {message}"),
        );
    }
    if !is_data_format(&channel.publication_data_format) {
        p.push(
            "channel.publication_data_format",
            format!(
                "unknown channel.publication_data_format: \"{}\"",
                channel.publication_data_format
            ),
        );
    }
    let scope = OptionsScope {
        cfg,
        proxy_names,
        path: "channel.without_namespace".into(),
    };
    p.scoped("in channel.without_namespace: ", |p| {
        validate_channel_options(&channel.without_namespace, &scope, p)
    });

    let personal = &cfg.client.subscribe_to_user_personal_channel;
    let mut personal_found = !personal.enabled || personal.personal_channel_namespace.is_empty();
    if personal_found && personal.single_connection && !channel.without_namespace.presence {
        p.push(
            "client.subscribe_to_user_personal_channel.single_connection",
            "presence must be enabled on top level to maintain single connection",
        );
    }
    let mut seen: Vec<&str> = Vec::new();
    for (i, ns) in channel.namespaces.iter().enumerate() {
        let path = format!("channel.namespaces[{i}]");
        if seen.contains(&ns.name.as_str()) {
            p.push(
                format!("{path}.name"),
                format!("namespace name must be unique: {}", ns.name),
            );
        }
        seen.push(&ns.name);
        p.scoped(&format!("namespace {}: ", ns.name), |p| {
            if !name_regex().is_match(&ns.name) {
                p.push(
                    format!("{path}.name"),
                    format!(
                        "invalid namespace name – {} (must match {NAME_PATTERN} regular expression)",
                        ns.name
                    ),
                );
            }
            let scope = OptionsScope {
                cfg,
                proxy_names,
                path: path.clone(),
            };
            validate_channel_options(&ns.options, &scope, p);
        });
        if ns.name == personal.personal_channel_namespace {
            personal_found = true;
            if personal.single_connection && !ns.options.presence {
                p.push(
                    "client.subscribe_to_user_personal_channel.single_connection",
                    format!(
                        "presence must be enabled for namespace {} to maintain single connection",
                        ns.name
                    ),
                );
            }
        }
    }
    if !personal_found {
        p.push(
            "client.subscribe_to_user_personal_channel.personal_channel_namespace",
            format!(
                "namespace for user personal channel not found: {}",
                personal.personal_channel_namespace
            ),
        );
    }

    let boundary = if channel.namespace_boundary.is_empty() {
        ":"
    } else {
        channel.namespace_boundary.as_str()
    };
    for (i, ns) in channel.namespaces.iter().enumerate() {
        for (key, prefix) in [
            (
                "map_clients_presence_channel_prefix",
                &ns.options.map_clients_presence_channel_prefix,
            ),
            (
                "map_users_presence_channel_prefix",
                &ns.options.map_users_presence_channel_prefix,
            ),
        ] {
            if prefix.is_empty() {
                continue;
            }
            let probe = format!("{prefix}x");
            let target = probe.split(boundary).next().unwrap_or_default();
            if !seen.contains(&target) {
                p.push(
                    format!("channel.namespaces[{i}].{key}"),
                    format!(
                        "namespace {}: {key} {prefix:?} resolves to namespace {target:?} which does not exist",
                        ns.name
                    ),
                );
            }
        }
    }
}

fn validate_rpc(cfg: &Config, proxy_names: &[String], p: &mut Problems) {
    let check_proxy = |name: &str| name.is_empty() || proxy_names.iter().any(|n| n == name);
    let without = &cfg.rpc.without_namespace;
    if !check_proxy(&without.proxy_name) {
        p.push(
            "rpc.without_namespace.proxy_name",
            format!(
                "in rpc.without_namespace: proxy {} not found for rpc",
                without.proxy_name
            ),
        );
    }
    let mut seen: Vec<&str> = Vec::new();
    for (i, ns) in cfg.rpc.namespaces.iter().enumerate() {
        let path = format!("rpc.namespaces[{i}]");
        if seen.contains(&ns.name.as_str()) {
            p.push(
                format!("{path}.name"),
                format!("rpc namespace name must be unique: {}", ns.name),
            );
        }
        seen.push(&ns.name);
        if !name_regex().is_match(&ns.name) {
            p.push(
                format!("{path}.name"),
                format!(
                    "rpc namespace {}: invalid rpc namespace name – {} (must match {NAME_PATTERN} regular expression)",
                    ns.name, ns.name
                ),
            );
        }
        if !check_proxy(&ns.options.proxy_name) {
            p.push(
                format!("{path}.proxy_name"),
                format!(
                    "rpc namespace {}: proxy {} not found for rpc",
                    ns.name, ns.options.proxy_name
                ),
            );
        }
    }
}

fn validate_consumers(cfg: &Config, p: &mut Problems) {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = regex(&RE, CONSUMER_NAME_PATTERN);
    let mut seen: Vec<&str> = Vec::new();
    for (i, consumer) in cfg.consumers.iter().enumerate() {
        let path = format!("consumers[{i}]");
        if !re.is_match(&consumer.name) {
            p.push(
                format!("{path}.name"),
                format!(
                    "invalid consumer name: {}, must match {CONSUMER_NAME_PATTERN} regular expression",
                    consumer.name
                ),
            );
        }
        if seen.contains(&consumer.name.as_str()) {
            p.push(
                format!("{path}.name"),
                format!("invalid consumer name: {}, must be unique", consumer.name),
            );
        }
        seen.push(&consumer.name);
        if !crate::types_proxy::CONSUMER_TYPES.contains(&consumer.kind.as_str()) {
            p.push(
                format!("{path}.type"),
                format!("unknown consumer type: {}", consumer.kind),
            );
        }
    }
}

/// `Some(message)` when `d` has a sub-second part (history TTLs are stored in whole seconds).
pub(crate) fn sub_second(d: crate::Duration) -> Option<String> {
    (d.as_std().subsec_nanos() != 0)
        .then(|| format!("malformed duration {d}, sub-second precision is not supported for this key"))
}

pub(crate) fn is_data_format(format: &str) -> bool {
    matches!(format, "" | "json" | "json_object" | "binary")
}
