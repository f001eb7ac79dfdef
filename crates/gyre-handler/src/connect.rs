//! Connection authentication and server-side subscriptions at connect time.
//!
//! Split in two synchronous phases around the one asynchronous step (single-connection eviction),
//! so that both phases are tested without a node.

use std::collections::HashMap;

use gyre_config::{ChannelError, Snapshot};
use gyre_core::{
    ConnectingEvent, ConnectingReply, Credentials, Disconnect, Error, HandlerError, StreamPosition,
    SubscribeOptions, SubscriptionSource,
};
use gyre_jwt::{ConnectToken, SubscribeOverride, TokenError};

use crate::options::server_side_subscribe_options;
use crate::permissions::{channel_error, is_user_limited, subscribe_for_client_allowed, Caller};
use crate::tokens::Tokens;

/// Outcome of the first phase.
#[derive(Debug)]
pub(crate) struct Authenticated {
    pub(crate) credentials: Credentials,
    pub(crate) subscriptions: HashMap<String, SubscribeOptions>,
    pub(crate) meta: Option<bytes::Bytes>,
    /// Credentials came from a token or anonymous access (not from the user id header): only then
    /// does Centrifugo add the personal channel and the client-requested `subs`.
    pub(crate) from_handler: bool,
}

/// Phase 1: who connects (4.1 order: token, [connect proxy later], anonymous, user id header,
/// else 3501) and the token's own server-side subscriptions.
pub(crate) fn authenticate(
    snapshot: &Snapshot,
    tokens: &dyn Tokens,
    event: &ConnectingEvent,
) -> Result<Authenticated, HandlerError> {
    let client = &snapshot.config.client;
    if !event.token.is_empty() {
        let token = match tokens.connect(&event.token) {
            Ok(token) => token,
            Err(TokenError::Expired) => return Err(Error::TOKEN_EXPIRED.into()),
            Err(TokenError::Invalid(reason)) => {
                tracing::info!(%reason, client = %event.client_id, "invalid connection token");
                return Err(Disconnect::INVALID_TOKEN.into());
            }
        };
        // Centrifugo resolves these while verifying, before the anonymous-token rule.
        let subscriptions = token_subscriptions(snapshot, &token)?;
        if token.user_id.is_empty() && client.disallow_anonymous_connection_tokens {
            tracing::debug!(client = %event.client_id, "anonymous connection tokens disallowed");
            return Err(Disconnect::PERMISSION_DENIED.into());
        }
        let expire_at = if client.insecure { 0 } else { token.expire_at };
        return Ok(Authenticated {
            credentials: Credentials {
                user: token.user_id,
                expire_at,
                info: token.info,
            },
            subscriptions,
            meta: token.meta,
            from_handler: true,
        });
    }
    if client.allow_anonymous_connect_without_token || client.insecure {
        return Ok(Authenticated {
            credentials: Credentials::default(),
            subscriptions: HashMap::new(),
            meta: None,
            from_handler: true,
        });
    }
    if let Some(user) = header_user(&client.user_id_http_header, &event.transport.headers) {
        return Ok(Authenticated {
            credentials: Credentials {
                user,
                ..Default::default()
            },
            subscriptions: HashMap::new(),
            meta: None,
            from_handler: false,
        });
    }
    tracing::debug!(client = %event.client_id, "client credentials not found");
    Err(Disconnect::BAD_REQUEST.into())
}

/// The personal channel whose other connections must go first (`single_connection`), if any.
pub(crate) fn single_connection_channel(snapshot: &Snapshot, auth: &Authenticated) -> Option<String> {
    let personal = &snapshot.config.client.subscribe_to_user_personal_channel;
    (personal.enabled && personal.single_connection && auth.from_handler && !auth.credentials.user.is_empty())
        .then(|| snapshot.channels.personal_channel(&auth.credentials.user))
}

/// Phase 2: the personal channel, the client-requested server-side subscriptions and their
/// recovery positions.
pub(crate) fn complete_connect(
    snapshot: &Snapshot,
    auth: Authenticated,
    event: &ConnectingEvent,
) -> Result<ConnectingReply, HandlerError> {
    let Authenticated {
        credentials,
        mut subscriptions,
        meta,
        from_handler,
    } = auth;
    let personal = &snapshot.config.client.subscribe_to_user_personal_channel;
    if from_handler && personal.enabled && !credentials.user.is_empty() {
        let channel = snapshot.channels.personal_channel(&credentials.user);
        let ns = match snapshot.channels.resolve(&channel) {
            Ok(resolved) => resolved.options,
            Err(_) => {
                tracing::info!(%channel, "personal channel namespace not found");
                return Err(Error::UNKNOWN_CHANNEL.into());
            }
        };
        let options = server_side_subscribe_options(snapshot, ns, &SubscribeOverride::default());
        // The personal channel wins over a token entry of the same name (and so is not
        // re-checked against the token on refresh).
        subscriptions.insert(channel, options);
    }
    if from_handler {
        let caller = Caller {
            user: &credentials.user,
            client_id: &event.client_id,
        };
        for channel in event.subs.keys() {
            if let Some(options) = requested_subscription(snapshot, caller, channel)? {
                subscriptions.entry(channel.clone()).or_insert(options);
            }
        }
    }
    // The library applies a client's recovery position to whichever server-side subscription
    // of that channel is established.
    for (channel, options) in subscriptions.iter_mut() {
        if let Some(request) = event.subs.get(channel) {
            if request.recover {
                options.recover_since = Some(StreamPosition {
                    offset: request.offset,
                    epoch: request.epoch.clone(),
                });
            }
        }
    }
    let reply = ConnectingReply {
        credentials,
        data: bytes::Bytes::new(),
        subscriptions,
        // With a refresh proxy the server refreshes the connection by asking the backend.
        client_side_refresh: !snapshot.config.client.proxy.refresh.enabled,
        meta,
    };
    Ok(reply)
}

/// Server-side subscriptions a connection token carries: `subs` when non-empty, else `channels`.
/// An unknown namespace in either is error 102. They are marked `ConnectionToken` so a refresh
/// can compare them with the new token's.
pub(crate) fn token_subscriptions(
    snapshot: &Snapshot,
    token: &ConnectToken,
) -> Result<HashMap<String, SubscribeOptions>, HandlerError> {
    let mut out = HashMap::new();
    if !token.subs.is_empty() {
        for (channel, claim) in &token.subs {
            let ns = snapshot.channels.resolve(channel).map_err(channel_error)?.options;
            let mut options = server_side_subscribe_options(snapshot, ns, &claim.override_);
            options.channel_info = claim.info.clone();
            options.data = claim.data.clone();
            options.source = SubscriptionSource::ConnectionToken;
            out.insert(channel.clone(), options);
        }
    } else {
        for channel in &token.channels {
            let ns = snapshot.channels.resolve(channel).map_err(channel_error)?.options;
            let mut options = server_side_subscribe_options(snapshot, ns, &SubscribeOverride::default());
            options.source = SubscriptionSource::ConnectionToken;
            out.insert(channel.clone(), options);
        }
    }
    Ok(out)
}

/// A channel the client asked for in connect `subs`: subscribed server-side only when the client
/// could subscribe to it by itself without a token or proxy. Unknown namespace → 3501; anything
/// not allowed is silently skipped.
fn requested_subscription(
    snapshot: &Snapshot,
    caller: Caller<'_>,
    channel: &str,
) -> Result<Option<SubscribeOptions>, HandlerError> {
    let ns = match snapshot.channels.resolve(channel) {
        Ok(resolved) => resolved.options,
        Err(_) => {
            tracing::info!(channel, "connect subs: unknown channel namespace");
            return Err(Disconnect::BAD_REQUEST.into());
        }
    };
    let valid = !matches!(
        snapshot.channels.resolve_valid(channel),
        Err(ChannelError::Invalid)
    );
    if snapshot.channels.is_private(channel) || ns.subscribe_proxy_enabled || !valid {
        return Ok(None);
    }
    let user_limited = is_user_limited(snapshot, ns, channel);
    let allowed =
        (user_limited && !caller.user.is_empty() && snapshot.channels.user_allowed(channel, caller.user))
            || subscribe_for_client_allowed(snapshot, ns, caller, user_limited);
    if !allowed {
        tracing::debug!(
            channel,
            client = caller.client_id,
            "connect subs: channel not allowed, ignored"
        );
        return Ok(None);
    }
    Ok(Some(server_side_subscribe_options(
        snapshot,
        ns,
        &SubscribeOverride::default(),
    )))
}

/// The user id from `client.user_id_http_header`, when configured and present.
fn header_user(header: &str, headers: &HashMap<String, String>) -> Option<String> {
    if header.is_empty() {
        return None;
    }
    headers
        .get(&header.to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .cloned()
}
