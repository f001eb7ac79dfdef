//! Which headers a proxy call carries (Centrifugo's `requestHeaders` order).

use std::collections::HashMap;

use hyper::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};

use crate::config::{ConfigError, ProxyConfig};

/// Per-call data from the client connection that may be forwarded as headers.
#[derive(Debug, Default, Clone)]
pub struct CallContext {
    /// Headers of the client's transport (upgrade / HTTP) request, names lower-case.
    pub headers: HashMap<String, String>,
    /// Headers the client sent in its connect frame ("headers emulation"); client-controlled.
    pub emulated_headers: HashMap<String, String>,
    /// Incoming GRPC metadata of a connection made over GRPC (uni GRPC), keys lower-case. Such
    /// a connection has no HTTP headers; Centrifugo forwards its metadata by `grpc_metadata`.
    pub grpc_metadata: HashMap<String, String>,
}

/// The allow-lists and static headers of one proxy, normalised once at construction.
#[derive(Debug, Clone)]
pub(crate) struct HeaderRules {
    static_headers: HeaderMap,
    http_headers: Vec<String>,
    emulated_headers: Vec<String>,
    grpc_metadata: Vec<String>,
}

impl HeaderRules {
    pub(crate) fn new(config: &ProxyConfig) -> Result<Self, ConfigError> {
        Self::with_static(config, &config.static_headers, ConfigError::InvalidStaticHeader)
    }

    /// GRPC calls use `grpc.static_metadata` in place of the HTTP static headers.
    pub(crate) fn for_grpc(config: &ProxyConfig) -> Result<Self, ConfigError> {
        Self::with_static(
            config,
            &config.grpc_static_metadata,
            ConfigError::InvalidStaticMetadata,
        )
    }

    fn with_static(
        config: &ProxyConfig,
        statics: &HashMap<String, String>,
        invalid: fn(String) -> ConfigError,
    ) -> Result<Self, ConfigError> {
        let mut static_headers = HeaderMap::new();
        for (k, v) in statics {
            let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| invalid(k.clone()))?;
            let value = HeaderValue::from_str(v).map_err(|_| invalid(k.clone()))?;
            static_headers.insert(name, value);
        }
        let lower = |v: &[String]| v.iter().map(|h| h.to_ascii_lowercase()).collect();
        Ok(Self {
            static_headers,
            http_headers: lower(&config.http_headers),
            emulated_headers: lower(&config.emulated_headers),
            grpc_metadata: lower(&config.grpc_metadata),
        })
    }

    /// Static headers first, then allow-listed emulated headers, then allow-listed transport
    /// headers or GRPC metadata (each step overriding the previous), and
    /// `Content-Type: application/json` last.
    ///
    /// Names or values that are not valid HTTP are skipped: they come from clients, and one bad
    /// header should not fail the whole call (Go's client would refuse to send the request).
    pub(crate) fn build(&self, ctx: &CallContext) -> HeaderMap {
        let mut out = self.build_forwarded(ctx);
        out.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        out
    }

    /// The same precedence without the forced content type (GRPC metadata).
    pub(crate) fn build_forwarded(&self, ctx: &CallContext) -> HeaderMap {
        let mut out = self.static_headers.clone();
        self.copy_allowed(&mut out, &ctx.emulated_headers, &self.emulated_headers);
        self.copy_allowed(&mut out, &ctx.headers, &self.http_headers);
        self.copy_allowed(&mut out, &ctx.grpc_metadata, &self.grpc_metadata);
        out
    }

    fn copy_allowed(&self, out: &mut HeaderMap, from: &HashMap<String, String>, allowed: &[String]) {
        if allowed.is_empty() {
            return;
        }
        for (k, v) in from {
            let lk = k.to_ascii_lowercase();
            if !allowed.contains(&lk) {
                continue;
            }
            let (Ok(name), Ok(value)) = (HeaderName::from_bytes(lk.as_bytes()), HeaderValue::from_str(v))
            else {
                continue;
            };
            out.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn precedence_and_allow_lists() {
        let mut cfg = ProxyConfig::new("http://127.0.0.1:1/");
        cfg.static_headers = map(&[("X-Static", "s"), ("Authorization", "static")]);
        cfg.emulated_headers = vec!["AUTHORIZATION".into(), "X-Emu".into()];
        cfg.http_headers = vec!["Authorization".into(), "x-real".into()];
        let rules = HeaderRules::new(&cfg).unwrap();

        let ctx = CallContext {
            headers: map(&[
                ("authorization", "transport"),
                ("x-real", "r"),
                ("cookie", "secret"),
            ]),
            emulated_headers: map(&[
                ("Authorization", "emu"),
                ("X-Emu", "e"),
                ("X-Real", "forged"),
                ("x-other", "o"),
            ]),
            ..Default::default()
        };
        let h = rules.build(&ctx);
        assert_eq!(h["x-static"], "s");
        assert_eq!(h["authorization"], "transport");
        assert_eq!(h["x-emu"], "e");
        // x-real is only in http_headers: the emulated value must not leak through.
        assert_eq!(h["x-real"], "r");
        assert!(h.get("cookie").is_none());
        assert!(h.get("x-other").is_none());
        assert_eq!(h["content-type"], "application/json");
    }

    #[test]
    fn emulated_overrides_static_without_transport() {
        let mut cfg = ProxyConfig::new("http://127.0.0.1:1/");
        cfg.static_headers = map(&[("authorization", "static")]);
        cfg.emulated_headers = vec!["authorization".into()];
        let rules = HeaderRules::new(&cfg).unwrap();
        let ctx = CallContext {
            headers: HashMap::new(),
            emulated_headers: map(&[("Authorization", "emu")]),
            ..Default::default()
        };
        assert_eq!(rules.build(&ctx)["authorization"], "emu");
    }

    #[test]
    fn content_type_cannot_be_overridden() {
        let mut cfg = ProxyConfig::new("http://127.0.0.1:1/");
        cfg.static_headers = map(&[("Content-Type", "text/plain")]);
        cfg.http_headers = vec!["content-type".into()];
        let rules = HeaderRules::new(&cfg).unwrap();
        let ctx = CallContext {
            headers: map(&[("content-type", "text/html")]),
            emulated_headers: HashMap::new(),
            ..Default::default()
        };
        let h = rules.build(&ctx);
        assert_eq!(h.get_all("content-type").iter().count(), 1);
        assert_eq!(h["content-type"], "application/json");
    }

    #[test]
    fn invalid_client_values_skipped_and_bad_static_rejected() {
        let mut cfg = ProxyConfig::new("http://127.0.0.1:1/");
        cfg.emulated_headers = vec!["x-bad".into()];
        let rules = HeaderRules::new(&cfg).unwrap();
        let ctx = CallContext {
            headers: HashMap::new(),
            emulated_headers: map(&[("x-bad", "a\r\nb")]),
            ..Default::default()
        };
        assert!(rules.build(&ctx).get("x-bad").is_none());

        cfg.static_headers = map(&[("bad name", "v")]);
        assert!(HeaderRules::new(&cfg).is_err());
    }

    #[test]
    fn grpc_metadata_by_its_own_allow_list() {
        let mut cfg = ProxyConfig::new("http://127.0.0.1:1/");
        cfg.http_headers = vec!["x-http".into()];
        cfg.grpc_metadata = vec!["X-Tenant".into()];
        let rules = HeaderRules::new(&cfg).unwrap();
        let ctx = CallContext {
            grpc_metadata: map(&[("x-tenant", "acme"), ("x-http", "no"), ("x-other", "no")]),
            ..Default::default()
        };
        let h = rules.build(&ctx);
        assert_eq!(h["x-tenant"], "acme");
        assert!(h.get("x-http").is_none());
        assert!(h.get("x-other").is_none());
    }
}
