//! One publication on its way to a channel's local subscribers, with every encoding made on first
//! use and shared afterwards.
//!
//! A subscriber's state decides which form it receives (plain, full on a delta subscription, or a
//! fossil patch), and that state is only known under the subscriber's own lock. So the hub does
//! not encode up front: each subscriber asks for the form it needs, and the first request of a
//! [`PreparedKey`] encodes it. The fossil patch itself is computed at most once per publication,
//! and only when some subscriber holds exactly the previous publication.

use bytes::Bytes;

use crate::broker::StreamPosition;
use crate::client::{delta, encode_push_for, PayloadForm, PreparedKey};
use gyre_protocol::{ProtocolType, Publication, Push};

/// A computed patch.
struct Patch {
    data: Bytes,
    /// It can travel in a JSON string (see `delta::json_patch_ok`).
    utf8: bool,
}

pub(crate) struct PreparedPublication<'a> {
    channel: &'a str,
    /// The publication as clients see it.
    wire: Publication,
    position: &'a StreamPosition,
    /// The stream's previous publication, when the publisher asked for delta compression and the
    /// broker knew it: its offset and payload.
    prev: Option<(u64, &'a Bytes)>,
    encodings: [Option<Option<Bytes>>; PreparedKey::FLAVOURS],
    /// `None` until first needed; then `Some(None)` when no patch is worth sending.
    patch: Option<Option<Patch>>,
    /// Whether the payload is one JSON value, checked once for JSON delta subscribers (plain JSON
    /// encoding checks it on its own).
    json_payload: Option<bool>,
    encodings_made: usize,
}

impl<'a> PreparedPublication<'a> {
    pub(crate) fn new(
        channel: &'a str,
        wire: Publication,
        position: &'a StreamPosition,
        prev: Option<&'a Publication>,
    ) -> PreparedPublication<'a> {
        // A previous publication is only a base for a patch if it is the one right before this
        // one in the same stream.
        let prev = prev
            .filter(|p| position.offset > 0 && p.offset + 1 == position.offset)
            .map(|p| (p.offset, &p.data));
        PreparedPublication {
            channel,
            wire,
            position,
            prev,
            encodings: Default::default(),
            patch: None,
            json_payload: None,
            encodings_made: 0,
        }
    }

    pub(crate) fn position(&self) -> &'a StreamPosition {
        self.position
    }

    /// Whether a subscriber whose client holds the publication at `base` can be sent a patch.
    pub(crate) fn patch_applies_to(&self, base: &StreamPosition) -> bool {
        self.prev
            .is_some_and(|(offset, _)| base.offset == offset && base.epoch == self.position.epoch)
    }

    pub(crate) fn encodings_made(&self) -> usize {
        self.encodings_made
    }

    /// The publication encoded for `key`; `None` when such a receiver cannot be sent this payload
    /// (a JSON client and a payload that is not JSON). For [`PayloadForm::Patch`] use
    /// [`PreparedPublication::patch_for`].
    pub(crate) fn encoded(&mut self, key: PreparedKey) -> Option<Bytes> {
        debug_assert!(key.form != PayloadForm::Patch);
        if key.protocol == ProtocolType::Json && key.form == PayloadForm::Full && !self.json_payload() {
            return None;
        }
        let slot = key.index();
        if let Some(done) = &self.encodings[slot] {
            return done.clone();
        }
        let encoded = self.encode(key, self.wire.clone());
        self.encodings[slot] = Some(encoded.clone());
        encoded
    }

    /// The patch encoded for `key`, or `None` when a full payload must be sent instead: no
    /// previous publication, a patch not smaller than the payload, or (JSON) a patch that is not
    /// UTF-8 or a payload that is not JSON.
    pub(crate) fn patch_for(&mut self, key: PreparedKey) -> Option<Bytes> {
        let key = key.with_form(PayloadForm::Patch);
        let json = key.protocol == ProtocolType::Json;
        if json && !self.json_payload() {
            return None;
        }
        let patch = self.patch()?;
        if json && !patch.utf8 {
            return None;
        }
        let data = patch.data.clone();
        let slot = key.index();
        if let Some(done) = &self.encodings[slot] {
            return done.clone();
        }
        let mut publication = self.wire.clone();
        publication.data = data;
        publication.delta = true;
        let encoded = self.encode(key, publication);
        self.encodings[slot] = Some(encoded.clone());
        encoded
    }

    fn patch(&mut self) -> Option<&Patch> {
        if self.patch.is_none() {
            let payload = &self.wire.data;
            self.patch = Some(self.prev.and_then(|(_, prev)| {
                delta::patch(prev, payload).map(|patch| Patch {
                    utf8: delta::json_patch_ok(&patch),
                    data: Bytes::from(patch),
                })
            }));
        }
        self.patch.as_ref().and_then(Option::as_ref)
    }

    fn json_payload(&mut self) -> bool {
        let data = &self.wire.data;
        *self
            .json_payload
            .get_or_insert_with(|| delta::json_payload_ok(data))
    }

    fn encode(&mut self, key: PreparedKey, publication: Publication) -> Option<Bytes> {
        self.encodings_made += 1;
        let push = Push {
            channel: self.channel.to_string(),
            r#pub: Some(publication),
            ..Default::default()
        };
        encode_push_for(key, push).ok()
    }
}
