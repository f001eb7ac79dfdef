//! Ending subscriptions: the `unsubscribe` command, server-initiated unsubscribes (server API,
//! insufficient state, expiry) and the cleanup they share with connection teardown.

use bytes::Bytes;

use super::session::Session;
use super::state::{ChannelState, Phase};
use crate::disconnect::{Disconnect, Unsubscribe};
use crate::handler::HandlerError;
use gyre_protocol::{ClientInfo, Push, Reply, UnsubscribeRequest, UnsubscribeResult};

impl Session {
    pub(super) async fn handle_unsubscribe(
        &mut self,
        id: u32,
        req: UnsubscribeRequest,
    ) -> Result<(), HandlerError> {
        if req.channel.is_empty() {
            return Err(Disconnect::BAD_REQUEST.into());
        }
        // Unsubscribing from a channel the client is not subscribed to is not an error.
        self.remove_subscription(&req.channel, None).await;
        self.schedule_sub_expire();
        let reply = Reply {
            unsubscribe: Some(UnsubscribeResult {}),
            ..Default::default()
        };
        self.write_reply(id, reply, "unsubscribe");
        Ok(())
    }

    /// Server API unsubscribe; an empty channel means every channel of the connection.
    pub(super) async fn server_unsubscribe(&mut self, channel: &str, unsubscribe: Unsubscribe) {
        if !channel.is_empty() {
            return self.unsubscribe_with_push(channel, None, unsubscribe).await;
        }
        let channels: Vec<String> = self.client.state.lock().channels.keys().cloned().collect();
        for channel in channels {
            self.unsubscribe_with_push(&channel, None, unsubscribe.clone())
                .await;
        }
    }

    /// Removes a subscription and tells the client why with an `unsubscribe` push.
    pub(super) async fn unsubscribe_with_push(
        &mut self,
        channel: &str,
        gen: Option<u64>,
        unsubscribe: Unsubscribe,
    ) {
        if self.remove_subscription(channel, gen).await {
            let push = Push {
                channel: channel.to_string(),
                unsubscribe: Some(gyre_protocol::Unsubscribe {
                    code: unsubscribe.code,
                    reason: unsubscribe.reason.to_string(),
                }),
                ..Default::default()
            };
            self.client.send_push(push, "unsubscribe");
            self.node.observer().server_unsubscribe(unsubscribe.code);
        }
        self.schedule_sub_expire();
    }

    /// Removes the client's subscription to `channel` (only generation `gen` when given) and undoes
    /// what it set up. Returns whether there was one.
    pub(super) async fn remove_subscription(&mut self, channel: &str, gen: Option<u64>) -> bool {
        let (ch, user, conn_info) = {
            let mut state = self.client.state.lock();
            match state.channels.get(channel) {
                Some(c) if gen.is_none_or(|g| g == c.gen) => {}
                _ => return false,
            }
            let ch = state.channels.remove(channel).expect("checked above");
            (ch, state.user.clone(), state.info.clone())
        };
        self.cleanup_channel(channel, *ch, &user, conn_info).await;
        true
    }

    /// Presence removal, leave, then the hub (and broker, for the last local subscriber).
    pub(super) async fn cleanup_channel(
        &self,
        channel: &str,
        ch: ChannelState,
        user: &str,
        conn_info: Bytes,
    ) {
        self.node
            .handler
            .on_unsubscribe(&self.client.client_ref(), channel);
        if ch.emit_presence {
            if let Err(e) = self
                .node
                .presence
                .remove_presence(channel, &self.client.id, user)
                .await
            {
                tracing::warn!(channel, client = %self.client.id, error = %e, "presence removal failed");
            }
        }
        let was_established = matches!(ch.phase, Phase::Live | Phase::Failed);
        if ch.emit_join_leave && was_established {
            let info = ClientInfo {
                user: user.to_string(),
                client: self.client.id.to_string(),
                conn_info,
                chan_info: ch.info.clone(),
            };
            self.node.observer().node_message_sent("leave");
            if let Err(e) = self.node.broker.publish_leave(channel, info).await {
                tracing::warn!(channel, error = %e, "publishing leave failed");
            }
        }
        self.node
            .remove_subscription(channel, &self.client.id, ch.gen)
            .await;
    }
}
