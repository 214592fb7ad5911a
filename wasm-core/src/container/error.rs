//! What can go wrong unwrapping a layer: [`ContainerError`], with [`ZipError`]
//! for an archive whose records (APPNOTE.TXT) do not lead to a member, and
//! [`SeekableError`] for a seekable zstd file's table or frames. Every
//! variant names what it found and where; none carries input bytes.

use crate::source::{SinkError, SourceError};

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
    /// The decoder's own account of the damage (`flate2`, `ruzstd`).
    #[error("corrupt {codec} data after {read_bytes} input bytes: {reason}")]
    Corrupt {
        codec: &'static str,
        read_bytes: u64,
        reason: String,
    },
    #[error("zip: {0}")]
    Zip(#[from] ZipError),
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

/// A zip archive that does not lead to a readable member. Offsets are from
/// the start of the file; `index` counts central directory entries from 0.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZipError {
    #[error("too short for a zip archive ({file_bytes} bytes)")]
    TooShort { file_bytes: u64 },
    #[error("no end-of-central-directory record (not a zip, or truncated)")]
    NoEndRecord,
    #[error("end-of-central-directory record is cut short (at offset {offset})")]
    EndRecordShort { offset: u64 },
    #[error("the ZIP64 end-of-central-directory record is missing (offset {offset})")]
    NoZip64EndRecord { offset: u64 },
    #[error(
        "the central directory lies outside the file ({size_bytes} bytes at offset {offset}, the file has {file_bytes})"
    )]
    DirectoryOutside {
        offset: u64,
        size_bytes: u64,
        file_bytes: u64,
    },
    #[error(
        "a central directory entry is corrupt (entry {index} at offset {offset}: no signature)"
    )]
    EntryCorrupt { index: u64, offset: u64 },
    #[error("a central directory entry is cut short (entry {index} at offset {offset})")]
    EntryShort { index: u64, offset: u64 },
    /// `names`: the first few members, to show what the archive holds.
    #[error("no member looks like a snapshot (one file, or named *.db / *snapshot*): {names:?}")]
    NoSnapshotMember { names: Vec<String> },
    #[error("member {name:?} is encrypted")]
    Encrypted { name: String },
    #[error("member {name:?}: no local header at offset {offset}")]
    NoLocalHeader { name: String, offset: u64 },
    #[error(
        "member {name:?}: its {compressed_bytes} bytes at offset {data_offset} run past the end (truncated?)"
    )]
    DataPastEnd {
        name: String,
        data_offset: u64,
        compressed_bytes: u64,
    },
    #[error(
        "member {name:?} uses compression method {method}; only stored (0) and deflate (8) are supported"
    )]
    UnsupportedMethod { name: String, method: u16 },
    #[error(
        "member {name:?} decompressed to {found_bytes} bytes, the directory says {expected_bytes}"
    )]
    SizeMismatch {
        name: String,
        expected_bytes: u64,
        found_bytes: u64,
    },
}

/// A seekable zstd file (`seekable.rs`) whose seek table or frames do not
/// hold up. `index` counts the table's frames from 0; offsets are from the
/// start of the file (compressed) unless named decompressed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeekableError {
    #[error("no seek table at the end (not zstd's seekable format)")]
    NoSeekTable,
    #[error("seek table descriptor {descriptor:#04x} sets reserved bits")]
    ReservedBits { descriptor: u8 },
    #[error("the seek table claims {frames} frames, more than the format allows")]
    TooManyFrames { frames: u32 },
    #[error("the seek table needs {table_bytes} bytes, the file has {file_bytes}")]
    TableOutside { table_bytes: u64, file_bytes: u64 },
    #[error(
        "the seek table's skippable frame at offset {offset} is wrong (magic {magic:#010x}, size {frame_size}; {expected_frame_size} expected)"
    )]
    BadTableHeader {
        offset: u64,
        magic: u32,
        frame_size: u32,
        expected_frame_size: u64,
    },
    #[error(
        "frame {index} claims {decompressed_bytes} decompressed bytes, beyond the {limit_bytes}-byte limit for random access"
    )]
    FrameTooLarge {
        index: usize,
        decompressed_bytes: u32,
        limit_bytes: u64,
    },
    #[error(
        "frame {index} claims {compressed_bytes} compressed bytes for {decompressed_bytes} decompressed: no zstd frame is that large"
    )]
    CompressedTooLarge {
        index: usize,
        compressed_bytes: u32,
        decompressed_bytes: u32,
    },
    #[error(
        "the frames add up to {compressed_bytes} bytes, but the seek table starts at offset {table_offset}"
    )]
    FramesDoNotAddUp {
        compressed_bytes: u64,
        table_offset: u64,
    },
    #[error("no frame {index} in the seek table")]
    NoFrame { index: usize },
    #[error("no frame holds decompressed offset {offset}")]
    PastTheEnd { offset: u64 },
    /// The decoder's own account of the damage (`ruzstd`).
    #[error("corrupt zstd frame {index} at offset {compressed_offset}: {reason}")]
    Frame {
        index: usize,
        compressed_offset: u64,
        reason: String,
    },
    /// `found_bytes`: `None` when it decompresses to more.
    #[error(
        "frame {index} decompresses to {}, the seek table says {expected_bytes}",
        found_bytes.map_or("more bytes".to_string(), |n| format!("{n} bytes"))
    )]
    SizeMismatch {
        index: usize,
        expected_bytes: u32,
        found_bytes: Option<u64>,
    },
    #[error("frame {index}: checksum is {found:08x}, the seek table says {expected:08x}")]
    Checksum {
        index: usize,
        expected: u32,
        found: u32,
    },
    #[error(transparent)]
    Source(#[from] SourceError),
}
