//! Publish, history and presence permission decisions.

use gyre_config::{ChannelOptions, Snapshot};
use gyre_core::{Error, HandlerError, PublishReply};

use crate::options::publish_options;
use crate::permissions::{
    channel_error, history_allowed, presence_allowed, publication_data_valid, publish_allowed, Caller,
};

/// Decides a client `publish`: channel (102/107), data format (107), proxies (108, not
/// available in Gyre yet), then the permission ladder (103).
pub(crate) fn decide_publish(
    snapshot: &Snapshot,
    caller: Caller<'_>,
    subscribed: bool,
    channel: &str,
    data: &[u8],
) -> Result<PublishReply, HandlerError> {
    let ns = channel_options(snapshot, channel)?;
    if !publication_data_valid(data, &ns.publication_data_format) {
        tracing::debug!(
            channel,
            client = caller.client_id,
            "publication data format mismatch"
        );
        return Err(Error::BAD_REQUEST.into());
    }
    if ns.publish_proxy_enabled || ns.subscribe_stream_proxy_enabled {
        // A publish proxy, or a bidirectional subscribe stream, would take the publication;
        // neither exists in Gyre yet, which Centrifugo answers with 108 too.
        return Err(Error::NOT_AVAILABLE.into());
    }
    if !publish_allowed(snapshot, ns, caller, subscribed) {
        tracing::debug!(
            channel,
            client = caller.client_id,
            "publish without sufficient permission"
        );
        return Err(Error::PERMISSION_DENIED.into());
    }
    Ok(PublishReply {
        options: publish_options(snapshot, ns),
        ..Default::default()
    })
}

/// History needs a history-enabled namespace (108) and permission (103).
pub(crate) fn decide_history(
    snapshot: &Snapshot,
    caller: Caller<'_>,
    subscribed: bool,
    channel: &str,
) -> Result<(), HandlerError> {
    let ns = channel_options(snapshot, channel)?;
    if ns.history_size <= 0 || ns.history_ttl.is_zero() {
        return Err(Error::NOT_AVAILABLE.into());
    }
    if !history_allowed(snapshot, ns, caller, subscribed) {
        return Err(Error::PERMISSION_DENIED.into());
    }
    Ok(())
}

/// Presence and presence stats need `presence` in the namespace (108) and permission (103).
pub(crate) fn decide_presence(
    snapshot: &Snapshot,
    caller: Caller<'_>,
    subscribed: bool,
    channel: &str,
) -> Result<(), HandlerError> {
    let ns = channel_options(snapshot, channel)?;
    if !ns.presence {
        return Err(Error::NOT_AVAILABLE.into());
    }
    if !presence_allowed(snapshot, ns, caller, subscribed) {
        return Err(Error::PERMISSION_DENIED.into());
    }
    Ok(())
}

fn channel_options<'a>(snapshot: &'a Snapshot, channel: &'a str) -> Result<&'a ChannelOptions, HandlerError> {
    Ok(snapshot
        .channels
        .resolve_valid(channel)
        .map_err(channel_error)?
        .options)
}
