//! The SHA-256 trailer that `etcdctl snapshot save` appends.
//!
//! ```text
//! +---------------------------------+----------------------------+
//! | bbolt database (N × 512 bytes)  | sha256(database) (32 bytes) |
//! +---------------------------------+----------------------------+
//! ```
//! etcd decides a file "has a hash" exactly when `size % 512 == 32`
//! (`server/etcdserver/api/snap` and `etcdutl` restore); a raw member `db` file
//! has no trailer. Hashing is streamed: callers feed slices in order, so the
//! browser can show progress and nothing holds the whole file.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::source::{ReadAt, SourceError};

/// Length of the trailer: one SHA-256 digest.
pub const TRAILER_LEN: u64 = 32;
/// etcd's rule: a file has a trailer when its size modulo this is [`TRAILER_LEN`].
pub const TRAILER_ALIGN: u64 = 512;

/// Whether a file of `file_len` bytes carries a trailer, by etcd's rule.
pub fn has_trailer(file_len: u64) -> bool {
    file_len % TRAILER_ALIGN == TRAILER_LEN
}

/// Length of the bbolt database inside a file of `file_len` bytes.
pub fn database_len(file_len: u64) -> u64 {
    if has_trailer(file_len) {
        file_len - TRAILER_LEN
    } else {
        file_len
    }
}

/// What the trailer check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TrailerStatus {
    /// No trailer: a raw member `db` file (or a snapshot that lost its tail).
    Absent,
    /// The stored digest equals the digest of the database bytes.
    Verified { sha256: String },
    /// The stored digest differs: the file was altered or truncated.
    Mismatch { stored: String, computed: String },
}

impl TrailerStatus {
    /// A one-line, human explanation.
    pub fn describe(&self) -> String {
        match self {
            Self::Absent => {
                "no SHA-256 trailer: a raw member db file, not `etcdctl snapshot save` output"
                    .into()
            }
            Self::Verified { .. } => "SHA-256 trailer verified".into(),
            Self::Mismatch { stored, computed } => format!(
                "SHA-256 mismatch: the trailer says {stored} but the database hashes to {computed}; the file was altered or truncated"
            ),
        }
    }
}

/// Streaming verifier: feed every byte of the file in order, then [`finish`](Self::finish).
pub struct TrailerVerifier {
    file_len: u64,
    db_len: u64,
    fed: u64,
    hasher: Sha256,
    stored: Vec<u8>,
}

impl TrailerVerifier {
    pub fn new(file_len: u64) -> Self {
        Self {
            file_len,
            db_len: database_len(file_len),
            fed: 0,
            hasher: Sha256::new(),
            stored: Vec::new(),
        }
    }

    /// Bytes fed so far.
    pub fn fed(&self) -> u64 {
        self.fed
    }

    /// Whether this file has a trailer to verify at all.
    pub fn has_trailer(&self) -> bool {
        self.db_len != self.file_len
    }

    /// Feed the next slice of the file (in order, from offset 0).
    pub fn update(&mut self, chunk: &[u8]) {
        let start = self.fed;
        let end = start + chunk.len() as u64;
        // The part of this chunk that belongs to the database.
        let db_part = self.db_len.saturating_sub(start).min(chunk.len() as u64);
        let (db, tail) = chunk.split_at(usize::try_from(db_part).unwrap_or(chunk.len()));
        self.hasher.update(db);
        let room = usize::try_from(TRAILER_LEN)
            .unwrap_or(32)
            .saturating_sub(self.stored.len());
        self.stored.extend_from_slice(&tail[..tail.len().min(room)]);
        self.fed = end;
    }

    /// Finish: `None` when not every byte was fed.
    pub fn finish(self) -> Option<TrailerStatus> {
        if self.fed != self.file_len {
            return None;
        }
        if !self.has_trailer() {
            return Some(TrailerStatus::Absent);
        }
        let computed = hex::encode(self.hasher.finalize());
        let stored = hex::encode(&self.stored);
        Some(if computed == stored {
            TrailerStatus::Verified { sha256: computed }
        } else {
            TrailerStatus::Mismatch { stored, computed }
        })
    }
}

/// Verify a whole source, reading `chunk_len` bytes at a time and reporting the
/// bytes done after each chunk. Skips the hashing when there is no trailer.
pub fn verify(
    src: &dyn ReadAt,
    chunk_len: usize,
    mut progress: impl FnMut(u64),
) -> Result<TrailerStatus, SourceError> {
    let len = src.len();
    let mut v = TrailerVerifier::new(len);
    if !v.has_trailer() {
        return Ok(TrailerStatus::Absent);
    }
    let mut buf = vec![0u8; chunk_len.max(1)];
    let mut off = 0u64;
    while off < len {
        let n = usize::try_from((len - off).min(buf.len() as u64)).unwrap_or(buf.len());
        src.read_exact_at(off, &mut buf[..n])?;
        v.update(&buf[..n]);
        off += n as u64;
        progress(off);
    }
    Ok(v.finish().unwrap_or(TrailerStatus::Absent))
}

#[cfg(test)]
// Test builders cast small, known lengths to the file's field widths.
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use crate::source::MemSource;

    fn snapshot_of(db: &[u8]) -> Vec<u8> {
        let mut f = db.to_vec();
        f.extend_from_slice(&Sha256::digest(db));
        f
    }

    #[test]
    fn etcd_rule_for_trailers() {
        assert!(has_trailer(4096 * 5 + 32));
        assert!(!has_trailer(4096 * 5));
        assert!(!has_trailer(31));
        assert_eq!(database_len(1024 + 32), 1024);
        assert_eq!(database_len(1024), 1024);
    }

    #[test]
    fn verifies_in_any_chunk_size() {
        let db: Vec<u8> = (0..4096u32 * 3).map(|i| (i * 7) as u8).collect();
        let file = snapshot_of(&db);
        for chunk in [1, 7, 31, 32, 33, 4096, 1 << 20] {
            let st = verify(&MemSource(&file), chunk, |_| {}).unwrap();
            assert!(
                matches!(st, TrailerStatus::Verified { .. }),
                "chunk {chunk}: {st:?}"
            );
        }
    }

    #[test]
    fn one_flipped_byte_is_a_mismatch() {
        let db = vec![0xAB; 1024];
        let mut file = snapshot_of(&db);
        file[100] ^= 1;
        let st = verify(&MemSource(&file), 100, |_| {}).unwrap();
        let TrailerStatus::Mismatch { stored, computed } = st else {
            panic!("{st:?}")
        };
        assert_ne!(stored, computed);
        assert_eq!(stored, hex::encode(Sha256::digest(&db)));
    }

    #[test]
    fn raw_db_has_no_trailer_and_progress_is_reported() {
        let db = vec![0u8; 4096 * 2];
        let mut seen = 0;
        assert_eq!(
            verify(&MemSource(&db), 512, |d| seen = d).unwrap(),
            TrailerStatus::Absent
        );
        assert_eq!(seen, 0, "no hashing without a trailer");
        let file = snapshot_of(&db);
        verify(&MemSource(&file), 512, |d| seen = d).unwrap();
        assert_eq!(seen, file.len() as u64);
    }

    #[test]
    fn unfinished_feed_gives_none() {
        let mut v = TrailerVerifier::new(1024 + 32);
        v.update(&[0; 10]);
        assert!(v.finish().is_none());
    }
}
