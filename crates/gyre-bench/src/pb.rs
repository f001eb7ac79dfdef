//! Just enough Protobuf reading to find a publication's data in a protobuf push without
//! decoding (and allocating) the whole `Reply`: `Reply.push` (4) → `Push.pub` (4) →
//! `Publication.data` (4), all length-delimited.

/// Reads an unsigned LEB128 varint: `(value, bytes used)`.
pub(crate) fn varint(buf: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for (i, &b) in buf.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Some((value, i + 1));
        }
    }
    None
}

/// The first length-delimited field `number` of a message, `None` if absent or malformed.
pub(crate) fn len_field(mut msg: &[u8], number: u64) -> Option<&[u8]> {
    while !msg.is_empty() {
        let (key, used) = varint(msg)?;
        msg = &msg[used..];
        let skip = match key & 7 {
            0 => varint(msg)?.1,
            1 => 8,
            2 => {
                let (len, used) = varint(msg)?;
                let end = used.checked_add(usize::try_from(len).ok()?)?;
                if end > msg.len() {
                    return None;
                }
                if key >> 3 == number {
                    return Some(&msg[used..end]);
                }
                end
            }
            5 => 4,
            _ => return None,
        };
        msg = msg.get(skip..)?;
    }
    None
}

/// `Reply.push.pub.data`, if this reply is a publication push.
pub(crate) fn publication_data(reply: &[u8]) -> Option<&[u8]> {
    let push = len_field(reply, 4)?;
    let publication = len_field(push, 4)?;
    len_field(publication, 4)
}

/// Splits a varint-delimited frame into messages; `None` as the last item if it is malformed.
pub(crate) fn delimited(mut frame: &[u8]) -> impl Iterator<Item = Option<&[u8]>> {
    std::iter::from_fn(move || {
        if frame.is_empty() {
            return None;
        }
        let item = varint(frame).and_then(|(len, used)| {
            let end = used.checked_add(usize::try_from(len).ok()?)?;
            let msg = frame.get(used..end)?;
            frame = &frame[end..];
            Some(msg)
        });
        if item.is_none() {
            frame = &[];
        }
        Some(item)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::{Bytes, BytesMut};
    use gyre_protocol::codec::{frame_messages, ProtocolType};
    use gyre_protocol::{ClientInfo, Publication, Push, Reply};
    use prost::Message as _;

    fn pub_reply(data: &'static [u8]) -> Reply {
        Reply {
            push: Some(Push {
                channel: "bench.1".into(),
                r#pub: Some(Publication {
                    info: Some(ClientInfo {
                        user: "u".into(),
                        ..Default::default()
                    }),
                    data: Bytes::from_static(data),
                    offset: 300,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn finds_publication_data_in_a_real_encoding() {
        let encoded = pub_reply(br#"{"s":1,"t":2}"#).encode_to_vec();
        assert_eq!(publication_data(&encoded), Some(&br#"{"s":1,"t":2}"#[..]));
        let ping = Reply::default().encode_to_vec();
        assert_eq!(publication_data(&ping), None);
        let other = Reply {
            id: 5,
            ..Default::default()
        }
        .encode_to_vec();
        assert_eq!(publication_data(&other), None);
        assert_eq!(publication_data(&encoded[..encoded.len() - 1]), None);
    }

    #[test]
    fn splits_frames() {
        let msgs = vec![
            Bytes::from(pub_reply(b"{}").encode_to_vec()),
            Bytes::new(),
            Bytes::from(pub_reply(b"[]").encode_to_vec()),
        ];
        let mut frame = BytesMut::new();
        frame_messages(ProtocolType::Protobuf, &msgs, &mut frame);
        let got: Vec<_> = delimited(&frame).collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[1], Some(&[][..]));
        assert_eq!(publication_data(got[2].unwrap()), Some(&b"[]"[..]));
        let truncated: Vec<_> = delimited(&frame[..frame.len() - 1]).collect();
        assert_eq!(truncated.last(), Some(&None));
    }
}
