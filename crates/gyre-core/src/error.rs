//! Client protocol error codes (100–113): a closed table. Applications (proxies) may return custom
//! codes in 400–1999 through [`Error::custom`].

use std::borrow::Cow;
use std::fmt;

/// An error sent to a client in `Reply.error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: u32,
    pub message: Cow<'static, str>,
    pub temporary: bool,
}

macro_rules! define_errors {
    ($( $(#[$doc:meta])* $name:ident = ($code:expr, $msg:expr $(, $temp:ident)?) ),* $(,)?) => {
        impl Error {
            $(
                $(#[$doc])*
                pub const $name: Error = Error {
                    code: $code,
                    message: Cow::Borrowed($msg),
                    temporary: define_errors!(@temp $($temp)?),
                };
            )*
            /// Every error of the table, in code order.
            pub const ALL: &'static [Error] = &[$(Error::$name),*];
        }
    };
    (@temp temporary) => { true };
    (@temp) => { false };
}

define_errors! {
    /// Broker, presence or proxy failure.
    INTERNAL = (100, "internal server error", temporary),
    /// Defined by the protocol, never emitted by Centrifugo OSS.
    UNAUTHORIZED = (101, "unauthorized"),
    UNKNOWN_CHANNEL = (102, "unknown channel"),
    PERMISSION_DENIED = (103, "permission denied"),
    METHOD_NOT_FOUND = (104, "method not found"),
    ALREADY_SUBSCRIBED = (105, "already subscribed"),
    LIMIT_EXCEEDED = (106, "limit exceeded"),
    BAD_REQUEST = (107, "bad request"),
    NOT_AVAILABLE = (108, "not available"),
    TOKEN_EXPIRED = (109, "token expired"),
    EXPIRED = (110, "expired"),
    TOO_MANY_REQUESTS = (111, "too many requests", temporary),
    UNRECOVERABLE_POSITION = (112, "unrecoverable position"),
    CONCURRENT_PAGINATION = (113, "concurrent pagination", temporary),
}

impl Error {
    /// An application-defined error (proxies use 400–1999).
    pub fn custom(code: u32, message: impl Into<Cow<'static, str>>, temporary: bool) -> Error {
        Error {
            code,
            message: message.into(),
            temporary,
        }
    }

    /// The wire form.
    pub fn to_proto(&self) -> gyre_protocol::Error {
        gyre_protocol::Error {
            code: self.code,
            message: self.message.to_string(),
            temporary: self.temporary,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_centrifuge() {
        let expected: &[(u32, &str, bool)] = &[
            (100, "internal server error", true),
            (101, "unauthorized", false),
            (102, "unknown channel", false),
            (103, "permission denied", false),
            (104, "method not found", false),
            (105, "already subscribed", false),
            (106, "limit exceeded", false),
            (107, "bad request", false),
            (108, "not available", false),
            (109, "token expired", false),
            (110, "expired", false),
            (111, "too many requests", true),
            (112, "unrecoverable position", false),
            (113, "concurrent pagination", true),
        ];
        let got: Vec<(u32, &str, bool)> = Error::ALL
            .iter()
            .map(|e| (e.code, e.message.as_ref(), e.temporary))
            .collect();
        assert_eq!(got, expected);
    }
}
