//! Protobuf wire format, read-only: a field iterator over borrowed bytes.
//!
//! What it does: splits a message into (field number, wire value) pairs, checking
//! every length against the bytes present. What it does not: know any schema.
//!
//! Invariants: never panics, never allocates; a short or malformed input yields a
//! [`WireError`] with the absolute byte offset (relative to the buffer the caller
//! started from, via `base`). Groups (wire types 3 and 4) are rejected: Kubernetes
//! never writes them and accepting them would need a second, nested grammar.

/// What went wrong while reading protobuf bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum WireProblem {
    #[error("truncated: needed {needed} bytes, {available} present")]
    Truncated { needed: u64, available: u64 },
    #[error("varint longer than 10 bytes")]
    VarintOverflow,
    #[error("unsupported wire type {wire_type}")]
    WireType { wire_type: u8 },
    #[error("field number 0")]
    ZeroFieldNumber,
    #[error("nested deeper than {limit} messages")]
    TooDeep { limit: u32 },
}

/// A [`WireProblem`] at a byte offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("{problem} at byte {offset}")]
pub struct WireError {
    /// Offset from the start of the outermost buffer being decoded.
    pub offset: u64,
    pub problem: WireProblem,
}

/// One field's payload as the wire carries it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum WireValue<'a> {
    Varint(u64),
    Fixed64(u64),
    /// Length-delimited: bytes, string, nested message or packed scalars.
    Len(&'a [u8]),
    Fixed32(u32),
}

impl WireValue<'_> {
    pub(crate) fn wire_name(&self) -> &'static str {
        match self {
            WireValue::Varint(_) => "varint",
            WireValue::Fixed64(_) => "fixed64",
            WireValue::Len(_) => "len",
            WireValue::Fixed32(_) => "fixed32",
        }
    }
}

/// Iterates the fields of one message.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Offset of `buf[0]` in the outermost buffer, for error messages.
    base: u64,
}

fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], base: u64) -> Self {
        Reader { buf, pos: 0, base }
    }

    /// Offset (in the outermost buffer) of the next unread byte.
    pub(crate) fn offset(&self) -> u64 {
        self.base.saturating_add(to_u64(self.pos))
    }

    fn err(&self, problem: WireProblem) -> WireError {
        WireError {
            offset: self.offset(),
            problem,
        }
    }

    pub(crate) fn varint(&mut self) -> Result<u64, WireError> {
        let mut v: u64 = 0;
        for i in 0..10u32 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(self.err(WireProblem::Truncated {
                    needed: 1,
                    available: 0,
                }));
            };
            self.pos += 1;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.err(WireProblem::VarintOverflow))
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], WireError> {
        let available = self.buf.len() - self.pos;
        let Some(bytes) = usize::try_from(n)
            .ok()
            .and_then(|n| self.buf.get(self.pos..self.pos.checked_add(n)?))
        else {
            return Err(self.err(WireProblem::Truncated {
                needed: n,
                available: to_u64(available),
            }));
        };
        self.pos += bytes.len();
        Ok(bytes)
    }

    /// The next field, `None` at the end of the message. Returns the field number,
    /// the value and the offset of the value's first byte.
    pub(crate) fn next_field(&mut self) -> Option<Result<(u32, WireValue<'a>, u64), WireError>> {
        if self.pos >= self.buf.len() {
            return None;
        }
        Some(self.field())
    }

    fn field(&mut self) -> Result<(u32, WireValue<'a>, u64), WireError> {
        let start = self.offset();
        let key = self.varint()?;
        let wire_type = u8::try_from(key & 7).unwrap_or(u8::MAX);
        let Ok(number) = u32::try_from(key >> 3) else {
            return Err(WireError {
                offset: start,
                problem: WireProblem::VarintOverflow,
            });
        };
        if number == 0 {
            return Err(WireError {
                offset: start,
                problem: WireProblem::ZeroFieldNumber,
            });
        }
        let at = self.offset();
        let value = match wire_type {
            0 => WireValue::Varint(self.varint()?),
            1 => {
                let b = self.take(8)?;
                WireValue::Fixed64(u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
            }
            2 => {
                let n = self.varint()?;
                let at = self.offset();
                return Ok((number, WireValue::Len(self.take(n)?), at));
            }
            5 => {
                let b = self.take(4)?;
                WireValue::Fixed32(u32::from_le_bytes(b.try_into().unwrap_or([0; 4])))
            }
            _ => {
                return Err(WireError {
                    offset: start,
                    problem: WireProblem::WireType { wire_type },
                });
            }
        };
        Ok((number, value, at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_wire_type() {
        // field 1 varint 150; field 2 len "hi"; field 3 fixed64 1; field 4 fixed32 2
        let buf = [
            0x08, 0x96, 0x01, 0x12, 0x02, b'h', b'i', 0x19, 1, 0, 0, 0, 0, 0, 0, 0, 0x25, 2, 0, 0,
            0,
        ];
        let mut r = Reader::new(&buf, 0);
        let got: Vec<_> = std::iter::from_fn(|| r.next_field())
            .map(|f| f.map(|(n, v, _)| (n, v)))
            .collect();
        assert_eq!(
            got,
            vec![
                Ok((1, WireValue::Varint(150))),
                Ok((2, WireValue::Len(b"hi"))),
                Ok((3, WireValue::Fixed64(1))),
                Ok((4, WireValue::Fixed32(2))),
            ]
        );
    }

    #[test]
    fn short_length_names_offset_and_sizes() {
        let buf = [0x0a, 0x05, b'a', b'b'];
        let mut r = Reader::new(&buf, 100);
        let err = r.next_field().and_then(Result::err);
        assert_eq!(
            err,
            Some(WireError {
                offset: 102,
                problem: WireProblem::Truncated {
                    needed: 5,
                    available: 2
                }
            })
        );
    }

    #[test]
    fn rejects_groups_zero_field_and_long_varints() {
        let e = |buf: &[u8]| {
            Reader::new(buf, 0)
                .next_field()
                .and_then(Result::err)
                .map(|e| e.problem)
        };
        assert_eq!(e(&[0x0b]), Some(WireProblem::WireType { wire_type: 3 }));
        assert_eq!(e(&[0x00, 0x01]), Some(WireProblem::ZeroFieldNumber));
        assert_eq!(
            e(&[
                0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
            ]),
            Some(WireProblem::VarintOverflow)
        );
    }
}
