//! A wrapper for secrets (API keys, admin keys, session tokens, signing keys).
//!
//! `Debug`, `Display` and `Serialize` print `[REDACTED]`; the bytes are zeroed on drop; the
//! only way to read the value is the explicit [`Secret::expose`].

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroize;

/// The text printed in place of a secret.
pub const REDACTED: &str = "[REDACTED]";

/// A secret string that cannot be printed by accident.
#[derive(Clone)]
pub struct Secret(Box<str>);

/// Equality in time that depends only on the lengths, never on where the values differ
/// (a derived `==` would stop at the first differing byte).
impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
        std::hint::black_box(diff) == 0
    }
}

impl Eq for Secret {}

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into().into_boxed_str())
    }

    /// Reads the secret. Call sites are the audit trail of where secrets are used.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Length in bytes (safe to reveal for validation messages).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // SAFETY-free zeroing: overwrite the owned buffer through a String round trip.
        let mut owned = std::mem::take(&mut self.0).into_string();
        owned.zeroize();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

/// Why a configured secret that is the placeholder itself is refused.
pub(crate) const PLACEHOLDER_REFUSED: &str = "is the [REDACTED] placeholder that `config show` prints, not a secret: set the real value (e.g. from the environment)";

/// Reading a secret from configuration refuses the placeholder `Serialize` writes: a file
/// rendered by `config show` and loaded back must not make the literal `[REDACTED]` a working
/// API key (found by the configuration fuzz target's round trip).
impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        if value == REDACTED {
            return Err(serde::de::Error::custom(PLACEHOLDER_REFUSED));
        }
        Ok(Secret::new(value))
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}
