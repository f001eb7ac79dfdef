//! The session task of one connection: reads frames, processes commands strictly in order, runs
//! the connection's timers and the operations other tasks ask for, and tears everything down when
//! the connection ends.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::timers::Timers;
use super::{ClientShared, SessionOp};
use crate::clock;
use crate::disconnect::Disconnect;
use crate::node::inner::NodeInner;
use crate::outbox::{run_writer, WriterConfig, WriterHooks};
use crate::transport::{ReadError, TransportInfo, TransportReader, TransportWriter};
use gyre_protocol::codec;

/// Reports the writer's events to the connection and the observer.
struct Hooks {
    node: Arc<NodeInner>,
    client: Arc<ClientShared>,
}

impl WriterHooks for Hooks {
    fn sent(&self, kind: &'static str, size: usize) {
        self.node
            .observer()
            .transport_message_sent(self.client.transport.name, kind, size);
    }

    fn write_failed(&self) {
        self.client.request_close(Disconnect::WRITE_ERROR);
    }
}

/// Runs one connection to its end.
pub(crate) async fn serve<R: TransportReader, W: TransportWriter>(
    node: Arc<NodeInner>,
    transport: TransportInfo,
    mut reader: R,
    writer: W,
) {
    let _tracked = node.tasks.token();
    let write_timeout = transport.write_timeout;
    let (client, parts) = ClientShared::new(transport, node.config.client_queue_max_size);
    let hooks = Arc::new(Hooks {
        node: node.clone(),
        client: client.clone(),
    });
    let config = WriterConfig {
        max_batch: node.config.max_messages_in_frame,
        write_timeout,
    };
    let writer_task = node
        .tasks
        .spawn(run_writer(writer, parts.outbox, parts.writer, config, hooks));
    if node.is_shutting_down() {
        client.request_close(Disconnect::SHUTDOWN);
    }
    let mut session = Session::new(node, client.clone(), parts.ops);
    let disconnect = session.run(&mut reader).await;
    session.finish(disconnect).await;
    let _ = writer_task.await;
    client.finished.cancel();
}

/// What the session knows that nobody else needs to: owned by the session task alone.
pub(crate) struct Session {
    pub(super) node: Arc<NodeInner>,
    pub(super) client: Arc<ClientShared>,
    ops: mpsc::UnboundedReceiver<SessionOp>,
    /// `connect` succeeded (the client is in the hub).
    pub(super) authenticated: bool,
    /// `connect` failed: no further command is processed.
    pub(super) unusable: bool,
    pub(super) client_side_refresh: bool,
    pub(super) client_name: String,
    pub(super) client_version: String,
    pub(super) ping_interval: Option<Duration>,
    pub(super) pong_timeout: Option<Duration>,
    /// A ping was sent and no pong came back yet.
    pub(super) awaiting_pong: bool,
    pub(super) timers: Timers,
    next_gen: u64,
}

impl Session {
    fn new(
        node: Arc<NodeInner>,
        client: Arc<ClientShared>,
        ops: mpsc::UnboundedReceiver<SessionOp>,
    ) -> Session {
        let mut timers = Timers::default();
        let stale = node.config.stale_close_delay;
        if !stale.is_zero() {
            timers.stale = Some(Instant::now() + stale);
        }
        Session {
            node,
            client,
            ops,
            authenticated: false,
            unusable: false,
            client_side_refresh: false,
            client_name: String::new(),
            client_version: String::new(),
            ping_interval: None,
            pong_timeout: None,
            awaiting_pong: false,
            timers,
            next_gen: 0,
        }
    }

    /// A new subscription generation.
    pub(super) fn next_gen(&mut self) -> u64 {
        self.next_gen += 1;
        self.next_gen
    }

    pub(super) fn close(&self, disconnect: Disconnect) {
        self.client.request_close(disconnect);
    }

    /// The main loop; returns why the connection ends.
    async fn run<R: TransportReader>(&mut self, reader: &mut R) -> Disconnect {
        let sleep = tokio::time::sleep_until(clock::far_future());
        tokio::pin!(sleep);
        let mut armed = None;
        loop {
            if let Some(d) = self.client.close_requested() {
                return d;
            }
            let next = self.timers.next();
            let deadline = next.map(|(at, _)| at);
            if deadline != armed {
                sleep.as_mut().reset(deadline.unwrap_or_else(clock::far_future));
                armed = deadline;
            }
            tokio::select! {
                biased;
                _ = self.client.close_signal() => {}
                _ = self.node.shutdown.cancelled() => self.close(Disconnect::SHUTDOWN),
                Some(op) = self.ops.recv() => self.handle_op(op).await,
                _ = &mut sleep, if next.is_some() => {
                    armed = None;
                    if let Some((_, kind)) = next {
                        self.fire_timer(kind).await;
                    }
                }
                frame = reader.read() => match frame {
                    None => self.close(Disconnect::CONNECTION_CLOSED),
                    Some(Err(ReadError::MessageTooBig)) => self.close(Disconnect::MESSAGE_TOO_BIG),
                    Some(Err(ReadError::Transport(e))) => {
                        tracing::debug!(client = %self.client.id, error = %e, "transport read error");
                        self.close(Disconnect::CONNECTION_CLOSED);
                    }
                    // After a failed connect frames are read only to notice the peer closing.
                    Some(Ok(_)) if self.unusable => {}
                    Some(Ok(frame)) => self.handle_frame(frame).await,
                },
            }
        }
    }

    /// Decodes a frame and processes its commands in order, one at a time: decoding them all first
    /// would let a 64 KiB frame of tiny commands expand into tens of megabytes of structs. As in
    /// Go, commands before an undecodable one are processed, then the client gets 3501.
    async fn handle_frame(&mut self, frame: Bytes) {
        let (protocol, max_size) = (
            self.client.transport.protocol,
            self.client.transport.max_message_size,
        );
        let mut commands = codec::iter_commands_shared(protocol, &frame, max_size);
        loop {
            let before = commands.consumed();
            let command = match commands.next() {
                None => return,
                Some(Ok(command)) => command,
                Some(Err(e)) => {
                    tracing::debug!(client = %self.client.id, error = %e, "undecodable frame");
                    return self.close(Disconnect::BAD_REQUEST);
                }
            };
            if self.client.close_requested().is_some() || self.unusable {
                return;
            }
            let size = commands.consumed() - before;
            if !self.dispatch(command, size).await {
                return;
            }
        }
    }

    async fn handle_op(&mut self, op: SessionOp) {
        if self.unusable {
            // A connection whose connect failed is only waiting to close; dropping the op's
            // completion sender tells the caller so.
            return;
        }
        match op {
            SessionOp::Subscribe {
                channel,
                options,
                done,
            } => {
                let result = self.server_subscribe(channel, options).await;
                let _ = done.send(result);
            }
            SessionOp::Unsubscribe {
                channel,
                unsubscribe,
                done,
            } => {
                self.server_unsubscribe(&channel, unsubscribe).await;
                let _ = done.send(());
            }
            SessionOp::Refresh {
                expired,
                expire_at,
                info,
                done,
            } => {
                self.server_refresh(expired, expire_at, info);
                let _ = done.send(());
            }
            SessionOp::InsufficientState { channel, gen } => {
                self.unsubscribe_with_push(&channel, Some(gen), crate::Unsubscribe::INSUFFICIENT_STATE)
                    .await;
            }
        }
    }
}
