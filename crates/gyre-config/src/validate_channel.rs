//! Validation of channel options (`channel.without_namespace` and each namespace): history,
//! recovery, proxies, formats and the map / shared-poll subscription types.

use crate::duration::Duration;
use crate::types::{ChannelOptions, Config};
use crate::types_proxy::Proxy;
use crate::validate::{is_data_format, sub_second, validate_proxy, Problems, DEFAULT_PROXY_NAME};

pub(crate) struct OptionsScope<'a> {
    pub(crate) cfg: &'a Config,
    pub(crate) proxy_names: &'a [String],
    /// Key path of the options (`channel.namespaces[2]`).
    pub(crate) path: String,
}

impl OptionsScope<'_> {
    fn at(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }
}

pub(crate) fn validate_channel_options(o: &ChannelOptions, scope: &OptionsScope<'_>, p: &mut Problems) {
    let cfg = scope.cfg;
    if let Some(message) = sub_second(o.history_ttl) {
        p.push(scope.at("history_ttl"), format!("in history_ttl: {message}"));
    }
    if let Some(message) = sub_second(o.history_meta_ttl) {
        p.push(
            scope.at("history_meta_ttl"),
            format!("in history_meta_ttl: {message}"),
        );
    }
    let has_size = o.history_size != 0;
    let has_ttl = !o.history_ttl.is_zero();
    if has_size != has_ttl {
        p.push(
            scope.at("history_size"),
            "both history size and history ttl required for history",
        );
    }
    let meta_ttl = if o.history_meta_ttl.is_zero() {
        cfg.channel.history_meta_ttl
    } else {
        o.history_meta_ttl
    };
    if meta_ttl < o.history_ttl {
        p.push(
            scope.at("history_ttl"),
            format!(
                "history ttl ({}) can not be greater than history meta ttl ({meta_ttl})",
                o.history_ttl
            ),
        );
    }
    if o.force_recovery && (!has_size || !has_ttl) {
        p.push(
            scope.at("force_recovery"),
            "both history size and history ttl required for recovery",
        );
    }
    if o.auto_cache_recover && (!o.force_recovery || o.force_recovery_mode != "cache") {
        p.push(
            scope.at("auto_cache_recover"),
            "auto_cache_recover requires force_recovery and force_recovery_mode set to cache",
        );
    }
    if !o.channel_regex.is_empty() {
        if let Err(e) = regex::Regex::new(&o.channel_regex) {
            p.push(
                scope.at("channel_regex"),
                format!("invalid channel regex {}: {e}", o.channel_regex),
            );
        }
    }
    if o.subscribe_stream_proxy_enabled
        && (o.subscribe_proxy_enabled || o.publish_proxy_enabled || o.sub_refresh_proxy_enabled)
    {
        p.push(
            scope.at("subscribe_stream_proxy_enabled"),
            "can't use subscribe stream proxy together with subscribe, publish or sub refresh proxies",
        );
    }
    if o.subscribe_stream_proxy_enabled {
        let name = o.subscribe_stream_proxy_name.as_str();
        let endpoint = if name == DEFAULT_PROXY_NAME {
            Some(cfg.channel.proxy.subscribe_stream.endpoint.as_str())
        } else {
            cfg.proxies
                .iter()
                .find(|n| n.name == name)
                .map(|n| n.proxy.endpoint.as_str())
        };
        // Streams exist only in the GRPC proxy protocol; Centrifugo refuses to start otherwise.
        if endpoint.is_some_and(|e| e.starts_with("http://") || e.starts_with("https://")) {
            p.push(
                scope.at("subscribe_stream_proxy_name"),
                format!("subscribe stream proxy {name}: only GRPC endpoints supported"),
            );
        }
    }
    for delta in &o.allowed_delta_types {
        if delta != "fossil" {
            p.push(
                scope.at("allowed_delta_types"),
                format!("unknown allowed delta type: \"{delta}\""),
            );
        }
    }
    if !matches!(o.force_recovery_mode.as_str(), "" | "stream" | "cache") {
        p.push(
            scope.at("force_recovery_mode"),
            format!("unknown recovery mode: \"{}\"", o.force_recovery_mode),
        );
    }
    if !is_data_format(&o.publication_data_format) {
        p.push(
            scope.at("publication_data_format"),
            format!(
                "unknown publication_data_format: \"{}\"",
                o.publication_data_format
            ),
        );
    }

    let proxies = &cfg.channel.proxy;
    let references: [(&str, &str, &str, bool, &Proxy, &str); 6] = [
        (
            "subscribe",
            "subscribe_proxy_name",
            &o.subscribe_proxy_name,
            o.subscribe_proxy_enabled,
            &proxies.subscribe,
            "subscribe",
        ),
        (
            "publish",
            "publish_proxy_name",
            &o.publish_proxy_name,
            o.publish_proxy_enabled,
            &proxies.publish,
            "publish",
        ),
        (
            "sub refresh",
            "sub_refresh_proxy_name",
            &o.sub_refresh_proxy_name,
            o.sub_refresh_proxy_enabled,
            &proxies.sub_refresh,
            "sub_refresh",
        ),
        (
            "subscribe stream",
            "subscribe_stream_proxy_name",
            &o.subscribe_stream_proxy_name,
            o.subscribe_stream_proxy_enabled,
            &proxies.subscribe_stream,
            "subscribe_stream",
        ),
        (
            "map publish",
            "map.publish_proxy_name",
            &o.map.publish_proxy_name,
            o.map.publish_proxy_enabled,
            &proxies.map_publish,
            "map_publish",
        ),
        (
            "map remove",
            "map.remove_proxy_name",
            &o.map.remove_proxy_name,
            o.map.remove_proxy_enabled,
            &proxies.map_remove,
            "map_remove",
        ),
    ];
    for (label, key, name, enabled, default_proxy, section) in references {
        check_proxy_reference(label, key, name, enabled, default_proxy, section, scope, p);
    }

    validate_map(o, scope, p);
    validate_shared_poll(o, scope, p);
}

#[allow(clippy::too_many_arguments)]
fn check_proxy_reference(
    label: &str,
    key: &str,
    name: &str,
    enabled: bool,
    default_proxy: &Proxy,
    section: &str,
    scope: &OptionsScope<'_>,
    p: &mut Problems,
) {
    if !name.is_empty() && !scope.proxy_names.iter().any(|n| n == name) {
        p.push(
            scope.at(key),
            format!("{label} proxy with name \"{name}\" not found"),
        );
    }
    if enabled && name == DEFAULT_PROXY_NAME {
        let path = format!("channel.proxy.{section}");
        p.scoped(&format!("in {path}: "), |p| {
            validate_proxy(DEFAULT_PROXY_NAME, default_proxy, &path, p)
        });
    }
}

fn validate_map(o: &ChannelOptions, scope: &OptionsScope<'_>, p: &mut Problems) {
    let m = &o.map;
    if !m.client_key.is_empty() && !matches!(m.client_key.as_str(), "client_id" | "user_id") {
        p.push(
            scope.at("map.client_key"),
            format!(
                "unknown map.client_key: {:?} (valid: \"client_id\", \"user_id\")",
                m.client_key
            ),
        );
    }
    if !m.client_key.is_empty() && m.publish_proxy_enabled {
        p.push(scope.at("map.client_key"), "map.client_key is not compatible with map.publish_proxy_enabled: the proxy is responsible for keying when enabled");
    }
    if !m.client_key.is_empty() && m.remove_proxy_enabled {
        p.push(scope.at("map.client_key"), "map.client_key is not compatible with map.remove_proxy_enabled: the proxy is responsible for keying when enabled");
    }
    let sub_type = o.subscription_type.as_str();
    if !matches!(
        sub_type,
        "" | "stream" | "map" | "map_clients" | "map_users" | "shared_poll"
    ) {
        p.push(
            scope.at("subscription_type"),
            format!("unknown subscription_type: {sub_type:?}"),
        );
    }
    let mode = m.mode.as_str();
    if !matches!(mode, "" | "ephemeral" | "recoverable" | "persistent") {
        p.push(
            scope.at("map.mode"),
            format!("unknown map.mode: {mode:?} (valid: \"ephemeral\", \"recoverable\", \"persistent\")"),
        );
    }
    let map_type = matches!(sub_type, "map" | "map_clients" | "map_users");
    if map_type && mode.is_empty() {
        p.push(
            scope.at("map.mode"),
            "map.mode is required when subscription_type is a map type",
        );
    }
    if matches!(mode, "ephemeral" | "recoverable") && m.key_ttl.is_zero() {
        p.push(
            scope.at("map.key_ttl"),
            format!("map.key_ttl is required when map.mode is {mode:?}"),
        );
    }
    if mode == "persistent" && !m.key_ttl.is_zero() {
        p.push(
            scope.at("map.key_ttl"),
            "map.key_ttl must not be set when map.mode is \"persistent\" (entries don't expire)",
        );
    }
    if mode == "persistent" && matches!(sub_type, "map_clients" | "map_users") {
        p.push(
            scope.at("map.mode"),
            format!("map.mode {mode:?} is not allowed with subscription_type {sub_type:?} (presence entries require TTL-based cleanup; use \"ephemeral\" or \"recoverable\")"),
        );
    }
    if mode == "ephemeral" {
        if m.stream_size > 0 {
            p.push(
                scope.at("map.stream_size"),
                "map.stream_size must be 0 for map.mode \"ephemeral\"",
            );
        }
        if !m.stream_ttl.is_zero() {
            p.push(
                scope.at("map.stream_ttl"),
                "map.stream_ttl must be 0 for map.mode \"ephemeral\"",
            );
        }
        if !m.meta_ttl.is_zero() {
            p.push(
                scope.at("map.meta_ttl"),
                "map.meta_ttl must be 0 for map.mode \"ephemeral\"",
            );
        }
    }
    if matches!(mode, "recoverable" | "persistent") {
        if m.stream_size < 0 {
            p.push(
                scope.at("map.stream_size"),
                "map.stream_size must be non-negative",
            );
        }
        if !m.meta_ttl.is_zero() {
            let stream_ttl = if m.stream_ttl.is_zero() {
                Duration::from_secs(60)
            } else {
                m.stream_ttl
            };
            if m.meta_ttl < stream_ttl {
                p.push(
                    scope.at("map.meta_ttl"),
                    format!("map.meta_ttl ({}) must be >= map.stream_ttl ({stream_ttl}) (metadata must outlive stream)", m.meta_ttl),
                );
            }
        }
    }
    if m.remove_client_on_unsubscribe && !map_type {
        p.push(
            scope.at("map.remove_client_on_unsubscribe"),
            "map.remove_client_on_unsubscribe requires subscription_type to be a map type",
        );
    }
    for (key, prefix, expected) in [
        (
            "map_clients_presence_channel_prefix",
            &o.map_clients_presence_channel_prefix,
            "map_clients",
        ),
        (
            "map_users_presence_channel_prefix",
            &o.map_users_presence_channel_prefix,
            "map_users",
        ),
    ] {
        if !prefix.is_empty() {
            check_presence_prefix(key, prefix, expected, scope, p);
        }
    }
    for (key, value) in [
        ("min_page_size", m.min_page_size),
        ("max_page_size", m.max_page_size),
        ("default_page_size", m.default_page_size),
    ] {
        if value < 0 {
            p.push(
                scope.at(&format!("map.{key}")),
                format!("map.{key} must not be negative"),
            );
        }
    }
    let (min, max, default) = (m.min_page_size, m.max_page_size, m.default_page_size);
    if min > 0 && max > 0 && min > max {
        p.push(
            scope.at("map.min_page_size"),
            format!("map.min_page_size ({min}) must not exceed map.max_page_size ({max})"),
        );
    }
    if default > 0 && max > 0 && default > max {
        p.push(
            scope.at("map.default_page_size"),
            format!("map.default_page_size ({default}) must not exceed map.max_page_size ({max})"),
        );
    }
    if default > 0 && min > 0 && default < min {
        p.push(
            scope.at("map.default_page_size"),
            format!("map.default_page_size ({default}) must not be below map.min_page_size ({min})"),
        );
    }
}

/// A map presence prefix must resolve to a namespace of the matching map type.
fn check_presence_prefix(
    key: &str,
    prefix: &str,
    expected: &str,
    scope: &OptionsScope<'_>,
    p: &mut Problems,
) {
    let channel = &scope.cfg.channel;
    let boundary = channel.namespace_boundary.as_str();
    let ns_name = if boundary.is_empty() {
        ""
    } else {
        prefix.split_once(boundary).map_or("", |(ns, _)| ns)
    };
    let target = if ns_name.is_empty() {
        Some(&channel.without_namespace)
    } else {
        channel
            .namespaces
            .iter()
            .find(|ns| ns.name == ns_name)
            .map(|ns| &ns.options)
    };
    match target {
        None => p.push(
            scope.at(key),
            format!("{key} {prefix:?}: namespace {ns_name:?} does not exist"),
        ),
        Some(opts) if opts.subscription_type != expected => p.push(
            scope.at(key),
            format!(
                "{key} {prefix:?}: target namespace {ns_name:?} must have subscription_type={expected:?} (got {:?})",
                opts.subscription_type
            ),
        ),
        Some(_) => {}
    }
}

fn validate_shared_poll(o: &ChannelOptions, scope: &OptionsScope<'_>, p: &mut Problems) {
    if o.subscription_type != "shared_poll" {
        return;
    }
    let cfg = scope.cfg;
    let sp = &o.shared_poll;
    if cfg.shared_poll.hmac_secret_key.is_empty() {
        p.push(
            "shared_poll.hmac_secret_key",
            "shared_poll.hmac_secret_key is required when subscription_type is \"shared_poll\"",
        );
    }
    if !sp.proxy_name.is_empty() && !scope.proxy_names.contains(&sp.proxy_name) {
        p.push(
            scope.at("shared_poll.proxy_name"),
            format!("shared poll proxy with name {:?} not found", sp.proxy_name),
        );
    }
    if sp.proxy_name.is_empty() || sp.proxy_name == DEFAULT_PROXY_NAME {
        let path = "channel.proxy.shared_poll_refresh";
        p.scoped(&format!("in {path}: "), |p| {
            validate_proxy(
                DEFAULT_PROXY_NAME,
                &cfg.channel.proxy.shared_poll_refresh,
                path,
                p,
            )
        });
    }
    if !matches!(sp.mode.as_str(), "" | "versionless" | "versioned") {
        p.push(
            scope.at("shared_poll.mode"),
            format!("invalid shared_poll mode: {:?}", sp.mode),
        );
    }
    if sp.publish_enabled && matches!(sp.mode.as_str(), "" | "versionless") {
        p.push(
            scope.at("shared_poll.publish_enabled"),
            "shared_poll publish_enabled is incompatible with versionless mode (requires explicit versions)",
        );
    }
}
