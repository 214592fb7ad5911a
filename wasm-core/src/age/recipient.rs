//! Who a snapshot is encrypted to: an age recipient from configuration
//! (`age1…` X25519 or an SSH public key), with a stable fingerprint for
//! records and logs.

/// An age recipient read from configuration: who a snapshot is encrypted to.
pub struct Recipient {
    /// `x25519` or `ssh-ed25519` / `ssh-rsa`.
    pub kind: &'static str,
    /// The recipient as written (an `age1…` key, or an SSH public key without its comment).
    pub public: String,
    inner: Box<dyn age::Recipient + Send + Sync>,
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recipient")
            .field("kind", &self.kind)
            .field("fingerprint", &self.fingerprint())
            .finish()
    }
}

/// Why a recipient line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecipientError {
    #[error(
        "not an age recipient: expected `age1…` (X25519) or an SSH public key (`ssh-ed25519 …`, `ssh-rsa …`)"
    )]
    Unknown,
    #[error("invalid X25519 recipient: {0}")]
    X25519(String),
    #[error("invalid SSH public key: {0}")]
    Ssh(String),
}

impl Recipient {
    /// Parse one recipient: `age1…` or an OpenSSH public key line.
    pub fn parse(text: &str) -> Result<Self, RecipientError> {
        use std::str::FromStr;
        let text = text.trim();
        if text.starts_with("age1") {
            let r = age::x25519::Recipient::from_str(text)
                .map_err(|e| RecipientError::X25519(e.to_string()))?;
            return Ok(Self {
                kind: "x25519",
                public: text.to_string(),
                inner: Box::new(r),
            });
        }
        let mut words = text.split_whitespace();
        let (Some(kind), Some(key)) = (words.next(), words.next()) else {
            return Err(RecipientError::Unknown);
        };
        let kind: &'static str = match kind {
            "ssh-ed25519" => "ssh-ed25519",
            "ssh-rsa" => "ssh-rsa",
            _ => return Err(RecipientError::Unknown),
        };
        let public = format!("{kind} {key}");
        let r = age::ssh::Recipient::from_str(&public)
            .map_err(|e| RecipientError::Ssh(format!("{e:?}")))?;
        Ok(Self {
            kind,
            public,
            inner: Box::new(r),
        })
    }

    /// A short, stable name for the recipient: the first 8 bytes of the
    /// SHA-256 of its public form, in hex. It identifies a key in records and
    /// logs without repeating it.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        hex::encode(&sha2::Sha256::digest(self.public.as_bytes())[..8])
    }

    /// The recipient as `age`'s encryptor takes it.
    pub fn as_age(&self) -> &dyn age::Recipient {
        self.inner.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_parse_and_refuse() {
        let id = age::x25519::Identity::generate();
        let public = id.to_public().to_string();
        let r = Recipient::parse(&public).unwrap();
        assert_eq!((r.kind, r.fingerprint().len()), ("x25519", 16));
        let ssh = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN alice@example";
        let r = Recipient::parse(ssh).unwrap();
        assert_eq!(r.kind, "ssh-ed25519");
        assert!(
            !r.public.contains("alice"),
            "the comment is not part of the key"
        );
        assert_eq!(
            Recipient::parse("hello").unwrap_err(),
            RecipientError::Unknown
        );
        assert!(matches!(
            Recipient::parse("age1qqqq"),
            Err(RecipientError::X25519(_))
        ));
        assert!(matches!(
            Recipient::parse("ssh-ed25519 AAAA"),
            Err(RecipientError::Ssh(_))
        ));
    }
}
