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
//!   Gzip/Zstd/Zip → decompress into a spool, continue on the spool
//!   Unknown       → error
//! ```
//!
//! A compressed stream cannot be read at random, so [`decompress`] streams the
//! whole plaintext into a caller's [`Sink`] (a private temp file natively, the
//! origin-private file system in the browser). The decoders are pure Rust
//! (`flate2` on `miniz_oxide`, `ruzstd`; zip's directory is parsed here) and
//! build for wasm32. Output is capped by a caller-given limit, so a
//! decompression bomb stops with [`ContainerError::TooLarge`].
//!
//! Input is read through [`ReadAt`] sequentially, in 1 MiB reads: the source is
//! already random-access (a Blob, a file, a decrypting [`crate::age::AgeSource`]),
//! and pulling lets the decoders own their framing (zstd blocks need whole
//! blocks). Progress and cancellation go through the sink: a sink that returns
//! an error stops the work.

use std::io::{self, BufRead, BufReader, Read};

use crate::age::{self, AgeFormat};
// The write side lives beside `ReadAt`; named here too, where callers look for it.
use crate::source::{ReadAt, SourceError};
pub use crate::source::{Sink, SinkError};

/// How many layers a file may have before we give up (`.zst.age` is two).
pub const MAX_LAYERS: usize = 4;
/// Bytes [`detect`] looks at.
pub const DETECT_BYTES: usize = 64;
/// Input is read in pieces of this size.
const READ_BYTES: usize = 1 << 20;

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

/// What can go wrong unwrapping a layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContainerError {
    #[error(
        "{codec} data expands beyond the {limit_bytes}-byte limit: refusing it (a decompression bomb, or raise the limit)"
    )]
    TooLarge {
        codec: &'static str,
        limit_bytes: u64,
    },
    #[error("corrupt {codec} data after {read_bytes} input bytes: {reason}")]
    Corrupt {
        codec: &'static str,
        read_bytes: u64,
        reason: String,
    },
    #[error("zip: {0}")]
    Zip(String),
    #[error("zip member {name:?}: CRC-32 is {found:08x}, the directory says {expected:08x}")]
    ZipCrc {
        name: String,
        expected: u32,
        found: u32,
    },
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("writing the decompressed data: {0}")]
    Sink(#[from] SinkError),
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
    let name = codec.name();
    let mut out = Limited {
        sink,
        written: 0,
        limit_bytes,
        codec: name,
    };
    match codec {
        Codec::Gzip => {
            let mut input = Counted::new(src, 0, src.len());
            let dec = flate2::bufread::MultiGzDecoder::new(BufReader::with_capacity(
                READ_BYTES, &mut input,
            ));
            pump(dec, &mut out, name).map_err(|e| at_input(e, input.pos))?;
        }
        Codec::Zstd => zstd(src, &mut out)?,
        Codec::Zip => {
            let m = zip_member(src)?;
            let mut input = Counted::new(src, m.data_offset, m.compressed_bytes);
            let rd = BufReader::with_capacity(READ_BYTES, &mut input);
            let mut crc = flate2::Crc::new();
            let mut tee = Crc32Sink {
                inner: &mut out,
                crc: &mut crc,
            };
            match m.method {
                ZIP_STORED => pump(rd, &mut tee, name)?,
                ZIP_DEFLATE => pump(flate2::bufread::DeflateDecoder::new(rd), &mut tee, name)?,
                other => {
                    return Err(ContainerError::Zip(format!(
                        "member {:?} uses compression method {other}; only stored (0) and deflate (8) are supported",
                        m.name
                    )));
                }
            }
            if crc.sum() != m.crc32 {
                return Err(ContainerError::ZipCrc {
                    name: m.name,
                    expected: m.crc32,
                    found: crc.sum(),
                });
            }
            if out.written != m.uncompressed_bytes {
                return Err(ContainerError::Zip(format!(
                    "member {:?} decompressed to {} bytes, the directory says {}",
                    m.name, out.written, m.uncompressed_bytes
                )));
            }
        }
    }
    Ok(out.written)
}

/// Name where in the input a corrupt stream failed.
fn at_input(e: ContainerError, pos: u64) -> ContainerError {
    match e {
        ContainerError::Corrupt { codec, reason, .. } => ContainerError::Corrupt {
            codec,
            read_bytes: pos,
            reason,
        },
        e => e,
    }
}

/// A sink that counts and refuses to pass the limit.
struct Limited<'a> {
    sink: &'a mut dyn Sink,
    written: u64,
    limit_bytes: u64,
    codec: &'static str,
}

impl Limited<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), ContainerError> {
        let after = self.written.saturating_add(bytes.len() as u64);
        if after > self.limit_bytes {
            return Err(ContainerError::TooLarge {
                codec: self.codec,
                limit_bytes: self.limit_bytes,
            });
        }
        self.sink.write(bytes)?;
        self.written = after;
        Ok(())
    }
}

trait Out {
    fn put(&mut self, bytes: &[u8]) -> Result<(), ContainerError>;
}

impl Out for Limited<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), ContainerError> {
        Limited::put(self, bytes)
    }
}

struct Crc32Sink<'a, 'b> {
    inner: &'a mut Limited<'b>,
    crc: &'a mut flate2::Crc,
}

impl Out for Crc32Sink<'_, '_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), ContainerError> {
        self.crc.update(bytes);
        self.inner.put(bytes)
    }
}

/// Copy a decoder's output to `out`, naming a failure by codec and input position.
fn pump(mut dec: impl Read, out: &mut dyn Out, codec: &'static str) -> Result<(), ContainerError> {
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match dec.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_error(&e, codec)),
        };
        out.put(buf.get(..n).unwrap_or_default())?;
    }
}

fn io_error(e: &io::Error, codec: &'static str) -> ContainerError {
    if let Some(se) = e
        .get_ref()
        .and_then(|i| i.downcast_ref::<SourceError>())
        .cloned()
    {
        return ContainerError::Source(se);
    }
    let reason = if e.kind() == io::ErrorKind::UnexpectedEof {
        "the data ends early (truncated)".to_string()
    } else {
        e.to_string()
    };
    ContainerError::Corrupt {
        codec,
        read_bytes: 0,
        reason,
    }
}

/// Sequential reads of `src[start..start+len]`, as `Read`.
struct Counted<'a> {
    src: &'a dyn ReadAt,
    pos: u64,
    end: u64,
}

impl<'a> Counted<'a> {
    fn new(src: &'a dyn ReadAt, start: u64, len: u64) -> Self {
        let end = start.saturating_add(len).min(src.len());
        Self {
            src,
            pos: start.min(end),
            end,
        }
    }
}

impl Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end - self.pos;
        let n = usize::try_from(left).map_or(buf.len(), |l| l.min(buf.len()));
        let Some(dst) = buf.get_mut(..n) else {
            return Ok(0);
        };
        if n == 0 {
            return Ok(0);
        }
        self.src
            .read_exact_at(self.pos, dst)
            .map_err(io::Error::other)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Every frame of a zstd stream, skippable frames skipped, checksums verified.
fn zstd(src: &dyn ReadAt, out: &mut Limited<'_>) -> Result<(), ContainerError> {
    use ruzstd::decoding::StreamingDecoder;
    use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
    const CODEC: &str = "zstd";
    let mut input = Counted::new(src, 0, src.len());
    let mut rd = BufReader::with_capacity(READ_BYTES, &mut input);
    let mut frames = 0u64;
    loop {
        if rd.fill_buf().map_err(|e| io_error(&e, CODEC))?.is_empty() {
            if frames == 0 {
                return Err(ContainerError::Corrupt {
                    codec: CODEC,
                    read_bytes: 0,
                    reason: "no frame".into(),
                });
            }
            return Ok(());
        }
        let at = rd.get_ref().pos - rd.buffer().len() as u64;
        let corrupt = |reason: String| ContainerError::Corrupt {
            codec: CODEC,
            read_bytes: at,
            reason,
        };
        match StreamingDecoder::new(&mut rd) {
            Ok(mut dec) => {
                pump(&mut dec, out, CODEC).map_err(|e| match e {
                    ContainerError::Corrupt { reason, .. } => corrupt(reason),
                    e => e,
                })?;
                let fd = &dec.decoder;
                if let (Some(want), Some(got)) =
                    (fd.get_checksum_from_data(), fd.get_calculated_checksum())
                    && want != got
                {
                    return Err(corrupt(format!(
                        "frame checksum is {got:08x}, the frame says {want:08x}"
                    )));
                }
                frames += 1;
            }
            Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                length,
                ..
            })) => {
                let skipped = io::copy(&mut (&mut rd).take(u64::from(length)), &mut io::sink())
                    .map_err(|e| io_error(&e, CODEC))?;
                if skipped < u64::from(length) {
                    return Err(corrupt("a skippable frame is cut short".into()));
                }
            }
            Err(e) => return Err(corrupt(e.to_string())),
        }
    }
}

const ZIP_STORED: u16 = 0;
const ZIP_DEFLATE: u16 = 8;

/// One zip member, located from the central directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipMember {
    pub name: String,
    pub method: u16,
    pub crc32: u32,
    pub compressed_bytes: u64,
    pub uncompressed_bytes: u64,
    /// Where the member's data starts (after its local header).
    pub data_offset: u64,
}

// End of central directory record (EOCD), APPNOTE 4.3.16:
//   0 sig "PK\5\6" · 4 disk · 6 cd disk · 8 entries here · 10 entries · 12 cd size · 16 cd offset · 20 comment len · 22 comment
const EOCD_SIG: u32 = 0x0605_4b50;
const EOCD_BYTES: u64 = 22;
const EOCD_ENTRIES_AT: usize = 10;
const EOCD_CD_SIZE_AT: usize = 12;
const EOCD_CD_OFFSET_AT: usize = 16;
// ZIP64 locator (20 bytes, just before the EOCD): 0 sig · 4 disk · 8 zip64 EOCD offset · 16 disks
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const ZIP64_LOCATOR_BYTES: u64 = 20;
// ZIP64 EOCD: 0 sig · 4 size · 12 versions · 16 disk · 20 cd disk · 24 entries here · 32 entries · 40 cd size · 48 cd offset
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
const ZIP64_EOCD_BYTES: u64 = 56;
// Central directory header, APPNOTE 4.3.12 (46 bytes + name + extra + comment):
//   8 flags · 10 method · 16 crc · 20 csize · 24 usize · 28 name len · 30 extra len · 32 comment len · 42 local offset
const CDH_SIG: u32 = 0x0201_4b50;
const CDH_BYTES: usize = 46;
// Local file header (30 bytes + name + extra): 26 name len · 28 extra len
const LFH_SIG: u32 = 0x0403_4b50;
const LFH_BYTES: u64 = 30;
/// Entries examined at most: snapshot archives hold one or a few.
const ZIP_MAX_ENTRIES: u64 = 10_000;

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn le64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The member that holds the snapshot: the only file, else the first whose
/// name ends in `.db` or contains `snapshot`.
pub fn zip_member(src: &dyn ReadAt) -> Result<ZipMember, ContainerError> {
    let zerr = |m: &str| ContainerError::Zip(m.to_string());
    let len = src.len();
    if len < EOCD_BYTES {
        return Err(zerr("too short for a zip archive"));
    }
    // The EOCD is last, followed only by a comment of up to 65535 bytes.
    let tail_start = len.saturating_sub(EOCD_BYTES + 0xFFFF);
    let tail = src.read_vec(tail_start, len - tail_start)?;
    let eocd_at = (0..=tail.len().saturating_sub(22))
        .rev()
        .find(|&i| le32(&tail, i) == Some(EOCD_SIG))
        .ok_or_else(|| zerr("no end-of-central-directory record (not a zip, or truncated)"))?;
    let eocd = tail.get(eocd_at..).unwrap_or_default();
    let short = || zerr("end-of-central-directory record is cut short");
    let mut entries = u64::from(le16(eocd, EOCD_ENTRIES_AT).ok_or_else(short)?);
    let mut cd_size = u64::from(le32(eocd, EOCD_CD_SIZE_AT).ok_or_else(short)?);
    let mut cd_offset = u64::from(le32(eocd, EOCD_CD_OFFSET_AT).ok_or_else(short)?);
    let eocd_abs = tail_start + eocd_at as u64;
    if (entries == 0xFFFF || cd_size == 0xFFFF_FFFF || cd_offset == 0xFFFF_FFFF)
        && eocd_abs >= ZIP64_LOCATOR_BYTES
    {
        let loc = src.read_vec(eocd_abs - ZIP64_LOCATOR_BYTES, ZIP64_LOCATOR_BYTES)?;
        if le32(&loc, 0) == Some(ZIP64_LOCATOR_SIG) {
            let at = le64(&loc, 8).ok_or_else(short)?;
            let rec = src.read_vec(at, ZIP64_EOCD_BYTES)?;
            if le32(&rec, 0) != Some(ZIP64_EOCD_SIG) {
                return Err(zerr("the ZIP64 end-of-central-directory record is missing"));
            }
            entries = le64(&rec, 32).ok_or_else(short)?;
            cd_size = le64(&rec, 40).ok_or_else(short)?;
            cd_offset = le64(&rec, 48).ok_or_else(short)?;
        }
    }
    if cd_offset.checked_add(cd_size).is_none_or(|e| e > len) {
        return Err(zerr("the central directory lies outside the file"));
    }
    let cd = src.read_vec(cd_offset, cd_size)?;
    let mut members = Vec::new();
    let mut at = 0usize;
    for _ in 0..entries.min(ZIP_MAX_ENTRIES) {
        let h = cd.get(at..).unwrap_or_default();
        if le32(h, 0) != Some(CDH_SIG) {
            return Err(zerr("a central directory entry is corrupt"));
        }
        let bad = || zerr("a central directory entry is cut short");
        let flags = le16(h, 8).ok_or_else(bad)?;
        let method = le16(h, 10).ok_or_else(bad)?;
        let crc32 = le32(h, 16).ok_or_else(bad)?;
        let mut csize = u64::from(le32(h, 20).ok_or_else(bad)?);
        let mut usize_ = u64::from(le32(h, 24).ok_or_else(bad)?);
        let name_len = usize::from(le16(h, 28).ok_or_else(bad)?);
        let extra_len = usize::from(le16(h, 30).ok_or_else(bad)?);
        let comment_len = usize::from(le16(h, 32).ok_or_else(bad)?);
        let mut local = u64::from(le32(h, 42).ok_or_else(bad)?);
        let name = h.get(CDH_BYTES..CDH_BYTES + name_len).ok_or_else(bad)?;
        let extra = h
            .get(CDH_BYTES + name_len..CDH_BYTES + name_len + extra_len)
            .ok_or_else(bad)?;
        // ZIP64 extended information (tag 1): the 64-bit values of the fields
        // that are 0xFFFFFFFF, in the order usize, csize, local offset.
        let mut e = 0usize;
        while let (Some(tag), Some(size)) = (le16(extra, e), le16(extra, e + 2)) {
            let body = extra
                .get(e + 4..e + 4 + usize::from(size))
                .unwrap_or_default();
            if tag == 1 {
                let mut k = 0usize;
                for field in [&mut usize_, &mut csize, &mut local] {
                    if *field == 0xFFFF_FFFF
                        && let Some(v) = le64(body, k)
                    {
                        *field = v;
                        k += 8;
                    }
                }
            }
            e += 4 + usize::from(size);
        }
        let name = String::from_utf8_lossy(name).into_owned();
        at += CDH_BYTES + name_len + extra_len + comment_len;
        if name.ends_with('/') {
            continue;
        }
        members.push((name, flags, method, crc32, csize, usize_, local));
    }
    let base = |n: &str| n.rsplit('/').next().unwrap_or(n).to_string();
    let pick = if members.len() == 1 {
        members.first()
    } else {
        members.iter().find(|m| {
            let b = base(&m.0);
            b.ends_with(".db") || b.contains("snapshot")
        })
    };
    let Some((name, flags, method, crc32, csize, usize_, local)) = pick.cloned() else {
        let names: Vec<&str> = members.iter().take(5).map(|m| m.0.as_str()).collect();
        return Err(ContainerError::Zip(format!(
            "no member looks like a snapshot (one file, or named *.db / *snapshot*): {names:?}"
        )));
    };
    if flags & 1 != 0 {
        return Err(ContainerError::Zip(format!("member {name:?} is encrypted")));
    }
    let lfh = src.read_vec(local, LFH_BYTES)?;
    if le32(&lfh, 0) != Some(LFH_SIG) {
        return Err(ContainerError::Zip(format!(
            "member {name:?}: no local header at offset {local}"
        )));
    }
    let n = u64::from(le16(&lfh, 26).unwrap_or(0));
    let x = u64::from(le16(&lfh, 28).unwrap_or(0));
    let data_offset = local + LFH_BYTES + n + x;
    if data_offset.checked_add(csize).is_none_or(|e| e > len) {
        return Err(ContainerError::Zip(format!(
            "member {name:?}: its {csize} bytes at offset {data_offset} run past the end (truncated?)"
        )));
    }
    Ok(ZipMember {
        name,
        method,
        crc32,
        compressed_bytes: csize,
        uncompressed_bytes: usize_,
        data_offset,
    })
}

/// Entry point shared by the cargo-fuzz target `fuzz/fuzz_targets/container.rs`
/// and the stable replay of its corpus (`tests/container_fuzz_replay.rs`).
#[doc(hidden)]
pub mod fuzzing {
    use super::{Codec, decompress, detect, zip_member};
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
        for codec in [Codec::Gzip, Codec::Zstd, Codec::Zip] {
            let _ = decompress(&src, codec, &mut Vec::new(), 1 << 20);
        }
    }
}
