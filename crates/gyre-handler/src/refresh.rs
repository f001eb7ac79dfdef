//! Client-side connection refresh (the `refresh` command with a new connection token).

use gyre_config::Snapshot;
use gyre_core::{Disconnect, HandlerError, RefreshReply};
use gyre_jwt::TokenError;

use crate::connect::token_subscriptions;
use crate::permissions::Caller;
use crate::tokens::Tokens;

/// Decides a refresh: expired token → `expired`; invalid token or another user → 3500; token
/// server-side channels different from the connection's → 3010 (the client reconnects and picks
/// them up); otherwise the new expiry and info.
///
/// `subscribed` tells whether the connection is subscribed to a channel; `connect_channels` are
/// the channels the connection token subscribed at connect time.
pub(crate) fn decide_refresh(
    snapshot: &Snapshot,
    tokens: &dyn Tokens,
    caller: Caller<'_>,
    token: &str,
    subscribed: &dyn Fn(&str) -> bool,
    connect_channels: &[String],
) -> Result<RefreshReply, HandlerError> {
    let token = match tokens.connect(token) {
        Ok(token) => token,
        Err(TokenError::Expired) => {
            return Ok(RefreshReply {
                expired: true,
                ..Default::default()
            })
        }
        Err(TokenError::Invalid(reason)) => {
            tracing::info!(%reason, client = caller.client_id, "invalid refresh token");
            return Err(Disconnect::INVALID_TOKEN.into());
        }
    };
    let channels = token_subscriptions(snapshot, &token)?;
    if token.user_id != caller.user {
        tracing::info!(client = caller.client_id, "refresh token user mismatch");
        return Err(Disconnect::INVALID_TOKEN.into());
    }
    let added = channels.keys().any(|c| !subscribed(c));
    let removed = connect_channels
        .iter()
        .any(|c| subscribed(c) && !channels.contains_key(c));
    if added || removed {
        return Err(Disconnect::INSUFFICIENT_STATE.into());
    }
    Ok(RefreshReply {
        expired: false,
        expire_at: token.expire_at,
        info: (!token.info.is_empty()).then_some(token.info),
        meta: token.meta,
    })
}
