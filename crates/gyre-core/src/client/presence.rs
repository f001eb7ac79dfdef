//! The `presence` and `presence_stats` commands.

use super::session::Session;
use crate::disconnect::Disconnect;
use crate::handler::HandlerError;
use crate::node::inner::broker_error;
use gyre_protocol::{PresenceRequest, PresenceResult, PresenceStatsRequest, PresenceStatsResult, Reply};

impl Session {
    pub(super) async fn handle_presence(
        &mut self,
        id: u32,
        req: PresenceRequest,
    ) -> Result<(), HandlerError> {
        if req.channel.is_empty() {
            return Err(Disconnect::BAD_REQUEST.into());
        }
        let client = self.client.client_ref();
        self.node.handler.on_presence(&client, &req.channel).await?;
        let presence = self
            .node
            .presence
            .presence(&req.channel)
            .await
            .map_err(broker_error)?;
        let reply = Reply {
            presence: Some(PresenceResult { presence }),
            ..Default::default()
        };
        self.write_reply(id, reply, "presence");
        Ok(())
    }

    pub(super) async fn handle_presence_stats(
        &mut self,
        id: u32,
        req: PresenceStatsRequest,
    ) -> Result<(), HandlerError> {
        if req.channel.is_empty() {
            return Err(Disconnect::BAD_REQUEST.into());
        }
        let client = self.client.client_ref();
        self.node.handler.on_presence_stats(&client, &req.channel).await?;
        let stats = self
            .node
            .presence
            .presence_stats(&req.channel)
            .await
            .map_err(broker_error)?;
        let reply = Reply {
            presence_stats: Some(PresenceStatsResult {
                num_clients: stats.num_clients,
                num_users: stats.num_users,
            }),
            ..Default::default()
        };
        self.write_reply(id, reply, "presence_stats");
        Ok(())
    }
}
