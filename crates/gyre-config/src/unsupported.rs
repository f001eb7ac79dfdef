//! Warnings for configured features this Gyre version does not serve yet. Such sections load
//! and validate, but setting them has no effect; the operator must hear about it. Only values
//! that differ from the defaults produce a warning, so generated full configs stay quiet.
//!
//! When a feature lands, delete its row from [`SECTIONS`] (or its check below).

use crate::types::Config;

type Changed = fn(&Config, &Config) -> bool;

/// Sections Gyre ignores, with "differs from default" checks.
const SECTIONS: &[(&str, Changed)] = &[
    ("broker", |c, d| c.broker != d.broker),
    ("presence_manager", |c, d| {
        c.presence_manager != d.presence_manager
    }),
    ("map_broker", |c, d| c.map_broker != d.map_broker),
    ("controller", |c, d| c.controller != d.controller),
    ("shared_poll", |c, d| c.shared_poll != d.shared_poll),
    ("consumers", |c, _| !c.consumers.is_empty()),
    ("swagger", |c, d| c.swagger != d.swagger),
    ("debug", |c, d| c.debug != d.debug),
    ("init", |c, d| c.init != d.init),
    ("opentelemetry", |c, d| c.opentelemetry != d.opentelemetry),
    ("graphite", |c, d| c.graphite != d.graphite),
    // With WebTransport on, the certificate serves HTTP/3; the TCP listener stays plain.
    ("http_server.tls", |c, d| {
        c.http_server.tls != d.http_server.tls && !c.webtransport.enabled
    }),
    ("http_server.tls_autocert", |c, d| {
        c.http_server.tls_autocert != d.http_server.tls_autocert
    }),
    ("http_server.internal_tls", |c, d| {
        c.http_server.internal_tls != d.http_server.internal_tls
    }),
    // HTTP/3 carries WebTransport only.
    ("http_server.http3", |c, d| {
        c.http_server.http3 != d.http_server.http3 && !c.webtransport.enabled
    }),
];

const KNOWN_LOG_LEVELS: &[&str] = &["none", "trace", "debug", "info", "warn", "error", "fatal"];

/// All warnings about `cfg` that are not validation errors.
pub(crate) fn warnings(cfg: &Config) -> Vec<String> {
    let defaults = Config::default();
    let mut out = Vec::new();
    if cfg.engine.kind != "memory" {
        out.push(format!(
            "engine.type: the {} engine is not supported by this Gyre version yet; \
             the memory engine is used",
            cfg.engine.kind
        ));
    }
    for (section, changed) in SECTIONS {
        if changed(cfg, &defaults) {
            out.push(format!(
                "{section}: not supported by this Gyre version yet; ignored"
            ));
        }
    }
    let namespaces = std::iter::once((
        "channel.without_namespace".to_owned(),
        &cfg.channel.without_namespace,
    ))
    .chain(
        cfg.channel
            .namespaces
            .iter()
            .map(|ns| (format!("channel namespace {}", ns.name), &ns.options)),
    );
    for (name, o) in namespaces {
        if !matches!(o.subscription_type.as_str(), "" | "stream") {
            out.push(format!(
                "{name}: subscription_type {} is not supported by this Gyre version yet",
                o.subscription_type
            ));
        }
    }
    if !KNOWN_LOG_LEVELS.contains(&cfg.log.level.to_ascii_lowercase().as_str()) {
        // Centrifugo logs the same at startup and keeps running at INFO.
        out.push(format!("unknown log level {}, defaulting to INFO", cfg.log.level));
    }
    out
}
