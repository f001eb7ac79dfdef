//! JSON → protocol messages (the inbound side: commands, a bare connect request, an emulation
//! request).
//!
//! The decoder writes straight into the prost structs through `serde` seeds instead of going
//! through `#[derive(Deserialize)]` mirror structs, because the Go server's decoding rules do not
//! map onto derive attributes:
//! * `null` for any field is a no-op (the field keeps its zero value), including inside maps and
//!   lists, where it becomes the zero value of the element;
//! * a `bytes` field keeps the exact raw JSON text of its value (`"data":null` gives `null`);
//! * a key that matches no field exactly is retried case-insensitively, and a repeated key
//!   overwrites the earlier value;
//! * nested messages must be JSON objects (derive would also accept arrays).
//!
//! The seeds also carry the frame as [`Bytes`] when the caller has it, so raw payloads become
//! zero-copy slices of the frame instead of copies.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;

use bytes::Bytes;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::codec::DecodeError;
use crate::types::*;

/// Where raw payload bytes come from: copied out of a borrowed frame, or sliced from a shared one.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    owner: Option<&'a Bytes>,
}

impl<'a> Ctx<'a> {
    pub(crate) const COPY: Ctx<'static> = Ctx { owner: None };

    /// Raw values become slices of `owner`; the decoded input must lie inside it.
    pub(crate) fn shared(owner: &'a Bytes) -> Self {
        Ctx { owner: Some(owner) }
    }

    fn bytes(self, raw: &[u8]) -> Bytes {
        match self.owner {
            Some(owner) => owner.slice_ref(raw),
            None => Bytes::copy_from_slice(raw),
        }
    }
}

/// Decodes one JSON message (no framing) into `T`, rejecting anything after the value.
pub(crate) fn decode_message<T: Decode>(msg: &[u8], ctx: Ctx<'_>) -> Result<T, DecodeError> {
    let mut de = serde_json::Deserializer::from_slice(msg);
    let value = MessageSeed::<T>::new(ctx)
        .deserialize(&mut de)
        .map_err(malformed)?;
    de.end().map_err(malformed)?;
    Ok(value)
}

fn malformed(err: serde_json::Error) -> DecodeError {
    DecodeError::Malformed(err.to_string())
}

/// A protocol message that can be filled from a JSON object, one key at a time.
pub(crate) trait Decode: Default + Sized {
    /// Reads the value of field `key` into `self`. Returns `false`, leaving the value unread, when
    /// `key` names no field of this message.
    fn field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
        ctx: Ctx<'_>,
    ) -> Result<bool, A::Error>;
}

/// Implements [`Decode`] from a `"json_name" => rust_field: reader` table; the reader is one of
/// the `read_*` functions below, chosen by the field's shape.
macro_rules! decode_fields {
    ($ty:ty { $($key:literal => $field:ident : $read:ident),* $(,)? }) => {
        impl Decode for $ty {
            fn field<'de, A: MapAccess<'de>>(
                &mut self,
                key: &str,
                map: &mut A,
                ctx: Ctx<'_>,
            ) -> Result<bool, A::Error> {
                match key {
                    $($key => $read(map, ctx, &mut self.$field)?,)*
                    _ => return Ok(false),
                }
                Ok(true)
            }
        }
    };
}

decode_fields!(Command {
    "id" => id: read_scalar,
    "connect" => connect: read_message,
    "subscribe" => subscribe: read_message,
    "unsubscribe" => unsubscribe: read_message,
    "publish" => publish: read_message,
    "presence" => presence: read_message,
    "presence_stats" => presence_stats: read_message,
    "history" => history: read_message,
    "ping" => ping: read_message,
    "send" => send: read_message,
    "rpc" => rpc: read_message,
    "refresh" => refresh: read_message,
    "sub_refresh" => sub_refresh: read_message,
});

decode_fields!(ConnectRequest {
    "token" => token: read_scalar,
    "data" => data: read_raw,
    "subs" => subs: read_message_map,
    "name" => name: read_scalar,
    "version" => version: read_scalar,
    "headers" => headers: read_scalar_map,
    "flag" => flag: read_scalar,
    "dict" => dict: read_scalar,
    "profile" => profile: read_scalar,
});

decode_fields!(SubscribeRequest {
    "channel" => channel: read_scalar,
    "token" => token: read_scalar,
    "recover" => recover: read_scalar,
    "epoch" => epoch: read_scalar,
    "offset" => offset: read_scalar,
    "data" => data: read_raw,
    "positioned" => positioned: read_scalar,
    "recoverable" => recoverable: read_scalar,
    "join_leave" => join_leave: read_scalar,
    "delta" => delta: read_scalar,
    "tf" => tf: read_message,
    "flag" => flag: read_scalar,
    "type" => r#type: read_scalar,
    "phase" => phase: read_scalar,
    "cursor" => cursor: read_scalar,
    "limit" => limit: read_scalar,
    "asc" => asc: read_scalar,
});

decode_fields!(FilterNode {
    "op" => op: read_scalar,
    "key" => key: read_scalar,
    "cmp" => cmp: read_scalar,
    "val" => val: read_scalar,
    "vals" => vals: read_scalar_list,
    "nodes" => nodes: read_message_list,
});

decode_fields!(UnsubscribeRequest { "channel" => channel: read_scalar });

decode_fields!(PublishRequest {
    "channel" => channel: read_scalar,
    "data" => data: read_raw,
    "type" => r#type: read_scalar,
    "key" => key: read_scalar,
    "removed" => removed: read_scalar,
});

decode_fields!(PresenceRequest { "channel" => channel: read_scalar });

decode_fields!(PresenceStatsRequest { "channel" => channel: read_scalar });

decode_fields!(HistoryRequest {
    "channel" => channel: read_scalar,
    "limit" => limit: read_scalar,
    "since" => since: read_message,
    "reverse" => reverse: read_scalar,
});

decode_fields!(StreamPosition {
    "offset" => offset: read_scalar,
    "epoch" => epoch: read_scalar,
});

// No fields: every key is unknown.
impl Decode for PingRequest {
    fn field<'de, A: MapAccess<'de>>(&mut self, _: &str, _: &mut A, _: Ctx<'_>) -> Result<bool, A::Error> {
        Ok(false)
    }
}

decode_fields!(SendRequest { "data" => data: read_raw });

decode_fields!(RpcRequest {
    "data" => data: read_raw,
    "method" => method: read_scalar,
});

decode_fields!(RefreshRequest { "token" => token: read_scalar });

decode_fields!(SubRefreshRequest {
    "channel" => channel: read_scalar,
    "token" => token: read_scalar,
    "type" => r#type: read_scalar,
    "track" => track: read_message_list,
    "untrack" => untrack: read_scalar_list,
});

decode_fields!(TrackBatch {
    "signature" => signature: read_scalar,
    "items" => items: read_message_list,
});

decode_fields!(KeyedItem {
    "key" => key: read_scalar,
    "version" => version: read_scalar,
});

decode_fields!(EmulationRequest {
    "node" => node: read_scalar,
    "session" => session: read_scalar,
    "data" => data: read_raw,
});

// ---- field readers: every one consumes exactly one value; `null` leaves the slot untouched ----

fn read_scalar<'de, A, T>(map: &mut A, _: Ctx<'_>, slot: &mut T) -> Result<(), A::Error>
where
    A: MapAccess<'de>,
    T: Deserialize<'de>,
{
    if let Some(value) = map.next_value::<Option<T>>()? {
        *slot = value;
    }
    Ok(())
}

fn read_raw<'de, A: MapAccess<'de>>(map: &mut A, ctx: Ctx<'_>, slot: &mut Bytes) -> Result<(), A::Error> {
    // Borrowing ties the raw text to the input, so it is the exact bytes of the value (without
    // the surrounding whitespace) and `null` arrives as the text `null`.
    let raw: &'de RawValue = map.next_value()?;
    *slot = ctx.bytes(raw.get().as_bytes());
    Ok(())
}

fn read_message<'de, A, T>(map: &mut A, ctx: Ctx<'_>, slot: &mut Option<T>) -> Result<(), A::Error>
where
    A: MapAccess<'de>,
    T: Decode,
{
    if let Some(value) = map.next_value_seed(Nullable(MessageSeed::<T>::new(ctx)))? {
        *slot = Some(value);
    }
    Ok(())
}

fn read_scalar_map<'de, A: MapAccess<'de>>(
    map: &mut A,
    _: Ctx<'_>,
    slot: &mut HashMap<String, String>,
) -> Result<(), A::Error> {
    if let Some(StringMap(entries)) = map.next_value::<Option<StringMap>>()? {
        *slot = entries;
    }
    Ok(())
}

fn read_message_map<'de, A, T>(
    map: &mut A,
    ctx: Ctx<'_>,
    slot: &mut HashMap<String, T>,
) -> Result<(), A::Error>
where
    A: MapAccess<'de>,
    T: Decode,
{
    if let Some(value) = map.next_value_seed(Nullable(MessageMapSeed::<T>::new(ctx)))? {
        *slot = value;
    }
    Ok(())
}

fn read_scalar_list<'de, A, T>(map: &mut A, _: Ctx<'_>, slot: &mut Vec<T>) -> Result<(), A::Error>
where
    A: MapAccess<'de>,
    T: Deserialize<'de> + Default,
{
    if let Some(items) = map.next_value::<Option<Vec<Option<T>>>>()? {
        *slot = items.into_iter().map(Option::unwrap_or_default).collect();
    }
    Ok(())
}

fn read_message_list<'de, A, T>(map: &mut A, ctx: Ctx<'_>, slot: &mut Vec<T>) -> Result<(), A::Error>
where
    A: MapAccess<'de>,
    T: Decode,
{
    if let Some(items) = map.next_value_seed(Nullable(MessageListSeed::<T>::new(ctx)))? {
        *slot = items;
    }
    Ok(())
}

// ---- seeds and visitors ----

/// An object key, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Feeds the value of `key` to `message`, retrying with the lower-cased key when the exact one is
/// unknown (Go matches struct fields case-insensitively), and skips values of unknown keys.
fn dispatch<'de, A, T>(message: &mut T, key: &str, map: &mut A, ctx: Ctx<'_>) -> Result<(), A::Error>
where
    A: MapAccess<'de>,
    T: Decode,
{
    if message.field(key, map, ctx)? {
        return Ok(());
    }
    if key.bytes().any(|b| !(b.is_ascii_lowercase() || b == b'_')) {
        let lowered = key.to_lowercase();
        if lowered != key && message.field(&lowered, map, ctx)? {
            return Ok(());
        }
    }
    map.next_value::<IgnoredAny>()?;
    Ok(())
}

/// Decodes one message; the JSON value must be an object.
pub(crate) struct MessageSeed<'c, T> {
    ctx: Ctx<'c>,
    _message: PhantomData<fn() -> T>,
}

impl<'c, T> MessageSeed<'c, T> {
    fn new(ctx: Ctx<'c>) -> Self {
        MessageSeed {
            ctx,
            _message: PhantomData,
        }
    }
}

impl<'de, T: Decode> DeserializeSeed<'de> for MessageSeed<'_, T> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, T: Decode> Visitor<'de> for MessageSeed<'_, T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let mut message = T::default();
        while let Some(Key(key)) = map.next_key()? {
            dispatch(&mut message, &key, &mut map, self.ctx)?;
        }
        Ok(message)
    }
}

/// A JSON object of messages (`subs`); a `null` entry becomes an empty message.
struct MessageMapSeed<'c, T> {
    ctx: Ctx<'c>,
    _message: PhantomData<fn() -> T>,
}

impl<'c, T> MessageMapSeed<'c, T> {
    fn new(ctx: Ctx<'c>) -> Self {
        MessageMapSeed {
            ctx,
            _message: PhantomData,
        }
    }
}

impl<'de, T: Decode> DeserializeSeed<'de> for MessageMapSeed<'_, T> {
    type Value = HashMap<String, T>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, T: Decode> Visitor<'de> for MessageMapSeed<'_, T> {
    type Value = HashMap<String, T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of messages")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = HashMap::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(Nullable(MessageSeed::<T>::new(self.ctx)))?;
            out.insert(key, value.unwrap_or_default());
        }
        Ok(out)
    }
}

/// A JSON array of messages (`track`, `items`, `nodes`); a `null` element becomes an empty
/// message.
struct MessageListSeed<'c, T> {
    ctx: Ctx<'c>,
    _message: PhantomData<fn() -> T>,
}

impl<'c, T> MessageListSeed<'c, T> {
    fn new(ctx: Ctx<'c>) -> Self {
        MessageListSeed {
            ctx,
            _message: PhantomData,
        }
    }
}

impl<'de, T: Decode> DeserializeSeed<'de> for MessageListSeed<'_, T> {
    type Value = Vec<T>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<T>, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, T: Decode> Visitor<'de> for MessageListSeed<'_, T> {
    type Value = Vec<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of messages")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(Nullable(MessageSeed::<T>::new(self.ctx)))? {
            out.push(item.unwrap_or_default());
        }
        Ok(out)
    }
}

/// A JSON object of strings (`headers`); a `null` value becomes an empty string.
struct StringMap(HashMap<String, String>);

impl<'de> Deserialize<'de> for StringMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StringMapVisitor;
        impl<'de> Visitor<'de> for StringMapVisitor {
            type Value = StringMap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StringMap, A::Error> {
                let mut out = HashMap::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some(key) = map.next_key::<String>()? {
                    let value = map.next_value::<Option<String>>()?;
                    out.insert(key, value.unwrap_or_default());
                }
                Ok(StringMap(out))
            }
        }
        deserializer.deserialize_map(StringMapVisitor)
    }
}

/// Wraps a seed so that JSON `null` yields `None` instead of a type error.
struct Nullable<S>(S);

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Nullable<S> {
    type Value = Option<S::Value>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for Nullable<S> {
    type Value = Option<S::Value>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value or null")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        self.0.deserialize(deserializer).map(Some)
    }
}
