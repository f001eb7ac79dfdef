//! The legacy single-endpoint format (`POST {prefix}`, and the admin UI's `/admin/api`): a
//! stream of `{"id"?, "method", "params"}` objects answered by newline-joined
//! `{"id"?, "error"?, "result"?}` objects. Errors always travel in the body.

use std::fmt;

use bytes::Bytes;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::methods::{Command, CommandResult, LEGACY_METHODS};
use crate::raw::{nullable, raw};
use crate::requests::InfoRequest;
use crate::Executor;

const INFO: i64 = 9;

/// A method given by upper- or lower-case name or by number. Unknown names do not decode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct LegacyMethod(i64);

impl<'de> Deserialize<'de> for LegacyMethod {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = LegacyMethod;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a method name or number")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<LegacyMethod, E> {
                let upper = s.to_ascii_uppercase();
                LEGACY_METHODS
                    .iter()
                    .find(|(name, _)| *name == upper)
                    .map(|(_, n)| LegacyMethod(*n))
                    .ok_or_else(|| E::custom(format!("unknown method {s:?}")))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<LegacyMethod, E> {
                Ok(LegacyMethod(n))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<LegacyMethod, E> {
                Ok(LegacyMethod(i64::try_from(n).unwrap_or(i64::MAX)))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Default, Deserialize)]
struct LegacyCommand {
    #[serde(default, deserialize_with = "nullable")]
    id: u32,
    /// Absent means 0, i.e. `publish` (Go's zero value).
    #[serde(default)]
    method: LegacyMethod,
    /// Raw; absent params fail to decode (107) except for `info`, which ignores them.
    #[serde(default, deserialize_with = "raw")]
    params: Bytes,
}

#[derive(Serialize)]
struct LegacyReply<'a> {
    #[serde(skip_serializing_if = "is_zero")]
    id: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a ApiError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a CommandResult>,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// Why a legacy request as a whole failed (HTTP: 400 for the first two, 500 for the last).
#[derive(Debug, thiserror::Error)]
pub enum LegacyError {
    #[error("no data in API request")]
    Empty,
    #[error("malformed API request: {0}")]
    Malformed(serde_json::Error),
    #[error("error encoding API reply: {0}")]
    Encode(serde_json::Error),
}

/// Runs every command of a legacy request body in order and returns the reply lines.
pub async fn execute_legacy(executor: &Executor, body: &[u8]) -> Result<Vec<u8>, LegacyError> {
    if body.is_empty() {
        return Err(LegacyError::Empty);
    }
    let mut out = Vec::new();
    // A top-level `null` decodes to an all-default command, as Go's decoder leaves it untouched.
    let stream = serde_json::Deserializer::from_slice(body).into_iter::<Option<LegacyCommand>>();
    for command in stream {
        // Commands before a malformed one have already run; the request still fails as a whole.
        let command = command.map_err(LegacyError::Malformed)?.unwrap_or_default();
        let result = run(executor, command.method.0, &command.params).await;
        if let Err((method, e)) = &result {
            executor.count_error(method, e);
        }
        let reply = LegacyReply {
            id: command.id,
            error: result.as_ref().err().map(|(_, e)| e),
            result: result.as_ref().ok(),
        };
        if !out.is_empty() {
            out.push(b'\n');
        }
        serde_json::to_writer(&mut out, &reply).map_err(LegacyError::Encode)?;
    }
    Ok(out)
}

/// Decodes and runs one command; the error side carries the method name for metrics.
async fn run(
    executor: &Executor,
    number: i64,
    params: &[u8],
) -> Result<CommandResult, (&'static str, ApiError)> {
    let command = if number == INFO {
        Command::Info(InfoRequest {})
    } else {
        match Command::decode_legacy(number, params) {
            None => return Err(("unknown", ApiError::NOT_FOUND)),
            Some(Err(e)) => {
                tracing::error!(error = %e, "error decoding legacy API params");
                return Err((
                    Command::legacy_name(number).unwrap_or("unknown"),
                    ApiError::BAD_REQUEST,
                ));
            }
            Some(Ok(command)) => command,
        }
    };
    let method = command.method();
    executor.execute(command).await.map_err(|e| (method, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<LegacyCommand, serde_json::Error> {
        serde_json::from_str(s)
    }

    #[test]
    fn method_forms() {
        assert_eq!(parse(r#"{"method":"publish"}"#).unwrap().method, LegacyMethod(0));
        assert_eq!(
            parse(r#"{"method":"PRESENCE_STATS"}"#).unwrap().method,
            LegacyMethod(5)
        );
        assert_eq!(
            parse(r#"{"method":"Map_Publish"}"#).unwrap().method,
            LegacyMethod(33)
        );
        assert_eq!(parse(r#"{"method":11}"#).unwrap().method, LegacyMethod(11));
        assert_eq!(parse(r#"{"method":-3}"#).unwrap().method, LegacyMethod(-3));
        assert_eq!(parse(r#"{}"#).unwrap().method, LegacyMethod(0));
        assert!(parse(r#"{"method":"nope"}"#).is_err());
        assert!(parse(r#"{"method":"5"}"#).is_err());
        assert!(parse(r#"{"method":null}"#).is_err());
        assert!(parse(r#"{"method":1.5}"#).is_err());
    }

    #[test]
    fn params_kept_raw() {
        let c = parse(r#"{"id":7,"method":"info","params":{"a" : 1}}"#).unwrap();
        assert_eq!(c.id, 7);
        assert_eq!(&c.params[..], br#"{"a" : 1}"#);
        assert!(parse(r#"{"method":"info"}"#).unwrap().params.is_empty());
    }
}
