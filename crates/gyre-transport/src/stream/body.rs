//! The body of a streaming response: the chunks the connection's writer sends, until the writer
//! closes. Dropping the body (hyper does when the client goes away, or when the response is
//! complete) tells the connection's reader that the peer is gone.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use futures_util::Stream;
use tokio::sync::mpsc;
use tokio_util::sync::DropGuard;

pub(crate) struct StreamBody {
    /// Sent before the first chunk (SSE starts with `\r\n`).
    prefix: Option<Bytes>,
    chunks: mpsc::Receiver<Bytes>,
    _peer: DropGuard,
}

impl StreamBody {
    pub(crate) fn new(prefix: Option<Bytes>, chunks: mpsc::Receiver<Bytes>, peer: DropGuard) -> StreamBody {
        StreamBody {
            prefix,
            chunks,
            _peer: peer,
        }
    }

    pub(crate) fn into_body(self) -> Body {
        Body::from_stream(self)
    }
}

impl Stream for StreamBody {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(prefix) = self.prefix.take() {
            return Poll::Ready(Some(Ok(prefix)));
        }
        self.chunks.poll_recv(cx).map(|chunk| chunk.map(Ok))
    }
}
