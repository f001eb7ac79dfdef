//! Client payload bytes <-> the `data`/`b64data` (and `info`/`b64info`) wire pair.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::value::RawValue;

/// A payload ready to be put into a request's `data` / `b64data` fields.
#[derive(Debug, Default, Clone)]
pub struct WireData {
    pub data: Option<Box<RawValue>>,
    pub b64data: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// Without `binary_encoding` the payload is embedded as JSON, so it has to be JSON. Centrifugo's
    /// Go encoder fails the call the same way for non-JSON bytes.
    #[error("payload is not valid JSON; enable binary_encoding for binary payloads")]
    NotJson,
    #[error("invalid base64 in proxy response: {0}")]
    Base64(#[from] base64::DecodeError),
}

/// The request `encoding` field Centrifugo sends for a proxy's `binary_encoding` setting.
pub fn encoding_name(binary_encoding: bool) -> &'static str {
    if binary_encoding {
        "binary"
    } else {
        "json"
    }
}

/// Places client bytes into `data` (verbatim JSON) or `b64data` (standard base64, padded).
///
/// Empty input yields both fields empty, which the serialiser omits, as Go's `omitempty` does.
/// The JSON is validated but passed through byte-for-byte (Centrifugo additionally compacts it,
/// which changes whitespace only).
pub fn encode_data(bytes: &[u8], binary_encoding: bool) -> Result<WireData, PayloadError> {
    if bytes.is_empty() {
        return Ok(WireData::default());
    }
    if binary_encoding {
        return Ok(WireData {
            data: None,
            b64data: STANDARD.encode(bytes),
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|_| PayloadError::NotJson)?;
    let raw = RawValue::from_string(text.to_owned()).map_err(|_| PayloadError::NotJson)?;
    Ok(WireData {
        data: Some(raw),
        b64data: String::new(),
    })
}

/// Reads a `raw`/`b64` response pair the way Centrifugo's handlers do: a non-empty base64 string
/// wins (connect, refresh, subscribe, rpc, sub_refresh). The publish handler checks in the other
/// order; its result has its own accessor.
pub fn choose_bytes(raw: Option<&RawValue>, b64: &str) -> Result<Option<Vec<u8>>, PayloadError> {
    if !b64.is_empty() {
        return Ok(Some(STANDARD.decode(b64)?));
    }
    Ok(raw.map(|r| r.get().as_bytes().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_payload_kept_verbatim() {
        let w = encode_data(br#"{"a": [1, 2]}"#, false).unwrap();
        assert_eq!(w.data.unwrap().get(), r#"{"a": [1, 2]}"#);
        assert!(w.b64data.is_empty());
    }

    #[test]
    fn binary_payload_base64() {
        let w = encode_data(&[0xff, 0x00, 0x01], true).unwrap();
        assert!(w.data.is_none());
        assert_eq!(w.b64data, "/wAB");
    }

    #[test]
    fn non_json_rejected_without_binary() {
        assert!(matches!(
            encode_data(&[0xff, 0x00], false),
            Err(PayloadError::NotJson)
        ));
        assert!(matches!(
            encode_data(b"not json", false),
            Err(PayloadError::NotJson)
        ));
    }

    #[test]
    fn empty_payload_omitted() {
        let w = encode_data(b"", true).unwrap();
        assert!(w.data.is_none() && w.b64data.is_empty());
    }

    #[test]
    fn b64_wins_over_raw() {
        let raw = RawValue::from_string("{}".into()).unwrap();
        assert_eq!(choose_bytes(Some(&raw), "aGk=").unwrap().unwrap(), b"hi".to_vec());
        assert_eq!(choose_bytes(Some(&raw), "").unwrap().unwrap(), b"{}".to_vec());
        assert!(choose_bytes(None, "").unwrap().is_none());
        assert!(choose_bytes(None, "!!").is_err());
    }
}
