//! Turning namespace options into core subscription and publication options.

use gyre_config::{ChannelOptions, Snapshot};
use gyre_core::{DeltaType, PublishOptions, RecoveryMode, SubscribeOptions, SubscriptionSource};
use gyre_jwt::SubscribeOverride;

/// Options of a server-side subscription (token `channels`/`subs`, personal channel, server API
/// `subscribe`): namespace defaults with `force_*` flags, then the overrides.
pub fn server_side_subscribe_options(
    snapshot: &Snapshot,
    options: &ChannelOptions,
    overrides: &SubscribeOverride,
) -> SubscribeOptions {
    namespace_subscribe_options(snapshot, options, overrides, SubscriptionSource::Server)
}

/// What a namespace grants every subscription before the client's own flags are considered.
pub(crate) fn namespace_subscribe_options(
    snapshot: &Snapshot,
    options: &ChannelOptions,
    overrides: &SubscribeOverride,
    source: SubscriptionSource,
) -> SubscribeOptions {
    SubscribeOptions {
        emit_presence: overrides.presence.unwrap_or(options.presence),
        emit_join_leave: overrides.join_leave.unwrap_or(options.join_leave),
        push_join_leave: overrides
            .force_push_join_leave
            .unwrap_or(options.force_push_join_leave),
        enable_positioning: overrides.force_positioning.unwrap_or(options.force_positioning),
        enable_recovery: overrides.force_recovery.unwrap_or(options.force_recovery),
        recovery_mode: recovery_mode(options),
        // The core applies it only to recoverable cache-mode subscriptions.
        auto_cache_recover: options.auto_cache_recover,
        history_meta_ttl: Some(snapshot.channels.history_meta_ttl(options)),
        allowed_delta_types: options
            .allowed_delta_types
            .iter()
            .filter_map(|t| DeltaType::parse(t))
            .collect(),
        allow_tags_filter: options.allow_tags_filter,
        source,
        ..Default::default()
    }
}

fn recovery_mode(options: &ChannelOptions) -> RecoveryMode {
    if options.force_recovery_mode == "cache" {
        RecoveryMode::Cache
    } else {
        RecoveryMode::Stream
    }
}

/// How a client publication is published: the namespace's history and delta settings.
pub(crate) fn publish_options(snapshot: &Snapshot, options: &ChannelOptions) -> PublishOptions {
    PublishOptions {
        history_size: usize::try_from(options.history_size).unwrap_or(0),
        history_ttl: options.history_ttl.as_std(),
        history_meta_ttl: Some(snapshot.channels.history_meta_ttl(options)),
        delta: options.delta_publish,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use gyre_config::Config;

    use super::*;

    #[test]
    fn overrides_win_over_namespace() {
        let snapshot = Snapshot::new(Config::default()).unwrap();
        let ns = ChannelOptions {
            presence: true,
            join_leave: true,
            force_recovery: true,
            force_recovery_mode: "cache".into(),
            allowed_delta_types: vec!["fossil".into(), "bogus".into()],
            allow_tags_filter: true,
            ..Default::default()
        };
        let plain = server_side_subscribe_options(&snapshot, &ns, &SubscribeOverride::default());
        assert!(plain.emit_presence && plain.emit_join_leave && plain.enable_recovery);
        assert!(!plain.push_join_leave && !plain.enable_positioning);
        assert_eq!(plain.recovery_mode, RecoveryMode::Cache);
        assert_eq!(plain.allowed_delta_types, vec![DeltaType::Fossil]);
        assert!(plain.allow_tags_filter);
        assert_eq!(plain.source, SubscriptionSource::Server);
        assert_eq!(plain.history_meta_ttl, Some(Duration::from_secs(720 * 3600)));

        let overrides = SubscribeOverride {
            presence: Some(false),
            force_push_join_leave: Some(true),
            force_positioning: Some(true),
            force_recovery: Some(false),
            ..Default::default()
        };
        let o = server_side_subscribe_options(&snapshot, &ns, &overrides);
        assert!(!o.emit_presence && o.emit_join_leave && o.push_join_leave);
        assert!(o.enable_positioning && !o.enable_recovery);
    }

    #[test]
    fn publish_options_follow_namespace() {
        let snapshot = Snapshot::new(Config::default()).unwrap();
        let ns = ChannelOptions {
            history_size: 10,
            history_ttl: gyre_config::Duration::from_secs(60),
            history_meta_ttl: gyre_config::Duration::from_secs(3600),
            delta_publish: true,
            ..Default::default()
        };
        let o = publish_options(&snapshot, &ns);
        assert_eq!(o.history_size, 10);
        assert_eq!(o.history_ttl, Duration::from_secs(60));
        assert_eq!(o.history_meta_ttl, Some(Duration::from_secs(3600)));
        assert!(o.delta);
        let negative = ChannelOptions {
            history_size: -1,
            ..Default::default()
        };
        assert_eq!(publish_options(&snapshot, &negative).history_size, 0);
    }
}
