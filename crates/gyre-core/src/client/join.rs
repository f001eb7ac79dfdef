//! Two futures driven to completion in one task, then a callback.
//!
//! `tokio::join!` inside an `async` block would first move both futures into the block and then
//! into its own slots, keeping two copies of their space for the connection's whole life; this
//! holds each future exactly once.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

pin_project_lite::pin_project! {
    pub(crate) struct Join<A, B, F> {
        #[pin]
        a: A,
        #[pin]
        b: B,
        a_done: bool,
        b_done: bool,
        done: Option<F>,
    }
}

impl<A, B, F> Join<A, B, F> {
    pub(crate) fn new(a: A, b: B, done: F) -> Self {
        Join {
            a,
            b,
            a_done: false,
            b_done: false,
            done: Some(done),
        }
    }
}

impl<A, B, F> Future for Join<A, B, F>
where
    A: Future<Output = ()>,
    B: Future<Output = ()>,
    F: FnOnce(),
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if !*this.a_done && this.a.poll(cx).is_ready() {
            *this.a_done = true;
        }
        if !*this.b_done && this.b.poll(cx).is_ready() {
            *this.b_done = true;
        }
        if !(*this.a_done && *this.b_done) {
            return Poll::Pending;
        }
        if let Some(done) = this.done.take() {
            done();
        }
        Poll::Ready(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;

    #[tokio::test]
    async fn waits_for_both_then_calls_back_once() {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = calls.clone();
        let joined = tokio::spawn(Join::new(
            async {},
            async move {
                let _ = rx.await;
            },
            move || {
                seen.fetch_add(1, Ordering::SeqCst);
            },
        ));
        tokio::task::yield_now().await;
        assert_eq!(calls.load(Ordering::SeqCst), 0, "one side is still running");
        tx.send(()).unwrap();
        joined.await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
