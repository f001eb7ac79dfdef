//! Publish, history and presence permission decisions.

use gyre_config::{ChannelOptions, Snapshot};
use gyre_core::{Error, HandlerError, PublishReply};

use crate::options::publish_options;
use crate::permissions::{
    channel_error, history_allowed, presence_allowed, publication_data_valid, publish_allowed, Caller,
};

/// What a publish needs after the checks that need no backend.
pub(crate) enum PublishDecision<'a> {
    Reply(Box<PublishReply>),
    /// This namespace's publish proxy (`publish_proxy_name`) decides, instead of the permission
    /// ladder.
    Proxy(&'a ChannelOptions),
    /// A bidirectional subscribe stream takes the publication (sent to the backend, not
    /// published); a unidirectional one refuses with 108.
    Stream,
}

/// Decides a client `publish`: channel (102/107), data format (107), the publish proxy, the
/// subscribe stream, then the permission ladder (103).
pub(crate) fn decide_publish<'a>(
    snapshot: &'a Snapshot,
    caller: Caller<'_>,
    subscribed: bool,
    channel: &'a str,
    data: &[u8],
) -> Result<PublishDecision<'a>, HandlerError> {
    let ns = channel_options(snapshot, channel)?;
    if !publication_data_valid(data, &ns.publication_data_format) {
        tracing::debug!(
            channel,
            client = caller.client_id,
            "publication data format mismatch"
        );
        return Err(Error::BAD_REQUEST.into());
    }
    if ns.publish_proxy_enabled {
        return Ok(PublishDecision::Proxy(ns));
    }
    if ns.subscribe_stream_proxy_enabled {
        // Only a bidirectional stream takes the client's publications.
        if !ns.subscribe_stream_proxy_bidirectional {
            return Err(Error::NOT_AVAILABLE.into());
        }
        return Ok(PublishDecision::Stream);
    }
    if !publish_allowed(snapshot, ns, caller, subscribed) {
        tracing::debug!(
            channel,
            client = caller.client_id,
            "publish without sufficient permission"
        );
        return Err(Error::PERMISSION_DENIED.into());
    }
    Ok(PublishDecision::Reply(Box::new(PublishReply {
        options: publish_options(snapshot, ns),
        ..Default::default()
    })))
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

#[cfg(test)]
impl PublishDecision<'_> {
    /// The reply, for tests that expect no proxy.
    pub(crate) fn reply(self) -> PublishReply {
        match self {
            PublishDecision::Reply(reply) => *reply,
            PublishDecision::Proxy(ns) => panic!("expected a reply, got proxy {:?}", ns.publish_proxy_name),
            PublishDecision::Stream => panic!("expected a reply, got a subscribe stream"),
        }
    }
}
