//! The storage envelope of Kubernetes protobuf values.
//!
//! ```text
//! +----------------+------------------------------------------------------+
//! | "k8s" 0x00     | runtime.Unknown (protobuf)                           |
//! | 4 bytes, MAGIC |   1: typeMeta { 1: apiVersion, 2: kind }             |
//! |                |   2: raw             the object's own protobuf bytes |
//! |                |   3: contentEncoding (empty in etcd)                 |
//! |                |   4: contentType     (empty = protobuf)              |
//! +----------------+------------------------------------------------------+
//! ```
//!
//! Borrowing: [`Envelope`] points into the value; nothing is copied.

use super::wire::{Reader, WireError, WireValue};

/// First bytes of every Kubernetes protobuf value.
pub const MAGIC: &[u8; 4] = b"k8s\0";

const UNKNOWN_TYPE_META: u32 = 1;
const UNKNOWN_RAW: u32 = 2;
const UNKNOWN_CONTENT_ENCODING: u32 = 3;
const UNKNOWN_CONTENT_TYPE: u32 = 4;
const TYPE_META_API_VERSION: u32 = 1;
const TYPE_META_KIND: u32 = 2;

/// A parsed `runtime.Unknown`, borrowing the value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Envelope<'a> {
    pub api_version: String,
    pub kind: String,
    /// The object's protobuf; offsets in errors are relative to the whole value.
    pub raw: &'a [u8],
    /// Offset of `raw` in the value.
    pub raw_offset: u64,
    pub content_encoding: String,
    pub content_type: String,
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Parses `value` (starting with [`MAGIC`]). `None` if the magic is absent.
pub fn parse_envelope(value: &[u8]) -> Option<Result<Envelope<'_>, WireError>> {
    let body = value.strip_prefix(MAGIC.as_slice())?;
    Some(parse_unknown(body, 4))
}

fn parse_unknown(body: &[u8], base: u64) -> Result<Envelope<'_>, WireError> {
    let mut env = Envelope::default();
    let mut r = Reader::new(body, base);
    while let Some(field) = r.next_field() {
        let (number, value, at) = field?;
        let WireValue::Len(b) = value else { continue };
        match number {
            UNKNOWN_TYPE_META => {
                let mut tm = Reader::new(b, at);
                while let Some(f) = tm.next_field() {
                    match f? {
                        (TYPE_META_API_VERSION, WireValue::Len(s), _) => env.api_version = text(s),
                        (TYPE_META_KIND, WireValue::Len(s), _) => env.kind = text(s),
                        _ => {}
                    }
                }
            }
            UNKNOWN_RAW => {
                env.raw = b;
                env.raw_offset = at;
            }
            UNKNOWN_CONTENT_ENCODING => env.content_encoding = text(b),
            UNKNOWN_CONTENT_TYPE => env.content_type = text(b),
            _ => {}
        }
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_type_meta_and_raw() {
        let mut v = MAGIC.to_vec();
        v.extend([
            0x0a, 9, 0x0a, 2, b'v', b'1', 0x12, 3, b'P', b'o', b'd', 0x12, 2, 0x08, 1,
        ]);
        let env = parse_envelope(&v).and_then(Result::ok);
        assert_eq!(
            env,
            Some(Envelope {
                api_version: "v1".into(),
                kind: "Pod".into(),
                raw: &[0x08, 1],
                raw_offset: 17,
                ..Envelope::default()
            })
        );
        assert!(parse_envelope(b"{}").is_none());
    }
}
