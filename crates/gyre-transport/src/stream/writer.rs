//! The core's writer for the streaming HTTP transports: frames each batch into one chunk of the
//! response body.
//!
//! The unidirectional streams answer only once the connect is decided (as Centrifugo does, which
//! connects before writing the status line): the first write means "connected, stream", and a
//! close before any write is a failed connect, answered with an HTTP status when
//! `connect_code_to_http_response` is on. Those streams also write the `disconnect` push
//! themselves (the core is told they have none) so that a failed connect does not put one in
//! front of the HTTP answer.

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use gyre_core::{Disconnect, TransportWriter};
use gyre_protocol::{json, Push};

use super::framing::Framing;
use crate::uni::ConnectErrorResponses;

/// How the handler answers the request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Head {
    /// 200 and the stream.
    Stream,
    /// A plain answer instead of the stream (a failed unidirectional connect).
    Answer(axum::http::StatusCode, String),
}

pub(crate) struct StreamWriter {
    chunks: Option<mpsc::Sender<Bytes>>,
    framing: Framing,
    /// Set while the handler waits to learn how to answer.
    head: Option<oneshot::Sender<Head>>,
    /// The writer sends the `disconnect` push on close (unidirectional streams).
    disconnect_push: bool,
    /// `connect_code_to_http_response`, when enabled.
    connect_errors: Option<Arc<ConnectErrorResponses>>,
}

impl StreamWriter {
    /// A writer for a response whose head is already sent (bidirectional emulation).
    pub(crate) fn streaming(chunks: mpsc::Sender<Bytes>, framing: Framing) -> StreamWriter {
        StreamWriter {
            chunks: Some(chunks),
            framing,
            head: None,
            disconnect_push: false,
            connect_errors: None,
        }
    }

    /// A writer for a unidirectional stream: `head` learns how to answer (see the module doc).
    pub(crate) fn unidirectional(
        chunks: mpsc::Sender<Bytes>,
        framing: Framing,
        head: oneshot::Sender<Head>,
        connect_errors: Option<Arc<ConnectErrorResponses>>,
    ) -> StreamWriter {
        StreamWriter {
            chunks: Some(chunks),
            framing,
            head: Some(head),
            disconnect_push: true,
            connect_errors,
        }
    }

    fn start_stream(&mut self) {
        if let Some(head) = self.head.take() {
            let _ = head.send(Head::Stream);
        }
    }
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "stream closed")
}

#[async_trait::async_trait]
impl TransportWriter for StreamWriter {
    async fn write_batch(&mut self, messages: &[Bytes]) -> Result<(), io::Error> {
        self.start_stream();
        let chunks = self.chunks.as_ref().ok_or_else(gone)?;
        chunks
            .send(self.framing.encode(messages))
            .await
            .map_err(|_| gone())
    }

    async fn close(&mut self, disconnect: Option<Disconnect>) {
        if let Some(head) = self.head.take() {
            if let (Some(responses), Some(d)) = (&self.connect_errors, &disconnect) {
                let (status, body) = responses.answer(d);
                let _ = head.send(Head::Answer(status, body));
                self.chunks = None;
                return;
            }
            let _ = head.send(Head::Stream);
        }
        if let (true, Some(d), Some(chunks)) = (self.disconnect_push, &disconnect, &self.chunks) {
            let push = Push {
                disconnect: Some(d.to_proto()),
                ..Default::default()
            };
            if let Ok(message) = json::encode_push(&push) {
                let _ = chunks.send(self.framing.encode(&[message])).await;
            }
        }
        // Dropping the sender ends the response body.
        self.chunks = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uni(
        responses: Option<ConnectErrorResponses>,
    ) -> (StreamWriter, mpsc::Receiver<Bytes>, oneshot::Receiver<Head>) {
        let (tx, rx) = mpsc::channel(4);
        let (head_tx, head_rx) = oneshot::channel();
        let writer = StreamWriter::unidirectional(tx, Framing::JsonLines, head_tx, responses.map(Arc::new));
        (writer, rx, head_rx)
    }

    #[tokio::test]
    async fn first_write_starts_the_stream() {
        let (mut writer, mut rx, head) = uni(None);
        writer
            .write_batch(&[Bytes::from_static(b"{\"connect\":{}}")])
            .await
            .unwrap();
        assert_eq!(head.await.unwrap(), Head::Stream);
        assert_eq!(rx.recv().await.unwrap(), &b"{\"connect\":{}}\n"[..]);
        writer.close(Some(Disconnect::FORCE_DISCONNECT)).await;
        assert_eq!(
            rx.recv().await.unwrap(),
            &b"{\"disconnect\":{\"code\":3503,\"reason\":\"force disconnect\"}}\n"[..]
        );
        assert_eq!(rx.recv().await, None, "the body ends");
    }

    #[tokio::test]
    async fn failed_connect_without_transforms_streams_the_disconnect() {
        let (mut writer, mut rx, head) = uni(None);
        writer.close(Some(Disconnect::EXPIRED)).await;
        assert_eq!(head.await.unwrap(), Head::Stream);
        let push = rx.recv().await.unwrap();
        assert!(push.starts_with(b"{\"disconnect\":{\"code\":3005"), "{push:?}");
        assert_eq!(rx.recv().await, None);
    }

    #[tokio::test]
    async fn failed_connect_with_transforms_is_an_http_answer() {
        let responses = ConnectErrorResponses::new(&[(109, 401, String::new())]);
        let (mut writer, mut rx, head) = uni(Some(responses));
        writer.close(Some(Disconnect::custom(109, "token expired"))).await;
        assert_eq!(
            head.await.unwrap(),
            Head::Answer(axum::http::StatusCode::UNAUTHORIZED, "token expired".into())
        );
        assert_eq!(rx.recv().await, None, "nothing is streamed");
    }

    #[tokio::test]
    async fn peer_gone_closes_quietly() {
        let (mut writer, mut rx, _head) = uni(None);
        writer.close(None).await;
        assert_eq!(rx.recv().await, None);
        let (tx, rx) = mpsc::channel(1);
        drop(rx);
        let mut writer = StreamWriter::streaming(tx, Framing::Sse);
        let err = writer
            .write_batch(&[Bytes::from_static(b"{}")])
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }
}
