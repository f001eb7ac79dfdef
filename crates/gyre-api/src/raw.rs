//! JSON helpers that give serde the decoding rules of Go's `encoding/json` as Centrifugo uses it:
//! raw fields kept verbatim, `null` meaning "zero value", a top-level `null` decoding to an empty
//! request.

use bytes::Bytes;
use serde::de::{DeserializeOwned, Deserializer};
use serde::ser::{Error as _, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Decodes one request body. Go leaves every field at its zero value for a bare `null`, and
/// only a JSON object fills a struct (serde would also take an array, field by field).
pub(crate) fn decode<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, serde_json::Error> {
    match body.trim_ascii().first() {
        Some(b'n') if body.trim_ascii() == b"null" => Ok(T::default()),
        Some(b'{') | None => serde_json::from_slice(body),
        Some(_) => Err(serde::de::Error::custom("expected a JSON object")),
    }
}

/// A nested message field: absent or `null` is `None`; anything but an object is an error.
pub(crate) fn object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let Some(value) = Option::<Box<RawValue>>::deserialize(d)? else {
        return Ok(None);
    };
    if !value.get().starts_with('{') {
        return Err(serde::de::Error::custom("expected a JSON object"));
    }
    serde_json::from_str(value.get())
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// A field where JSON `null` means the zero value (Go does not touch the field on `null`).
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A raw field (`data`, `info`, `params`, …): whatever JSON value is there, byte for byte,
/// including a literal `null`.
pub(crate) fn raw<'de, D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
    let value = Box::<RawValue>::deserialize(d)?;
    Ok(Bytes::copy_from_slice(value.get().as_bytes()))
}

/// Writes stored bytes as embedded JSON. Bytes that are not JSON (a publication made with
/// `b64data`) cannot be embedded; encoding fails, which the HTTP edge reports as a 500, as
/// Centrifugo does.
pub(crate) fn ser<S: Serializer>(bytes: &Bytes, s: S) -> Result<S::Ok, S::Error> {
    let text = std::str::from_utf8(bytes).map_err(|_| S::Error::custom("raw value is not UTF-8 JSON"))?;
    let value: &RawValue = serde_json::from_str(text).map_err(S::Error::custom)?;
    value.serialize(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Deserialize, Serialize)]
    struct Probe {
        #[serde(default, deserialize_with = "nullable")]
        name: String,
        #[serde(default, deserialize_with = "raw", serialize_with = "ser")]
        data: Bytes,
    }

    #[test]
    fn raw_and_null_rules() {
        let p: Probe = decode(br#"{"name":null,"data":null,"other":[1]}"#).unwrap();
        assert_eq!(p.name, "");
        assert_eq!(&p.data[..], b"null");
        let p: Probe = decode(br#"{"data": {"a" : [1, 2]} }"#).unwrap();
        assert_eq!(&p.data[..], br#"{"a" : [1, 2]}"#);
        let p: Probe = decode(b" null ").unwrap();
        assert!(p.data.is_empty());
        assert!(decode::<Probe>(b"").is_err());
        assert!(decode::<Probe>(b"[]").is_err());
        assert!(decode::<Probe>(br#"["x"]"#).is_err());
        assert!(decode::<Probe>(b"5").is_err());
    }

    #[test]
    fn raw_encoding_needs_json() {
        let ok = Probe {
            name: "x".into(),
            data: Bytes::from_static(br#"{"k":"v"}"#),
        };
        assert_eq!(
            serde_json::to_string(&ok).unwrap(),
            r#"{"name":"x","data":{"k":"v"}}"#
        );
        let bad = Probe {
            name: "x".into(),
            data: Bytes::from_static(b"\x00\x01binary"),
        };
        assert!(serde_json::to_string(&bad).is_err());
    }
}
