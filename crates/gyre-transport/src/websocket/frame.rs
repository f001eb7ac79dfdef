//! RFC 6455 frame headers: parsing what clients send, writing what the server sends. Pure
//! functions over byte slices, so every rule is unit-tested without sockets.

pub(crate) const OP_CONTINUATION: u8 = 0x0;
pub(crate) const OP_TEXT: u8 = 0x1;
pub(crate) const OP_BINARY: u8 = 0x2;
pub(crate) const OP_CLOSE: u8 = 0x8;
pub(crate) const OP_PING: u8 = 0x9;
pub(crate) const OP_PONG: u8 = 0xA;
/// RSV1, the "per-message compressed" bit of permessage-deflate (RFC 7692 §6). Or'ed into the
/// opcode given to [`write_header`] for a compressed data frame.
pub(crate) const RSV1: u8 = 0x40;

/// Largest server frame header: 2 bytes plus a 64-bit length (server frames are never masked).
pub(crate) const MAX_HEADER: usize = 10;
/// Control frames carry at most 125 bytes (RFC 6455 §5.5).
pub(crate) const MAX_CONTROL_PAYLOAD: usize = 125;

/// A parsed client frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) fin: bool,
    /// The first frame of a compressed message (only ever set when compression was negotiated).
    pub(crate) rsv1: bool,
    pub(crate) opcode: u8,
    pub(crate) mask: [u8; 4],
    /// Bytes taken by the header itself.
    pub(crate) header_len: usize,
    pub(crate) payload_len: u64,
}

impl Header {
    pub(crate) fn is_control(&self) -> bool {
        self.opcode & 0x8 != 0
    }
}

/// A violation that ends the connection, and the close code it is answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameError {
    /// 1002: a frame no conforming client sends.
    Protocol(&'static str),
    /// 1009: the message is over the size limit (known from the header alone).
    TooBig,
    /// 1009: a compressed message inflates past the decompressed size limit.
    InflatedTooBig,
    /// 3501: a compressed message is not valid DEFLATE data (Centrifugo answers an unreadable
    /// frame with "bad request").
    BadCompression,
}

/// Parses a client frame header from the start of `buf`. `Ok(None)` means more bytes are needed.
/// Checks everything the header alone can tell: reserved bits (RSV1 only when `deflate` was
/// negotiated, and then only on the first frame of a data message), known opcodes, the client
/// mask, control frame rules and the payload size limit.
pub(crate) fn parse_header(
    buf: &[u8],
    max_payload: u64,
    deflate: bool,
) -> Result<Option<Header>, FrameError> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let (b0, b1) = (buf[0], buf[1]);
    let rsv1 = b0 & RSV1 != 0;
    if b0 & 0x30 != 0 || (rsv1 && !deflate) {
        return Err(FrameError::Protocol("reserved bits set"));
    }
    let fin = b0 & 0x80 != 0;
    let opcode = b0 & 0x0F;
    if !matches!(
        opcode,
        OP_CONTINUATION | OP_TEXT | OP_BINARY | OP_CLOSE | OP_PING | OP_PONG
    ) {
        return Err(FrameError::Protocol("unknown opcode"));
    }
    if rsv1 && !matches!(opcode, OP_TEXT | OP_BINARY) {
        // RFC 7692 §6.1: never on control frames nor on later fragments of a message.
        return Err(FrameError::Protocol("RSV1 on a control or continuation frame"));
    }
    if b1 & 0x80 == 0 {
        return Err(FrameError::Protocol("unmasked client frame"));
    }
    let (payload_len, len_bytes) = match b1 & 0x7F {
        126 => {
            let Some(b) = buf.get(2..4) else {
                return Ok(None);
            };
            (u64::from(u16::from_be_bytes([b[0], b[1]])), 2)
        }
        127 => {
            let Some(b) = buf.get(2..10) else {
                return Ok(None);
            };
            let len = u64::from_be_bytes(b.try_into().expect("8 bytes"));
            if len >> 63 != 0 {
                return Err(FrameError::Protocol("invalid payload length"));
            }
            (len, 8)
        }
        n => (u64::from(n), 0),
    };
    let header_len = 2 + len_bytes + 4;
    let Some(mask) = buf.get(2 + len_bytes..header_len) else {
        return Ok(None);
    };
    let header = Header {
        fin,
        rsv1,
        opcode,
        mask: mask.try_into().expect("4 bytes"),
        header_len,
        payload_len,
    };
    if header.is_control() {
        if !fin {
            return Err(FrameError::Protocol("fragmented control frame"));
        }
        if payload_len > MAX_CONTROL_PAYLOAD as u64 {
            return Err(FrameError::Protocol("control frame too long"));
        }
    } else if payload_len > max_payload {
        return Err(FrameError::TooBig);
    }
    Ok(Some(header))
}

/// Removes the client's mask in place. `offset` is how many payload bytes came before `data`.
pub(crate) fn unmask(data: &mut [u8], mask: [u8; 4], offset: usize) {
    for (i, b) in data.iter_mut().enumerate() {
        *b ^= mask[(offset + i) & 3];
    }
}

/// Writes an unmasked server frame header (FIN set) into `out`; returns its length. `opcode`
/// may carry [`RSV1`].
pub(crate) fn write_header(out: &mut [u8; MAX_HEADER], opcode: u8, len: usize) -> usize {
    out[0] = 0x80 | opcode;
    if len < 126 {
        out[1] = len as u8;
        2
    } else if let Ok(len) = u16::try_from(len) {
        out[1] = 126;
        out[2..4].copy_from_slice(&len.to_be_bytes());
        4
    } else {
        out[1] = 127;
        out[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        10
    }
}

/// Appends a whole server control frame.
pub(crate) fn push_control(out: &mut Vec<u8>, opcode: u8, payload: &[u8]) {
    let payload = &payload[..payload.len().min(MAX_CONTROL_PAYLOAD)];
    let mut header = [0u8; MAX_HEADER];
    let n = write_header(&mut header, opcode, payload.len());
    out.extend_from_slice(&header[..n]);
    out.extend_from_slice(payload);
}

/// The payload of a close frame: the code and a reason cut to fit a control frame on a
/// character boundary.
pub(crate) fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut end = reason.len().min(MAX_CONTROL_PAYLOAD - 2);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = Vec::with_capacity(2 + end);
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(&reason.as_bytes()[..end]);
    out
}

/// Checks a close frame received from the client (RFC 6455 §5.5.1, §7.4): empty, or a valid
/// code followed by UTF-8. Returns the code to echo (`None` for an empty close).
pub(crate) fn parse_close(payload: &[u8]) -> Result<Option<u16>, FrameError> {
    match payload.len() {
        0 => Ok(None),
        1 => Err(FrameError::Protocol("close frame with a 1-byte payload")),
        _ => {
            let code = u16::from_be_bytes([payload[0], payload[1]]);
            let valid = matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999);
            if !valid {
                return Err(FrameError::Protocol("invalid close code"));
            }
            if std::str::from_utf8(&payload[2..]).is_err() {
                return Err(FrameError::Protocol("close reason is not UTF-8"));
            }
            Ok(Some(code))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(first: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [1, 2, 3, 4];
        let mut out = vec![first];
        match payload.len() {
            n if n < 126 => out.push(0x80 | n as u8),
            n if n <= 0xFFFF => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i & 3]));
        out
    }

    #[test]
    fn parses_all_length_forms_and_unmasks() {
        for len in [0, 5, 125, 126, 300, 65535, 65536, 70_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let frame = masked(0x82, &payload);
            let h = parse_header(&frame, 1 << 20, false).unwrap().unwrap();
            assert_eq!((h.fin, h.opcode, h.payload_len), (true, OP_BINARY, len as u64));
            let mut body = frame[h.header_len..].to_vec();
            // Unmasking in two pieces must equal unmasking at once.
            let split = body.len() / 3;
            let (a, b) = body.split_at_mut(split);
            unmask(a, h.mask, 0);
            unmask(b, h.mask, split);
            assert_eq!(body, payload);
            // Every prefix shorter than the header asks for more bytes.
            for cut in 0..h.header_len {
                assert_eq!(parse_header(&frame[..cut], 1 << 20, false), Ok(None), "cut {cut}");
            }
        }
    }

    #[test]
    fn rejects_what_clients_must_not_send() {
        let p = |e| Err(FrameError::Protocol(e));
        assert_eq!(
            parse_header(&masked(0xC1, b"x"), 100, false),
            p("reserved bits set")
        );
        assert_eq!(parse_header(&masked(0x83, b"x"), 100, false), p("unknown opcode"));
        assert_eq!(
            parse_header(&[0x81, 0x01, b'x'], 100, false),
            p("unmasked client frame")
        );
        assert_eq!(
            parse_header(&masked(0x09, b""), 100, false),
            p("fragmented control frame")
        );
        assert_eq!(
            parse_header(&masked(0x89, &[0; 126]), 1000, false),
            p("control frame too long")
        );
        assert_eq!(
            parse_header(&masked(0x81, &[b'a'; 101]), 100, false),
            Err(FrameError::TooBig)
        );
        // Control frames are not subject to the message limit.
        assert!(parse_header(&masked(0x89, &[0; 125]), 10, false)
            .unwrap()
            .is_some());
        let mut huge = vec![0x82, 0xFF];
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        huge.extend_from_slice(&[0; 4]);
        assert_eq!(parse_header(&huge, u64::MAX, false), p("invalid payload length"));
    }

    #[test]
    fn rsv1_only_with_deflate_and_only_on_message_starts() {
        let p = |e| Err(FrameError::Protocol(e));
        let h = parse_header(&masked(0xC1, b"x"), 100, true).unwrap().unwrap();
        assert!(h.rsv1 && h.fin && h.opcode == OP_TEXT);
        let h = parse_header(&masked(0x42, b"x"), 100, true).unwrap().unwrap();
        assert!(h.rsv1 && !h.fin && h.opcode == OP_BINARY);
        assert!(
            !parse_header(&masked(0x81, b"x"), 100, true)
                .unwrap()
                .unwrap()
                .rsv1
        );
        let misplaced = "RSV1 on a control or continuation frame";
        assert_eq!(parse_header(&masked(0xC0, b"x"), 100, true), p(misplaced));
        assert_eq!(parse_header(&masked(0xC9, b"x"), 100, true), p(misplaced));
        // RSV2 and RSV3 belong to no negotiated extension.
        assert_eq!(
            parse_header(&masked(0xA1, b"x"), 100, true),
            p("reserved bits set")
        );
        assert_eq!(
            parse_header(&masked(0x91, b"x"), 100, true),
            p("reserved bits set")
        );
    }

    #[test]
    fn server_headers() {
        let mut h = [0u8; MAX_HEADER];
        assert_eq!(write_header(&mut h, OP_TEXT, 5), 2);
        assert_eq!(&h[..2], &[0x81, 5]);
        assert_eq!(write_header(&mut h, OP_BINARY, 300), 4);
        assert_eq!(&h[..4], &[0x82, 126, 1, 44]);
        assert_eq!(write_header(&mut h, OP_BINARY, 70_000), 10);
        assert_eq!(&h[..10], &[0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
        assert_eq!(write_header(&mut h, OP_TEXT | RSV1, 5), 2);
        assert_eq!(&h[..2], &[0xC1, 5]);
    }

    #[test]
    fn close_frames() {
        let long = "é".repeat(100);
        let payload = close_payload(3001, &long);
        assert!(payload.len() <= MAX_CONTROL_PAYLOAD);
        assert_eq!(&payload[..2], &3001u16.to_be_bytes());
        assert!(std::str::from_utf8(&payload[2..]).is_ok());
        assert_eq!(parse_close(&payload), Ok(Some(3001)));
        assert_eq!(parse_close(b""), Ok(None));
        assert!(parse_close(&[3]).is_err());
        assert!(parse_close(&1005u16.to_be_bytes()).is_err());
        assert!(parse_close(&[0x03, 0xE8, 0xFF]).is_err());
        let mut out = Vec::new();
        push_control(&mut out, OP_CLOSE, &payload);
        assert_eq!(out[0], 0x88);
        assert_eq!(usize::from(out[1]), payload.len());
    }
}
