//! Command dispatch: the protocol's rules for ids, pongs and commands before connect, then one
//! handler per method; errors become an error reply or a disconnect here, at the edge.

use tokio::time::Instant;

use super::session::Session;
use crate::disconnect::Disconnect;
use crate::error::Error;
use crate::handler::HandlerError;
use gyre_protocol::json::{self, DataMode};
use gyre_protocol::{codec, Command, EncodeError, ProtocolType, Reply};

/// The method a command carries, in the order the reference recognises them. `ping` is not in the
/// list: the reference accepts no ping command, and a command with nothing else is a bad request.
fn method_of(cmd: &Command) -> Option<&'static str> {
    Some(if cmd.connect.is_some() {
        "connect"
    } else if cmd.subscribe.is_some() {
        "subscribe"
    } else if cmd.unsubscribe.is_some() {
        "unsubscribe"
    } else if cmd.publish.is_some() {
        "publish"
    } else if cmd.presence.is_some() {
        "presence"
    } else if cmd.presence_stats.is_some() {
        "presence_stats"
    } else if cmd.history.is_some() {
        "history"
    } else if cmd.rpc.is_some() {
        "rpc"
    } else if cmd.send.is_some() {
        "send"
    } else if cmd.refresh.is_some() {
        "refresh"
    } else if cmd.sub_refresh.is_some() {
        "sub_refresh"
    } else {
        return None;
    })
}

/// Unidirectional clients cannot read an error reply, so a failed connect becomes a disconnect:
/// the configured one for the code if any, else the built-in mapping.
fn unidirectional_connect_disconnect(e: &Error, configured: &[(u32, Disconnect)]) -> Disconnect {
    if let Some((_, d)) = configured.iter().find(|(code, _)| *code == e.code) {
        return d.clone();
    }
    match e.code {
        c if c == Error::EXPIRED.code || c == Error::TOKEN_EXPIRED.code => Disconnect::EXPIRED,
        c if c == Error::TOO_MANY_REQUESTS.code => Disconnect::TOO_MANY_REQUESTS,
        c if c == Error::PERMISSION_DENIED.code => Disconnect::PERMISSION_DENIED,
        _ => Disconnect::SERVER_ERROR,
    }
}

/// How long to wait for the peer to close after a failed connect before closing ourselves.
const CONNECT_ERROR_CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl Session {
    /// Processes one command. Returns false when no further command may be processed.
    pub(super) async fn dispatch(&mut self, mut cmd: Command, size: usize) -> bool {
        let transport_name = self.client.transport.name;
        let observer = self.node.observer();
        let is_connect = cmd.connect.is_some();
        if !self.authenticated && !is_connect {
            tracing::debug!(client = %self.client.id, "command before connect");
            self.close(Disconnect::BAD_REQUEST);
            return false;
        }
        // An empty command (no id) is the pong; `send` is the only other command without an id.
        if cmd.id == 0 && cmd.send.is_none() {
            observer.transport_message_received(transport_name, "pong", size);
            if !self.awaiting_pong {
                tracing::debug!(client = %self.client.id, "unexpected pong");
                self.close(Disconnect::BAD_REQUEST);
                return false;
            }
            self.awaiting_pong = false;
            self.timers.pong = None;
            return true;
        }
        let Some(method) = method_of(&cmd) else {
            self.close(Disconnect::BAD_REQUEST);
            return false;
        };
        observer.transport_message_received(transport_name, method, size);
        let started = Instant::now();
        let id = cmd.id;
        let result = if cmd.ping.is_some() && !is_connect {
            // The reference runs its (refusing) ping handler before any other method.
            Err(HandlerError::Error(Error::NOT_AVAILABLE))
        } else if let Some(req) = cmd.connect.take() {
            self.handle_connect(id, req).await
        } else if let Some(req) = cmd.subscribe.take() {
            self.handle_subscribe(id, req).await
        } else if let Some(req) = cmd.unsubscribe.take() {
            self.handle_unsubscribe(id, req).await
        } else if let Some(req) = cmd.publish.take() {
            self.handle_publish(id, req).await
        } else if let Some(req) = cmd.presence.take() {
            self.handle_presence(id, req).await
        } else if let Some(req) = cmd.presence_stats.take() {
            self.handle_presence_stats(id, req).await
        } else if let Some(req) = cmd.history.take() {
            self.handle_history(id, req).await
        } else if let Some(req) = cmd.rpc.take() {
            self.handle_rpc(id, req).await
        } else if cmd.send.is_some() {
            // No asynchronous message handler exists (as in Centrifugo OSS): tell the client by
            // disconnecting, since `send` has no reply to carry an error.
            Err(HandlerError::Disconnect(Disconnect::NOT_AVAILABLE))
        } else if let Some(req) = cmd.refresh.take() {
            self.handle_refresh(id, req).await
        } else if let Some(req) = cmd.sub_refresh.take() {
            self.handle_sub_refresh(id, req).await
        } else {
            Err(HandlerError::Disconnect(Disconnect::BAD_REQUEST))
        };
        let proceed = match result {
            Ok(()) => true,
            Err(HandlerError::Disconnect(d)) => {
                self.close(d);
                false
            }
            Err(HandlerError::Error(e)) if is_connect && self.client.transport.unidirectional => {
                observer.reply_error(method, e.code);
                let disconnect = if self.client.transport.raw_connect_errors {
                    Disconnect::custom(e.code, e.message.clone())
                } else {
                    unidirectional_connect_disconnect(&e, &self.node.config.unidirectional_code_to_disconnect)
                };
                self.close(disconnect);
                false
            }
            Err(HandlerError::Error(e)) => {
                observer.reply_error(method, e.code);
                self.write_reply(
                    id,
                    Reply {
                        error: Some(e.to_proto()),
                        ..Default::default()
                    },
                    method,
                );
                if is_connect {
                    // The client reads the error and closes; we stop processing its commands and
                    // give it a moment to do so.
                    self.unusable = true;
                    self.timers.close_wait = Some(Instant::now() + CONNECT_ERROR_CLOSE_WAIT);
                    false
                } else {
                    true
                }
            }
        };
        observer.command_processed(method, started.elapsed());
        proceed
    }

    /// Encodes and queues a reply to command `id`. A payload a JSON client cannot read closes the
    /// connection with 3506.
    pub(super) fn write_reply(&self, id: u32, reply: Reply, kind: &'static str) {
        self.write_reply_with(id, reply, kind, DataMode::Raw);
    }

    /// Like [`Session::write_reply`], with publication data written as `mode` says on the JSON
    /// protocol (protobuf carries raw bytes either way).
    pub(super) fn write_reply_with(&self, id: u32, mut reply: Reply, kind: &'static str, mode: DataMode) {
        reply.id = id;
        let encoded = match self.client.transport.protocol {
            ProtocolType::Json => json::encode_reply_with(&reply, mode),
            protocol => codec::encode_reply(protocol, &reply),
        };
        match encoded {
            Ok(data) => {
                self.client.push(data, kind);
            }
            Err(EncodeError::InvalidJson) => self.close(Disconnect::INAPPROPRIATE_PROTOCOL),
        }
    }
}
