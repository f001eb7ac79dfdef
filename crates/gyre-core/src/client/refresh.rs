//! Moving expiries: the `refresh` and `sub_refresh` commands (client-side refresh mode) and the
//! server API `refresh`.

use bytes::Bytes;

use super::session::Session;
use super::timers::MAX_TTL_SECS;
use crate::clock;
use crate::disconnect::Disconnect;
use crate::error::Error;
use crate::handler::{HandlerError, RefreshEvent, SubRefreshEvent};
use gyre_protocol::{
    Push, Refresh, RefreshRequest, RefreshResult, Reply, SubRefreshRequest, SubRefreshResult,
};

impl Session {
    pub(super) async fn handle_refresh(&mut self, id: u32, req: RefreshRequest) -> Result<(), HandlerError> {
        if req.token.is_empty() {
            return Err(Disconnect::BAD_REQUEST.into());
        }
        // In server-side refresh mode the server asks the handler itself; a client must not.
        if !self.client_side_refresh {
            return Err(Disconnect::BAD_REQUEST.into());
        }
        let event = RefreshEvent {
            client_side_refresh: true,
            token: req.token,
        };
        let client = self.client.client_ref();
        let reply = self.node.handler.on_refresh(&client, event).await?;
        if reply.expired {
            return Err(Disconnect::EXPIRED.into());
        }
        let now = clock::unix_secs();
        let expire_at = reply.expire_at.min(now + MAX_TTL_SECS);
        let ttl = expire_at - now;
        if expire_at > 0 && ttl <= 0 {
            return Err(Error::EXPIRED.into());
        }
        self.client
            .state
            .lock()
            .refreshed(expire_at, reply.info, reply.meta);
        self.schedule_expire();
        let reply = Reply {
            refresh: Some(RefreshResult {
                expires: expire_at > 0,
                ttl: ttl.max(0) as u32,
                ..Default::default()
            }),
            ..Default::default()
        };
        self.write_reply(id, reply, "refresh");
        Ok(())
    }

    pub(super) async fn handle_sub_refresh(
        &mut self,
        id: u32,
        req: SubRefreshRequest,
    ) -> Result<(), HandlerError> {
        if req.channel.is_empty() {
            return Err(Disconnect::BAD_REQUEST.into());
        }
        let (gen, client_side_refresh, current_expire_at) = {
            let state = self.client.state.lock();
            match state.channels.get(&req.channel).filter(|c| c.is_live()) {
                Some(c) => (c.gen, c.client_side_refresh, c.expire_at),
                None => return Err(Error::PERMISSION_DENIED.into()),
            }
        };
        if !client_side_refresh {
            return Err(Disconnect::BAD_REQUEST.into());
        }
        if req.token.is_empty() {
            return Err(Error::BAD_REQUEST.into());
        }
        let event = SubRefreshEvent {
            client_side_refresh: true,
            channel: req.channel.clone(),
            token: req.token,
        };
        let client = self.client.client_ref();
        let reply = self.node.handler.on_sub_refresh(&client, event).await?;
        let now = clock::unix_secs();
        // Centrifugo ignores `expired` here, so an expired token makes the subscription never
        // expire. Gyre keeps the current expiry instead (docs/decisions.md): the SDK refreshes
        // again before it, and a subscription already past it gets 110 below.
        let requested = if reply.expired {
            current_expire_at
        } else {
            reply.expire_at
        };
        let expire_at = requested.min(now + MAX_TTL_SECS);
        let mut result = SubRefreshResult::default();
        if expire_at > 0 {
            if expire_at < now {
                return Err(Error::EXPIRED.into());
            }
            result.expires = true;
            result.ttl = (expire_at - now) as u32;
        }
        {
            let mut state = self.client.state.lock();
            if let Some(ch) = state.channels.get_mut(&req.channel).filter(|c| c.gen == gen) {
                ch.expire_at = expire_at.max(0);
                if let Some(info) = reply.info {
                    ch.info = info;
                }
            }
        }
        self.schedule_sub_expire();
        let reply = Reply {
            sub_refresh: Some(result),
            ..Default::default()
        };
        self.write_reply(id, reply, "sub_refresh");
        Ok(())
    }

    /// Server API refresh: expire now, move the expiry (0 = never), replace info; the client is
    /// told with a `refresh` push.
    pub(super) fn server_refresh(&mut self, expired: bool, expire_at: i64, info: Option<Bytes>) {
        if expired {
            return self.close(Disconnect::EXPIRED);
        }
        let now = clock::unix_secs();
        let expire_at = expire_at.min(now + MAX_TTL_SECS);
        let ttl = expire_at - now;
        if expire_at > 0 && ttl <= 0 {
            return self.close(Disconnect::EXPIRED);
        }
        {
            let mut state = self.client.state.lock();
            state.exp = expire_at.max(0);
            if let Some(info) = info.filter(|i| !i.is_empty()) {
                state.info = info;
            }
        }
        // The server moved the expiry, so the close waits for the same grace period the
        // client-side mode gets.
        self.timers.expire =
            (expire_at > 0).then(|| clock::instant_at_unix(expire_at) + self.node.config.expired_close_delay);
        let push = Push {
            refresh: Some(Refresh {
                expires: expire_at > 0,
                ttl: ttl.max(0) as u32,
            }),
            ..Default::default()
        };
        self.client.send_push(push, "refresh");
    }
}
