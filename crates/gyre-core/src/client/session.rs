//! The session task of one connection: reads frames, processes commands strictly in order, runs
//! the connection's timers and the operations other tasks ask for, and tears everything down when
//! the connection ends.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::timers::Timers;
use super::{ClientShared, SessionOp};
use crate::clock;
use crate::disconnect::Disconnect;
use crate::node::inner::NodeInner;
use crate::outbox::{run_writer, Outbox, WriterConfig, WriterHooks};
use crate::transport::{ReadError, TransportInfo, TransportReader, TransportWriter};
use gyre_protocol::codec;

/// Reports the writer's events to the connection and the observer.
struct Hooks {
    /// Taken once per connection: the node's observer sits behind a lock, and every message
    /// sent is reported. (An observer is installed before serving, not swapped per message.)
    observer: Arc<dyn crate::observer::Observer>,
    client: Arc<ClientShared>,
}

impl WriterHooks for Hooks {
    fn outbox(&self) -> &Outbox {
        &self.client.outbox
    }

    fn sent(&self, kind: &'static str, count: usize, bytes: usize) {
        self.observer
            .transport_messages_sent(self.client.transport.name, kind, count, bytes);
    }

    fn write_failed(&self) {
        self.client.request_close(Disconnect::WRITE_ERROR);
    }
}

/// Sets up one connection and returns the future that runs it to its end.
///
/// Setup happens here, outside the future, so that the future captures each piece once: an
/// `async fn` keeps its arguments in the future even after moving them on, and every live
/// connection pays for that space.
pub(crate) fn serve<R: TransportReader, W: TransportWriter>(
    node: Arc<NodeInner>,
    transport: TransportInfo,
    mut reader: R,
    writer: W,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let tracked = node.tasks.token();
    let write_timeout = transport.write_timeout;
    let client = ClientShared::new(transport, node.config.client_queue_max_size);
    let hooks = Arc::new(Hooks {
        observer: node.observer(),
        client: client.clone(),
    });
    let config = WriterConfig {
        max_batch: node.config.max_messages_in_frame,
        write_timeout,
    };
    // The writer runs in the session's task (joined, not spawned): one task per connection
    // instead of two saves a task allocation for every idle connection, and the writer still
    // never waits for a command to finish, nor a command for a write.
    let writer = run_writer(writer, config, hooks);
    if node.is_shutting_down() {
        client.request_close(Disconnect::SHUTDOWN);
    }
    let mut session = Session::new(node, client);
    let client = session.client.clone();
    let session = async move {
        let disconnect = session.run(&mut reader).await;
        // Teardown runs once per connection and its future is large: boxing it keeps every idle
        // connection's task small.
        Box::pin(session.finish(disconnect)).await;
        session.client.close_ops();
    };
    super::join::Join::new(session, writer, move || {
        drop(tracked);
        client.mark_finished();
    })
}

/// What the session knows that nobody else needs to: owned by the session task alone.
pub(crate) struct Session {
    pub(super) node: Arc<NodeInner>,
    pub(super) client: Arc<ClientShared>,
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
    fn new(node: Arc<NodeInner>, client: Arc<ClientShared>) -> Session {
        let mut timers = Timers::default();
        let stale = node.config.stale_close_delay;
        if !stale.is_zero() {
            timers.stale = Some(Instant::now() + stale);
        }
        Session {
            node,
            client,
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
    ///
    /// Only waiting happens inline here. Everything that does work (commands, ops, timers) runs
    /// in a boxed future: inlined, their state machines would make every idle connection's task
    /// as large as the largest command handler.
    async fn run<R: TransportReader>(&mut self, reader: &mut R) -> Disconnect {
        let sleep = tokio::time::sleep_until(clock::far_future());
        tokio::pin!(sleep);
        let mut armed = None;
        loop {
            if let Some(d) = self.client.close_requested() {
                return d;
            }
            if let Some(op) = self.client.next_op() {
                Box::pin(self.handle_op(op)).await;
                continue;
            }
            let next = self.timers.next();
            let deadline = next.map(|(at, _)| at);
            if deadline != armed {
                sleep.as_mut().reset(deadline.unwrap_or_else(clock::far_future));
                armed = deadline;
            }
            tokio::select! {
                biased;
                _ = self.client.wake.notified() => {}
                _ = self.node.shutdown.cancelled() => self.close(Disconnect::SHUTDOWN),
                _ = &mut sleep, if next.is_some() => {
                    armed = None;
                    if let Some((_, kind)) = next {
                        Box::pin(self.fire_timer(kind)).await;
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
                    Some(Ok(frame)) => Box::pin(self.handle_frame(frame)).await,
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
                tag: None,
                unsubscribe,
                done,
            } => {
                self.server_unsubscribe(&channel, unsubscribe).await;
                let _ = done.send(());
            }
            SessionOp::Unsubscribe {
                channel,
                tag: Some(tag),
                unsubscribe,
                done,
            } => {
                let gen = {
                    let state = self.client.state.lock();
                    state
                        .channels
                        .get(&channel)
                        .filter(|c| c.tag == tag)
                        .map(|c| c.gen)
                };
                if let Some(gen) = gen {
                    self.unsubscribe_with_push(&channel, Some(gen), unsubscribe).await;
                }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestHandler;
    use crate::{Node, NodeConfig};

    struct NoReader;
    #[async_trait::async_trait]
    impl TransportReader for NoReader {
        async fn read(&mut self) -> Option<Result<Bytes, ReadError>> {
            None
        }
    }
    struct NoWriter;
    #[async_trait::async_trait]
    impl TransportWriter for NoWriter {
        async fn write_batch(&mut self, _: &[Bytes]) -> Result<(), std::io::Error> {
            Ok(())
        }
        async fn close(&mut self, _: Option<Disconnect>) {}
    }

    /// Every live connection keeps these futures in its tasks, so their size is memory per
    /// connection. Command handling is boxed (allocated only while a command runs); if someone
    /// inlines a handler again, this fails instead of the idle-memory benchmark quietly growing.
    #[tokio::test]
    async fn idle_connection_futures_stay_small() {
        let node = Node::new(NodeConfig::default(), Arc::new(TestHandler::default()));
        let info = crate::testing::transport_info(gyre_protocol::ProtocolType::Json);
        let session = serve(node.inner.clone(), info, NoReader, NoWriter);
        let session_size = std::mem::size_of_val(&session);
        let client = ClientShared::new(
            crate::testing::transport_info(gyre_protocol::ProtocolType::Json),
            0,
        );
        let hooks = Arc::new(Hooks {
            observer: node.inner.observer(),
            client,
        });
        let writer = run_writer(
            NoWriter,
            WriterConfig {
                max_batch: 16,
                write_timeout: Duration::from_secs(1),
            },
            hooks,
        );
        let writer_size = std::mem::size_of_val(&writer);
        eprintln!("connection future (session + writer) {session_size} B, writer part {writer_size} B");
        assert!(session_size <= 1152, "connection future is {session_size} bytes");
        assert!(writer_size <= 400, "writer future is {writer_size} bytes");
    }
}
