//! age-encrypted snapshots, read at random.
//!
//! An age file (<https://age-encryption.org/v1>) is a text header naming the
//! recipients, a 16-byte nonce, then the payload: the plaintext cut into
//! 64 KiB chunks, each sealed with ChaCha20-Poly1305 (16-byte tag) under a
//! nonce made of the chunk's index and a "last chunk" flag (see
//! `docs/format.md`). A chunk can therefore be located and authenticated on
//! its own, and [`AgeSource`] serves any byte range by decrypting only the
//! chunks it touches, through `age`'s `StreamReader` (which seeks when its
//! input does) over a `Read + Seek` adapter on the inner [`ReadAt`].
//!
//! What this module does not do: read ASCII-armored files at random. Armor is
//! base64 with free line endings, so byte *n* of the payload cannot be found
//! without decoding everything before it; [`dearmor`] streams the binary file
//! into a caller's [`Sink`] (a spool), and [`AgeSource`] opens the spool.
//!
//! Invariants: no byte is returned that did not authenticate; a wrong secret,
//! a modified chunk or a truncated file is a typed [`AgeError`] naming what
//! failed (chunk index and plaintext offset), never garbage, never a panic.
//! Secrets never appear in an error message.

use std::cell::RefCell;
use std::collections::{BTreeSet, VecDeque};
use std::io::{self, BufReader, Read, Seek, SeekFrom};

use age::secrecy::SecretString;

use crate::source::{Cursor, ReadAt, SourceError, source_error};
use crate::source::{Sink, SinkError};

mod recipient;
pub use recipient::{Recipient, RecipientError};

/// First line of a binary age file.
pub const BINARY_MAGIC: &[u8] = b"age-encryption.org/v1\n";
/// First line of an ASCII-armored age file (leading whitespace allowed).
pub const ARMOR_BEGIN: &[u8] = b"-----BEGIN AGE ENCRYPTED FILE-----";
/// Plaintext bytes per STREAM chunk.
pub const CHUNK_BYTES: u64 = 64 * 1024;
/// Poly1305 tag after each chunk.
pub const TAG_BYTES: u64 = 16;
/// A full chunk as stored: plaintext plus tag.
pub const SEALED_CHUNK_BYTES: u64 = CHUNK_BYTES + TAG_BYTES;
/// The payload nonce between the header and the first chunk.
pub const NONCE_BYTES: u64 = 16;
/// Headers are a few hundred bytes (one stanza per recipient). Refuse to look
/// further than this for the end of one, so a bogus file costs little.
pub const HEADER_MAX_BYTES: u64 = 1 << 20;
/// Highest scrypt work factor (log2 N) accepted for a passphrase. scrypt needs
/// 128·8·N bytes: 2^20 is 1 GiB, a quarter of a wasm32 address space. `age`
/// (Go) writes 18, rage aims at one second of work (18–20 on current machines).
pub const MAX_SCRYPT_LOG_N: u8 = 20;
/// Decrypted chunks kept for re-reads (8 × 64 KiB): bbolt reads a page's
/// header, then its elements, then overflow; they fall in the same chunks.
const CACHE_CHUNKS: usize = 8;

/// How an age file is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgeFormat {
    /// `age-encryption.org/v1` header, binary payload: random access.
    Binary,
    /// `-----BEGIN AGE ENCRYPTED FILE-----`: base64; de-armor first.
    Armored,
}

/// Recognise an age file from its first bytes (64 are plenty).
pub fn detect(prefix: &[u8]) -> Option<AgeFormat> {
    if prefix.starts_with(BINARY_MAGIC) {
        return Some(AgeFormat::Binary);
    }
    let start = prefix
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(prefix.len());
    let rest = prefix.get(start..).unwrap_or_default();
    rest.starts_with(ARMOR_BEGIN).then_some(AgeFormat::Armored)
}

/// Which secret opens a file, read from its header.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SecretNeeded {
    /// One `scrypt` stanza: ask for the passphrase.
    Passphrase,
    /// Recipient stanzas: ask for an identity. `recipient_types` are the stanza
    /// tags in header order, deduplicated: `X25519`, `ssh-ed25519`, `ssh-rsa`, …
    Identity { recipient_types: Vec<String> },
}

impl SecretNeeded {
    /// True when an X25519 identity (`AGE-SECRET-KEY-1…`) may match.
    pub fn accepts_x25519(&self) -> bool {
        self.has("X25519")
    }

    /// True when an SSH private key may match (ed25519 or RSA).
    pub fn accepts_ssh(&self) -> bool {
        self.has("ssh-ed25519") || self.has("ssh-rsa")
    }

    fn has(&self, tag: &str) -> bool {
        matches!(self, Self::Identity { recipient_types } if recipient_types.iter().any(|t| t == tag))
    }
}

/// The secret a user supplies.
pub enum Secret {
    /// The passphrase of a passphrase-encrypted (scrypt) file.
    Passphrase(String),
    /// The contents of an identity file: either age identities
    /// (`AGE-SECRET-KEY-1…` lines, `#` comments and blank lines allowed, several
    /// keys allowed) or an OpenSSH private key (ed25519 or RSA), with the key's
    /// own passphrase when it is protected.
    Identity {
        file: Vec<u8>,
        ssh_key_passphrase: Option<String>,
    },
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Passphrase(_) => f.write_str("Secret::Passphrase(…)"),
            Self::Identity { .. } => f.write_str("Secret::Identity(…)"),
        }
    }
}

/// Everything that can go wrong opening or reading an age file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgeError {
    #[error("not an age file (no `age-encryption.org/v1` header)")]
    NotAge,
    #[error(
        "the age file is ASCII-armored, which cannot be read at random: de-armor it first (it is then spooled)"
    )]
    Armored,
    #[error("the ASCII armor is corrupt: {0}")]
    ArmorCorrupt(String),
    #[error("invalid age header: {0}")]
    Header(String),
    #[error("the age header was modified (its MAC does not match)")]
    HeaderMac,
    #[error("the age file is truncated: {0}")]
    Truncated(String),
    #[error("the file is encrypted with a passphrase: give the passphrase, not an identity")]
    NeedsPassphrase,
    #[error(
        "the file is encrypted to recipients ({types}): give an identity (X25519 key or SSH private key), not a passphrase"
    )]
    NeedsIdentity { types: String },
    #[error("wrong passphrase")]
    WrongPassphrase,
    #[error("no identity given matches a recipient of this file (it is encrypted to: {types})")]
    NoMatchingIdentity { types: String },
    #[error(
        "the passphrase was stretched with scrypt work factor 2^{required}, above the limit 2^{limit}"
    )]
    ExcessiveWork { required: u8, limit: u8 },
    #[error("identity file line {line}: not an age identity (expected `AGE-SECRET-KEY-1…`)")]
    BadIdentityLine { line: usize },
    #[error("the identity file holds no identity")]
    NoIdentity,
    #[error("the SSH private key is protected by a passphrase: give the key's passphrase")]
    SshKeyNeedsPassphrase,
    #[error("wrong passphrase for the SSH private key")]
    WrongSshKeyPassphrase,
    #[error("unsupported SSH private key: {0}")]
    UnsupportedSshKey(String),
    #[error("not a valid OpenSSH private key")]
    BadSshKey,
    #[error(
        "chunk {chunk} (plaintext offset {plaintext_offset}) failed authentication: the file was modified or is corrupt"
    )]
    TamperedChunk { chunk: u64, plaintext_offset: u64 },
    #[error(
        "the last chunk ({chunk}, plaintext offset {plaintext_offset}) is not sealed as the last: the file is truncated or was modified"
    )]
    BadLastChunk { chunk: u64, plaintext_offset: u64 },
    #[error(
        "a recipient stanza names this identity, but the file key does not decrypt with it: the header was modified or the key is damaged"
    )]
    FileKeyUndecryptable,
    #[error(
        "the payload decrypts to {found_bytes} bytes, not the {computed_bytes} its size implies: the file was modified"
    )]
    PlaintextLength {
        computed_bytes: u64,
        found_bytes: u64,
    },
    #[error(
        "chunk {chunk} (plaintext offset {plaintext_offset}) decrypted to fewer bytes than the file's length implies"
    )]
    ShortChunk { chunk: u64, plaintext_offset: u64 },
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("writing the de-armored file: {0}")]
    Sink(#[from] SinkError),
}

/// Where the header ends and what it asks for, parsed without any secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderInfo {
    /// Bytes up to and including the MAC line (`--- …\n`).
    pub header_bytes: u64,
    /// Stanza tags in order, deduplicated.
    pub recipient_types: Vec<String>,
}

impl HeaderInfo {
    /// Offset of the first chunk.
    pub fn payload_offset(&self) -> u64 {
        self.header_bytes + NONCE_BYTES
    }

    /// Which secret opens the file.
    pub fn secret_needed(&self) -> SecretNeeded {
        if self.recipient_types.iter().any(|t| t == "scrypt") {
            SecretNeeded::Passphrase
        } else {
            SecretNeeded::Identity {
                recipient_types: self.recipient_types.clone(),
            }
        }
    }

    fn types(&self) -> String {
        self.recipient_types.join(", ")
    }
}

/// Read a binary age header from `src`: where it ends and its stanza types.
/// Structure only; `age` itself validates the header when the file is opened.
pub fn read_header(src: &dyn ReadAt) -> Result<HeaderInfo, AgeError> {
    const STEP: u64 = 4096;
    let limit = src.len().min(HEADER_MAX_BYTES);
    let mut buf = Vec::new();
    let mut types: Vec<String> = Vec::new();
    let mut line_start = 0usize;
    loop {
        // Parse every complete line in `buf` from `line_start`.
        while let Some(nl) = buf
            .get(line_start..)
            .and_then(|b| b.iter().position(|&c| c == b'\n'))
        {
            let line = buf.get(line_start..line_start + nl).unwrap_or_default();
            let next = line_start + nl + 1;
            if line_start == 0 {
                if line != BINARY_MAGIC.strip_suffix(b"\n").unwrap_or_default() {
                    return Err(AgeError::NotAge);
                }
            } else if let Some(stanza) = line.strip_prefix(b"-> ") {
                let tag = stanza.split(|&c| c == b' ').next().unwrap_or_default();
                let tag = String::from_utf8_lossy(tag).into_owned();
                // age adds random `…-grease` stanzas so parsers tolerate unknown ones.
                if !tag.ends_with("-grease") && !types.contains(&tag) {
                    types.push(tag);
                }
            } else if line.starts_with(b"---") {
                return Ok(HeaderInfo {
                    header_bytes: next as u64,
                    recipient_types: types,
                });
            }
            line_start = next;
        }
        let have = buf.len() as u64;
        if have >= limit {
            return Err(if have < HEADER_MAX_BYTES && have == src.len() {
                AgeError::Truncated(format!(
                    "the header ends before its MAC line ({have} bytes)"
                ))
            } else if have == 0 {
                AgeError::NotAge
            } else {
                AgeError::Header(format!("no MAC line in the first {have} bytes"))
            });
        }
        let n = STEP.min(limit - have);
        let more = src.read_vec(have, n)?;
        buf.extend_from_slice(&more);
        if line_start == 0 && buf.len() >= BINARY_MAGIC.len() && !buf.starts_with(BINARY_MAGIC) {
            return Err(AgeError::NotAge);
        }
    }
}

/// Which secret a binary age file needs. Armored input gives [`AgeError::Armored`].
pub fn secret_needed(src: &dyn ReadAt) -> Result<SecretNeeded, AgeError> {
    let mut prefix = vec![0u8; usize::try_from(src.len().min(64)).unwrap_or(64)];
    src.read_exact_at(0, &mut prefix)?;
    match detect(&prefix) {
        Some(AgeFormat::Binary) => Ok(read_header(src)?.secret_needed()),
        Some(AgeFormat::Armored) => Err(AgeError::Armored),
        None => Err(AgeError::NotAge),
    }
}

/// Decode an ASCII-armored age file into the binary file, streamed into `sink`.
/// Returns the binary length. Armor is checked strictly (64-column lines,
/// padding, nothing after the end marker but whitespace).
pub fn dearmor(src: &dyn ReadAt, sink: &mut dyn Sink) -> Result<u64, AgeError> {
    let mut rd =
        age::armor::ArmoredReader::new(BufReader::with_capacity(64 * 1024, Cursor::new(src)));
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = match rd.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                if let Some(se) = source_error(&e) {
                    return Err(AgeError::Source(se));
                }
                return Err(AgeError::ArmorCorrupt(e.to_string()));
            }
        };
        let chunk = buf.get(..n).unwrap_or_default();
        if total == 0 && !chunk.starts_with(BINARY_MAGIC) {
            return Err(AgeError::ArmorCorrupt(
                "the armored data is not an age file".into(),
            ));
        }
        sink.write(chunk)?;
        total += n as u64;
    }
    if total == 0 {
        return Err(AgeError::ArmorCorrupt("no armored data".into()));
    }
    Ok(total)
}

/// Plaintext length of a payload of `sealed` bytes (after header and nonce).
///
/// ```text
/// payload = n × (65536 + 16)  [+ (r + 16), 0 < r < 65536]
/// plaintext = n × 65536 + r ;  a payload is never empty (an empty file has one 16-byte chunk)
/// ```
pub fn plaintext_len(sealed: u64) -> Result<u64, AgeError> {
    let full = sealed / SEALED_CHUNK_BYTES;
    let rest = sealed % SEALED_CHUNK_BYTES;
    match rest {
        0 if full == 0 => Err(AgeError::Truncated("the payload is empty".into())),
        0 => Ok(full * CHUNK_BYTES),
        r if r < TAG_BYTES => Err(AgeError::Truncated(format!(
            "the last chunk has {r} bytes, less than its 16-byte tag"
        ))),
        r if r == TAG_BYTES && full > 0 => Err(AgeError::Truncated(
            "an empty last chunk follows full chunks (age never writes one)".into(),
        )),
        r => Ok(full * CHUNK_BYTES + (r - TAG_BYTES)),
    }
}

type Inner<R> = age::stream::StreamReader<BufReader<Cursor<R>>>;

/// A decrypted view of a binary age file: [`ReadAt`] over the plaintext.
///
/// Holds the identities: `age`'s reader cannot continue after a chunk fails to
/// authenticate, so it is rebuilt (re-unwrapping the file key) on the next read.
pub struct AgeSource<R: ReadAt + Clone> {
    inner_src: R,
    identities: Vec<Box<dyn age::Identity>>,
    header: HeaderInfo,
    len: u64,
    state: RefCell<State<R>>,
}

struct State<R: ReadAt> {
    reader: Option<Inner<R>>,
    /// Most recently used last.
    cache: VecDeque<(u64, Vec<u8>)>,
    /// Chunks that failed to authenticate: fail again without rebuilding the reader.
    bad: BTreeSet<u64>,
}

impl<R: ReadAt + Clone> std::fmt::Debug for AgeSource<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgeSource")
            .field("len", &self.len)
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl<R: ReadAt + Clone> AgeSource<R> {
    /// Open a binary age file with a secret. Checks the secret (unwrapping the
    /// file key) and authenticates the last chunk, so a wrong secret or a
    /// truncated file fails here, not on the first read.
    pub fn open(src: R, secret: &Secret) -> Result<Self, AgeError> {
        let mut prefix = vec![0u8; usize::try_from(src.len().min(64)).unwrap_or(64)];
        src.read_exact_at(0, &mut prefix)?;
        match detect(&prefix) {
            Some(AgeFormat::Binary) => {}
            Some(AgeFormat::Armored) => return Err(AgeError::Armored),
            None => return Err(AgeError::NotAge),
        }
        let header = read_header(&src)?;
        let scrypt = header.secret_needed() == SecretNeeded::Passphrase;
        let identities = match (secret, scrypt) {
            (Secret::Passphrase(p), true) => {
                let mut id = age::scrypt::Identity::new(SecretString::from(p.clone()));
                id.set_max_work_factor(MAX_SCRYPT_LOG_N);
                vec![Box::new(id) as Box<dyn age::Identity>]
            }
            (Secret::Passphrase(_), false) => {
                return Err(AgeError::NeedsIdentity {
                    types: header.types(),
                });
            }
            (Secret::Identity { .. }, true) => return Err(AgeError::NeedsPassphrase),
            (
                Secret::Identity {
                    file,
                    ssh_key_passphrase,
                },
                false,
            ) => parse_identities(file, ssh_key_passphrase.as_deref())?,
        };
        let sealed = src.len().saturating_sub(header.payload_offset());
        if src.len() < header.payload_offset() {
            return Err(AgeError::Truncated("the file ends inside the nonce".into()));
        }
        let len = plaintext_len(sealed)?;
        let mut me = Self {
            inner_src: src,
            identities,
            header,
            len,
            state: RefCell::new(State {
                reader: None,
                cache: VecDeque::new(),
                bad: BTreeSet::new(),
            }),
        };
        let mut reader = me.new_reader()?;
        // `age` authenticates the ciphertext length: the last chunk must open as
        // the last one (a file cut at a chunk boundary fails here).
        let last = (len.saturating_sub(1)) / CHUNK_BYTES;
        match reader.seek(SeekFrom::End(0)) {
            Ok(n) if n == len => {}
            Ok(n) => {
                return Err(AgeError::PlaintextLength {
                    computed_bytes: len,
                    found_bytes: n,
                });
            }
            Err(e) => {
                if let Some(se) = source_error(&e) {
                    return Err(AgeError::Source(se));
                }
                return Err(AgeError::BadLastChunk {
                    chunk: last,
                    plaintext_offset: last * CHUNK_BYTES,
                });
            }
        }
        me.state.get_mut().reader = Some(reader);
        Ok(me)
    }

    /// The header: its length and recipient types.
    pub fn header(&self) -> &HeaderInfo {
        &self.header
    }

    fn new_reader(&self) -> Result<Inner<R>, AgeError> {
        let rd = BufReader::with_capacity(16 * 1024, Cursor::new(self.inner_src.clone()));
        let dec = age::Decryptor::new_buffered(rd).map_err(|e| self.decrypt_error(e))?;
        dec.decrypt(
            self.identities
                .iter()
                .map(|b| b.as_ref() as &dyn age::Identity),
        )
        .map_err(|e| self.decrypt_error(e))
    }

    fn decrypt_error(&self, e: age::DecryptError) -> AgeError {
        use age::DecryptError as D;
        let scrypt = self.header.secret_needed() == SecretNeeded::Passphrase;
        match e {
            D::DecryptionFailed | D::NoMatchingKeys | D::KeyDecryptionFailed if scrypt => {
                AgeError::WrongPassphrase
            }
            D::NoMatchingKeys => AgeError::NoMatchingIdentity {
                types: self.header.types(),
            },
            D::ExcessiveWork { required, .. } => AgeError::ExcessiveWork {
                required,
                limit: MAX_SCRYPT_LOG_N,
            },
            D::InvalidMac => AgeError::HeaderMac,
            D::InvalidHeader | D::UnknownFormat => AgeError::Header(e.to_string()),
            D::Io(io) => match source_error(&io) {
                Some(se) => AgeError::Source(se),
                None if io.kind() == io::ErrorKind::UnexpectedEof => {
                    AgeError::Truncated("the header is cut short".into())
                }
                None => AgeError::Header(io.to_string()),
            },
            // A stanza matched the identity (else `NoMatchingKeys`) but its body
            // does not open to a file key.
            D::DecryptionFailed | D::KeyDecryptionFailed => AgeError::FileKeyUndecryptable,
            // Variants of later `age` versions (the enum is non-exhaustive; the
            // `plugin` feature is off): the decryptor reads only the header.
            other => AgeError::Header(other.to_string()),
        }
    }

    /// Chunk `index`: taken out of the cache, or decrypted. [`State::keep`] puts it back.
    fn take_chunk(&self, state: &mut State<R>, index: u64) -> Result<Vec<u8>, AgeError> {
        if let Some(i) = state.cache.iter().position(|(k, _)| *k == index)
            && let Some((_, hit)) = state.cache.remove(i)
        {
            return Ok(hit);
        }
        let plaintext_offset = index * CHUNK_BYTES;
        if state.bad.contains(&index) {
            return Err(AgeError::TamperedChunk {
                chunk: index,
                plaintext_offset,
            });
        }
        let want = (self.len - plaintext_offset).min(CHUNK_BYTES);
        let mut buf = vec![0u8; usize::try_from(want).unwrap_or(0)];
        let reader = match &mut state.reader {
            Some(r) => r,
            None => state.reader.insert(self.new_reader()?),
        };
        let res = reader
            .seek(SeekFrom::Start(plaintext_offset))
            .and_then(|_| reader.read_exact(&mut buf));
        if let Err(e) = res {
            // The reader's state is undefined after a failure: start afresh next time.
            state.reader = None;
            if let Some(se) = source_error(&e) {
                return Err(AgeError::Source(se));
            }
            state.bad.insert(index);
            return Err(AgeError::TamperedChunk {
                chunk: index,
                plaintext_offset,
            });
        }
        Ok(buf)
    }

    fn read_plain(&self, offset: u64, buf: &mut [u8]) -> Result<(), AgeError> {
        let mut state = self.state.borrow_mut();
        let mut pos = offset;
        let mut done = 0usize;
        while done < buf.len() {
            let index = pos / CHUNK_BYTES;
            let chunk = self.take_chunk(&mut state, index)?;
            let within = usize::try_from(pos % CHUNK_BYTES).unwrap_or(usize::MAX);
            let avail = chunk.get(within..).unwrap_or_default();
            let n = avail.len().min(buf.len() - done);
            if let (Some(dst), Some(src)) = (buf.get_mut(done..done + n), avail.get(..n)) {
                dst.copy_from_slice(src);
            }
            state.keep(index, chunk);
            if n == 0 {
                return Err(AgeError::ShortChunk {
                    chunk: index,
                    plaintext_offset: index * CHUNK_BYTES,
                });
            }
            done += n;
            pos += n as u64;
        }
        Ok(())
    }
}

impl<R: ReadAt> State<R> {
    /// Cache a chunk as the most recently used, dropping the least recent beyond [`CACHE_CHUNKS`].
    fn keep(&mut self, index: u64, chunk: Vec<u8>) {
        if self.cache.len() >= CACHE_CHUNKS {
            self.cache.pop_front();
        }
        self.cache.push_back((index, chunk));
    }
}

impl<R: ReadAt + Clone> ReadAt for AgeSource<R> {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), SourceError> {
        let n = buf.len() as u64;
        if offset.checked_add(n).is_none_or(|end| end > self.len) {
            return Err(SourceError {
                offset,
                len: n,
                reason: format!("past the end of the {}-byte decrypted file", self.len),
            });
        }
        self.read_plain(offset, buf).map_err(|e| match e {
            AgeError::Source(se) => se,
            e => SourceError {
                offset,
                len: n,
                reason: e.to_string(),
            },
        })
    }
}

/// Parse an identity file: an OpenSSH private key, or age identities.
fn parse_identities(
    file: &[u8],
    ssh_key_passphrase: Option<&str>,
) -> Result<Vec<Box<dyn age::Identity>>, AgeError> {
    let text = std::str::from_utf8(file).map_err(|_| AgeError::NoIdentity)?;
    if text.trim_start().starts_with("-----BEGIN") {
        return ssh_identity(text, ssh_key_passphrase).map(|id| vec![id]);
    }
    let mut out: Vec<Box<dyn age::Identity>> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let id: age::x25519::Identity = line
            .parse()
            .map_err(|_| AgeError::BadIdentityLine { line: i + 1 })?;
        out.push(Box::new(id));
    }
    if out.is_empty() {
        return Err(AgeError::NoIdentity);
    }
    Ok(out)
}

fn ssh_identity(text: &str, passphrase: Option<&str>) -> Result<Box<dyn age::Identity>, AgeError> {
    use age::ssh::Identity as Ssh;
    let id = Ssh::from_buffer(io::Cursor::new(text.as_bytes()).take(1 << 20), None)
        .map_err(|_| AgeError::BadSshKey)?;
    match id {
        Ssh::Unencrypted(_) => Ok(Box::new(id)),
        Ssh::Encrypted(key) => {
            // Decrypting the key here (rather than through `age`'s callbacks at
            // unwrap time) tells a wrong key passphrase apart from a key that
            // matches no recipient.
            let Some(p) = passphrase else {
                return Err(AgeError::SshKeyNeedsPassphrase);
            };
            let key = key
                .decrypt(SecretString::from(p.to_owned()))
                .map_err(|_| AgeError::WrongSshKeyPassphrase)?;
            Ok(Box::new(Ssh::from(key)))
        }
        Ssh::Unsupported(k) => Err(AgeError::UnsupportedSshKey(match k {
            age::ssh::UnsupportedKey::EncryptedPem => {
                "an encrypted PEM key (convert it: ssh-keygen -p -o)".into()
            }
            age::ssh::UnsupportedKey::EncryptedSsh(c) => format!("key encrypted with {c}"),
            age::ssh::UnsupportedKey::Hardware(t) | age::ssh::UnsupportedKey::Type(t) => t,
        })),
    }
}
