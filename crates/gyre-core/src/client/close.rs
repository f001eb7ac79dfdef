//! Connection teardown, whatever ended it.

use super::session::Session;
use super::state::Status;
use crate::disconnect::Disconnect;

impl Session {
    /// Stops the writer (flushing what is queued unless the client is too slow or already gone),
    /// removes the connection from the hub, ends every subscription (presence, leave, broker) and
    /// reports the disconnect.
    pub(super) async fn finish(&mut self, disconnect: Disconnect) {
        let peer_gone = disconnect.code == Disconnect::CONNECTION_CLOSED.code;
        let (was_connected, channels, user, conn_info) = {
            let mut state = self.client.state.lock();
            let was_connected = state.status == Status::Connected;
            state.status = Status::Closed;
            let channels = std::mem::take(&mut state.channels);
            (was_connected, channels, state.user.clone(), state.info.clone())
        };
        if self.authenticated {
            self.node.hub.remove_client(&user, &self.client.id);
        }
        // The transport goes first: channel cleanup may wait on the broker and must not keep the
        // socket open meanwhile.
        let flush = !peer_gone && disconnect.code != Disconnect::SLOW.code;
        let advice = (!peer_gone).then(|| disconnect.clone());
        self.client.stop_writer(advice, flush);
        for (channel, ch) in channels {
            self.cleanup_channel(&channel, *ch, &user, conn_info.clone())
                .await;
        }
        let observer = self.node.observer();
        if !peer_gone {
            observer.server_disconnect(disconnect.code);
        }
        if was_connected {
            self.node
                .handler
                .on_disconnect(&self.client.client_ref(), &disconnect);
        }
    }
}
