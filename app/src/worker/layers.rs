//! Peeling a file's layers: armor, compression, age (with the user's secret).

use std::rc::Rc;

use etcd_lens_core::age::{self, AgeFormat, AgeSource, Secret, SecretNeeded};
use etcd_lens_core::container::{self, Codec, Layer};
use etcd_lens_core::{MemSource, ReadAt};

use super::Src;
use crate::protocol::{SecretPrompt, UnlockSecret};

/// Largest decompressed or de-armored file held in memory (decompressed files
/// normally go to private storage instead; see `web::opfs`).
pub const MAX_IN_MEMORY_BYTES: u64 = 1 << 30;
/// Largest decompressed file spooled to private storage (well above etcd's
/// 8 GiB suggested maximum; the browser's quota may stop it sooner).
pub const MAX_SPOOL_BYTES: u64 = 64 << 30;
/// Layers peeled at most (e.g. age → zstd → bbolt is two).
const MAX_LAYERS: usize = 4;

/// The next step after peeling what can be peeled without a secret.
pub enum Peeled {
    /// A bbolt file (or something to report as not one).
    Ready(Src),
    /// An age file: ask for this secret.
    NeedSecret(Src, SecretPrompt),
    /// A compressed file: decompress it somewhere it can be read at random
    /// (the worker spools it to private storage), then peel on.
    Compressed(Src, Codec),
}

/// Decompress into memory (up to [`MAX_IN_MEMORY_BYTES`]): where private
/// storage is not available, and in native tests.
pub fn decompress_in_memory(
    src: &dyn ReadAt,
    codec: Codec,
    why: &str,
    layers: &mut Vec<String>,
) -> Result<Src, String> {
    let mut out = Vec::new();
    container::decompress(src, codec, &mut out, MAX_IN_MEMORY_BYTES).map_err(|e| e.to_string())?;
    layers.push(format!(
        "{} (decompressed in memory: {} bytes; {why})",
        codec.name(),
        out.len()
    ));
    Ok(Rc::new(MemSource(out)))
}

/// Peel compression and armor layers, noting each in `layers`.
pub fn peel(mut src: Src, layers: &mut Vec<String>) -> Result<Peeled, String> {
    // Counted over the whole chain: peeling resumes after each decompression.
    for _ in layers.len()..MAX_LAYERS {
        match container::detect_source(&*src).map_err(|e| e.to_string())? {
            Layer::Bbolt | Layer::Unknown => return Ok(Peeled::Ready(src)),
            Layer::Compressed(codec) => return Ok(Peeled::Compressed(src, codec)),
            Layer::Age(AgeFormat::Armored) => {
                let mut out = Vec::new();
                age::dearmor(&*src, &mut out).map_err(|e| e.to_string())?;
                layers.push("age ASCII armor".into());
                src = Rc::new(MemSource(out));
            }
            Layer::Age(AgeFormat::Binary) => {
                let needed = age::secret_needed(&*src).map_err(|e| e.to_string())?;
                let prompt = match needed {
                    SecretNeeded::Passphrase => SecretPrompt {
                        passphrase: true,
                        recipient_types: Vec::new(),
                    },
                    SecretNeeded::Identity { recipient_types } => SecretPrompt {
                        passphrase: false,
                        recipient_types,
                    },
                };
                return Ok(Peeled::NeedSecret(src, prompt));
            }
        }
    }
    Err(format!(
        "more than {MAX_LAYERS} layers of encryption or compression: refusing to go on"
    ))
}

/// Decrypt an age file with the user's secret (random access, nothing spooled).
pub fn unlock(src: &Src, secret: &UnlockSecret, layers: &mut Vec<String>) -> Result<Src, String> {
    let (secret, how) = match secret {
        UnlockSecret::Passphrase { passphrase } => {
            (Secret::Passphrase(passphrase.clone()), "passphrase")
        }
        UnlockSecret::Identity {
            identity,
            ssh_key_passphrase,
        } => (
            Secret::Identity {
                file: identity.as_bytes().to_vec(),
                ssh_key_passphrase: ssh_key_passphrase.clone(),
            },
            if identity.trim_start().starts_with("-----BEGIN") {
                "SSH key"
            } else {
                "X25519 identity"
            },
        ),
    };
    let opened = AgeSource::open(src.clone(), &secret).map_err(|e| e.to_string())?;
    layers.push(format!("age (decrypted in this tab with a {how})"));
    Ok(Rc::new(opened))
}
