//! Which request headers a connection keeps for later (the user-id header and whatever a proxy
//! forwards); the rest are dropped at the handshake.

use gyre_config::Snapshot;

/// Whether the header `name` (lower-case) is read after the handshake.
pub(crate) fn retained(snapshot: &Snapshot, name: &str) -> bool {
    let config = &snapshot.config;
    config.client.user_id_http_header.eq_ignore_ascii_case(name)
        || config.all_proxies().any(|p| {
            p.http_headers
                .iter()
                .chain(&p.grpc_metadata)
                .any(|h| h.eq_ignore_ascii_case(name))
        })
}

#[cfg(test)]
mod tests {
    use gyre_config::Config;

    use super::*;

    #[test]
    fn only_configured_headers_are_kept() {
        let mut config = Config::default();
        assert!(!retained(&Snapshot::new(config.clone()).unwrap(), "cookie"));
        config.client.user_id_http_header = "X-User-Id".into();
        config.channel.proxy.subscribe.http_headers = vec!["Cookie".into()];
        let snapshot = Snapshot::new(config).unwrap();
        assert!(retained(&snapshot, "x-user-id"));
        assert!(retained(&snapshot, "cookie"));
        assert!(!retained(&snapshot, "user-agent"));
    }
}
