//! Turning namespace options into core subscription options.

use gyre_config::{ChannelOptions, Snapshot};
use gyre_core::{RecoveryMode, SubscribeOptions, SubscriptionSource};
use gyre_jwt::SubscribeOverride;

/// Options of a server-side subscription (token `channels`/`subs`, personal channel, server API
/// `subscribe`): namespace defaults with `force_*` flags, then the overrides.
pub fn server_side_subscribe_options(
    snapshot: &Snapshot,
    options: &ChannelOptions,
    overrides: &SubscribeOverride,
) -> SubscribeOptions {
    let mut opts = SubscribeOptions {
        emit_presence: options.presence,
        emit_join_leave: options.join_leave,
        push_join_leave: options.force_push_join_leave,
        enable_positioning: options.force_positioning,
        enable_recovery: options.force_recovery,
        recovery_mode: if options.force_recovery_mode == "cache" {
            RecoveryMode::Cache
        } else {
            RecoveryMode::Stream
        },
        history_meta_ttl: Some(snapshot.channels.history_meta_ttl(options)),
        source: SubscriptionSource::Server,
        ..Default::default()
    };
    if let Some(v) = overrides.presence {
        opts.emit_presence = v;
    }
    if let Some(v) = overrides.join_leave {
        opts.emit_join_leave = v;
    }
    if let Some(v) = overrides.force_push_join_leave {
        opts.push_join_leave = v;
    }
    if let Some(v) = overrides.force_recovery {
        opts.enable_recovery = v;
    }
    if let Some(v) = overrides.force_positioning {
        opts.enable_positioning = v;
    }
    opts
}
