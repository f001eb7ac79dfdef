//! The server API error table (`{"code":N,"message":"..."}`) and its HTTP/gRPC status mapping.
//!
//! This table is not the client protocol's: 104 reads "not found" and 113 "conflict" here.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;

/// An error carried in an API response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiError {
    #[serde(skip_serializing_if = "is_zero")]
    pub code: u32,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub message: Cow<'static, str>,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

macro_rules! define_api_errors {
    ($( $(#[$doc:meta])* $name:ident = ($code:expr, $msg:expr) ),* $(,)?) => {
        impl ApiError {
            $(
                $(#[$doc])*
                pub const $name: ApiError = ApiError { code: $code, message: Cow::Borrowed($msg) };
            )*
            /// Every error of the table, in code order.
            pub const ALL: &'static [ApiError] = &[$(ApiError::$name),*];
        }
    };
}

define_api_errors! {
    /// Something failed inside the server (broker, presence manager, …).
    INTERNAL = (100, "internal server error"),
    /// The channel's namespace is not configured.
    UNKNOWN_CHANNEL = (102, "unknown channel"),
    /// Unknown method (batch, legacy, rpc).
    NOT_FOUND = (104, "not found"),
    /// The request is malformed or fails validation.
    BAD_REQUEST = (107, "bad request"),
    /// The feature is off for the channel (presence, history).
    NOT_AVAILABLE = (108, "not available"),
    /// The stream no longer holds the requested position (or the epoch differs).
    UNRECOVERABLE_POSITION = (112, "unrecoverable position"),
    CONFLICT = (113, "conflict"),
}

/// gRPC status codes the API maps to (values of `google.rpc.Code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum GrpcCode {
    InvalidArgument = 3,
    NotFound = 5,
    AlreadyExists = 6,
    OutOfRange = 11,
    Internal = 13,
}

impl ApiError {
    /// Status used in transport error mode. Codes outside the table are server errors.
    pub fn http_status(&self) -> u16 {
        match self.code {
            102 | 104 => 404,
            107 | 108 => 400,
            112 => 416,
            113 => 409,
            _ => 500,
        }
    }

    /// gRPC status used in transport error mode.
    pub fn grpc_code(&self) -> GrpcCode {
        match self.code {
            102 | 104 => GrpcCode::NotFound,
            107 | 108 => GrpcCode::InvalidArgument,
            112 => GrpcCode::OutOfRange,
            113 => GrpcCode::AlreadyExists,
            _ => GrpcCode::Internal,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_centrifugo() {
        let got: Vec<(u32, &str, u16, GrpcCode)> = ApiError::ALL
            .iter()
            .map(|e| (e.code, e.message.as_ref(), e.http_status(), e.grpc_code()))
            .collect();
        assert_eq!(
            got,
            vec![
                (100, "internal server error", 500, GrpcCode::Internal),
                (102, "unknown channel", 404, GrpcCode::NotFound),
                (104, "not found", 404, GrpcCode::NotFound),
                (107, "bad request", 400, GrpcCode::InvalidArgument),
                (108, "not available", 400, GrpcCode::InvalidArgument),
                (112, "unrecoverable position", 416, GrpcCode::OutOfRange),
                (113, "conflict", 409, GrpcCode::AlreadyExists),
            ]
        );
        let custom = ApiError {
            code: 1000,
            message: "custom".into(),
        };
        assert_eq!(custom.http_status(), 500);
        assert_eq!(custom.grpc_code(), GrpcCode::Internal);
    }

    #[test]
    fn encodes_like_go() {
        let s = serde_json::to_string(&ApiError::BAD_REQUEST).unwrap();
        assert_eq!(s, r#"{"code":107,"message":"bad request"}"#);
        let empty = ApiError {
            code: 0,
            message: "".into(),
        };
        assert_eq!(serde_json::to_string(&empty).unwrap(), "{}");
    }
}
