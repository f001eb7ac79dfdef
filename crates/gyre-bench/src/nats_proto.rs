//! The few NATS client-protocol messages the bench needs, parsed from a byte stream in which
//! messages may be split across reads (TCP) or WebSocket frames at any byte.
//!
//! Use: append received bytes to a buffer, call [`parse`] on the unconsumed part until it
//! returns `Ok(None)` (incomplete), then drop the consumed prefix.

use std::fmt;

/// One server message. `Msg` borrows its payload from the input buffer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Event<'a> {
    Info,
    Ping,
    Pong,
    Ok,
    Err(&'a [u8]),
    Msg { sid: u64, payload: &'a [u8] },
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NATS protocol error: {}", self.0)
    }
}

impl std::error::Error for ParseError {}

/// A control line longer than this without `\r\n` is not NATS (INFO lines are a few hundred
/// bytes; a MSG line is subject + sid + length).
const MAX_CONTROL_LINE: usize = 64 * 1024;

/// Parses the first message in `buf`: `Ok(Some((event, consumed_bytes)))`, or `Ok(None)` when
/// `buf` holds only part of a message.
pub(crate) fn parse(buf: &[u8]) -> Result<Option<(Event<'_>, usize)>, ParseError> {
    let Some(eol) = memchr::memmem::find(buf, b"\r\n") else {
        if buf.len() > MAX_CONTROL_LINE {
            return Err(ParseError("control line too long".into()));
        }
        return Ok(None);
    };
    let line = &buf[..eol];
    let after_line = eol + 2;
    let op_end = line
        .iter()
        .position(|&b| b == b' ' || b == b'\t')
        .unwrap_or(line.len());
    let op = &line[..op_end];
    let args = &line[op_end..];
    let event = if op.eq_ignore_ascii_case(b"MSG") {
        return parse_msg(buf, args, after_line);
    } else if op.eq_ignore_ascii_case(b"PING") {
        Event::Ping
    } else if op.eq_ignore_ascii_case(b"PONG") {
        Event::Pong
    } else if op.eq_ignore_ascii_case(b"+OK") {
        Event::Ok
    } else if op.eq_ignore_ascii_case(b"-ERR") {
        Event::Err(trim(args))
    } else if op.eq_ignore_ascii_case(b"INFO") {
        Event::Info
    } else {
        return Err(ParseError(format!(
            "unexpected line {:?}",
            String::from_utf8_lossy(&line[..line.len().min(80)])
        )));
    };
    Ok(Some((event, after_line)))
}

/// `MSG <subject> <sid> [reply-to] <#bytes>\r\n<payload>\r\n`.
fn parse_msg<'a>(
    buf: &'a [u8],
    args: &[u8],
    payload_at: usize,
) -> Result<Option<(Event<'a>, usize)>, ParseError> {
    let bad = || ParseError(format!("bad MSG line {:?}", String::from_utf8_lossy(args)));
    let mut tokens = args.split(|&b| b == b' ' || b == b'\t').filter(|t| !t.is_empty());
    let (Some(_subject), Some(sid)) = (tokens.next(), tokens.next()) else {
        return Err(bad());
    };
    let last = tokens.next_back().ok_or_else(bad)?;
    let sid = ascii_u64(sid).ok_or_else(bad)?;
    let len = ascii_u64(last).ok_or_else(bad)? as usize;
    let end = payload_at + len;
    if buf.len() < end + 2 {
        return Ok(None);
    }
    if &buf[end..end + 2] != b"\r\n" {
        return Err(ParseError("MSG payload not followed by CRLF".into()));
    }
    Ok(Some((
        Event::Msg {
            sid,
            payload: &buf[payload_at..end],
        },
        end + 2,
    )))
}

fn ascii_u64(s: &[u8]) -> Option<u64> {
    std::str::from_utf8(s).ok()?.parse().ok()
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &s[start..end]
}

/// Parses everything complete in `buf`, calling `on_event` for each message, and removes the
/// consumed bytes from the front of `buf`.
pub(crate) fn drain<E>(
    buf: &mut Vec<u8>,
    mut on_event: impl FnMut(Event<'_>) -> Result<(), E>,
) -> Result<(), E>
where
    E: From<ParseError>,
{
    let mut pos = 0;
    while let Some((event, used)) = parse(&buf[pos..])? {
        pos += used;
        on_event(event)?;
    }
    buf.drain(..pos);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &[u8] = b"INFO {\"server_id\":\"x\",\"max_payload\":1048576}\r\n\
        PING\r\n+OK\r\nMSG bench.1 7 5\r\nhello\r\nMSG a.b 12 reply.to 3\r\n\r\n\n\r\n\
        PONG\r\n-ERR 'Slow Consumer'\r\n";

    fn collect(chunks: &[&[u8]]) -> Vec<String> {
        let mut buf = Vec::new();
        let mut out = Vec::new();
        for chunk in chunks {
            buf.extend_from_slice(chunk);
            drain::<ParseError>(&mut buf, |e| {
                out.push(format!("{e:?}"));
                Ok(())
            })
            .unwrap();
        }
        assert!(buf.is_empty(), "left over: {:?}", String::from_utf8_lossy(&buf));
        out
    }

    #[test]
    fn whole_stream() {
        let events = collect(&[STREAM]);
        assert_eq!(events.len(), 7);
        assert_eq!(events[0], "Info");
        assert_eq!(events[1], "Ping");
        assert_eq!(events[2], "Ok");
        assert_eq!(
            events[3],
            format!(
                "{:?}",
                Event::Msg {
                    sid: 7,
                    payload: b"hello"
                }
            )
        );
        // A payload may contain CR and LF: its length, not a delimiter, ends it.
        assert_eq!(
            events[4],
            format!(
                "{:?}",
                Event::Msg {
                    sid: 12,
                    payload: b"\r\n\n"
                }
            )
        );
        assert_eq!(events[5], "Pong");
        assert_eq!(events[6], format!("{:?}", Event::Err(b"'Slow Consumer'")));
    }

    #[test]
    fn every_split_point_gives_the_same_events() {
        let expected = collect(&[STREAM]);
        for cut in 0..STREAM.len() {
            assert_eq!(
                collect(&[&STREAM[..cut], &STREAM[cut..]]),
                expected,
                "cut at {cut}"
            );
        }
        let bytes: Vec<&[u8]> = STREAM.chunks(1).collect();
        assert_eq!(collect(&bytes), expected);
    }

    #[test]
    fn errors() {
        assert!(parse(b"WHAT\r\n").is_err());
        assert!(parse(b"MSG onlysubject\r\n").is_err());
        assert!(parse(b"MSG s 1 notanumber\r\n").is_err());
        assert!(parse(b"MSG s 1 2\r\nabXY").is_err());
        assert_eq!(parse(b"MSG s 1 2\r\nab"), Ok(None));
        assert!(parse(&vec![b'x'; MAX_CONTROL_LINE + 1]).is_err());
    }
}
