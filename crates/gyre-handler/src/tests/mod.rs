//! Decision tests: the permission matrix (reliability.md B7), the subscription-token matrix (B3)
//! and the connect/refresh rules, over pure functions with a fake token verifier.

mod connect;
mod publish;
mod refresh;
mod subscribe;

use gyre_config::{ChannelNamespace, ChannelOptions, Config, Snapshot};
use gyre_core::HandlerError;

use crate::permissions::Caller;

/// What a decision came to, as wire codes: `Ok`, an error reply or a disconnect.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ok,
    /// The backend proxy decides.
    Proxy,
    Error(u32),
    Disconnect(u32),
}

pub(crate) fn outcome<T>(r: &Result<T, HandlerError>) -> Outcome {
    match r {
        Ok(_) => Outcome::Ok,
        Err(HandlerError::Error(e)) => Outcome::Error(e.code),
        Err(HandlerError::Disconnect(d)) => Outcome::Disconnect(d.code),
    }
}

pub(crate) const USER_42: Caller<'static> = Caller {
    user: "42",
    client_id: "client-42",
};
pub(crate) const USER_43: Caller<'static> = Caller {
    user: "43",
    client_id: "client-43",
};
pub(crate) const ANON: Caller<'static> = Caller {
    user: "",
    client_id: "client-anon",
};

pub(crate) fn namespace(name: &str, options: ChannelOptions) -> ChannelNamespace {
    ChannelNamespace {
        name: name.into(),
        options,
    }
}

/// A configuration with a few namespaces covering the rules under test:
/// * `chat`: clients (not anonymous) may subscribe, history and presence for subscribers;
/// * `public`: everyone may subscribe, including anonymous connections;
/// * `dialog`: user-limited channels only;
/// * `proxied`: subscribe/publish proxies enabled;
/// * `closed`: nothing allowed.
pub(crate) fn config() -> Config {
    let mut config = Config::default();
    config.channel.namespaces = vec![
        namespace(
            "chat",
            ChannelOptions {
                allow_subscribe_for_client: true,
                presence: true,
                join_leave: true,
                history_size: 10,
                history_ttl: gyre_config::Duration::from_secs(300),
                allow_history_for_subscriber: true,
                allow_presence_for_subscriber: true,
                allow_publish_for_subscriber: true,
                ..Default::default()
            },
        ),
        namespace(
            "public",
            ChannelOptions {
                allow_subscribe_for_client: true,
                allow_subscribe_for_anonymous: true,
                ..Default::default()
            },
        ),
        namespace(
            "dialog",
            ChannelOptions {
                allow_user_limited_channels: true,
                allow_subscribe_for_client: true,
                ..Default::default()
            },
        ),
        namespace(
            "proxied",
            ChannelOptions {
                subscribe_proxy_enabled: true,
                publish_proxy_enabled: true,
                allow_subscribe_for_client: true,
                allow_publish_for_client: true,
                ..Default::default()
            },
        ),
        namespace("closed", ChannelOptions::default()),
    ];
    config
}

pub(crate) fn snapshot(config: Config) -> Snapshot {
    Snapshot::new(config).expect("test config compiles")
}
