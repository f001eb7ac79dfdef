//! A connection's byte-accounted outbox and the writer task that drains it.
//!
//! Producers (the hub broadcasting, the session replying) call [`Outbox::push`], which is
//! synchronous and never blocks: an unbounded channel plus an atomic byte counter. When the queued
//! bytes exceed the limit the caller closes the connection with 3008; nothing is ever dropped
//! silently. One writer task per connection owns the [`TransportWriter`] and writes batches of up to
//! `max_messages_in_frame` messages, each batch under the transport's write timeout.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, watch};

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

pub(crate) struct Outbox {
    tx: mpsc::UnboundedSender<OutMsg>,
    queued: Arc<AtomicUsize>,
    max_bytes: usize,
    closed: AtomicBool,
}

/// The writer's end of an outbox.
pub(crate) struct OutboxReceiver {
    rx: mpsc::UnboundedReceiver<OutMsg>,
    queued: Arc<AtomicUsize>,
}

impl Outbox {
    /// `max_bytes == 0` disables the limit.
    pub(crate) fn new(max_bytes: usize) -> (Outbox, OutboxReceiver) {
        let (tx, rx) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        (
            Outbox {
                tx,
                queued: queued.clone(),
                max_bytes,
                closed: AtomicBool::new(false),
            },
            OutboxReceiver { rx, queued },
        )
    }

    /// Queues a message. The message is queued even when this returns `Overflow` (the limit is
    /// checked after adding, as the reference does), but the writer will not flush it.
    pub(crate) fn push(&self, msg: OutMsg) -> Result<(), PushError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(PushError::Closed);
        }
        let len = msg.data.len();
        let total = self.queued.fetch_add(len, Ordering::AcqRel) + len;
        if self.tx.send(msg).is_err() {
            return Err(PushError::Closed);
        }
        if self.max_bytes > 0 && total > self.max_bytes {
            return Err(PushError::Overflow);
        }
        Ok(())
    }

    /// Refuses every later push.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    #[cfg(test)]
    pub(crate) fn queued_bytes(&self) -> usize {
        self.queued.load(Ordering::Acquire)
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

/// Tells the writer task to stop. The first command wins: a later, gentler close must not turn a
/// 3008 into a flush of the very backlog that caused it.
pub(crate) struct WriterControl {
    tx: watch::Sender<Option<WriterCmd>>,
}

impl WriterControl {
    pub(crate) fn new() -> (WriterControl, watch::Receiver<Option<WriterCmd>>) {
        let (tx, rx) = watch::channel(None);
        (WriterControl { tx }, rx)
    }

    pub(crate) fn stop(&self, cmd: WriterCmd) {
        self.tx.send_if_modified(|cur| {
            if cur.is_none() {
                *cur = Some(cmd);
                true
            } else {
                false
            }
        });
    }
}

/// What the writer reports back to its connection.
pub(crate) trait WriterHooks: Send + Sync {
    /// A message of this kind and size reached the transport.
    fn sent(&self, kind: &'static str, size: usize);
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
    mut outbox: OutboxReceiver,
    mut control: watch::Receiver<Option<WriterCmd>>,
    config: WriterConfig,
    hooks: Arc<dyn WriterHooks>,
) {
    let max_batch = config.max_batch.max(1);
    let mut msgs: Vec<OutMsg> = Vec::new();
    let mut batch: Vec<Bytes> = Vec::new();
    let gone = WriterCmd {
        disconnect: None,
        flush: false,
        final_message: None,
    };
    let cmd = loop {
        if let Some(cmd) = control.borrow_and_update().clone() {
            break cmd;
        }
        tokio::select! {
            // A stop command is checked first so that a 3008 does not wait behind the backlog.
            biased;
            changed = control.changed() => {
                if changed.is_err() {
                    break gone;
                }
            }
            n = outbox.rx.recv_many(&mut msgs, max_batch) => {
                if n == 0 {
                    break gone;
                }
                match write(&mut writer, &mut msgs, &mut batch, &outbox.queued, &config, &*hooks, Some(&mut control)).await {
                    Written::Ok => {}
                    Written::Failed => return fail(writer, &config, &*hooks).await,
                    Written::Aborted(cmd) => break cmd,
                }
            }
        }
    };
    if cmd.flush {
        loop {
            while msgs.len() < max_batch {
                match outbox.rx.try_recv() {
                    Ok(m) => msgs.push(m),
                    Err(_) => break,
                }
            }
            if msgs.is_empty() {
                break;
            }
            if !matches!(
                write(
                    &mut writer,
                    &mut msgs,
                    &mut batch,
                    &outbox.queued,
                    &config,
                    &*hooks,
                    None
                )
                .await,
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
        // The final message was never counted in the outbox, so count it before the write
        // subtracts it again.
        outbox.queued.fetch_add(last[0].data.len(), Ordering::AcqRel);
        if !matches!(
            write(
                &mut writer,
                &mut last,
                &mut batch,
                &outbox.queued,
                &config,
                &*hooks,
                None
            )
            .await,
            Written::Ok
        ) {
            return fail(writer, &config, &*hooks).await;
        }
    }
    close(writer, cmd.disconnect, &config).await;
}

async fn fail<W: TransportWriter>(writer: W, config: &WriterConfig, hooks: &dyn WriterHooks) {
    hooks.write_failed();
    close(writer, Some(Disconnect::WRITE_ERROR), config).await;
}

/// Closing is bounded like a write: a peer that stopped reading must not keep the task alive.
async fn close<W: TransportWriter>(mut writer: W, disconnect: Option<Disconnect>, config: &WriterConfig) {
    if config.write_timeout.is_zero() {
        writer.close(disconnect).await;
    } else {
        let _ = tokio::time::timeout(config.write_timeout, writer.close(disconnect)).await;
    }
}

/// Writes `msgs` as one batch. With `control`, a close without flush abandons the write: the
/// transport is closed right after, so the partial frame is never followed by more data.
async fn write<W: TransportWriter>(
    writer: &mut W,
    msgs: &mut Vec<OutMsg>,
    batch: &mut Vec<Bytes>,
    queued: &AtomicUsize,
    config: &WriterConfig,
    hooks: &dyn WriterHooks,
    control: Option<&mut watch::Receiver<Option<WriterCmd>>>,
) -> Written {
    batch.clear();
    let mut bytes = 0;
    for m in msgs.iter() {
        bytes += m.data.len();
        batch.push(m.data.clone());
    }
    queued.fetch_sub(bytes, Ordering::AcqRel);
    let write = async {
        if config.write_timeout.is_zero() {
            writer.write_batch(batch).await.is_ok()
        } else {
            matches!(
                tokio::time::timeout(config.write_timeout, writer.write_batch(batch)).await,
                Ok(Ok(()))
            )
        }
    };
    let outcome = match control {
        None => {
            if write.await {
                Written::Ok
            } else {
                Written::Failed
            }
        }
        Some(control) => {
            tokio::select! {
                biased;
                abort = control.wait_for(|c| c.as_ref().is_some_and(|c| !c.flush)) => match abort {
                    Ok(cmd) => Written::Aborted(cmd.clone().expect("checked by wait_for")),
                    // The connection's state is gone: nothing will ever stop this writer but
                    // the write itself, so treat it as a failure.
                    Err(_) => Written::Failed,
                },
                ok = write => if ok { Written::Ok } else { Written::Failed },
            }
        }
    };
    if matches!(outcome, Written::Ok) {
        for m in msgs.iter() {
            hooks.sent(m.kind, m.data.len());
        }
    }
    msgs.clear();
    batch.clear();
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_accounts_bytes_and_reports_overflow() {
        let (outbox, _rx) = Outbox::new(10);
        let msg = |n: usize| OutMsg {
            data: Bytes::from(vec![b'x'; n]),
            kind: "test",
        };
        assert_eq!(outbox.push(msg(6)), Ok(()));
        assert_eq!(outbox.queued_bytes(), 6);
        assert_eq!(outbox.push(msg(4)), Ok(()));
        assert_eq!(outbox.push(msg(1)), Err(PushError::Overflow));
        assert_eq!(outbox.queued_bytes(), 11);
        outbox.close();
        assert_eq!(outbox.push(msg(1)), Err(PushError::Closed));
    }

    #[test]
    fn writer_control_first_command_wins() {
        let (ctl, rx) = WriterControl::new();
        ctl.stop(WriterCmd {
            disconnect: Some(Disconnect::SLOW),
            flush: false,
            final_message: None,
        });
        ctl.stop(WriterCmd {
            disconnect: Some(Disconnect::SHUTDOWN),
            flush: true,
            final_message: None,
        });
        let cmd = rx.borrow().clone().unwrap();
        assert_eq!(cmd.disconnect, Some(Disconnect::SLOW));
        assert!(!cmd.flush);
    }
}
