//! age-encrypted files for tests, written with the `age` crate's own
//! encryptor (rage's library): the files the decryptors under test must open.

use std::io::Write;

pub use age::armor::Format;
use age::secrecy::SecretString;

/// `plaintext` encrypted to every one of `recipients`, binary or ASCII-armored.
pub fn encrypt(recipients: &[&dyn age::Recipient], plaintext: &[u8], format: Format) -> Vec<u8> {
    let enc = age::Encryptor::with_recipients(recipients.iter().copied())
        .expect("at least one recipient");
    let out = age::armor::ArmoredWriter::wrap_output(Vec::new(), format).expect("armor writer");
    let mut w = enc.wrap_output(out).expect("age writer");
    w.write_all(plaintext).expect("writing to memory");
    w.finish()
        .and_then(|armor| armor.finish())
        .expect("finishing the age file")
}

/// A passphrase recipient at scrypt work factor 2^10, which keeps tests fast
/// (`age` itself writes 2^18).
pub fn passphrase(pass: &str) -> age::scrypt::Recipient {
    let mut r = age::scrypt::Recipient::new(SecretString::from(pass.to_owned()));
    r.set_work_factor(10);
    r
}
