//! The core's reader for the streaming HTTP transports: the request's own frame first (the
//! connect command), then, for bidirectional emulation, the frames `/emulation` delivers; the
//! end when the response body is dropped (the client went away or the stream ended).

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use gyre_core::{ReadError, TransportReader};

use crate::emulation::Registration;

pub(crate) struct StreamReader {
    first: Option<Bytes>,
    /// Later frames (bidirectional emulation only).
    later: Option<mpsc::Receiver<Bytes>>,
    /// Cancelled when the response body is dropped.
    peer: CancellationToken,
    /// Keeps the session reachable by `/emulation` while the connection lives.
    _registration: Option<Registration>,
}

impl StreamReader {
    /// A unidirectional stream: the connect frame, then nothing until the peer leaves.
    pub(crate) fn unidirectional(connect: Bytes, peer: CancellationToken) -> StreamReader {
        StreamReader {
            first: Some(connect),
            later: None,
            peer,
            _registration: None,
        }
    }

    /// A bidirectional emulation stream: the request's frame, then what `/emulation` sends.
    pub(crate) fn emulation(
        first: Bytes,
        later: mpsc::Receiver<Bytes>,
        registration: Registration,
        peer: CancellationToken,
    ) -> StreamReader {
        StreamReader {
            first: Some(first),
            later: Some(later),
            peer,
            _registration: Some(registration),
        }
    }
}

#[async_trait::async_trait]
impl TransportReader for StreamReader {
    async fn read(&mut self) -> Option<Result<Bytes, ReadError>> {
        // An empty first frame holds no command: the connection then waits for one (and is
        // closed as stale without), as in Go, instead of failing on an empty frame.
        if let Some(first) = self.first.take().filter(|f| !f.is_empty()) {
            return Some(Ok(first));
        }
        match &mut self.later {
            // Both waits are cancel-safe, as the core requires.
            Some(later) => tokio::select! {
                _ = self.peer.cancelled() => None,
                frame = later.recv() => frame.map(Ok),
            },
            None => {
                self.peer.cancelled().await;
                None
            }
        }
    }
}
