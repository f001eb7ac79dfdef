//! The delta decoder: strict, bounded, never panics on hostile input.

use super::{checksum, digits, FossilError};

/// Largest target [`apply`] agrees to build: 64 MiB. Centrifugo payloads are bounded far lower
/// (the HTTP API body limit and client message limits are in the low MiB range), so a delta that
/// declares more is either corrupt or hostile.
pub const DEFAULT_MAX_OUTPUT: usize = 64 << 20;

/// Applies `delta` to `source`, refusing targets larger than [`DEFAULT_MAX_OUTPUT`].
pub fn apply(source: &[u8], delta: &[u8]) -> Result<Vec<u8>, FossilError> {
    apply_with_limit(source, delta, DEFAULT_MAX_OUTPUT)
}

/// Applies `delta` to `source`, refusing a declared target length above `max_output`.
///
/// Stricter than the SDK decoders, which accept a few sloppy spellings no encoder produces: every
/// integer needs at least one ASCII digit and must fit a `usize`, a copy must end with `,`, and
/// nothing may follow the `;` trailer. Memory grows with the bytes actually produced and never
/// beyond the declared length, so a tiny delta declaring a huge target costs nothing.
pub fn apply_with_limit(source: &[u8], delta: &[u8], max_output: usize) -> Result<Vec<u8>, FossilError> {
    let mut cursor = Cursor { delta, pos: 0 };
    let declared = cursor.integer()?;
    if declared > max_output {
        return Err(FossilError::TargetTooLarge {
            declared,
            max: max_output,
        });
    }
    if cursor.byte() != Some(b'\n') {
        return Err(FossilError::BadHeader);
    }

    let mut out = Output::new(declared, source.len() + delta.len());
    while cursor.pos < delta.len() {
        let count = cursor.integer()?;
        let operator_at = cursor.pos;
        match cursor.byte() {
            Some(b'@') => {
                let offset = cursor.integer()?;
                let comma_at = cursor.pos;
                if cursor.byte() != Some(b',') {
                    return Err(FossilError::CopyNotTerminated { at: comma_at });
                }
                let range = offset
                    .checked_add(count)
                    .filter(|&end| end <= source.len())
                    .map(|end| offset..end)
                    .ok_or(FossilError::CopyOutOfRange {
                        offset,
                        len: count,
                        source_len: source.len(),
                    })?;
                out.push(&source[range])?;
            }
            Some(b':') => {
                let start = cursor.pos;
                let literal = start
                    .checked_add(count)
                    .and_then(|end| delta.get(start..end))
                    .ok_or(FossilError::InsertOutOfRange {
                        at: operator_at,
                        len: count,
                    })?;
                out.push(literal)?;
                cursor.pos += count;
            }
            Some(b';') => {
                let target = out.finish()?;
                let actual = checksum(&target);
                if count != actual as usize {
                    return Err(FossilError::BadChecksum {
                        expected: count,
                        actual,
                    });
                }
                if cursor.pos != delta.len() {
                    return Err(FossilError::TrailingData(delta.len() - cursor.pos));
                }
                return Ok(target);
            }
            _ => return Err(FossilError::UnknownOperator { at: operator_at }),
        }
    }
    Err(FossilError::Unterminated)
}

struct Cursor<'a> {
    delta: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn byte(&mut self) -> Option<u8> {
        let byte = self.delta.get(self.pos).copied();
        self.pos += usize::from(byte.is_some());
        byte
    }

    fn integer(&mut self) -> Result<usize, FossilError> {
        match digits::read(self.delta, self.pos) {
            digits::Read::Value(value, end) => {
                self.pos = end;
                Ok(value)
            }
            digits::Read::Missing => Err(FossilError::ExpectedInteger { at: self.pos }),
            digits::Read::Overflow => Err(FossilError::IntegerOverflow { at: self.pos }),
        }
    }
}

/// The target under construction, never longer nor larger in capacity than declared.
struct Output {
    buf: Vec<u8>,
    declared: usize,
}

impl Output {
    /// `likely` is a size most real deltas stay within (source plus delta: everything copied or
    /// inserted once), so the common case allocates exactly once.
    fn new(declared: usize, likely: usize) -> Self {
        Output {
            buf: Vec::with_capacity(declared.min(likely)),
            declared,
        }
    }

    fn push(&mut self, bytes: &[u8]) -> Result<(), FossilError> {
        let len = self.buf.len();
        if bytes.len() > self.declared - len {
            return Err(FossilError::OutputTooLong {
                declared: self.declared,
            });
        }
        if bytes.len() > self.buf.capacity() - len {
            // Grow geometrically like Vec would, but never past the declared length.
            let wanted = (self.buf.capacity() * 2).clamp(len + bytes.len(), self.declared);
            self.buf.reserve_exact(wanted - len);
        }
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    fn finish(self) -> Result<Vec<u8>, FossilError> {
        if self.buf.len() != self.declared {
            return Err(FossilError::OutputTooShort {
                declared: self.declared,
                actual: self.buf.len(),
            });
        }
        Ok(self.buf)
    }
}
