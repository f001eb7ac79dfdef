//! Operations on live connections of a user: `subscribe`, `unsubscribe`, `disconnect`, `refresh`.

use gyre_core::{Disconnect, StreamPosition, Target, Unsubscribe};
use gyre_jwt::SubscribeOverride;
use tokio::time::Instant;

use super::{b64_or_raw, channel_options, Executor};
use crate::error::ApiError;
use crate::requests::{
    DisconnectRequest, RefreshRequest, SubscribeOptionOverride, SubscribeRequest, UnsubscribeRequest,
};
use crate::results::{DisconnectResult, RefreshResult, SubscribeResult, UnsubscribeResult};

fn overrides(o: Option<&SubscribeOptionOverride>) -> SubscribeOverride {
    let Some(o) = o else {
        return SubscribeOverride::default();
    };
    SubscribeOverride {
        presence: o.presence.map(|v| v.value),
        join_leave: o.join_leave.map(|v| v.value),
        force_push_join_leave: o.force_push_join_leave.map(|v| v.value),
        force_recovery: o.force_recovery.map(|v| v.value),
        force_positioning: o.force_positioning.map(|v| v.value),
    }
}

impl Executor {
    /// Subscribes the user's live connections (optionally one client/session) to a channel.
    pub async fn subscribe(&self, req: SubscribeRequest) -> Result<SubscribeResult, ApiError> {
        let started = Instant::now();
        let result = self.subscribe_inner(req).await;
        self.observe("subscribe", started);
        result
    }

    async fn subscribe_inner(&self, req: SubscribeRequest) -> Result<SubscribeResult, ApiError> {
        if req.channel.is_empty() {
            tracing::error!("bad subscribe request: channel required");
            return Err(ApiError::BAD_REQUEST);
        }
        let snapshot = self.snapshot();
        let options = channel_options(&snapshot, &req.channel)?;
        let mut opts = gyre_handler::server_side_subscribe_options(
            &snapshot,
            options,
            &overrides(req.override_.as_ref()),
        );
        opts.data = b64_or_raw(&req.b64data, req.data)?;
        opts.channel_info = b64_or_raw(&req.b64info, req.info)?;
        opts.expire_at = req.expire_at;
        opts.recover_since = req.recover_since.map(|sp| StreamPosition {
            offset: sp.offset,
            epoch: sp.epoch,
        });
        let target = Target {
            user: req.user,
            client: req.client,
            session: req.session,
        };
        self.node
            .subscribe(target, &req.channel, opts)
            .await
            .map_err(|e| super::internal("error subscribing user to channel", &req.channel, &e))?;
        Ok(SubscribeResult {})
    }

    /// Unsubscribes the user's live connections from a channel. An empty channel is accepted and
    /// does nothing (as in Centrifugo, whose docs call it required).
    pub async fn unsubscribe(&self, req: UnsubscribeRequest) -> Result<UnsubscribeResult, ApiError> {
        let started = Instant::now();
        let result = self.unsubscribe_inner(req).await;
        self.observe("unsubscribe", started);
        result
    }

    async fn unsubscribe_inner(&self, req: UnsubscribeRequest) -> Result<UnsubscribeResult, ApiError> {
        if req.channel.is_empty() {
            return Ok(UnsubscribeResult {});
        }
        channel_options(&self.snapshot(), &req.channel)?;
        let target = Target {
            user: req.user,
            client: req.client,
            session: req.session,
        };
        self.node
            .unsubscribe(target, &req.channel, Unsubscribe::SERVER)
            .await
            .map_err(|e| super::internal("error unsubscribing user from channel", &req.channel, &e))?;
        Ok(UnsubscribeResult {})
    }

    /// Disconnects the user's live connections, by default with 3503 "force disconnect".
    pub async fn disconnect(&self, req: DisconnectRequest) -> Result<DisconnectResult, ApiError> {
        let started = Instant::now();
        let result = self.disconnect_inner(req).await;
        self.observe("disconnect", started);
        result
    }

    async fn disconnect_inner(&self, req: DisconnectRequest) -> Result<DisconnectResult, ApiError> {
        let disconnect = match req.disconnect {
            Some(d) => Disconnect::custom(d.code, d.reason),
            None => Disconnect::FORCE_DISCONNECT,
        };
        let target = Target {
            user: req.user,
            client: req.client,
            session: req.session,
        };
        let user = target.user.clone();
        self.node
            .disconnect(target, disconnect, &req.whitelist)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, user, "error disconnecting user");
                ApiError::INTERNAL
            })?;
        Ok(DisconnectResult {})
    }

    /// Expires, prolongs or updates the info of the user's live connections.
    pub async fn refresh(&self, req: RefreshRequest) -> Result<RefreshResult, ApiError> {
        let started = Instant::now();
        let result = self.refresh_inner(req).await;
        self.observe("refresh", started);
        result
    }

    async fn refresh_inner(&self, req: RefreshRequest) -> Result<RefreshResult, ApiError> {
        let info = (!req.info.is_empty()).then_some(req.info);
        let target = Target {
            user: req.user,
            client: req.client,
            session: req.session,
        };
        let user = target.user.clone();
        self.node
            .refresh(target, req.expired, req.expire_at, info)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, user, "error refreshing user");
                ApiError::INTERNAL
            })?;
        Ok(RefreshResult {})
    }
}
