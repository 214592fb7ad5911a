//! A [`Part`] as bytes, so another worker (a browser's Web Worker, which
//! shares no memory) can walk it and hand it back.
//!
//! ```text
//! magic "ELP1"
//! u8 kind            1: a part follows; 0: refused (nothing follows)
//! u32 hash           CRC32-Castagnoli of the part's hashed bytes
//! u64 hashed         how many bytes were hashed
//! u64 total_key      entries met (3.5's count)
//! i64 revision       the main revision of the part's last key
//! u8  has_first      then, if 1: u32 len, the first key
//! u32 len            the last key
//! u8  live           0: no live keys kept; 1: u64 count, then per user key
//!                    u32 len, the key, u8 (1: live, 0: deleted); 2: every
//!                    entry checked, the live keys counted from a key index
//! u64 hwm            the pages the `seen` bitmap covers (the file's high-water mark)
//!                    then ⌈hwm / 8⌉ bytes: page i is bit i % 8 of byte i / 8
//! u32 len            the walk's warnings as JSON (`Vec<Problem>`)
//! u32 count          bucket statistics, each: u32 len + UTF-8 name, u32 depth,
//!                    u64 entries, nested_buckets, key_bytes, value_bytes,
//!                    branch_pages, leaf_pages, overflow_pages, u8 inline
//! ```
//! Integers are little-endian. A part that met anything the combination
//! refuses (a key that does not parse, a check problem) is sent as *refused*
//! only: the caller then walks the file once itself, which reports it.
//!
//! Decoding never panics and never allocates more than the bytes justify
//! (every length is checked against what is left); the bytes come from our
//! own worker, but a bug there must not become a wrong number here.

use super::Part;
use crate::bolt::check::PartWalk;
use crate::bolt::{BucketStats, PageId, PageSet, Problem};
use crate::status::tally::{KeyStates, Live, Tally};

const MAGIC: &[u8; 4] = b"ELP1";
const KIND_REFUSED: u8 = 0;
const KIND_PART: u8 = 1;

/// Why bytes are not a part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartBytesError {
    #[error("the part's walker met something only the one walk reports")]
    Refused,
    #[error("not a walked part (no ELP1 magic)")]
    Magic,
    #[error("the part ends inside its {what} at byte {at}: {need} more bytes needed")]
    Short {
        what: &'static str,
        at: usize,
        need: usize,
    },
    #[error("the part's {what} is malformed: {reason}")]
    Malformed { what: &'static str, reason: String },
    #[error("the part covers {got} pages, the file {want}")]
    HighWater { got: u64, want: u64 },
    #[error("{0} bytes follow the part")]
    Trailing(usize),
}

impl Part {
    /// Whether the combination would refuse this part anyway.
    fn refused(&self) -> bool {
        self.tally.failure.is_some()
            || self.tally.v36_failure.is_some()
            || !self.walk.problems.is_empty()
    }

    /// The part as bytes (the layout above), walked in a file of `hwm` pages.
    pub fn to_bytes(&self, hwm: PageId) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        if self.refused() {
            out.push(KIND_REFUSED);
            return out;
        }
        out.push(KIND_PART);
        let t = &self.tally;
        out.extend_from_slice(&t.hash.to_le_bytes());
        out.extend_from_slice(&t.hashed.to_le_bytes());
        out.extend_from_slice(&t.total_key.to_le_bytes());
        out.extend_from_slice(&t.revision.to_le_bytes());
        match &self.first_key {
            Some(k) => {
                out.push(1);
                put_bytes(&mut out, k);
            }
            None => out.push(0),
        }
        put_bytes(&mut out, &self.last_key);
        match &t.live {
            Live::Last(m) => {
                out.push(1);
                out.extend_from_slice(&(m.len() as u64).to_le_bytes());
                for (k, live) in m {
                    put_bytes(&mut out, k);
                    out.push(u8::from(*live));
                }
            }
            // `Set` belongs to the one walk, never to a part.
            Live::Checked => out.push(2),
            Live::Off | Live::Set(_) => out.push(0),
        }
        let seen = &self.walk.seen;
        let hwm = hwm.0;
        out.extend_from_slice(&hwm.to_le_bytes());
        let start = out.len();
        out.resize(start + usize::try_from(hwm.div_ceil(8)).unwrap_or(0), 0);
        for id in 0..hwm {
            if seen.contains(PageId(id)) {
                let i = start + usize::try_from(id / 8).unwrap_or(0);
                out[i] |= 1 << (id % 8);
            }
        }
        // Problems serialise to JSON without fail (plain strings and numbers).
        let warnings = serde_json::to_vec(&self.walk.warnings).unwrap_or_default();
        put_bytes(&mut out, &warnings);
        put_len(&mut out, self.walk.buckets.len());
        for b in &self.walk.buckets {
            put_bytes(&mut out, b.name.as_bytes());
            out.extend_from_slice(&b.depth.to_le_bytes());
            for n in [
                b.entries,
                b.nested_buckets,
                b.key_bytes,
                b.value_bytes,
                b.branch_pages,
                b.leaf_pages,
                b.overflow_pages,
            ] {
                out.extend_from_slice(&n.to_le_bytes());
            }
            out.push(u8::from(b.inline));
        }
        out
    }

    /// A part from [`to_bytes`](Self::to_bytes), for a file of `hwm` pages.
    pub fn from_bytes(bytes: &[u8], hwm: PageId) -> Result<Part, PartBytesError> {
        let mut r = Reader { bytes, at: 0 };
        if r.take(4, "magic")? != MAGIC {
            return Err(PartBytesError::Magic);
        }
        match r.u8("kind")? {
            KIND_PART => {}
            KIND_REFUSED => return Err(PartBytesError::Refused),
            k => return Err(malformed("kind", format!("unknown kind {k}"))),
        }
        let hash = r.u32("hash")?;
        let hashed = r.u64("hashed length")?;
        let total_key = r.u64("key count")?;
        let revision = i64::from_le_bytes(r.array("revision")?);
        let first_key = match r.u8("first key")? {
            0 => None,
            1 => Some(r.bytes("first key")?.to_vec()),
            f => return Err(malformed("first key", format!("flag {f}"))),
        };
        let last_key = r.bytes("last key")?.to_vec();
        let live = match r.u8("live keys")? {
            0 => Live::Off,
            2 => Live::Checked,
            1 => {
                let n = r.u64("live keys")?;
                // Each entry takes at least 5 bytes: a count beyond that is a lie.
                if n > (r.left() / 5) as u64 {
                    return Err(malformed(
                        "live keys",
                        format!("{n} keys in {} bytes", r.left()),
                    ));
                }
                let mut m = KeyStates::with_capacity_and_hasher(
                    usize::try_from(n).unwrap_or(0),
                    Default::default(),
                );
                for _ in 0..n {
                    let k = r.bytes("live key")?.to_vec();
                    let live = match r.u8("live flag")? {
                        0 => false,
                        1 => true,
                        f => return Err(malformed("live flag", format!("flag {f}"))),
                    };
                    if m.insert(k, live).is_some() {
                        return Err(malformed("live keys", "a key twice".into()));
                    }
                }
                Live::Last(m)
            }
            f => return Err(malformed("live keys", format!("flag {f}"))),
        };
        let got = r.u64("high-water mark")?;
        if got != hwm.0 {
            return Err(PartBytesError::HighWater { got, want: hwm.0 });
        }
        let bitmap = r.take(
            usize::try_from(got.div_ceil(8)).unwrap_or(usize::MAX),
            "page bitmap",
        )?;
        let mut seen = PageSet::new(hwm);
        for (i, &byte) in bitmap.iter().enumerate() {
            for bit in 0..8 {
                let id = i as u64 * 8 + bit;
                if byte & (1 << bit) != 0 {
                    if id >= got {
                        return Err(malformed("page bitmap", format!("page {id} ≥ {got}")));
                    }
                    seen.insert(PageId(id));
                }
            }
        }
        let warnings: Vec<Problem> = serde_json::from_slice(r.bytes("warnings")?)
            .map_err(|e| malformed("warnings", e.to_string()))?;
        let n = r.u32("bucket count")?;
        // Each bucket takes at least 65 bytes (an empty name, depth, 7 counts, flag).
        if n as usize > r.left() / 65 {
            return Err(malformed(
                "buckets",
                format!("{n} buckets in {} bytes", r.left()),
            ));
        }
        let mut buckets = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let name = String::from_utf8(r.bytes("bucket name")?.to_vec())
                .map_err(|e| malformed("bucket name", e.to_string()))?;
            let depth = r.u32("bucket depth")?;
            let mut c = [0u64; 7];
            for v in &mut c {
                *v = r.u64("bucket counts")?;
            }
            let inline = match r.u8("bucket inline flag")? {
                0 => false,
                1 => true,
                f => return Err(malformed("bucket inline flag", format!("flag {f}"))),
            };
            let [
                entries,
                nested_buckets,
                key_bytes,
                value_bytes,
                branch_pages,
                leaf_pages,
                overflow_pages,
            ] = c;
            buckets.push(BucketStats {
                name,
                depth,
                entries,
                nested_buckets,
                key_bytes,
                value_bytes,
                branch_pages,
                leaf_pages,
                overflow_pages,
                inline,
            });
        }
        if r.left() != 0 {
            return Err(PartBytesError::Trailing(r.left()));
        }
        let mut tally = Tally::new(live);
        tally.hash = hash;
        tally.hashed = hashed;
        tally.total_key = total_key;
        tally.revision = revision;
        Ok(Part {
            tally,
            first_key,
            last_key,
            walk: PartWalk {
                seen,
                problems: Vec::new(),
                warnings,
                buckets,
            },
        })
    }
}

fn malformed(what: &'static str, reason: String) -> PartBytesError {
    PartBytesError::Malformed { what, reason }
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_len(out, b.len());
    out.extend_from_slice(b);
}

/// Keys, pages and bucket counts are far below 4 Gi; one that is not is
/// written as `u32::MAX`, which no decoder reads back (the bytes run short).
fn put_len(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], PartBytesError> {
        let Some(b) = self
            .at
            .checked_add(n)
            .and_then(|e| self.bytes.get(self.at..e))
        else {
            return Err(PartBytesError::Short {
                what,
                at: self.at,
                need: n.saturating_sub(self.left()),
            });
        };
        self.at += n;
        Ok(b)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], PartBytesError> {
        let b = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(b);
        Ok(a)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, PartBytesError> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, PartBytesError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, PartBytesError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], PartBytesError> {
        let n = self.u32(what)? as usize;
        self.take(n, what)
    }
}
