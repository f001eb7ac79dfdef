//! A unidirectional client's one message: a bare `ConnectRequest` in JSON. The core receives it
//! as the command frame `{"id":1,"connect":<request>}`.

use bytes::{BufMut, Bytes, BytesMut};

use gyre_core::ProtocolType;
use gyre_protocol::{codec, DecodeError};

/// The query parameter that may carry the connect request (uni_sse GET, uni_websocket).
pub(crate) const CONNECT_PARAM: &str = "cf_connect";

const PREFIX: &[u8] = br#"{"id":1,"connect":"#;

/// Checks a connect request and wraps it into the command frame the core reads. `null` is an
/// empty request (as Go decodes it); anything else that is not a JSON `ConnectRequest` object is
/// refused.
pub(crate) fn connect_frame(request: &[u8]) -> Result<Bytes, DecodeError> {
    let trimmed = request.trim_ascii();
    let request: &[u8] = if trimmed == b"null" { b"{}" } else { trimmed };
    codec::decode_connect_request(ProtocolType::Json, request)?;
    let mut frame = BytesMut::with_capacity(PREFIX.len() + request.len() + 1);
    frame.put_slice(PREFIX);
    // The core splits JSON frames at newlines; outside strings (inside them JSON has no raw
    // line breaks) a line break is whitespace, so a pretty-printed request stays one command.
    frame.extend(
        request
            .iter()
            .map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b }),
    );
    frame.put_u8(b'}');
    Ok(frame.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connect_of(frame: &Bytes) -> gyre_protocol::ConnectRequest {
        let mut commands = codec::iter_commands_shared(ProtocolType::Json, frame, 1 << 20);
        let command = commands.next().unwrap().unwrap();
        assert!(commands.next().is_none(), "one command");
        assert_eq!(command.id, 1);
        command.connect.expect("a connect command")
    }

    #[test]
    fn requests_become_connect_commands() {
        let frame = connect_frame(br#"{"token":"t","data":{"a":1},"subs":{"ch":{"recover":true}}}"#).unwrap();
        let connect = connect_of(&frame);
        assert_eq!(connect.token, "t");
        assert_eq!(&connect.data[..], br#"{"a":1}"#);
        assert!(connect.subs["ch"].recover);

        let pretty = connect_frame(b"{\r\n  \"token\": \"t\",\n  \"name\": \"x\"\n}\n").unwrap();
        assert_eq!(connect_of(&pretty).name, "x");

        assert_eq!(connect_of(&connect_frame(b"null").unwrap()).token, "");
        assert_eq!(connect_of(&connect_frame(b"{}").unwrap()).token, "");
    }

    #[test]
    fn bad_requests() {
        for bad in [&b""[..], b"{", b"[]", b"1", b"\"x\"", br#"{"token":1}"#, b"{} {}"] {
            assert!(connect_frame(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
