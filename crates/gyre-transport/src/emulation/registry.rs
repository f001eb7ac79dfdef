//! The emulation sessions of this node: session id → where `/emulation` delivers that
//! connection's later commands.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::mpsc;

use gyre_core::ProtocolType;

/// Frames `/emulation` may queue for one connection before its POSTs wait for the session to
/// catch up (each frame is at most one request body).
pub(crate) const QUEUED_FRAMES: usize = 16;

#[derive(Default)]
pub(crate) struct Registry {
    sessions: Mutex<HashMap<String, Session>>,
}

#[derive(Clone)]
pub(crate) struct Session {
    pub(crate) frames: mpsc::Sender<Bytes>,
    pub(crate) protocol: ProtocolType,
}

/// A registered session; dropping it (with the connection's reader) forgets the session.
pub(crate) struct Registration {
    registry: Arc<Registry>,
    session: String,
}

impl Registry {
    /// Registers a new session and returns the receiving end of its frames.
    pub(crate) fn register(
        self: &Arc<Self>,
        session: String,
        protocol: ProtocolType,
    ) -> (Registration, mpsc::Receiver<Bytes>) {
        let (frames, rx) = mpsc::channel(QUEUED_FRAMES);
        self.sessions
            .lock()
            .insert(session.clone(), Session { frames, protocol });
        let registration = Registration {
            registry: self.clone(),
            session,
        };
        (registration, rx)
    }

    pub(crate) fn get(&self, session: &str) -> Option<Session> {
        self.sessions.lock().get(session).cloned()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.sessions.lock().len()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.registry.sessions.lock().remove(&self.session);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sessions_live_as_long_as_their_registration() {
        let registry = Arc::new(Registry::default());
        let (registration, mut rx) = registry.register("s1".into(), ProtocolType::Json);
        let session = registry.get("s1").expect("registered");
        assert_eq!(session.protocol, ProtocolType::Json);
        session.frames.send(Bytes::from_static(b"x")).await.unwrap();
        assert_eq!(rx.recv().await.unwrap(), &b"x"[..]);
        assert!(registry.get("s2").is_none());
        drop(registration);
        assert!(registry.get("s1").is_none());
        assert_eq!(registry.len(), 0);
    }
}
