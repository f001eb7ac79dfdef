//! Client-side subscriptions: the subscribe decision in Centrifugo's order, and `sub_refresh`.

use gyre_config::Snapshot;
use gyre_core::{
    Disconnect, Error, HandlerError, SubRefreshEvent, SubRefreshReply, SubscribeEvent, SubscribeOptions,
    SubscribeReply, SubscriptionSource,
};
use gyre_jwt::{SubscribeOverride, SubscribeToken, TokenError};

use crate::options::namespace_subscribe_options;
use crate::permissions::{
    channel_error, history_allowed, is_user_limited, presence_allowed, subscribe_for_client_allowed,
    user_listed, Caller,
};
use crate::tokens::Tokens;

/// Decides a client `subscribe` command:
///
/// 1. name: namespace (102) and validity (107); subscription type (103);
/// 2. `$` channel without token → 103;
/// 3. token → verified (109 expired, 103 invalid), bound to channel/user/client (3500), decides;
/// 4. user-limited channel listing the user → allow;
/// 5. subscribe proxy or subscribe stream proxy enabled → the backend decides;
/// 6. `allow_subscribe_for_client` (+ anonymous), not user-limited → allow;
/// 7. `client.insecure` → allow; otherwise 103.
///
/// Then the client's own positioning / recovery / join-leave wishes are granted when permitted.
/// What a subscribe needs after the checks that need no backend.
pub(crate) enum SubscribeDecision<'a> {
    Reply(SubscribeReply),
    /// Step 5: this namespace's subscribe proxy (`subscribe_proxy_name`) decides the options;
    /// then [`finish_subscribe`] applies the client's own wishes.
    Proxy(&'a gyre_config::ChannelOptions),
    /// Step 5 with `subscribe_stream_proxy_enabled`: the backend stream's first message decides,
    /// and its later messages feed the subscription.
    Stream(&'a gyre_config::ChannelOptions),
}

pub(crate) fn decide_subscribe<'a>(
    snapshot: &'a Snapshot,
    tokens: &dyn Tokens,
    caller: Caller<'_>,
    event: &'a SubscribeEvent,
) -> Result<SubscribeDecision<'a>, HandlerError> {
    let channel = event.channel.as_str();
    if channel.is_empty() {
        return Err(Error::UNKNOWN_CHANNEL.into());
    }
    let ns = snapshot
        .channels
        .resolve_valid(channel)
        .map_err(channel_error)?
        .options;
    if !stream_type_allowed(&ns.subscription_type) {
        // Gyre's subscribe command is always a stream subscription (map and shared-poll
        // subscriptions are not implemented), so any other namespace type is a mismatch.
        return Err(Error::PERMISSION_DENIED.into());
    }
    let user_limited = is_user_limited(snapshot, ns, channel);
    if snapshot.channels.is_private(channel) && event.token.is_empty() {
        tracing::debug!(
            channel,
            client = caller.client_id,
            "private channel without token"
        );
        return Err(Error::PERMISSION_DENIED.into());
    }

    let options = if !event.token.is_empty() {
        let token = verify_subscription_token(snapshot, tokens, caller, channel, &event.token)?;
        token_options(snapshot, ns, &token)
    } else if user_limited && user_listed(snapshot, caller, channel) {
        client_options(snapshot, ns)
    } else if ns.subscribe_stream_proxy_enabled && !user_limited {
        return Ok(SubscribeDecision::Stream(ns));
    } else if ns.subscribe_proxy_enabled && !user_limited {
        return Ok(SubscribeDecision::Proxy(ns));
    } else if subscribe_for_client_allowed(snapshot, ns, caller, user_limited) {
        client_options(snapshot, ns)
    } else {
        tracing::debug!(
            channel,
            client = caller.client_id,
            "subscribe without sufficient permission"
        );
        return Err(Error::PERMISSION_DENIED.into());
    };
    finish_subscribe(snapshot, ns, caller, event, options).map(SubscribeDecision::Reply)
}

/// Grants the client's own positioning / recovery / join-leave wishes where permitted.
pub(crate) fn finish_subscribe(
    snapshot: &Snapshot,
    ns: &gyre_config::ChannelOptions,
    caller: Caller<'_>,
    event: &SubscribeEvent,
    mut options: SubscribeOptions,
) -> Result<SubscribeReply, HandlerError> {
    // The permission checks below run as if the connection were already subscribed: it will be
    // once this reply is applied.
    if event.positioned && (ns.allow_positioning || history_allowed(snapshot, ns, caller, true)) {
        options.enable_positioning = true;
    }
    if event.recoverable && (ns.allow_recovery || history_allowed(snapshot, ns, caller, true)) {
        options.enable_recovery = true;
    }
    if event.join_leave && ns.join_leave && presence_allowed(snapshot, ns, caller, true) {
        options.push_join_leave = true;
    }
    if event.tags_filter.is_some() && !options.allow_tags_filter {
        return Err(Error::BAD_REQUEST.into());
    }
    Ok(SubscribeReply {
        options,
        client_side_refresh: !ns.sub_refresh_proxy_enabled,
        tag: 0,
    })
}

/// Decides a client `sub_refresh` command (the core has already checked that the connection is
/// subscribed to the channel).
///
/// Gyre decision: an expired token answers `expired: true`, so the subscription is not extended.
/// Centrifugo's library ignores that flag on this path and clears the subscription's expiry.
pub(crate) fn decide_sub_refresh(
    snapshot: &Snapshot,
    tokens: &dyn Tokens,
    caller: Caller<'_>,
    event: &SubRefreshEvent,
) -> Result<SubRefreshReply, HandlerError> {
    if event.token.is_empty() {
        // No sub_refresh proxy in Gyre yet: without a token there is nothing to refresh with.
        return Err(Error::BAD_REQUEST.into());
    }
    let token = match tokens.subscribe(&event.token) {
        Ok(token) => token,
        Err(TokenError::Expired) => {
            return Ok(SubRefreshReply {
                expired: true,
                ..Default::default()
            })
        }
        Err(TokenError::Invalid(reason)) => {
            tracing::info!(%reason, client = caller.client_id, channel = %event.channel, "invalid subscription refresh token");
            return Err(Disconnect::INVALID_TOKEN.into());
        }
    };
    check_token_binding(snapshot, caller, &event.channel, &token)?;
    Ok(SubRefreshReply {
        expired: false,
        expire_at: token.expire_at,
        info: (!token.info.is_empty()).then_some(token.info),
    })
}

/// A namespace `subscription_type` a plain (stream) subscribe command matches.
fn stream_type_allowed(subscription_type: &str) -> bool {
    matches!(subscription_type, "" | "stream")
}

fn verify_subscription_token(
    snapshot: &Snapshot,
    tokens: &dyn Tokens,
    caller: Caller<'_>,
    channel: &str,
    token: &str,
) -> Result<SubscribeToken, HandlerError> {
    let token = match tokens.subscribe(token) {
        Ok(token) => token,
        Err(TokenError::Expired) => return Err(Error::TOKEN_EXPIRED.into()),
        Err(TokenError::Invalid(reason)) => {
            tracing::info!(%reason, client = caller.client_id, channel, "invalid subscription token");
            return Err(Error::PERMISSION_DENIED.into());
        }
    };
    check_token_binding(snapshot, caller, channel, &token)?;
    Ok(token)
}

/// A subscription token is only good for its own channel, user and (when set) client. Centrifugo
/// resolves the token's channel while verifying, so an unknown namespace there is 102 first.
fn check_token_binding(
    snapshot: &Snapshot,
    caller: Caller<'_>,
    channel: &str,
    token: &SubscribeToken,
) -> Result<(), HandlerError> {
    snapshot.channels.resolve(&token.channel).map_err(channel_error)?;
    let mismatch = if channel.is_empty() || token.channel != channel {
        Some("channel")
    } else if token.user_id != caller.user {
        Some("user")
    } else if !token.client.is_empty() && token.client != caller.client_id {
        Some("client")
    } else {
        None
    };
    match mismatch {
        Some(what) => {
            tracing::info!(
                client = caller.client_id,
                channel,
                mismatch = what,
                "subscription token mismatch"
            );
            Err(Disconnect::INVALID_TOKEN.into())
        }
        None => Ok(()),
    }
}

fn client_options(snapshot: &Snapshot, ns: &gyre_config::ChannelOptions) -> SubscribeOptions {
    namespace_subscribe_options(
        snapshot,
        ns,
        &SubscribeOverride::default(),
        SubscriptionSource::Client,
    )
}

/// A valid subscription token decides alone: namespace defaults with the token's overrides, its
/// expiry, channel info and data.
fn token_options(
    snapshot: &Snapshot,
    ns: &gyre_config::ChannelOptions,
    token: &SubscribeToken,
) -> SubscribeOptions {
    SubscribeOptions {
        expire_at: token.expire_at,
        channel_info: token.info.clone(),
        data: token.data.clone(),
        ..namespace_subscribe_options(snapshot, ns, &token.override_, SubscriptionSource::Client)
    }
}

#[cfg(test)]
impl SubscribeDecision<'_> {
    /// The reply, for tests that expect no proxy.
    pub(crate) fn reply(self) -> SubscribeReply {
        match self {
            SubscribeDecision::Reply(reply) => reply,
            SubscribeDecision::Proxy(ns) | SubscribeDecision::Stream(ns) => {
                panic!("expected a reply, got proxy {:?}", ns.subscribe_proxy_name)
            }
        }
    }
}
