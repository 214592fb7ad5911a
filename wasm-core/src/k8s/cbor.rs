//! CBOR to JSON, for Kubernetes' CBOR storage of custom resources (alpha in 1.32+).
//!
//! Kubernetes writes the self-describing tag 55799 first and encodes Go strings as
//! CBOR byte strings, so a byte string that is valid UTF-8 becomes a JSON string;
//! other byte strings become base64 (or hex/base64url under tags 23/21). Tags other
//! than those are skipped (their content is kept).
//!
//! Invariants: never panics; nesting bounded by [`MAX_DEPTH`]; a declared length is
//! checked against the bytes left before anything is allocated for it.

use base64::Engine as _;
use serde_json::{Map, Number, Value};

/// Deepest nesting of arrays, maps and tags decoded.
const MAX_DEPTH: u32 = 128;

/// What went wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("{what} at byte {offset}")]
pub struct CborError {
    pub offset: u64,
    pub what: &'static str,
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

enum Enc {
    None,
    Base64Url,
    Base64,
    Hex,
}

/// Decodes one CBOR item (and requires nothing but whitespace after it).
pub fn cbor_to_json(bytes: &[u8]) -> Result<Value, CborError> {
    let mut c = Cursor { buf: bytes, pos: 0 };
    let v = c.item(0, &Enc::None)?;
    if c.buf
        .get(c.pos..)
        .is_some_and(|rest| !rest.trim_ascii().is_empty())
    {
        return Err(c.err("trailing bytes after the CBOR item"));
    }
    Ok(v)
}

impl Cursor<'_> {
    fn err(&self, what: &'static str) -> CborError {
        CborError {
            offset: u64::try_from(self.pos).unwrap_or(u64::MAX),
            what,
        }
    }

    fn byte(&mut self) -> Result<u8, CborError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| self.err("truncated"))?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: u64) -> Result<&[u8], CborError> {
        let n = usize::try_from(n).map_err(|_| self.err("length too large"))?;
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| self.err("length too large"))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| self.err("truncated"))?;
        self.pos = end;
        Ok(s)
    }

    fn uint(&mut self, info: u8) -> Result<u64, CborError> {
        let n = match info {
            0..=23 => return Ok(u64::from(info)),
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            _ => return Err(self.err("invalid additional information")),
        };
        let b = self.take(n)?;
        Ok(b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    }

    /// A count of items that each take at least one byte: must fit in what is left.
    fn count(&mut self, info: u8) -> Result<usize, CborError> {
        let n = self.uint(info)?;
        let left = self.buf.len() - self.pos;
        match usize::try_from(n) {
            Ok(n) if n <= left => Ok(n),
            _ => Err(self.err("count exceeds the bytes left")),
        }
    }

    fn string_bytes(&mut self, major: u8, info: u8) -> Result<Vec<u8>, CborError> {
        if info != 31 {
            let n = self.uint(info)?;
            return Ok(self.take(n)?.to_vec());
        }
        let mut out = Vec::new();
        loop {
            let b = self.byte()?;
            if b == 0xff {
                return Ok(out);
            }
            if b >> 5 != major || b & 31 == 31 {
                return Err(self.err("bad chunk in indefinite-length string"));
            }
            let n = self.uint(b & 31)?;
            out.extend_from_slice(self.take(n)?);
        }
    }

    fn item(&mut self, depth: u32, enc: &Enc) -> Result<Value, CborError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deep"));
        }
        let b = self.byte()?;
        let (major, info) = (b >> 5, b & 31);
        Ok(match major {
            0 => Value::from(self.uint(info)?),
            1 => {
                let n = self.uint(info)?;
                match i64::try_from(n) {
                    Ok(n) => Value::from(-1 - n),
                    Err(_) => Value::from(-1.0 - n as f64),
                }
            }
            2 => {
                let bytes = self.string_bytes(2, info)?;
                match enc {
                    Enc::Base64 => {
                        Value::String(base64::engine::general_purpose::STANDARD.encode(&bytes))
                    }
                    Enc::Base64Url => Value::String(
                        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes),
                    ),
                    Enc::Hex => Value::String(hex::encode(&bytes)),
                    Enc::None => match String::from_utf8(bytes) {
                        Ok(s) => Value::String(s),
                        Err(e) => Value::String(
                            base64::engine::general_purpose::STANDARD.encode(e.as_bytes()),
                        ),
                    },
                }
            }
            3 => Value::String(String::from_utf8_lossy(&self.string_bytes(3, info)?).into_owned()),
            4 => {
                let mut a = Vec::new();
                if info == 31 {
                    while self.buf.get(self.pos) != Some(&0xff) {
                        a.push(self.item(depth + 1, enc)?);
                    }
                    self.pos += 1;
                } else {
                    for _ in 0..self.count(info)? {
                        a.push(self.item(depth + 1, enc)?);
                    }
                }
                Value::Array(a)
            }
            5 => {
                let mut m = Map::new();
                let n = if info == 31 {
                    None
                } else {
                    Some(self.count(info)?)
                };
                let mut i = 0;
                loop {
                    match n {
                        Some(n) if i >= n => break,
                        None if self.buf.get(self.pos) == Some(&0xff) => {
                            self.pos += 1;
                            break;
                        }
                        _ => {}
                    }
                    let k = match self.item(depth + 1, &Enc::None)? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    let v = self.item(depth + 1, enc)?;
                    m.insert(k, v);
                    i += 1;
                }
                Value::Object(m)
            }
            6 => {
                let tag = self.uint(info)?;
                let inner = match tag {
                    21 => Enc::Base64Url,
                    22 => Enc::Base64,
                    23 => Enc::Hex,
                    _ => Enc::None,
                };
                self.item(
                    depth + 1,
                    if matches!(inner, Enc::None) {
                        enc
                    } else {
                        &inner
                    },
                )?
            }
            _ => match info {
                20 => Value::Bool(false),
                21 => Value::Bool(true),
                22 | 23 => Value::Null,
                25 => float(half(u16::try_from(self.uint(25)?).unwrap_or(0))),
                26 => float(f64::from(f32::from_bits(
                    u32::try_from(self.uint(26)?).unwrap_or(0),
                ))),
                27 => float(f64::from_bits(self.uint(27)?)),
                _ => return Err(self.err("unsupported simple value")),
            },
        })
    }
}

fn float(f: f64) -> Value {
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// IEEE 754 half precision to f64.
fn half(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let frac = f64::from(h & 0x3ff);
    sign * match exp {
        0 => frac * 2f64.powi(-24),
        31 => {
            if frac == 0.0 {
                f64::INFINITY
            } else {
                f64::NAN
            }
        }
        e => (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_a_self_described_object() {
        // 55799({"kind": h'Foo', "n": -2, "ok": true, "l": [1.5], "b": 22(h'0001')})
        let bytes = [
            0xd9, 0xd9, 0xf7, 0xa5, 0x44, b'k', b'i', b'n', b'd', 0x43, b'F', b'o', b'o', 0x61,
            b'n', 0x21, 0x62, b'o', b'k', 0xf5, 0x61, b'l', 0x81, 0xf9, 0x3e, 0x00, 0x61, b'b',
            0xd6, 0x42, 0x00, 0x01,
        ];
        assert_eq!(
            cbor_to_json(&bytes),
            Ok(json!({"kind": "Foo", "n": -2, "ok": true, "l": [1.5], "b": "AAE="}))
        );
    }

    #[test]
    fn huge_counts_fail_without_allocating() {
        assert!(cbor_to_json(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(cbor_to_json(&[0x5a, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(cbor_to_json(&[0x81; 1000]).is_err());
    }
}
