//! Layers around a snapshot: compression and encryption, found by magic bytes.
//!
//! Backups arrive wrapped: k3s/rke2 write `.zip`, talos-backup zstd then age,
//! gardener gzip. [`detect`] names the outermost layer from the first bytes;
//! a caller peels layers one at a time until it reaches bbolt:
//!
//! ```text
//! loop (at most MAX_LAYERS):
//!   Bbolt         → open it
//!   Age(Binary)   → age::AgeSource over it (random access, no spool)
//!   Age(Armored)  → age::dearmor into a spool, continue on the spool
//!   Zstd with a seek table at its end (zstd's seekable format)
//!                 → SeekableZstd over it (random access, no spool)
//!   Gzip/Zstd/Zip → decompress into a spool, continue on the spool
//!   Unknown       → error
//! ```
//!
//! A compressed stream cannot be read at random, so [`decompress`] streams the
//! whole plaintext into a caller's [`Sink`] (a private temp file natively, the
//! origin-private file system in the browser). The decoders are pure Rust
//! (`flate2` on `miniz_oxide`, `ruzstd`; zip's records are parsed in
//! `zip.rs`) and build for wasm32. Output is capped by a caller-given limit, so a
//! decompression bomb stops with [`ContainerError::TooLarge`].
//!
//! Input is read through [`ReadAt`] sequentially, in 1 MiB reads: the source is
//! already random-access (a Blob, a file, a decrypting [`crate::age::AgeSource`]),
//! and pulling lets the decoders own their framing (zstd blocks need whole
//! blocks). Progress and cancellation go through the sink: a sink that returns
//! an error stops the work.
//!
//! A zstd file is opened at random instead when its tail is a valid seek
//! table (`seekable.rs`): independent frames, each decompressed only when a
//! read touches it. A table that does not hold up is not an error here: the
//! file is streamed like any zstd file, and the streaming decoder judges it.
//!
//! Files: this one (detection, the peeling plan, gzip, which is one decoder
//! call); `zstd.rs`, `seekable.rs` and `zip.rs`, the codecs that need more;
//! `stream.rs`, the read/limit/copy plumbing they share; `error.rs`.

mod error;
mod seekable;
mod stream;
mod zip;
mod zstd;

use std::io::BufReader;

use crate::age::{self, AgeFormat};
// The write side lives beside `ReadAt`; named here too, where callers look for it.
use crate::source::{ReadAt, SourceError};
pub use crate::source::{Sink, SinkError};

use crate::source::Cursor;
pub use error::{ContainerError, SeekableError, ZipError};
pub use seekable::{
    CACHE_BYTES, CACHE_FRAMES, MAX_FRAME_BYTES, MAX_FRAMES, SEEK_TABLE_MAGIC, SEEKABLE_MAGIC,
    SeekFrame, SeekTable, SeekableZstd,
};
use stream::{Limited, READ_BYTES, at_input, pump};
pub use zip::{ZipMember, zip_member};

/// How many layers a file may have before we give up (`.zst.age` is two).
pub const MAX_LAYERS: usize = 4;
/// Bytes [`detect`] looks at.
pub const DETECT_BYTES: usize = 64;

/// gzip: ID1 ID2 (RFC 1952).
pub const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
/// zstd frame magic 0xFD2FB528, little-endian.
pub const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
/// zstd skippable frames: magic 0x184D2A50..=0x184D2A5F, little-endian.
pub const ZSTD_SKIPPABLE_MAGIC_MASK: u32 = 0xFFFF_FFF0;
pub const ZSTD_SKIPPABLE_MAGIC: u32 = 0x184D_2A50;
/// zip local file header "PK\3\4"; an empty archive starts with "PK\5\6".
pub const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
pub const ZIP_EMPTY_MAGIC: &[u8] = b"PK\x05\x06";
/// bbolt: page 0 is a meta page; its 16-byte page header is followed by the
/// meta's magic, 0xED0CDAED little-endian.
pub const BBOLT_MAGIC_OFFSET: usize = 16;

/// A compression format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Codec {
    Gzip,
    Zstd,
    Zip,
}

impl Codec {
    pub fn name(self) -> &'static str {
        match self {
            Self::Gzip => "gzip",
            Self::Zstd => "zstd",
            Self::Zip => "zip",
        }
    }
}

/// The outermost layer of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", content = "format", rename_all = "snake_case")]
pub enum Layer {
    /// A bbolt file: the snapshot itself.
    Bbolt,
    /// age-encrypted.
    Age(AgeFormat),
    /// Compressed.
    Compressed(Codec),
    /// None of the above.
    Unknown,
}

/// Name the outermost layer from a file's first bytes ([`DETECT_BYTES`] suffice).
pub fn detect(prefix: &[u8]) -> Layer {
    if let Some(f) = age::detect(prefix) {
        return Layer::Age(f);
    }
    if prefix.starts_with(GZIP_MAGIC) {
        return Layer::Compressed(Codec::Gzip);
    }
    if prefix.starts_with(ZSTD_MAGIC) {
        return Layer::Compressed(Codec::Zstd);
    }
    if let Some(m) = prefix.get(..4).and_then(|b| <[u8; 4]>::try_from(b).ok())
        && u32::from_le_bytes(m) & ZSTD_SKIPPABLE_MAGIC_MASK == ZSTD_SKIPPABLE_MAGIC
    {
        return Layer::Compressed(Codec::Zstd);
    }
    if prefix.starts_with(ZIP_MAGIC) || prefix.starts_with(ZIP_EMPTY_MAGIC) {
        return Layer::Compressed(Codec::Zip);
    }
    let bbolt = prefix
        .get(BBOLT_MAGIC_OFFSET..BBOLT_MAGIC_OFFSET + 4)
        .is_some_and(|m| m == crate::bolt::meta::MAGIC.to_le_bytes());
    if bbolt {
        return Layer::Bbolt;
    }
    Layer::Unknown
}

/// [`detect`] on a source's first bytes.
pub fn detect_source(src: &dyn ReadAt) -> Result<Layer, SourceError> {
    let n = src.len().min(DETECT_BYTES as u64);
    Ok(detect(&src.read_vec(0, n)?))
}

/// What to do with a file's outermost layer: the one plan the CLI and the
/// page both follow (they only bring the sinks and the secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The bbolt file, or something to report as not one: open it.
    Open,
    /// age-encrypted: ask for this secret, then read through
    /// [`crate::age::AgeSource`] (random access, nothing spooled).
    NeedSecret(age::SecretNeeded),
    /// zstd's seekable format, its table read and checked: read through
    /// [`SeekableZstd::with_table`] (random access, nothing spooled).
    Seekable(SeekTable),
    /// Not readable at random: stream it with [`spool`] into a private sink,
    /// and go on with what the sink holds.
    Spool(Spooled),
}

/// A layer that is streamed into a spool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", content = "codec", rename_all = "snake_case")]
pub enum Spooled {
    Decompress(Codec),
    /// ASCII-armored age: the armor is decoded; the binary age file follows.
    Dearmor,
}

impl Spooled {
    /// `gzip`, `zstd`, `zip`, `age ASCII armor`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Decompress(c) => c.name(),
            Self::Dearmor => "age ASCII armor",
        }
    }

    /// What spooling does to it: `decompressed`, `decoded`.
    pub fn done(self) -> &'static str {
        match self {
            Self::Decompress(_) => "decompressed",
            Self::Dearmor => "decoded",
        }
    }
}

/// Why a file's layers could not be peeled.
#[derive(Debug, thiserror::Error)]
pub enum PeelError {
    #[error("more than {MAX_LAYERS} layers of encryption or compression: refusing to go on")]
    TooManyLayers,
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Age(#[from] age::AgeError),
    #[error(transparent)]
    Container(#[from] ContainerError),
    #[error(transparent)]
    Seekable(#[from] SeekableError),
}

/// Counts the layers peeled, so a file of endless wrappers stops at
/// [`MAX_LAYERS`] wherever the caller resumes (the page resumes after each
/// asynchronous spool).
#[derive(Debug, Clone, Copy, Default)]
pub struct Peeler {
    peeled: usize,
}

impl Peeler {
    /// After `peeled` layers were taken off already.
    pub fn after(peeled: usize) -> Self {
        Self { peeled }
    }

    /// The next step for `src`. Every step but [`Step::Open`] counts as a layer.
    pub fn next(&mut self, src: &dyn ReadAt) -> Result<Step, PeelError> {
        let step = match detect_source(src)? {
            Layer::Bbolt | Layer::Unknown => return Ok(Step::Open),
            Layer::Age(AgeFormat::Binary) => Step::NeedSecret(age::secret_needed(src)?),
            Layer::Age(AgeFormat::Armored) => Step::Spool(Spooled::Dearmor),
            Layer::Compressed(Codec::Zstd) => match SeekTable::read(src) {
                Ok(table) => Step::Seekable(table),
                Err(_) => Step::Spool(Spooled::Decompress(Codec::Zstd)),
            },
            Layer::Compressed(codec) => Step::Spool(Spooled::Decompress(codec)),
        };
        if self.peeled >= MAX_LAYERS {
            return Err(PeelError::TooManyLayers);
        }
        self.peeled += 1;
        Ok(step)
    }
}

/// Stream the layer `what` of `src` into `sink`, at most `limit_bytes`
/// (armor decodes to less than its size); returns the bytes written.
pub fn spool(
    src: &dyn ReadAt,
    what: Spooled,
    sink: &mut dyn Sink,
    limit_bytes: u64,
) -> Result<u64, PeelError> {
    Ok(match what {
        Spooled::Decompress(codec) => decompress(src, codec, sink, limit_bytes)?,
        Spooled::Dearmor => age::dearmor(src, sink)?,
    })
}

/// Decompress all of `src` into `sink`; returns the decompressed length.
/// Stops with [`ContainerError::TooLarge`] once the output would pass `limit_bytes`.
/// For zip, the member chosen by [`zip_member`] is decompressed.
pub fn decompress(
    src: &dyn ReadAt,
    codec: Codec,
    sink: &mut dyn Sink,
    limit_bytes: u64,
) -> Result<u64, ContainerError> {
    let mut out = Limited::new(sink, limit_bytes, codec.name());
    match codec {
        Codec::Gzip => gzip(src, &mut out)?,
        Codec::Zstd => zstd::decompress(src, &mut out)?,
        Codec::Zip => zip::decompress(src, &mut out)?,
    }
    Ok(out.written())
}

/// gzip (RFC 1952), concatenated members as one stream (as `cat a.gz b.gz`).
fn gzip(src: &dyn ReadAt, out: &mut Limited<'_>) -> Result<(), ContainerError> {
    let codec = Codec::Gzip.name();
    let mut input = Cursor::range(src, 0, src.len());
    let dec =
        flate2::bufread::MultiGzDecoder::new(BufReader::with_capacity(READ_BYTES, &mut input));
    pump(dec, out, codec).map_err(|e| at_input(e, input.offset()))
}

/// Entry point shared by the cargo-fuzz target `fuzz/fuzz_targets/container.rs`
/// and the stable replay of its corpus (`tests/container_fuzz_replay.rs`).
#[doc(hidden)]
pub mod fuzzing {
    use super::{Codec, SeekableZstd, decompress, detect, zip_member};
    use crate::age::{self, AgeSource, Secret};
    use crate::source::{MemSource, ReadAt};

    /// A throwaway X25519 identity, public on purpose: the seed corpus holds
    /// files encrypted to it so the fuzzer reaches the chunk decryption.
    pub const FUZZ_IDENTITY: &str =
        "AGE-SECRET-KEY-1C5KFH3XSVCE4GVSTR7AK3XUNM22KNTFADET6YY79ALM0VJ5HZX9S20HD6L";

    /// Detect, parse the age header, open and read with the fuzz identity,
    /// de-armor, and decompress with every codec under a 1 MiB limit.
    pub fn layers(data: &[u8]) {
        let _ = detect(data);
        let src = MemSource(data);
        let _ = age::secret_needed(&src);
        let _ = age::plaintext_len(data.len() as u64);
        let secret = Secret::Identity {
            file: FUZZ_IDENTITY.as_bytes().to_vec(),
            ssh_key_passphrase: None,
        };
        if let Ok(dec) = AgeSource::open(&src, &secret) {
            let len = dec.len();
            for off in [0, len / 2, len.saturating_sub(1)] {
                let _ = dec.read_vec(off, 1.min(len - off));
            }
            for codec in [Codec::Gzip, Codec::Zstd, Codec::Zip] {
                let _ = decompress(&dec, codec, &mut Vec::new(), 1 << 20);
            }
        }
        let _ = age::dearmor(&src, &mut Vec::new());
        let _ = zip_member(&src);
        if let Ok(z) = SeekableZstd::open(&src) {
            let len = z.len();
            for off in [0, len / 2, len.saturating_sub(1)] {
                let _ = z.read_vec(off, 1.min(len - off));
            }
        }
        for codec in [Codec::Gzip, Codec::Zstd, Codec::Zip] {
            let _ = decompress(&src, codec, &mut Vec::new(), 1 << 20);
        }
    }
}
