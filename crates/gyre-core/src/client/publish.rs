//! The `publish` command.

use super::session::Session;
use crate::disconnect::Disconnect;
use crate::handler::{HandlerError, PublishEvent};
use gyre_protocol::{PublishRequest, PublishResult, Reply};

impl Session {
    pub(super) async fn handle_publish(&mut self, id: u32, req: PublishRequest) -> Result<(), HandlerError> {
        if req.channel.is_empty() {
            return Err(Disconnect::BAD_REQUEST.into());
        }
        let event = PublishEvent {
            channel: req.channel.clone(),
            data: req.data.clone(),
        };
        let client = self.client.client_ref();
        let reply = self.node.handler.on_publish(&client, event).await?;
        // A handler that published itself (a publish proxy, say) leaves nothing to do but reply.
        if reply.result.is_none() {
            let mut options = reply.options;
            if options.client_info.is_none() {
                options.client_info = Some(self.client_info(&req.channel));
            }
            let data = reply.data.unwrap_or(req.data);
            self.node.publish(&req.channel, data, options).await?;
        }
        let reply = Reply {
            publish: Some(PublishResult {}),
            ..Default::default()
        };
        self.write_reply(id, reply, "publish");
        Ok(())
    }
}
