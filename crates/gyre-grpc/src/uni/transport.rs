//! One uni GRPC connection as the core sees it: a reader that yields the connect command once
//! and then waits for the client to go away, and a writer feeding the `Consume` response stream.

use std::pin::Pin;
use std::task::{Context, Poll};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::Stream;
use gyre_core::{Disconnect, ReadError, TransportReader, TransportWriter};
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, DropGuard};
use tonic::Status;

/// Pushes waiting for HTTP/2 flow control. A small bound: when the client stops reading, writes
/// block and the core's byte-accounted outbox takes over (3008 for a slow client).
const STREAM_BUFFER: usize = 16;

pub(crate) struct UniReader {
    connect: Option<Bytes>,
    client_gone: CancellationToken,
}

#[async_trait]
impl TransportReader for UniReader {
    async fn read(&mut self) -> Option<Result<Bytes, ReadError>> {
        if let Some(frame) = self.connect.take() {
            return Some(Ok(frame));
        }
        self.client_gone.cancelled().await;
        None
    }
}

pub(crate) struct UniWriter {
    /// `None` once closed: dropping the sender ends the response stream (status OK, as
    /// Centrifugo's `Consume` returns nil).
    tx: Option<mpsc::Sender<Bytes>>,
}

fn stream_closed() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::BrokenPipe, "uni GRPC stream closed")
}

#[async_trait]
impl TransportWriter for UniWriter {
    async fn write_batch(&mut self, messages: &[Bytes]) -> Result<(), std::io::Error> {
        let tx = self.tx.as_ref().ok_or_else(stream_closed)?;
        for message in messages {
            // One GRPC message per push: the client decodes each as a `Push`.
            tx.send(message.clone()).await.map_err(|_| stream_closed())?;
        }
        Ok(())
    }

    /// The disconnect push (if any) was already written; ending the stream is all that is left.
    async fn close(&mut self, _disconnect: Option<Disconnect>) {
        self.tx = None;
    }
}

/// The `Consume` response body: pre-encoded `Push` messages. Dropped by tonic when the client
/// cancels or the connection dies, which tells the reader the client is gone.
pub(crate) struct PushStream {
    rx: mpsc::Receiver<Bytes>,
    _client_gone: DropGuard,
}

impl Stream for PushStream {
    type Item = Result<Bytes, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx).map(|m| m.map(Ok))
    }
}

/// The three ends of one connection; `connect` is the first (and only) inbound frame.
pub(crate) fn pipe(connect: Bytes) -> (UniReader, UniWriter, PushStream) {
    let (tx, rx) = mpsc::channel(STREAM_BUFFER);
    let client_gone = CancellationToken::new();
    let reader = UniReader {
        connect: Some(connect),
        client_gone: client_gone.clone(),
    };
    let stream = PushStream {
        rx,
        _client_gone: client_gone.drop_guard(),
    };
    (reader, UniWriter { tx: Some(tx) }, stream)
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    #[tokio::test]
    async fn connect_first_then_end_when_the_stream_is_dropped() {
        let (mut reader, mut writer, mut stream) = pipe(Bytes::from_static(b"connect"));
        assert_eq!(reader.read().await.unwrap().unwrap(), "connect");
        writer
            .write_batch(&[Bytes::from_static(b"a"), Bytes::new()])
            .await
            .unwrap();
        assert_eq!(stream.next().await.unwrap().unwrap(), "a");
        assert_eq!(stream.next().await.unwrap().unwrap(), "");
        drop(stream);
        assert!(reader.read().await.is_none());
        assert!(writer.write_batch(&[Bytes::from_static(b"b")]).await.is_err());
    }

    #[tokio::test]
    async fn close_ends_the_stream() {
        let (_reader, mut writer, mut stream) = pipe(Bytes::new());
        writer.write_batch(&[Bytes::from_static(b"bye")]).await.unwrap();
        writer.close(Some(Disconnect::FORCE_DISCONNECT)).await;
        assert_eq!(stream.next().await.unwrap().unwrap(), "bye");
        assert!(stream.next().await.is_none());
    }
}
