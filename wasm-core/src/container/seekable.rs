//! zstd's seekable format (facebook/zstd `contrib/seekable_format`): a zstd
//! stream cut into independent frames, with a seek table in a skippable frame
//! at the end, so the decompressed bytes can be read at random.
//!
//! ```text
//! | frame 0 | frame 1 | … | frame n-1 | seek table (a skippable frame)              |
//!                                     | magic 0x184D2A5E (4 LE) | frame size (4 LE) |
//!                                     | entry × n: compressed size (4 LE),          |
//!                                     |   decompressed size (4 LE), [XXH64 low 32]  |
//!                                     | footer: frames (4 LE), descriptor (1),      |
//!                                     |   magic 0x8F92EAB1 (4 LE)                   |
//! descriptor: bit 7 = entries carry a checksum; bits 2–6 reserved (zero).
//! ```
//!
//! [`SeekTable::read`] checks the table against the file: the frames are laid
//! end to end from offset 0 up to the table, each within [`MAX_FRAME_BYTES`]
//! decompressed (a frame is decompressed whole into memory). [`SeekableZstd`]
//! is a [`ReadAt`] over the decompressed bytes that decompresses only the
//! frames a read touches, keeps the last few ([`CACHE_FRAMES`],
//! [`CACHE_BYTES`]), and checks each frame's size, its own content checksum
//! and the table's checksum. It does not write the format (the server does)
//! and reads no frame outside the table.
//!
//! Untrusted input never panics; every allocation is bounded by a limit
//! here or by the bytes the file holds.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use super::error::SeekableError;
use crate::source::{ReadAt, SourceError};

/// The seek table's skippable frame magic (the skippable range's `E`).
pub const SEEK_TABLE_MAGIC: u32 = 0x184D_2A5E;
/// The seek table footer's own magic, the file's last 4 bytes.
pub const SEEKABLE_MAGIC: u32 = 0x8F92_EAB1;
/// Skippable frame header: magic and frame size.
pub const SKIPPABLE_HEADER_BYTES: u64 = 8;
/// Footer: number of frames (4), descriptor (1), magic (4).
pub const FOOTER_BYTES: u64 = 9;
const FOOTER_FRAMES_OFFSET: usize = 0;
const FOOTER_DESCRIPTOR_OFFSET: usize = 4;
const FOOTER_MAGIC_OFFSET: usize = 5;
/// Descriptor bit 7: each entry carries a checksum.
const CHECKSUM_FLAG: u8 = 0x80;
/// Descriptor bits 2–6 must be zero.
const RESERVED_BITS: u8 = 0x7C;
/// An entry: compressed size, decompressed size, optional checksum.
const ENTRY_BYTES: usize = 8;
const CHECKSUM_BYTES: usize = 4;
/// The reference library's limit (`ZSTD_SEEKABLE_MAXFRAMES`).
pub const MAX_FRAMES: u32 = 0x0800_0000;
/// Largest decompressed frame opened at random: a frame is decompressed whole
/// into memory (the page's worker too), so a claim beyond this is refused and
/// the file is streamed like any zstd file. The server writes 1 MiB frames.
pub const MAX_FRAME_BYTES: u64 = 32 << 20;
/// A frame's compressed size may pass its decompressed size only by zstd's
/// worst case (`ZSTD_compressBound`: n + n/256 + a header); more is not a frame.
const fn compress_bound(n: u64) -> u64 {
    n + (n >> 8) + 1024
}
/// Frames kept decompressed: a bbolt page read at a frame boundary touches
/// two, and the meta pages sit in the first.
pub const CACHE_FRAMES: usize = 4;
/// …and at most this many bytes of them (the most recent one is always kept).
pub const CACHE_BYTES: usize = 32 << 20;

/// One frame of the table, with its offsets worked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeekFrame {
    pub compressed_offset: u64,
    pub compressed_bytes: u32,
    pub decompressed_offset: u64,
    pub decompressed_bytes: u32,
    /// Low 32 bits of the XXH64 of the decompressed bytes, when the table has them.
    pub checksum: Option<u32>,
}

/// A seek table checked against its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeekTable {
    frames: Vec<SeekFrame>,
    decompressed_bytes: u64,
    /// Where the table's skippable frame starts (the frames end here).
    table_offset: u64,
}

fn le32(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        w.copy_from_slice(s);
    }
    u32::from_le_bytes(w)
}

impl SeekTable {
    /// Read and check the seek table at the end of `src`.
    pub fn read(src: &dyn ReadAt) -> Result<Self, SeekableError> {
        let file_bytes = src.len();
        if file_bytes < SKIPPABLE_HEADER_BYTES + FOOTER_BYTES {
            return Err(SeekableError::NoSeekTable);
        }
        let footer = src.read_vec(file_bytes - FOOTER_BYTES, FOOTER_BYTES)?;
        if le32(&footer, FOOTER_MAGIC_OFFSET) != SEEKABLE_MAGIC {
            return Err(SeekableError::NoSeekTable);
        }
        let frames = le32(&footer, FOOTER_FRAMES_OFFSET);
        let descriptor = footer
            .get(FOOTER_DESCRIPTOR_OFFSET)
            .copied()
            .unwrap_or_default();
        if descriptor & RESERVED_BITS != 0 {
            return Err(SeekableError::ReservedBits { descriptor });
        }
        if frames > MAX_FRAMES {
            return Err(SeekableError::TooManyFrames { frames });
        }
        let checksums = descriptor & CHECKSUM_FLAG != 0;
        let entry_bytes = ENTRY_BYTES + if checksums { CHECKSUM_BYTES } else { 0 };
        let entries_bytes = u64::from(frames) * entry_bytes as u64;
        let frame_size = entries_bytes + FOOTER_BYTES;
        let table_bytes = SKIPPABLE_HEADER_BYTES + frame_size;
        if table_bytes > file_bytes {
            return Err(SeekableError::TableOutside {
                table_bytes,
                file_bytes,
            });
        }
        let table_offset = file_bytes - table_bytes;
        // Bounded: within the file, and at most MAX_FRAMES entries.
        let head = src.read_vec(table_offset, SKIPPABLE_HEADER_BYTES + entries_bytes)?;
        let (magic, size) = (le32(&head, 0), le32(&head, 4));
        if magic != SEEK_TABLE_MAGIC || u64::from(size) != frame_size {
            return Err(SeekableError::BadTableHeader {
                offset: table_offset,
                magic,
                frame_size: size,
                expected_frame_size: frame_size,
            });
        }
        let entries = head.get(8..).unwrap_or_default();
        let mut out = Vec::with_capacity(frames as usize);
        let (mut c_off, mut d_off) = (0u64, 0u64);
        for (index, e) in entries.chunks_exact(entry_bytes).enumerate() {
            let compressed_bytes = le32(e, 0);
            let decompressed_bytes = le32(e, 4);
            if u64::from(decompressed_bytes) > MAX_FRAME_BYTES {
                return Err(SeekableError::FrameTooLarge {
                    index,
                    decompressed_bytes,
                    limit_bytes: MAX_FRAME_BYTES,
                });
            }
            if u64::from(compressed_bytes) > compress_bound(u64::from(decompressed_bytes)) {
                return Err(SeekableError::CompressedTooLarge {
                    index,
                    compressed_bytes,
                    decompressed_bytes,
                });
            }
            out.push(SeekFrame {
                compressed_offset: c_off,
                compressed_bytes,
                decompressed_offset: d_off,
                decompressed_bytes,
                checksum: checksums.then(|| le32(e, 8)),
            });
            // No overflow: at most 2^27 frames of at most 2^32 bytes each.
            c_off += u64::from(compressed_bytes);
            d_off += u64::from(decompressed_bytes);
        }
        if c_off != table_offset {
            return Err(SeekableError::FramesDoNotAddUp {
                compressed_bytes: c_off,
                table_offset,
            });
        }
        Ok(Self {
            frames: out,
            decompressed_bytes: d_off,
            table_offset,
        })
    }

    pub fn frames(&self) -> &[SeekFrame] {
        &self.frames
    }

    /// The length of the decompressed data.
    pub fn decompressed_bytes(&self) -> u64 {
        self.decompressed_bytes
    }

    /// The compressed frames' total (the file less its seek table).
    pub fn compressed_bytes(&self) -> u64 {
        self.table_offset
    }

    /// The frame holding decompressed byte `offset` (an empty frame holds none).
    fn frame_at(&self, offset: u64) -> Option<usize> {
        let i = self
            .frames
            .partition_point(|f| f.decompressed_offset + u64::from(f.decompressed_bytes) <= offset);
        (i < self.frames.len()).then_some(i)
    }
}

/// The decompressed bytes of a seekable zstd file, read at random.
pub struct SeekableZstd<R: ReadAt> {
    src: R,
    table: SeekTable,
    state: RefCell<State>,
    frames_decompressed: Cell<u64>,
}

struct State {
    decoder: ruzstd::decoding::FrameDecoder,
    /// Most recently used last.
    cache: VecDeque<(usize, Vec<u8>)>,
}

impl<R: ReadAt> std::fmt::Debug for SeekableZstd<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeekableZstd")
            .field("frames", &self.table.frames.len())
            .field("decompressed_bytes", &self.table.decompressed_bytes)
            .finish_non_exhaustive()
    }
}

impl<R: ReadAt> SeekableZstd<R> {
    /// What the page and the CLI call this layer.
    pub const NAME: &'static str = "zstd (seekable)";

    /// Read the seek table of `src` and open it.
    pub fn open(src: R) -> Result<Self, SeekableError> {
        let table = SeekTable::read(&src)?;
        Ok(Self::with_table(src, table))
    }

    /// Open `src` with its table, read already (by [`super::Peeler`]).
    pub fn with_table(src: R, table: SeekTable) -> Self {
        Self {
            src,
            table,
            state: RefCell::new(State {
                decoder: ruzstd::decoding::FrameDecoder::new(),
                cache: VecDeque::new(),
            }),
            frames_decompressed: Cell::new(0),
        }
    }

    pub fn table(&self) -> &SeekTable {
        &self.table
    }

    /// Frames decompressed so far (cache hits not counted): how little of
    /// the file a reader touched.
    pub fn frames_decompressed(&self) -> u64 {
        self.frames_decompressed.get()
    }

    /// Frame `index`: taken out of the cache, or decompressed and checked.
    fn take_frame(&self, state: &mut State, index: usize) -> Result<Vec<u8>, SeekableError> {
        if let Some(i) = state.cache.iter().position(|(k, _)| *k == index)
            && let Some((_, hit)) = state.cache.remove(i)
        {
            return Ok(hit);
        }
        let f = self
            .table
            .frames
            .get(index)
            .ok_or(SeekableError::NoFrame { index })?;
        let corrupt = |reason: String| SeekableError::Frame {
            index,
            compressed_offset: f.compressed_offset,
            reason,
        };
        let input = self
            .src
            .read_vec(f.compressed_offset, u64::from(f.compressed_bytes))?;
        // Bounded by MAX_FRAME_BYTES (checked by the table); one spare byte
        // tells a frame that decompresses to more than its entry says.
        let mut out = vec![0u8; f.decompressed_bytes as usize + 1];
        let dec = &mut state.decoder;
        let found = match dec.decode_all(&input, &mut out) {
            Ok(n) => n,
            Err(ruzstd::decoding::errors::FrameDecoderError::TargetTooSmall) => {
                return Err(SeekableError::SizeMismatch {
                    index,
                    expected_bytes: f.decompressed_bytes,
                    found_bytes: None,
                });
            }
            Err(e) => return Err(corrupt(e.to_string())),
        };
        if found != f.decompressed_bytes as usize {
            return Err(SeekableError::SizeMismatch {
                index,
                expected_bytes: f.decompressed_bytes,
                found_bytes: Some(found as u64),
            });
        }
        out.truncate(found);
        if found > 0 {
            // The frame's own checksum, then the table's (both XXH64, low 32 bits).
            let calculated = dec.get_calculated_checksum();
            if let (Some(want), Some(got)) = (dec.get_checksum_from_data(), calculated)
                && want != got
            {
                return Err(corrupt(format!(
                    "frame checksum is {got:08x}, the frame says {want:08x}"
                )));
            }
            if let (Some(want), Some(got)) = (f.checksum, calculated)
                && want != got
            {
                return Err(SeekableError::Checksum {
                    index,
                    expected: want,
                    found: got,
                });
            }
        }
        self.frames_decompressed
            .set(self.frames_decompressed.get() + 1);
        Ok(out)
    }

    fn read_plain(&self, offset: u64, buf: &mut [u8]) -> Result<(), SeekableError> {
        let mut state = self.state.borrow_mut();
        let mut pos = offset;
        let mut done = 0usize;
        while done < buf.len() {
            let index = self
                .table
                .frame_at(pos)
                .ok_or(SeekableError::PastTheEnd { offset: pos })?;
            let start = self
                .table
                .frames
                .get(index)
                .map_or(0, |f| f.decompressed_offset);
            let frame = self.take_frame(&mut state, index)?;
            let within = usize::try_from(pos - start).unwrap_or(usize::MAX);
            let avail = frame.get(within..).unwrap_or_default();
            let n = avail.len().min(buf.len() - done);
            if let (Some(dst), Some(src)) = (buf.get_mut(done..done + n), avail.get(..n)) {
                dst.copy_from_slice(src);
            }
            state.keep(index, frame);
            if n == 0 {
                return Err(SeekableError::PastTheEnd { offset: pos });
            }
            done += n;
            pos += n as u64;
        }
        Ok(())
    }
}

impl State {
    /// Cache a frame as the most recent, dropping the least recent beyond
    /// [`CACHE_FRAMES`] or [`CACHE_BYTES`].
    fn keep(&mut self, index: usize, frame: Vec<u8>) {
        self.cache.push_back((index, frame));
        while self.cache.len() > 1
            && (self.cache.len() > CACHE_FRAMES
                || self.cache.iter().map(|(_, f)| f.len()).sum::<usize>() > CACHE_BYTES)
        {
            self.cache.pop_front();
        }
    }
}

impl<R: ReadAt> ReadAt for SeekableZstd<R> {
    fn len(&self) -> u64 {
        self.table.decompressed_bytes
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), SourceError> {
        let n = buf.len() as u64;
        let len = self.len();
        if offset.checked_add(n).is_none_or(|end| end > len) {
            return Err(SourceError {
                offset,
                len: n,
                reason: format!("past the end of the {len}-byte decompressed file"),
            });
        }
        self.read_plain(offset, buf).map_err(|e| match e {
            SeekableError::Source(se) => se,
            e => SourceError {
                offset,
                len: n,
                reason: e.to_string(),
            },
        })
    }
}

#[cfg(test)]
// Test inputs are a few KiB: their lengths fit the format's 32-bit fields.
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use crate::source::MemSource;

    /// A seekable file as the server writes it: `frame_bytes` of input per
    /// frame (ruzstd's encoder here), the table with or without checksums.
    fn write(data: &[u8], frame_bytes: usize, checksums: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut entries = Vec::new();
        for chunk in data.chunks(frame_bytes.max(1)) {
            let frame = ruzstd::encoding::compress_to_vec(
                chunk,
                ruzstd::encoding::CompressionLevel::Fastest,
            );
            entries.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            entries.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
            if checksums {
                // ruzstd (feature `hash`) ends each frame with the same
                // checksum: XXH64 of the content, low 32 bits.
                entries.extend_from_slice(&frame[frame.len() - 4..]);
            }
            out.extend_from_slice(&frame);
        }
        let frames = entries.len() / if checksums { 12 } else { 8 };
        table(
            &mut out,
            &entries,
            frames as u32,
            if checksums { 0x80 } else { 0 },
        );
        out
    }

    fn table(out: &mut Vec<u8>, entries: &[u8], frames: u32, descriptor: u8) {
        out.extend_from_slice(&SEEK_TABLE_MAGIC.to_le_bytes());
        out.extend_from_slice(&((entries.len() + 9) as u32).to_le_bytes());
        out.extend_from_slice(entries);
        out.extend_from_slice(&frames.to_le_bytes());
        out.push(descriptor);
        out.extend_from_slice(&SEEKABLE_MAGIC.to_le_bytes());
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n)
            .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[i % 3] % 17)
            .collect()
    }

    #[test]
    fn random_reads_decompress_only_the_frames_they_touch() {
        let plain = data(10_000);
        for checksums in [false, true] {
            let file = write(&plain, 1000, checksums);
            let z = SeekableZstd::open(MemSource(&file)).unwrap();
            assert_eq!(z.len(), plain.len() as u64);
            assert_eq!(z.table().frames().len(), 10);
            assert_eq!(z.frames_decompressed(), 0, "opening decompresses nothing");
            // Across a frame boundary: frames 4 and 5.
            assert_eq!(z.read_vec(4990, 20).unwrap(), &plain[4990..5010]);
            assert_eq!(z.frames_decompressed(), 2);
            // Cached.
            assert_eq!(z.read_vec(4000, 100).unwrap(), &plain[4000..4100]);
            assert_eq!(z.frames_decompressed(), 2);
            assert_eq!(z.read_vec(9999, 1).unwrap(), &plain[9999..]);
            assert_eq!(z.read_vec(0, 10_000).unwrap(), plain);
            assert!(z.read_vec(9999, 2).is_err());
        }
    }

    #[test]
    fn the_peeler_opens_seekable_files_at_random_and_streams_others() {
        use crate::container::{Codec, Peeler, Spooled, Step, decompress};
        let plain = data(5000);
        let file = write(&plain, 1000, true);
        let Ok(Step::Seekable(t)) = Peeler::default().next(&MemSource(&file)) else {
            panic!("not opened seekable");
        };
        assert_eq!(t.frames().len(), 5);
        assert_eq!(t.decompressed_bytes(), 5000);
        // Streamed, the same file gives the same bytes (the table is a skippable frame).
        let mut out = Vec::new();
        decompress(&MemSource(&file), Codec::Zstd, &mut out, 1 << 20).unwrap();
        assert_eq!(out, plain);
        // A table that does not hold up, and plain zstd: streamed.
        let mut b = file.clone();
        let n = b.len();
        b[n - 9] ^= 1;
        let plain_zstd = ruzstd::encoding::compress_to_vec(
            &plain[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        for f in [b, plain_zstd] {
            assert_eq!(
                Peeler::default().next(&MemSource(&f)).unwrap(),
                Step::Spool(Spooled::Decompress(Codec::Zstd))
            );
        }
    }

    #[test]
    fn empty_frames_and_an_empty_file_read_right() {
        // A frame of 0 bytes in the middle, and a table of no frames at all.
        let a = ruzstd::encoding::compress_to_vec(
            &b"abc"[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        let e = ruzstd::encoding::compress_to_vec(
            &b""[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        let mut file = [a.clone(), e.clone(), a.clone()].concat();
        let mut entries = Vec::new();
        for (c, d) in [(a.len(), 3), (e.len(), 0), (a.len(), 3)] {
            entries.extend_from_slice(&(c as u32).to_le_bytes());
            entries.extend_from_slice(&(d as u32).to_le_bytes());
        }
        table(&mut file, &entries, 3, 0);
        let z = SeekableZstd::open(MemSource(&file)).unwrap();
        assert_eq!(z.read_vec(0, 6).unwrap(), b"abcabc");
        let mut empty = Vec::new();
        table(&mut empty, &[], 0, 0);
        let z = SeekableZstd::open(MemSource(&empty)).unwrap();
        assert_eq!(z.len(), 0);
        assert!(z.read_vec(0, 1).is_err());
    }

    #[test]
    fn broken_tables_are_named() {
        let plain = data(3000);
        let good = write(&plain, 1000, true);
        let n = good.len();
        let table_at = n - (8 + 3 * 12 + 9);
        let edit = |at: usize, f: &dyn Fn(&mut u8)| {
            let mut b = good.clone();
            f(&mut b[at]);
            SeekTable::read(&MemSource(&b)).unwrap_err()
        };
        assert_eq!(
            SeekTable::read(&MemSource(&plain)).unwrap_err(),
            SeekableError::NoSeekTable
        );
        assert!(matches!(
            edit(n - 5, &|b| *b |= 0x04),
            SeekableError::ReservedBits { .. }
        ));
        assert!(matches!(
            edit(n - 9, &|b| *b = 200),
            SeekableError::BadTableHeader { .. } | SeekableError::TableOutside { .. }
        ));
        assert!(matches!(
            edit(n - 6, &|b| *b = 0xff),
            SeekableError::TooManyFrames { .. } | SeekableError::TableOutside { .. }
        ));
        assert!(matches!(
            edit(table_at, &|b| *b ^= 1),
            SeekableError::BadTableHeader { .. }
        ));
        // First entry's compressed size one more: the frames no longer reach the table.
        assert!(matches!(
            edit(table_at + 8, &|b| *b += 1),
            SeekableError::FramesDoNotAddUp { .. }
        ));
        // A decompressed size beyond the limit (byte 3 of the size: 16 MiB steps).
        assert!(matches!(
            edit(table_at + 8 + 7, &|b| *b = 0x10),
            SeekableError::FrameTooLarge { .. }
        ));
        // Shorter than any table; every cut of the tail.
        for cut in 0..n {
            let _ = SeekTable::read(&MemSource(&good[..cut]));
        }
    }

    #[test]
    fn damaged_frames_fail_the_read_with_their_index() {
        let plain = data(3000);
        let good = write(&plain, 1000, true);
        let entries_at = good.len() - (3 * 12 + 9);
        // The table's checksum of frame 1 is wrong.
        let mut b = good.clone();
        b[entries_at + 12 + 8] ^= 1;
        let z = SeekableZstd::open(MemSource(&b)).unwrap();
        assert_eq!(z.read_vec(0, 10).unwrap(), &plain[..10]);
        let e = z.read_plain(1500, &mut [0u8; 4]).unwrap_err();
        assert!(matches!(e, SeekableError::Checksum { index: 1, .. }), "{e}");
        // Frame 2 says it holds one byte more than it does.
        let mut b = good.clone();
        b[entries_at + 24 + 4] += 1;
        let z = SeekableZstd::open(MemSource(&b)).unwrap();
        let e = z.read_plain(2500, &mut [0u8; 4]).unwrap_err();
        assert!(
            matches!(
                e,
                SeekableError::SizeMismatch {
                    index: 2,
                    found_bytes: Some(1000),
                    ..
                }
            ),
            "{e}"
        );
        // …or one byte less.
        let mut b = good.clone();
        b[entries_at + 24 + 4] -= 1;
        let z = SeekableZstd::open(MemSource(&b)).unwrap();
        let e = z.read_plain(2500, &mut [0u8; 4]).unwrap_err();
        assert!(
            matches!(e, SeekableError::SizeMismatch { index: 2, .. }),
            "{e}"
        );
        // Every byte of the frames flipped in turn: an error or the right
        // bytes (a flip the format cannot see), never a panic.
        let frames_end = good.len() - (8 + 3 * 12 + 9);
        for at in (0..frames_end).step_by(7) {
            let mut b = good.clone();
            b[at] ^= 0x5a;
            if let Ok(z) = SeekableZstd::open(MemSource(&b))
                && let Ok(got) = z.read_vec(0, 3000)
            {
                assert_eq!(got, plain, "a flip at {at} went unnoticed");
            }
        }
    }
}
