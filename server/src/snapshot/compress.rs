//! zstd before age, in zstd's seekable format (facebook/zstd
//! `contrib/seekable_format`): the plaintext cut into [`FRAME_BYTES`] pieces,
//! each an independent zstd frame with its content checksum, then the seek
//! table in a skippable frame. The page and the CLI read such a file at random
//! (the core's `container::SeekableZstd`) instead of decompressing it whole;
//! any zstd decoder reads it as an ordinary stream (`zstd -d`).
//!
//! Compression comes before encryption: ciphertext does not compress. The
//! caller's plaintext hash and status numbers stay those of the uncompressed
//! snapshot; this only counts what it wrote.

use std::io::{self, Write};

/// How a cluster's snapshots are stored: `compression = "zstd" | "none"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    #[default]
    None,
    /// zstd's seekable format at this level (`zstd_level`, 1–22).
    Zstd { level: i32 },
}

impl Compression {
    /// zstd's own default level, the one `zstd` uses without a flag.
    pub const DEFAULT_ZSTD_LEVEL: i32 = 3;
}

/// Decompressed bytes per frame: a read at random decompresses one or two of
/// these; a smaller frame compresses worse (each starts afresh).
pub const FRAME_BYTES: usize = 1 << 20;
/// The seek table's skippable frame magic and the footer's magic.
const SEEK_TABLE_MAGIC: u32 = 0x184D_2A5E;
const SEEKABLE_MAGIC: u32 = 0x8F92_EAB1;
/// Descriptor: entries carry the XXH64 checksum's low 32 bits.
const CHECKSUM_FLAG: u8 = 0x80;
/// zstd's frame checksum, the last bytes of a frame with the checksum flag.
const FRAME_CHECKSUM_BYTES: usize = 4;

/// What the compression produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compressed {
    pub level: i32,
    pub frames: u64,
    /// Bytes that went in (the etcdctl file: data and digest).
    pub plaintext_bytes: u64,
    /// The zstd stream, seek table included (before encryption).
    pub compressed_bytes: u64,
}

/// The seekable zstd writer: input is buffered to a frame's worth, then
/// compressed and passed on.
pub struct SeekableWriter {
    cctx: zstd::bulk::Compressor<'static>,
    level: i32,
    buf: Vec<u8>,
    /// Per frame: compressed size, decompressed size, checksum.
    entries: Vec<[u32; 3]>,
    plaintext_bytes: u64,
    compressed_bytes: u64,
}

impl SeekableWriter {
    pub fn new(level: i32) -> io::Result<Self> {
        let mut cctx = zstd::bulk::Compressor::new(level)?;
        cctx.include_checksum(true)?;
        cctx.include_contentsize(true)?;
        Ok(Self {
            cctx,
            level,
            buf: Vec::with_capacity(FRAME_BYTES),
            entries: Vec::new(),
            plaintext_bytes: 0,
            compressed_bytes: 0,
        })
    }

    /// Take `data`, writing whole frames to `out` as they fill.
    pub fn write(&mut self, mut data: &[u8], out: &mut dyn Write) -> io::Result<()> {
        while !data.is_empty() {
            let room = FRAME_BYTES - self.buf.len();
            let (now, rest) = data.split_at(room.min(data.len()));
            self.buf.extend_from_slice(now);
            self.plaintext_bytes += now.len() as u64;
            data = rest;
            if self.buf.len() == FRAME_BYTES {
                self.frame(out)?;
            }
        }
        Ok(())
    }

    fn frame(&mut self, out: &mut dyn Write) -> io::Result<()> {
        let frame = self.cctx.compress(&self.buf)?;
        let checksum = frame
            .len()
            .checked_sub(FRAME_CHECKSUM_BYTES)
            .and_then(|at| frame.get(at..))
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_le_bytes)
            .ok_or_else(|| io::Error::other("zstd wrote a frame without its checksum"))?;
        out.write_all(&frame)?;
        let size = |n: usize| u32::try_from(n).map_err(io::Error::other);
        self.entries
            .push([size(frame.len())?, size(self.buf.len())?, checksum]);
        self.compressed_bytes += frame.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// The last frame and the seek table.
    pub fn finish(mut self, out: &mut dyn Write) -> io::Result<Compressed> {
        if !self.buf.is_empty() {
            self.frame(out)?;
        }
        let frames = u32::try_from(self.entries.len()).map_err(io::Error::other)?;
        let mut table = Vec::with_capacity(8 + self.entries.len() * 12 + 9);
        let frame_size = u32::try_from(self.entries.len() * 12 + 9).map_err(io::Error::other)?;
        table.extend_from_slice(&SEEK_TABLE_MAGIC.to_le_bytes());
        table.extend_from_slice(&frame_size.to_le_bytes());
        for e in &self.entries {
            for v in e {
                table.extend_from_slice(&v.to_le_bytes());
            }
        }
        table.extend_from_slice(&frames.to_le_bytes());
        table.push(CHECKSUM_FLAG);
        table.extend_from_slice(&SEEKABLE_MAGIC.to_le_bytes());
        out.write_all(&table)?;
        Ok(Compressed {
            level: self.level,
            frames: u64::from(frames),
            plaintext_bytes: self.plaintext_bytes,
            compressed_bytes: self.compressed_bytes + table.len() as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_lens_core::ReadAt;
    use etcd_lens_core::container::{Peeler, SeekableZstd, Step};
    use etcd_lens_core::source::MemSource;

    fn seekable(data: &[u8], pieces: usize) -> (Vec<u8>, Compressed) {
        let mut w = SeekableWriter::new(3).unwrap();
        let mut out = Vec::new();
        for p in data.chunks(pieces.max(1)) {
            w.write(p, &mut out).unwrap();
        }
        let c = w.finish(&mut out).unwrap();
        (out, c)
    }

    #[test]
    fn the_core_reads_it_at_random_and_zstd_reads_it_whole() {
        let data = etcd_lens_testkit::fixture_bytes("auger/boltdb/db");
        // 20 KiB, repeated past two frames.
        let data = data.repeat((2 * FRAME_BYTES).div_ceil(data.len()) + 1);
        let (file, c) = seekable(&data, 100_000);
        assert_eq!(c.plaintext_bytes, data.len() as u64);
        assert_eq!(c.compressed_bytes, file.len() as u64);
        assert_eq!(c.frames, data.len().div_ceil(FRAME_BYTES) as u64);
        assert_eq!(zstd::decode_all(&file[..]).unwrap(), data);
        let src = MemSource(&file);
        let Ok(Step::Seekable(table)) = Peeler::default().next(&src) else {
            panic!("the core does not open it seekable");
        };
        let z = SeekableZstd::with_table(&src, table);
        assert_eq!(z.len(), data.len() as u64);
        let at = FRAME_BYTES as u64 - 10;
        assert_eq!(z.read_vec(at, 20).unwrap(), &data[at as usize..][..20]);
        assert_eq!(z.frames_decompressed(), 2);
    }

    #[test]
    fn empty_and_exact_frames() {
        let (file, c) = seekable(&[], 1);
        assert_eq!(
            (c.frames, zstd::decode_all(&file[..]).unwrap()),
            (0, vec![])
        );
        let data = vec![7u8; 2 * FRAME_BYTES];
        let (file, c) = seekable(&data, FRAME_BYTES);
        assert_eq!(c.frames, 2);
        let z = SeekableZstd::open(MemSource(&file)).unwrap();
        assert_eq!(z.read_vec(0, data.len() as u64).unwrap(), data);
    }
}
