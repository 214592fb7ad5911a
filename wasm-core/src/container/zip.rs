//! zip (PKWARE APPNOTE.TXT), as k3s and rke2 write snapshot archives: the
//! member that holds the snapshot, found through the central directory and
//! read stored or deflated, its CRC-32 and size checked.
//!
//! ```text
//! … | local header | data | … | central directory (entries) | [ZIP64 EOCD | ZIP64 locator] | EOCD | comment ≤ 64 KiB
//! ```
//!
//! Steps, each its own function: [`find_directory`] (the end records),
//! [`read_entries`] (the central directory), [`choose`] (the snapshot's entry),
//! [`read_local_header`] (where its data starts), [`inflate`] (the data itself).
//! Every length and offset from the file is checked against the file's size
//! before it is used; at most [`ZIP_MAX_ENTRIES`] entries are read. The
//! records are drawn in `docs/format.md`.

use std::io::BufReader;

use super::error::{ContainerError, ZipError};
use super::stream::{Limited, Out, READ_BYTES, pump};
use crate::source::Cursor;
use crate::source::ReadAt;

const CODEC: &str = "zip";

/// Compression methods (APPNOTE 4.4.5) this reader supports.
const ZIP_STORED: u16 = 0;
const ZIP_DEFLATE: u16 = 8;
/// General purpose flag bit 0: the member is encrypted.
const FLAG_ENCRYPTED: u16 = 1;

// End of central directory record (EOCD), APPNOTE 4.3.16:
//   0 sig "PK\5\6" · 4 disk · 6 cd disk · 8 entries here · 10 entries · 12 cd size · 16 cd offset · 20 comment len · 22 comment
const EOCD_SIG: u32 = 0x0605_4b50;
const EOCD_BYTES: usize = 22;
const EOCD_ENTRIES_AT: usize = 10;
const EOCD_CD_SIZE_AT: usize = 12;
const EOCD_CD_OFFSET_AT: usize = 16;
/// The EOCD is followed only by its comment, of at most this many bytes.
const EOCD_COMMENT_MAX_BYTES: u64 = 0xFFFF;
// ZIP64 locator (20 bytes, just before the EOCD): 0 sig · 4 disk · 8 zip64 EOCD offset · 16 disks
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const ZIP64_LOCATOR_BYTES: u64 = 20;
const ZIP64_LOCATOR_EOCD_AT: usize = 8;
// ZIP64 EOCD: 0 sig · 4 size · 12 versions · 16 disk · 20 cd disk · 24 entries here · 32 entries · 40 cd size · 48 cd offset
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
const ZIP64_EOCD_BYTES: u64 = 56;
const ZIP64_EOCD_ENTRIES_AT: usize = 32;
const ZIP64_EOCD_CD_SIZE_AT: usize = 40;
const ZIP64_EOCD_CD_OFFSET_AT: usize = 48;
// Central directory header, APPNOTE 4.3.12 (46 bytes + name + extra + comment):
//   8 flags · 10 method · 16 crc · 20 csize · 24 usize · 28 name len · 30 extra len · 32 comment len · 42 local offset
const CDH_SIG: u32 = 0x0201_4b50;
const CDH_BYTES: usize = 46;
const CDH_FLAGS_AT: usize = 8;
const CDH_METHOD_AT: usize = 10;
const CDH_CRC_AT: usize = 16;
const CDH_CSIZE_AT: usize = 20;
const CDH_USIZE_AT: usize = 24;
const CDH_NAME_LEN_AT: usize = 28;
const CDH_EXTRA_LEN_AT: usize = 30;
const CDH_COMMENT_LEN_AT: usize = 32;
const CDH_LOCAL_OFFSET_AT: usize = 42;
/// Extra field tag of the ZIP64 extended information (APPNOTE 4.5.3).
const EXTRA_ZIP64_TAG: u16 = 1;
/// A 32-bit field with this value has its real value in the ZIP64 extra field
/// (and a 16-bit entry count in the ZIP64 EOCD).
const ZIP64_MARK_32: u64 = 0xFFFF_FFFF;
const ZIP64_MARK_16: u64 = 0xFFFF;
// Local file header (30 bytes + name + extra): 26 name len · 28 extra len
const LFH_SIG: u32 = 0x0403_4b50;
const LFH_BYTES: u64 = 30;
const LFH_NAME_LEN_AT: usize = 26;
const LFH_EXTRA_LEN_AT: usize = 28;
/// Entries examined at most: snapshot archives hold one or a few.
const ZIP_MAX_ENTRIES: u64 = 10_000;
/// Member names an error shows at most.
const NAMES_SHOWN: usize = 5;

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

/// Where the central directory is, as the end records say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Directory {
    entries: u64,
    offset: u64,
    size_bytes: u64,
}

/// One central directory entry that is a file (folders are skipped).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    name: String,
    flags: u16,
    method: u16,
    crc32: u32,
    compressed_bytes: u64,
    uncompressed_bytes: u64,
    local_header_offset: u64,
}

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
    let dir = find_directory(src)?;
    let entries = read_entries(src, dir)?;
    let entry = choose(entries)?;
    read_local_header(src, entry)
}

/// Decompress the snapshot's member into `out`.
pub(super) fn decompress(src: &dyn ReadAt, out: &mut Limited<'_>) -> Result<(), ContainerError> {
    let member = zip_member(src)?;
    inflate(src, &member, out)
}

/// The EOCD (searched backwards over the comment), and the ZIP64 EOCD when
/// the EOCD's fields say their values are there.
fn find_directory(src: &dyn ReadAt) -> Result<Directory, ContainerError> {
    let len = src.len();
    if len < EOCD_BYTES as u64 {
        return Err(ZipError::TooShort { file_bytes: len }.into());
    }
    let tail_start = len.saturating_sub(EOCD_BYTES as u64 + EOCD_COMMENT_MAX_BYTES);
    let tail = src.read_vec(tail_start, len - tail_start)?;
    let eocd_at = (0..=tail.len().saturating_sub(EOCD_BYTES))
        .rev()
        .find(|&i| le32(&tail, i) == Some(EOCD_SIG))
        .ok_or(ZipError::NoEndRecord)?;
    let eocd = tail.get(eocd_at..).unwrap_or_default();
    let eocd_offset = tail_start + eocd_at as u64;
    let short = |offset| ZipError::EndRecordShort { offset };
    let field = |v: Option<u64>| v.ok_or(short(eocd_offset));
    let mut dir = Directory {
        entries: field(le16(eocd, EOCD_ENTRIES_AT).map(u64::from))?,
        size_bytes: field(le32(eocd, EOCD_CD_SIZE_AT).map(u64::from))?,
        offset: field(le32(eocd, EOCD_CD_OFFSET_AT).map(u64::from))?,
    };
    let zip64 = dir.entries == ZIP64_MARK_16
        || dir.size_bytes == ZIP64_MARK_32
        || dir.offset == ZIP64_MARK_32;
    if zip64 && eocd_offset >= ZIP64_LOCATOR_BYTES {
        let locator_offset = eocd_offset - ZIP64_LOCATOR_BYTES;
        let loc = src.read_vec(locator_offset, ZIP64_LOCATOR_BYTES)?;
        if le32(&loc, 0) == Some(ZIP64_LOCATOR_SIG) {
            let at = le64(&loc, ZIP64_LOCATOR_EOCD_AT).ok_or(short(locator_offset))?;
            let rec = src.read_vec(at, ZIP64_EOCD_BYTES)?;
            if le32(&rec, 0) != Some(ZIP64_EOCD_SIG) {
                return Err(ZipError::NoZip64EndRecord { offset: at }.into());
            }
            let field = |v: Option<u64>| v.ok_or(short(at));
            dir = Directory {
                entries: field(le64(&rec, ZIP64_EOCD_ENTRIES_AT))?,
                size_bytes: field(le64(&rec, ZIP64_EOCD_CD_SIZE_AT))?,
                offset: field(le64(&rec, ZIP64_EOCD_CD_OFFSET_AT))?,
            };
        }
    }
    if dir
        .offset
        .checked_add(dir.size_bytes)
        .is_none_or(|e| e > len)
    {
        return Err(ZipError::DirectoryOutside {
            offset: dir.offset,
            size_bytes: dir.size_bytes,
            file_bytes: len,
        }
        .into());
    }
    Ok(dir)
}

/// The file entries of the central directory, in order (at most [`ZIP_MAX_ENTRIES`]).
fn read_entries(src: &dyn ReadAt, dir: Directory) -> Result<Vec<Entry>, ContainerError> {
    let cd = src.read_vec(dir.offset, dir.size_bytes)?;
    let mut entries = Vec::new();
    let mut at = 0usize;
    for index in 0..dir.entries.min(ZIP_MAX_ENTRIES) {
        let offset = dir.offset + at as u64;
        let h = cd.get(at..).unwrap_or_default();
        let (entry, entry_bytes) = parse_entry(h).map_err(|e| match e {
            EntryFault::Signature => ZipError::EntryCorrupt { index, offset },
            EntryFault::Short => ZipError::EntryShort { index, offset },
        })?;
        at += entry_bytes;
        if !entry.name.ends_with('/') {
            entries.push(entry);
        }
    }
    Ok(entries)
}

/// What is wrong with one central directory entry (its place is added by the caller).
enum EntryFault {
    Signature,
    Short,
}

/// One central directory header from the start of `h`, and its length in bytes.
fn parse_entry(h: &[u8]) -> Result<(Entry, usize), EntryFault> {
    if le32(h, 0) != Some(CDH_SIG) {
        return Err(EntryFault::Signature);
    }
    let u16_at = |at| le16(h, at).ok_or(EntryFault::Short);
    let u32_at = |at| le32(h, at).ok_or(EntryFault::Short);
    let name_len = usize::from(u16_at(CDH_NAME_LEN_AT)?);
    let extra_len = usize::from(u16_at(CDH_EXTRA_LEN_AT)?);
    let comment_len = usize::from(u16_at(CDH_COMMENT_LEN_AT)?);
    let name_end = CDH_BYTES + name_len;
    let name = h.get(CDH_BYTES..name_end).ok_or(EntryFault::Short)?;
    let extra = h
        .get(name_end..name_end + extra_len)
        .ok_or(EntryFault::Short)?;
    let mut entry = Entry {
        name: String::from_utf8_lossy(name).into_owned(),
        flags: u16_at(CDH_FLAGS_AT)?,
        method: u16_at(CDH_METHOD_AT)?,
        crc32: u32_at(CDH_CRC_AT)?,
        compressed_bytes: u64::from(u32_at(CDH_CSIZE_AT)?),
        uncompressed_bytes: u64::from(u32_at(CDH_USIZE_AT)?),
        local_header_offset: u64::from(u32_at(CDH_LOCAL_OFFSET_AT)?),
    };
    apply_zip64_extra(extra, &mut entry);
    Ok((entry, name_end + extra_len + comment_len))
}

/// ZIP64 extended information (tag 1): the 64-bit values of the fields that
/// are 0xFFFFFFFF, in the order uncompressed size, compressed size, local offset.
fn apply_zip64_extra(extra: &[u8], entry: &mut Entry) {
    let mut e = 0usize;
    while let (Some(tag), Some(size)) = (le16(extra, e), le16(extra, e + 2)) {
        let body = extra
            .get(e + 4..e + 4 + usize::from(size))
            .unwrap_or_default();
        if tag == EXTRA_ZIP64_TAG {
            let mut k = 0usize;
            for field in [
                &mut entry.uncompressed_bytes,
                &mut entry.compressed_bytes,
                &mut entry.local_header_offset,
            ] {
                if *field == ZIP64_MARK_32
                    && let Some(v) = le64(body, k)
                {
                    *field = v;
                    k += 8;
                }
            }
        }
        e += 4 + usize::from(size);
    }
}

/// The entry that holds the snapshot: the only file, else the first named `*.db` or `*snapshot*`.
fn choose(mut entries: Vec<Entry>) -> Result<Entry, ZipError> {
    let looks_like_snapshot = |e: &Entry| {
        let base = e.name.rsplit('/').next().unwrap_or(&e.name);
        base.ends_with(".db") || base.contains("snapshot")
    };
    let pick = if entries.len() == 1 {
        Some(0)
    } else {
        entries.iter().position(looks_like_snapshot)
    };
    let Some(i) = pick else {
        return Err(ZipError::NoSnapshotMember {
            names: entries
                .iter()
                .take(NAMES_SHOWN)
                .map(|e| e.name.clone())
                .collect(),
        });
    };
    // `i` is an index of `entries` (0 of one, or found by `position`).
    let entry = entries.swap_remove(i);
    if entry.flags & FLAG_ENCRYPTED != 0 {
        return Err(ZipError::Encrypted { name: entry.name });
    }
    Ok(entry)
}

/// The entry's local header: where its data starts, checked against the file's end.
fn read_local_header(src: &dyn ReadAt, entry: Entry) -> Result<ZipMember, ContainerError> {
    let local = entry.local_header_offset;
    let lfh = src.read_vec(local, LFH_BYTES)?;
    if le32(&lfh, 0) != Some(LFH_SIG) {
        return Err(ZipError::NoLocalHeader {
            name: entry.name,
            offset: local,
        }
        .into());
    }
    // `read_vec` gave all 30 bytes, so both lengths are there.
    let name_len = u64::from(le16(&lfh, LFH_NAME_LEN_AT).unwrap_or(0));
    let extra_len = u64::from(le16(&lfh, LFH_EXTRA_LEN_AT).unwrap_or(0));
    let data_offset = local + LFH_BYTES + name_len + extra_len;
    let compressed_bytes = entry.compressed_bytes;
    if data_offset
        .checked_add(compressed_bytes)
        .is_none_or(|e| e > src.len())
    {
        return Err(ZipError::DataPastEnd {
            name: entry.name,
            data_offset,
            compressed_bytes,
        }
        .into());
    }
    Ok(ZipMember {
        name: entry.name,
        method: entry.method,
        crc32: entry.crc32,
        compressed_bytes,
        uncompressed_bytes: entry.uncompressed_bytes,
        data_offset,
    })
}

/// Output that also sums the CRC-32 of what passes.
struct Crc32Out<'a, 'b> {
    inner: &'a mut Limited<'b>,
    crc: flate2::Crc,
}

impl Out for Crc32Out<'_, '_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), ContainerError> {
        self.crc.update(bytes);
        self.inner.put(bytes)
    }
}

/// The member's data, stored or deflated, into `out`; then its CRC-32 and
/// size are compared with the directory's.
fn inflate(src: &dyn ReadAt, m: &ZipMember, out: &mut Limited<'_>) -> Result<(), ContainerError> {
    let before = out.written();
    let mut input = Cursor::range(src, m.data_offset, m.compressed_bytes);
    let rd = BufReader::with_capacity(READ_BYTES, &mut input);
    let mut tee = Crc32Out {
        inner: out,
        crc: flate2::Crc::new(),
    };
    match m.method {
        ZIP_STORED => pump(rd, &mut tee, CODEC)?,
        ZIP_DEFLATE => pump(flate2::bufread::DeflateDecoder::new(rd), &mut tee, CODEC)?,
        method => {
            return Err(ZipError::UnsupportedMethod {
                name: m.name.clone(),
                method,
            }
            .into());
        }
    }
    let found = tee.crc.sum();
    if found != m.crc32 {
        return Err(ContainerError::ZipCrc {
            name: m.name.clone(),
            expected: m.crc32,
            found,
        });
    }
    let found_bytes = out.written() - before;
    if found_bytes != m.uncompressed_bytes {
        return Err(ZipError::SizeMismatch {
            name: m.name.clone(),
            expected_bytes: m.uncompressed_bytes,
            found_bytes,
        }
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemSource;

    /// A stored (method 0) archive of `members`, laid out as APPNOTE says,
    /// with `flags` in every header.
    fn archive(members: &[(&str, &[u8])], flags: u16) -> Vec<u8> {
        let mut out = Vec::new();
        let mut cd = Vec::new();
        for (name, data) in members {
            let mut crc = flate2::Crc::new();
            crc.update(data);
            let offset = u32::try_from(out.len()).unwrap();
            let size = u32::try_from(data.len()).unwrap();
            let name_len = u16::try_from(name.len()).unwrap();
            // version needed · flags · method · time, date · crc · csize · usize · name len · extra len
            let common = |v: &mut Vec<u8>| {
                v.extend(20u16.to_le_bytes());
                v.extend(flags.to_le_bytes());
                v.extend(ZIP_STORED.to_le_bytes());
                v.extend([0; 4]);
                v.extend(crc.sum().to_le_bytes());
                v.extend(size.to_le_bytes());
                v.extend(size.to_le_bytes());
                v.extend(name_len.to_le_bytes());
                v.extend(0u16.to_le_bytes());
            };
            out.extend(LFH_SIG.to_le_bytes());
            common(&mut out);
            out.extend(name.as_bytes());
            out.extend(*data);
            cd.extend(CDH_SIG.to_le_bytes());
            cd.extend(20u16.to_le_bytes()); // version made by
            common(&mut cd);
            cd.extend([0; 10]); // comment len · disk · internal attrs · external attrs
            cd.extend(offset.to_le_bytes());
            cd.extend(name.as_bytes());
        }
        let cd_offset = u32::try_from(out.len()).unwrap();
        let n = u16::try_from(members.len()).unwrap();
        out.extend(&cd);
        out.extend(EOCD_SIG.to_le_bytes());
        out.extend([0; 4]); // disk, cd disk
        out.extend(n.to_le_bytes());
        out.extend(n.to_le_bytes());
        out.extend(u32::try_from(cd.len()).unwrap().to_le_bytes());
        out.extend(cd_offset.to_le_bytes());
        out.extend(0u16.to_le_bytes()); // comment len
        out
    }

    fn member(bytes: &[u8]) -> Result<ZipMember, ContainerError> {
        zip_member(&MemSource(bytes))
    }

    #[test]
    fn the_snapshot_member_is_found_and_its_data_located() {
        let z = archive(&[("notes.txt", b"hi"), ("etcd/member.db", b"bbolt")], 0);
        let m = member(&z).unwrap();
        assert_eq!(m.name, "etcd/member.db");
        assert_eq!((m.method, m.compressed_bytes), (ZIP_STORED, 5));
        let at = usize::try_from(m.data_offset).unwrap();
        assert_eq!(&z[at..at + 5], b"bbolt");
        let mut out = Vec::new();
        let mut limited = Limited::new(&mut out, 1 << 20, CODEC);
        decompress(&MemSource(z.as_slice()), &mut limited).unwrap();
        assert_eq!(out, b"bbolt");
    }

    #[test]
    fn each_broken_record_is_its_own_error() {
        assert_eq!(
            member(b"PK\x05\x06"),
            Err(ZipError::TooShort { file_bytes: 4 }.into())
        );
        assert_eq!(member(&[0; 64]), Err(ZipError::NoEndRecord.into()));

        let z = archive(&[("a.txt", b"a"), ("b.txt", b"b")], 0);
        assert_eq!(
            member(&z),
            Err(ZipError::NoSnapshotMember {
                names: vec!["a.txt".into(), "b.txt".into()]
            }
            .into())
        );
        assert_eq!(
            member(&archive(&[("x.db", b"x")], FLAG_ENCRYPTED)),
            Err(ZipError::Encrypted {
                name: "x.db".into()
            }
            .into())
        );

        // The second central directory entry loses its signature.
        let mut z = archive(&[("a.txt", b"a"), ("s.db", b"s")], 0);
        let second = z
            .windows(4)
            .enumerate()
            .filter(|(_, w)| *w == CDH_SIG.to_le_bytes())
            .nth(1)
            .map(|(i, _)| i)
            .unwrap();
        z[second] ^= 0xff;
        assert_eq!(
            member(&z),
            Err(ZipError::EntryCorrupt {
                index: 1,
                offset: second as u64
            }
            .into())
        );

        // The local header's signature is gone.
        let mut z = archive(&[("s.db", b"s")], 0);
        z[0] ^= 0xff;
        assert_eq!(
            member(&z),
            Err(ZipError::NoLocalHeader {
                name: "s.db".into(),
                offset: 0
            }
            .into())
        );
    }
}
