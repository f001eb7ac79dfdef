//! The connection's timers: stale, ping/pong, connection expiry, presence refresh,
//! subscription expiry and the stream position check (`position.rs`). One `tokio::time::Sleep` in the session loop is armed at the earliest
//! deadline; all deadlines are `tokio::time::Instant`s so that tests can pause time.

use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

use super::session::Session;
use crate::clock;
use crate::disconnect::{Disconnect, Unsubscribe};
use crate::handler::{HandlerError, RefreshEvent, SubRefreshEvent};
use gyre_protocol::{Push, Reply};

/// Connection and subscription expiries are capped (a longer one is almost certainly a bug).
pub(super) const MAX_TTL_SECS: i64 = 365 * 24 * 3600;

/// How long to wait before asking a failing refresh handler again.
const REFRESH_RETRY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TimerKind {
    Stale,
    Ping,
    Pong,
    Expire,
    Presence,
    SubExpire,
    Position,
    CloseWait,
}

#[derive(Debug, Default)]
pub(super) struct Timers {
    pub(super) stale: Option<Instant>,
    pub(super) ping: Option<Instant>,
    pub(super) pong: Option<Instant>,
    pub(super) expire: Option<Instant>,
    pub(super) presence: Option<Instant>,
    pub(super) sub_expire: Option<Instant>,
    pub(super) position: Option<Instant>,
    pub(super) close_wait: Option<Instant>,
}

impl Timers {
    /// The earliest armed deadline.
    pub(super) fn next(&self) -> Option<(Instant, TimerKind)> {
        [
            (self.stale, TimerKind::Stale),
            (self.ping, TimerKind::Ping),
            (self.pong, TimerKind::Pong),
            (self.expire, TimerKind::Expire),
            (self.presence, TimerKind::Presence),
            (self.sub_expire, TimerKind::SubExpire),
            (self.position, TimerKind::Position),
            (self.close_wait, TimerKind::CloseWait),
        ]
        .into_iter()
        .filter_map(|(at, kind)| at.map(|at| (at, kind)))
        .min_by_key(|(at, _)| *at)
    }
}

/// A random moment in `[interval/2, interval)`, so that connections which arrived together do not
/// ping (or refresh presence) together.
pub(super) fn first_tick(interval: Duration) -> Instant {
    let half = interval / 2;
    let jitter = if half.is_zero() {
        Duration::ZERO
    } else {
        rand::rng().random_range(Duration::ZERO..half)
    };
    Instant::now() + half + jitter
}

impl Session {
    pub(super) async fn fire_timer(&mut self, kind: TimerKind) {
        match kind {
            TimerKind::Stale => {
                self.timers.stale = None;
                if !self.authenticated || self.unusable {
                    self.close(Disconnect::STALE);
                }
            }
            TimerKind::Ping => self.send_ping(),
            TimerKind::Pong => {
                self.timers.pong = None;
                if self.awaiting_pong {
                    self.close(Disconnect::NO_PONG);
                }
            }
            TimerKind::Expire => {
                self.timers.expire = None;
                self.check_expired().await;
            }
            TimerKind::Presence => self.update_presence().await,
            TimerKind::SubExpire => self.check_subscriptions_expired().await,
            TimerKind::Position => self.check_positions().await,
            TimerKind::CloseWait => {
                self.timers.close_wait = None;
                self.close(Disconnect::CONNECTION_CLOSED);
            }
        }
    }

    fn send_ping(&mut self) {
        let Some(interval) = self.ping_interval else {
            self.timers.ping = None;
            return;
        };
        let key = self.client.key;
        // An empty Reply on bidirectional transports, an empty Push on unidirectional ones.
        let data = if key.unidirectional {
            gyre_protocol::codec::encode_push(key.protocol, &Push::default())
        } else {
            gyre_protocol::codec::encode_reply(key.protocol, &Reply::default())
        };
        if let Ok(data) = data {
            self.client.push(data, "ping");
        }
        self.awaiting_pong = true;
        if let (Some(timeout), false) = (self.pong_timeout, key.unidirectional) {
            self.timers.pong = Some(Instant::now() + timeout);
        }
        self.timers.ping = Some(Instant::now() + interval);
    }

    /// Arms the expiry timer for the current `exp`: at expiry for server-side refresh (the handler
    /// is asked then), after the grace delay for client-side refresh.
    pub(super) fn schedule_expire(&mut self) {
        let exp = self.client.state.lock().exp;
        self.timers.expire = (exp > 0).then(|| {
            let at = clock::instant_at_unix(exp);
            if self.client_side_refresh {
                at + self.node.config.expired_close_delay
            } else {
                at
            }
        });
    }

    async fn check_expired(&mut self) {
        let exp = self.client.state.lock().exp;
        if exp <= 0 {
            return;
        }
        if self.client_side_refresh {
            if exp > clock::unix_secs() {
                // Refreshed meanwhile.
                return self.schedule_expire();
            }
            return self.close(Disconnect::EXPIRED);
        }
        let event = RefreshEvent {
            client_side_refresh: false,
            token: String::new(),
        };
        let client = self.client.client_ref();
        match self.node.handler.on_refresh(&client, event).await {
            Err(HandlerError::Disconnect(d)) => self.close(d),
            Err(HandlerError::Error(e)) => {
                tracing::warn!(client = %self.client.id, error = %e, "refresh handler failed, retrying later");
                self.timers.expire = Some(Instant::now() + REFRESH_RETRY);
            }
            Ok(reply) if reply.expired => self.close(Disconnect::EXPIRED),
            Ok(reply) => {
                let now = clock::unix_secs();
                let expire_at = reply.expire_at.min(now + MAX_TTL_SECS);
                self.client
                    .state
                    .lock()
                    .refreshed(expire_at, reply.info, reply.meta);
                if expire_at > 0 && expire_at <= now {
                    return self.close(Disconnect::EXPIRED);
                }
                self.schedule_expire();
            }
        }
    }

    /// Refreshes presence of every live presence-enabled subscription.
    async fn update_presence(&mut self) {
        self.timers.presence = Some(Instant::now() + self.node.config.presence_update_interval);
        let entries: Vec<(String, gyre_protocol::ClientInfo)> = {
            let state = self.client.state.lock();
            state
                .channels
                .iter()
                .filter(|(_, c)| c.is_live() && c.emit_presence)
                .map(|(ch, c)| (ch.clone(), self.client_info_locked(&state, c)))
                .collect()
        };
        for (channel, info) in entries {
            if let Err(e) = self
                .node
                .presence
                .add_presence(&channel, &self.client.id, info)
                .await
            {
                tracing::warn!(channel, error = %e, "presence update failed");
            }
        }
    }

    /// Arms the subscription expiry timer at the earliest subscription deadline.
    pub(super) fn schedule_sub_expire(&mut self) {
        let delay = self.node.config.expired_sub_close_delay.as_secs() as i64;
        let earliest = {
            let state = self.client.state.lock();
            state
                .channels
                .values()
                .filter(|c| c.is_live() && c.expire_at > 0)
                .map(|c| c.expire_at)
                .min()
        };
        self.timers.sub_expire = earliest.map(|at| clock::instant_at_unix(at + delay));
    }

    /// Ends subscriptions not refreshed in time: client-side ones with an `unsubscribe` push
    /// (2501, the SDK resubscribes), server-side ones with disconnect 3006.
    async fn check_subscriptions_expired(&mut self) {
        let delay = self.node.config.expired_sub_close_delay.as_secs() as i64;
        let now = clock::unix_secs();
        let due: Vec<(String, u64, bool, bool)> = {
            let state = self.client.state.lock();
            state
                .channels
                .iter()
                .filter(|(_, c)| c.is_live() && c.expire_at > 0 && now >= c.expire_at + delay)
                .map(|(ch, c)| (ch.clone(), c.gen, c.server_side, c.client_side_refresh))
                .collect()
        };
        for (channel, gen, server_side, client_side_refresh) in due {
            let refreshed = !client_side_refresh && self.refresh_subscription(&channel, gen, now).await;
            if refreshed {
                continue;
            }
            if server_side {
                return self.close(Disconnect::SUBSCRIPTION_EXPIRED);
            }
            self.unsubscribe_with_push(&channel, Some(gen), Unsubscribe::EXPIRED)
                .await;
        }
        self.schedule_sub_expire();
    }

    /// Server-side subscription refresh: asks the handler; true when the subscription lives on.
    async fn refresh_subscription(&mut self, channel: &str, gen: u64, now: i64) -> bool {
        let event = SubRefreshEvent {
            client_side_refresh: false,
            channel: channel.to_string(),
            token: String::new(),
        };
        let client = self.client.client_ref();
        let Ok(reply) = self.node.handler.on_sub_refresh(&client, event).await else {
            return false;
        };
        let expire_at = reply.expire_at.min(now + MAX_TTL_SECS);
        if reply.expired || (expire_at > 0 && expire_at < now) {
            return false;
        }
        let mut state = self.client.state.lock();
        if let Some(ch) = state.channels.get_mut(channel).filter(|c| c.gen == gen) {
            ch.expire_at = expire_at.max(0);
            if let Some(info) = reply.info {
                ch.info = info;
            }
        }
        true
    }
}
