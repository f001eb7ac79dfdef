//! Disconnect codes (3000+) and unsubscribe codes (2000+): closed tables.
//!
//! Reconnect advice follows the SDK rule: 3000–3499 and 4000–4499 reconnect, 3500–3999 and
//! 4500–4999 do not. On bidirectional WebSocket a disconnect is the close frame (code + reason).

use std::borrow::Cow;
use std::fmt;

/// Why the server closes a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disconnect {
    pub code: u32,
    pub reason: Cow<'static, str>,
}

macro_rules! define_disconnects {
    ($( $(#[$doc:meta])* $name:ident = ($code:expr, $reason:expr) ),* $(,)?) => {
        impl Disconnect {
            $(
                $(#[$doc])*
                pub const $name: Disconnect = Disconnect { code: $code, reason: Cow::Borrowed($reason) };
            )*
            /// Every disconnect of the table, in code order.
            pub const ALL: &'static [Disconnect] = &[$(Disconnect::$name),*];
        }
    };
}

define_disconnects! {
    /// Internal marker for "closed without advice": never written to the wire.
    CONNECTION_CLOSED = (3000, "connection closed"),
    SHUTDOWN = (3001, "shutdown"),
    SERVER_ERROR = (3004, "internal server error"),
    EXPIRED = (3005, "connection expired"),
    SUBSCRIPTION_EXPIRED = (3006, "subscription expired"),
    SLOW = (3008, "slow"),
    WRITE_ERROR = (3009, "write error"),
    INSUFFICIENT_STATE = (3010, "insufficient state"),
    FORCE_RECONNECT = (3011, "force reconnect"),
    NO_PONG = (3012, "no pong"),
    TOO_MANY_REQUESTS = (3013, "too many requests"),
    STATE_INVALIDATED = (3014, "state invalidated"),
    INVALID_TOKEN = (3500, "invalid token"),
    BAD_REQUEST = (3501, "bad request"),
    STALE = (3502, "stale"),
    FORCE_DISCONNECT = (3503, "force disconnect"),
    CONNECTION_LIMIT = (3504, "connection limit"),
    CHANNEL_LIMIT = (3505, "channel limit"),
    INAPPROPRIATE_PROTOCOL = (3506, "inappropriate protocol"),
    PERMISSION_DENIED = (3507, "permission denied"),
    NOT_AVAILABLE = (3508, "not available"),
    TOO_MANY_ERRORS = (3509, "too many errors"),
}

impl Disconnect {
    /// WebSocket close 1009: an inbound message exceeded the size limit. Not part of Centrifugo's
    /// disconnect table (it is a transport-level code) but closes a session the same way.
    pub const MESSAGE_TOO_BIG: Disconnect = Disconnect {
        code: 1009,
        reason: Cow::Borrowed("message too big"),
    };

    /// An application-defined disconnect (proxies and the server API use 4000–4999).
    pub fn custom(code: u32, reason: impl Into<Cow<'static, str>>) -> Disconnect {
        Disconnect {
            code,
            reason: reason.into(),
        }
    }

    /// Whether SDKs reconnect after this disconnect.
    pub fn reconnect(&self) -> bool {
        !matches!(self.code, 3500..=3999 | 4500..=4999)
    }

    /// The `disconnect` push used on transports without close frames.
    pub fn to_proto(&self) -> gyre_protocol::Disconnect {
        gyre_protocol::Disconnect {
            code: self.code,
            reason: self.reason.to_string(),
            reconnect: false,
        }
    }
}

impl fmt::Display for Disconnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.reason)
    }
}

/// Why the server ends one subscription (Unsubscribe push).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    pub code: u32,
    pub reason: Cow<'static, str>,
}

impl Unsubscribe {
    /// Internal: the client asked (never sent).
    pub const CLIENT: Unsubscribe = Unsubscribe {
        code: 0,
        reason: Cow::Borrowed("client unsubscribed"),
    };
    /// Internal: the connection closed (never sent).
    pub const DISCONNECT: Unsubscribe = Unsubscribe {
        code: 1,
        reason: Cow::Borrowed("client disconnected"),
    };
    pub const SERVER: Unsubscribe = Unsubscribe {
        code: 2000,
        reason: Cow::Borrowed("server unsubscribe"),
    };
    pub const INSUFFICIENT_STATE: Unsubscribe = Unsubscribe {
        code: 2500,
        reason: Cow::Borrowed("insufficient state"),
    };
    pub const EXPIRED: Unsubscribe = Unsubscribe {
        code: 2501,
        reason: Cow::Borrowed("subscription expired"),
    };
    pub const STATE_INVALIDATED: Unsubscribe = Unsubscribe {
        code: 2502,
        reason: Cow::Borrowed("state invalidated"),
    };

    /// Whether SDKs resubscribe after this unsubscribe (codes >= 2500).
    pub fn resubscribe(&self) -> bool {
        self.code >= 2500
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_centrifuge() {
        let expected: &[(u32, &str)] = &[
            (3000, "connection closed"),
            (3001, "shutdown"),
            (3004, "internal server error"),
            (3005, "connection expired"),
            (3006, "subscription expired"),
            (3008, "slow"),
            (3009, "write error"),
            (3010, "insufficient state"),
            (3011, "force reconnect"),
            (3012, "no pong"),
            (3013, "too many requests"),
            (3014, "state invalidated"),
            (3500, "invalid token"),
            (3501, "bad request"),
            (3502, "stale"),
            (3503, "force disconnect"),
            (3504, "connection limit"),
            (3505, "channel limit"),
            (3506, "inappropriate protocol"),
            (3507, "permission denied"),
            (3508, "not available"),
            (3509, "too many errors"),
        ];
        let got: Vec<(u32, &str)> = Disconnect::ALL
            .iter()
            .map(|d| (d.code, d.reason.as_ref()))
            .collect();
        assert_eq!(got, expected);
        // A close frame carries at most 123 bytes of reason.
        assert!(Disconnect::ALL.iter().all(|d| d.reason.len() <= 123));
    }

    #[test]
    fn reconnect_advice() {
        assert!(Disconnect::SHUTDOWN.reconnect());
        assert!(Disconnect::SLOW.reconnect());
        assert!(!Disconnect::INVALID_TOKEN.reconnect());
        assert!(!Disconnect::FORCE_DISCONNECT.reconnect());
        assert!(Disconnect::custom(4000, "x").reconnect());
        assert!(!Disconnect::custom(4500, "x").reconnect());
    }
}
