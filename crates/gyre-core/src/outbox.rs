//! A connection's byte-accounted outbox and the writer task that drains it.
//!
//! Producers (the hub broadcasting, the session replying) call [`Outbox::push`], which is
//! synchronous and never blocks: a short critical section on a deque with a byte count. When the queued
//! bytes exceed the limit the caller closes the connection with 3008; nothing is ever dropped
//! silently. One writer task per connection owns the [`TransportWriter`] and writes batches of up to
//! `max_messages_in_frame` messages, each batch under the transport's write timeout.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::disconnect::Disconnect;
use crate::transport::TransportWriter;

/// One encoded message and what it is (for transport metrics).
#[derive(Debug)]
pub(crate) struct OutMsg {
    pub(crate) data: Bytes,
    pub(crate) kind: &'static str,
}

/// Why a push was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushError {
    /// The connection is closing; the message is discarded on purpose.
    Closed,
    /// The queue is over its byte limit: the connection must be closed with 3008.
    Overflow,
}

/// The queue, its byte count and the writer's stop command share one lock: a push is a few
/// dozen nanoseconds under it, and an idle connection holds no allocation at all (a tokio
/// channel would keep a 32-slot block per connection).
#[derive(Default)]
struct Queue {
    msgs: VecDeque<OutMsg>,
    bytes: usize,
    closed: bool,
    /// Boxed: set once per connection, at its end, and a pointer is all it costs until then.
    stop: Option<Box<WriterCmd>>,
}

pub(crate) struct Outbox {
    queue: Mutex<Queue>,
    /// Wakes the writer on a push or a stop command. `notify_one` keeps a permit when the writer
    /// is busy, so no wake-up is lost.
    notify: Notify,
    max_bytes: usize,
}

impl Outbox {
    /// `max_bytes == 0` disables the limit.
    pub(crate) fn new(max_bytes: usize) -> Outbox {
        Outbox {
            queue: Mutex::new(Queue::default()),
            notify: Notify::new(),
            max_bytes,
        }
    }

    /// Queues a message. The message is queued even when this returns `Overflow` (the limit is
    /// checked after adding, as the reference does), but the writer will not flush it.
    pub(crate) fn push(&self, msg: OutMsg) -> Result<(), PushError> {
        let total = {
            let mut q = self.queue.lock();
            if q.closed {
                return Err(PushError::Closed);
            }
            q.bytes += msg.data.len();
            q.msgs.push_back(msg);
            q.bytes
        };
        self.notify.notify_one();
        if self.max_bytes > 0 && total > self.max_bytes {
            return Err(PushError::Overflow);
        }
        Ok(())
    }

    /// Tells the writer to stop. The first command wins: a later, gentler close must not turn a
    /// 3008 into a flush of the very backlog that caused it.
    pub(crate) fn stop(&self, cmd: WriterCmd) {
        {
            let mut q = self.queue.lock();
            q.closed = true;
            if q.stop.is_some() {
                return;
            }
            q.stop = Some(Box::new(cmd));
        }
        self.notify.notify_one();
    }

    /// Moves up to `max` queued messages into `out`, or returns the stop command when there is
    /// one (queued messages stay for a flush).
    fn take(&self, out: &mut Vec<OutMsg>, max: usize) -> Option<WriterCmd> {
        let mut q = self.queue.lock();
        if let Some(cmd) = &q.stop {
            return Some(WriterCmd::clone(cmd));
        }
        take_locked(&mut q, out, max);
        None
    }

    /// Like [`Outbox::take`] but ignores the stop command (flushing after a stop).
    fn take_for_flush(&self, out: &mut Vec<OutMsg>, max: usize) {
        take_locked(&mut self.queue.lock(), out, max);
    }

    /// A stop command that forbids flushing, if one arrived.
    fn abort_requested(&self) -> Option<WriterCmd> {
        self.queue.lock().stop.as_deref().filter(|c| !c.flush).cloned()
    }

    #[cfg(test)]
    pub(crate) fn queued_bytes(&self) -> usize {
        self.queue.lock().bytes
    }
}

fn take_locked(q: &mut Queue, out: &mut Vec<OutMsg>, max: usize) {
    let n = q.msgs.len().min(max);
    for m in q.msgs.drain(..n) {
        q.bytes -= m.data.len();
        out.push(m);
    }
    // A drained queue gives its memory back: an idle connection should hold nothing for the
    // burst it once saw, and the next push allocates a few slots again in tens of nanoseconds.
    if q.msgs.is_empty() && q.msgs.capacity() > 0 {
        q.msgs = VecDeque::new();
    }
}

/// How the writer ends.
#[derive(Debug, Clone)]
pub(crate) struct WriterCmd {
    /// Passed to [`TransportWriter::close`]; `None` for "closed without advice" (3000).
    pub(crate) disconnect: Option<Disconnect>,
    /// Write what is already queued before closing.
    pub(crate) flush: bool,
    /// Written last (the `disconnect` push on transports without close frames).
    pub(crate) final_message: Option<Bytes>,
}

/// What the writer reports back to its connection.
pub(crate) trait WriterHooks: Send + Sync {
    /// The queue this writer drains.
    fn outbox(&self) -> &Outbox;
    /// `count` messages of this kind, `bytes` in all, reached the transport.
    fn sent(&self, kind: &'static str, count: usize, bytes: usize);
    /// A write failed or timed out; the writer closes the transport with 3009 itself.
    fn write_failed(&self);
}

pub(crate) struct WriterConfig {
    pub(crate) max_batch: usize,
    /// Zero disables the timeout.
    pub(crate) write_timeout: Duration,
}

/// How one batch write ended.
enum Written {
    Ok,
    Failed,
    /// A close without flush arrived meanwhile: the write was abandoned.
    Aborted(WriterCmd),
}

/// Owns the transport writer until the connection ends.
pub(crate) async fn run_writer<W: TransportWriter>(
    mut writer: W,
    config: WriterConfig,
    hooks: Arc<dyn WriterHooks>,
) {
    let max_batch = config.max_batch.max(1);
    let outbox = hooks.outbox();
    let mut msgs: Vec<OutMsg> = Vec::new();
    let cmd = loop {
        if let Some(cmd) = outbox.take(&mut msgs, max_batch) {
            break cmd;
        }
        if msgs.is_empty() {
            // Idle: hold no buffers while waiting, however large the last burst was.
            msgs = Vec::new();
            outbox.notify.notified().await;
            continue;
        }
        // Boxed: a write's state (timeout, abort watch) is only needed while it runs, and
        // inlined it would sit in every idle connection's writer task.
        match Box::pin(write(&mut writer, &mut msgs, &config, &*hooks, true)).await {
            Written::Ok => {}
            Written::Failed => return fail(writer, &config, &*hooks).await,
            Written::Aborted(cmd) => break cmd,
        }
    };
    if cmd.flush {
        loop {
            outbox.take_for_flush(&mut msgs, max_batch);
            if msgs.is_empty() {
                break;
            }
            if !matches!(
                Box::pin(write(&mut writer, &mut msgs, &config, &*hooks, false)).await,
                Written::Ok
            ) {
                return fail(writer, &config, &*hooks).await;
            }
        }
    }
    if let Some(data) = cmd.final_message {
        let mut last = vec![OutMsg {
            data,
            kind: "disconnect",
        }];
        if !matches!(
            Box::pin(write(&mut writer, &mut last, &config, &*hooks, false)).await,
            Written::Ok
        ) {
            return fail(writer, &config, &*hooks).await;
        }
    }
    Box::pin(close(writer, cmd.disconnect, &config)).await;
}

async fn fail<W: TransportWriter>(writer: W, config: &WriterConfig, hooks: &dyn WriterHooks) {
    hooks.write_failed();
    Box::pin(close(writer, Some(Disconnect::WRITE_ERROR), config)).await;
}

/// Closing is bounded like a write: a peer that stopped reading must not keep the task alive.
async fn close<W: TransportWriter>(mut writer: W, disconnect: Option<Disconnect>, config: &WriterConfig) {
    if config.write_timeout.is_zero() {
        writer.close(disconnect).await;
    } else {
        let _ = tokio::time::timeout(config.write_timeout, writer.close(disconnect)).await;
    }
}

/// Writes `msgs` as one batch. With `abortable`, a close without flush abandons the write: the
/// transport is closed right after, so the partial frame is never followed by more data.
async fn write<W: TransportWriter>(
    writer: &mut W,
    msgs: &mut Vec<OutMsg>,
    config: &WriterConfig,
    hooks: &dyn WriterHooks,
    abortable: bool,
) -> Written {
    let batch: Vec<Bytes> = msgs.iter().map(|m| m.data.clone()).collect();
    let write = async {
        if config.write_timeout.is_zero() {
            writer.write_batch(&batch).await.is_ok()
        } else {
            matches!(
                tokio::time::timeout(config.write_timeout, writer.write_batch(&batch)).await,
                Ok(Ok(()))
            )
        }
    };
    let outcome = if abortable {
        let outbox = hooks.outbox();
        let aborted = async {
            loop {
                if let Some(cmd) = outbox.abort_requested() {
                    return cmd;
                }
                // Pushes wake this too; the queue is looked at again after the write anyway.
                outbox.notify.notified().await;
            }
        };
        tokio::select! {
            biased;
            cmd = aborted => Written::Aborted(cmd),
            ok = write => if ok { Written::Ok } else { Written::Failed },
        }
    } else if write.await {
        Written::Ok
    } else {
        Written::Failed
    };
    if matches!(outcome, Written::Ok) {
        // One report per run of messages of the same kind (a batch is usually all publications).
        let mut run: Option<(&'static str, usize, usize)> = None;
        for m in msgs.iter() {
            match &mut run {
                Some((kind, count, bytes)) if *kind == m.kind => {
                    *count += 1;
                    *bytes += m.data.len();
                }
                _ => {
                    if let Some((kind, count, bytes)) = run {
                        hooks.sent(kind, count, bytes);
                    }
                    run = Some((m.kind, 1, m.data.len()));
                }
            }
        }
        if let Some((kind, count, bytes)) = run {
            hooks.sent(kind, count, bytes);
        }
    }
    msgs.clear();
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_accounts_bytes_and_reports_overflow() {
        let outbox = Outbox::new(10);
        let msg = |n: usize| OutMsg {
            data: Bytes::from(vec![b'x'; n]),
            kind: "test",
        };
        assert_eq!(outbox.push(msg(6)), Ok(()));
        assert_eq!(outbox.queued_bytes(), 6);
        assert_eq!(outbox.push(msg(4)), Ok(()));
        assert_eq!(outbox.push(msg(1)), Err(PushError::Overflow));
        assert_eq!(outbox.queued_bytes(), 11);
        outbox.stop(WriterCmd {
            disconnect: None,
            flush: true,
            final_message: None,
        });
        assert_eq!(outbox.push(msg(1)), Err(PushError::Closed));
    }

    #[test]
    fn first_stop_command_wins() {
        let outbox = Outbox::new(0);
        outbox.stop(WriterCmd {
            disconnect: Some(Disconnect::SLOW),
            flush: false,
            final_message: None,
        });
        outbox.stop(WriterCmd {
            disconnect: Some(Disconnect::SHUTDOWN),
            flush: true,
            final_message: None,
        });
        let mut out = Vec::new();
        let cmd = outbox.take(&mut out, 16).unwrap();
        assert_eq!(cmd.disconnect, Some(Disconnect::SLOW));
        assert!(!cmd.flush);
        assert_eq!(
            outbox.push(OutMsg {
                data: Bytes::from_static(b"x"),
                kind: "t"
            }),
            Err(PushError::Closed)
        );
    }

    #[test]
    fn drained_queue_releases_its_memory() {
        let outbox = Outbox::new(0);
        for _ in 0..100 {
            outbox
                .push(OutMsg {
                    data: Bytes::from_static(b"xy"),
                    kind: "t",
                })
                .unwrap();
        }
        let mut out = Vec::new();
        while outbox.take(&mut out, 16).is_none() && outbox.queued_bytes() > 0 {}
        assert_eq!(out.len(), 100);
        assert_eq!(outbox.queued_bytes(), 0);
        assert_eq!(outbox.queue.lock().msgs.capacity(), 0);
    }
}
