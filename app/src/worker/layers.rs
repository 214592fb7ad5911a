//! Peeling a file's layers: armor, compression, age (with the user's secret).

use std::rc::Rc;

use etcd_lens_core::age::{AgeSource, Secret, SecretNeeded};
use etcd_lens_core::container::{self, Peeler, Spooled, Step};
use etcd_lens_core::{MemSource, ReadAt};

use super::{Src, WorkerError};
use crate::protocol::{SecretPrompt, UnlockSecret};

/// Largest decompressed or de-armored file held in memory (decompressed files
/// normally go to private storage instead; see `web::opfs`).
pub const MAX_IN_MEMORY_BYTES: u64 = 1 << 30;
/// Largest decompressed file spooled to private storage (well above etcd's
/// 8 GiB suggested maximum; the browser's quota may stop it sooner).
pub const MAX_SPOOL_BYTES: u64 = 64 << 30;
/// The next step after peeling what can be peeled without a secret.
pub enum Peeled {
    /// A bbolt file (or something to report as not one).
    Ready(Src),
    /// An age file: ask for this secret.
    NeedSecret(Src, SecretPrompt),
    /// Not readable at random (compressed, or ASCII-armored age): stream it
    /// somewhere (the worker spools it to private storage), then peel on.
    Spool(Src, Spooled),
}

/// Spool into memory (up to [`MAX_IN_MEMORY_BYTES`]): where private storage
/// is not available, and in native tests.
pub fn spool_in_memory(
    src: &dyn ReadAt,
    what: Spooled,
    why: &str,
    layers: &mut Vec<String>,
) -> Result<Src, WorkerError> {
    let mut out = Vec::new();
    container::spool(src, what, &mut out, MAX_IN_MEMORY_BYTES)?;
    layers.push(format!(
        "{} ({} in memory: {} bytes; {why})",
        what.name(),
        what.done(),
        out.len()
    ));
    Ok(Rc::new(MemSource(out)))
}

/// The next step for `src`, the core's plan ([`container::Peeler`]); the
/// layers peeled so far are counted from `layers`. zstd's seekable format is
/// read at random ([`container::SeekableZstd`]) and peeled on here, its
/// name added to `layers` (the header's "age → zstd (seekable)").
pub fn peel(mut src: Src, layers: &mut Vec<String>) -> Result<Peeled, WorkerError> {
    let mut peeler = Peeler::after(layers.len());
    loop {
        return match peeler.next(&*src)? {
            Step::Seekable(table) => {
                let frames = table.frames().len();
                src = Rc::new(container::SeekableZstd::with_table(src, table));
                layers.push(format!(
                    "{} ({frames} frames, read at random)",
                    container::SeekableZstd::<Src>::NAME
                ));
                continue;
            }
            Step::Open => Ok(Peeled::Ready(src)),
            Step::Spool(what) => Ok(Peeled::Spool(src, what)),
            Step::NeedSecret(needed) => {
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
                Ok(Peeled::NeedSecret(src, prompt))
            }
        };
    }
}

/// Decrypt an age file with the user's secret (random access, nothing spooled).
pub fn unlock(
    src: &Src,
    secret: &UnlockSecret,
    layers: &mut Vec<String>,
) -> Result<Src, WorkerError> {
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
    let opened = AgeSource::open(src.clone(), &secret)?;
    layers.push(format!("age (decrypted in this tab with a {how})"));
    Ok(Rc::new(opened))
}
