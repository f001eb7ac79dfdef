//! The `rpc` command.

use super::session::Session;
use crate::handler::{HandlerError, RpcEvent};
use gyre_protocol::{Reply, RpcRequest, RpcResult};

impl Session {
    pub(super) async fn handle_rpc(&mut self, id: u32, req: RpcRequest) -> Result<(), HandlerError> {
        let event = RpcEvent {
            method: req.method,
            data: req.data,
        };
        let client = self.client.client_ref();
        let reply = self.node.handler.on_rpc(&client, event).await?;
        let reply = Reply {
            rpc: Some(RpcResult { data: reply.data }),
            ..Default::default()
        };
        self.write_reply(id, reply, "rpc");
        Ok(())
    }
}
