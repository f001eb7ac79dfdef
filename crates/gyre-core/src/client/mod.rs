//! One client connection: its shared state ([`ClientRef`], what the hub stores) and the session
//! that processes commands. Split by command: connect, subscribe, publish, presence, history,
//! refresh, rpc.

use bytes::Bytes;

use crate::transport::TransportInfo;

/// A cheap handle to a live connection, as seen by handlers and the hub.
#[derive(Clone)]
pub struct ClientRef {
    _private: (),
}

impl ClientRef {
    /// Server-generated client id (UUID v4).
    pub fn id(&self) -> &str {
        todo!("core work package")
    }
    /// Session id (emulation/unidirectional transports), empty otherwise.
    pub fn session(&self) -> &str {
        todo!("core work package")
    }
    /// Authenticated user id; empty when anonymous or before connect.
    pub fn user(&self) -> String {
        todo!("core work package")
    }
    /// Connection info (`conn_info`).
    pub fn info(&self) -> Bytes {
        todo!("core work package")
    }
    /// Connection meta (JSON object) if any.
    pub fn meta(&self) -> Option<Bytes> {
        todo!("core work package")
    }
    pub fn transport(&self) -> &TransportInfo {
        todo!("core work package")
    }
    /// Whether the client is subscribed (subscription established) to `channel`.
    pub fn is_subscribed(&self, channel: &str) -> bool {
        let _ = channel;
        todo!("core work package")
    }
    /// Channels the client is subscribed to.
    pub fn channels(&self) -> Vec<String> {
        todo!("core work package")
    }
}

impl std::fmt::Debug for ClientRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRef").finish_non_exhaustive()
    }
}
