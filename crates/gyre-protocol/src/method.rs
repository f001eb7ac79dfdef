//! Which request a command carries.

use crate::types::Command;

/// The request kind of a command (protocol.md §1.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Connect,
    Subscribe,
    Unsubscribe,
    Publish,
    Presence,
    PresenceStats,
    History,
    Ping,
    Send,
    Rpc,
    Refresh,
    SubRefresh,
}

impl Method {
    /// The protocol field name (`presence_stats`, `sub_refresh`, …), used as a metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Connect => "connect",
            Method::Subscribe => "subscribe",
            Method::Unsubscribe => "unsubscribe",
            Method::Publish => "publish",
            Method::Presence => "presence",
            Method::PresenceStats => "presence_stats",
            Method::History => "history",
            Method::Ping => "ping",
            Method::Send => "send",
            Method::Rpc => "rpc",
            Method::Refresh => "refresh",
            Method::SubRefresh => "sub_refresh",
        }
    }
}

/// The request a command carries. Nothing enforces "exactly one request field", so like the Go
/// server this takes the first one set in the order connect, ping, subscribe, unsubscribe,
/// publish, presence, presence_stats, history, rpc, send, refresh, sub_refresh. `None` means no
/// request at all (a pong when `id == 0`).
pub fn command_method(cmd: &Command) -> Option<Method> {
    let method = if cmd.connect.is_some() {
        Method::Connect
    } else if cmd.ping.is_some() {
        Method::Ping
    } else if cmd.subscribe.is_some() {
        Method::Subscribe
    } else if cmd.unsubscribe.is_some() {
        Method::Unsubscribe
    } else if cmd.publish.is_some() {
        Method::Publish
    } else if cmd.presence.is_some() {
        Method::Presence
    } else if cmd.presence_stats.is_some() {
        Method::PresenceStats
    } else if cmd.history.is_some() {
        Method::History
    } else if cmd.rpc.is_some() {
        Method::Rpc
    } else if cmd.send.is_some() {
        Method::Send
    } else if cmd.refresh.is_some() {
        Method::Refresh
    } else if cmd.sub_refresh.is_some() {
        Method::SubRefresh
    } else {
        return None;
    };
    Some(method)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::*;

    #[test]
    fn empty_command_has_no_method() {
        assert_eq!(command_method(&Command::default()), None);
        assert_eq!(
            command_method(&Command {
                id: 5,
                ..Default::default()
            }),
            None
        );
    }

    #[test]
    fn first_field_in_dispatch_order_wins() {
        let cmd = Command {
            id: 1,
            sub_refresh: Some(SubRefreshRequest::default()),
            rpc: Some(RpcRequest::default()),
            ping: Some(PingRequest::default()),
            ..Default::default()
        };
        assert_eq!(command_method(&cmd), Some(Method::Ping));
        let cmd = Command {
            send: Some(SendRequest::default()),
            rpc: Some(RpcRequest::default()),
            ..Default::default()
        };
        assert_eq!(command_method(&cmd), Some(Method::Rpc));
        let cmd = Command {
            connect: Some(ConnectRequest::default()),
            ping: Some(PingRequest::default()),
            ..Default::default()
        };
        assert_eq!(command_method(&cmd), Some(Method::Connect));
    }

    #[test]
    fn names_are_snake_case() {
        assert_eq!(Method::PresenceStats.as_str(), "presence_stats");
        assert_eq!(Method::SubRefresh.as_str(), "sub_refresh");
        assert_eq!(Method::Rpc.as_str(), "rpc");
    }
}
