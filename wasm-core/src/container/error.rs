//! What can go wrong unwrapping a layer: [`ContainerError`], with [`ZipError`]
//! for an archive whose records (APPNOTE.TXT) do not lead to a member. Every
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
