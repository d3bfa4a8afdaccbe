//! API key verification in constant time over fixed-length digests: the SHA-256 of the
//! presented key is compared with the SHA-256 of EVERY configured key (no early exit), so
//! neither the key's length nor which key matched leaks through timing. Several keys may be
//! active at once during rotation.

use sha2::{Digest, Sha256};
use subtle::{ConditionallySelectable, ConstantTimeEq};

use crate::secret::Secret;

/// Digests of the configured keys.
#[derive(Clone)]
pub struct ApiKeyVerifier {
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for ApiKeyVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeyVerifier({} keys)", self.digests.len())
    }
}

/// SHA-256 of a secret's text.
pub fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

impl ApiKeyVerifier {
    /// Digests every non-empty configured key.
    pub fn new(keys: &[Secret]) -> Self {
        ApiKeyVerifier {
            digests: keys
                .iter()
                .filter(|k| !k.is_empty())
                .map(|k| digest(k.expose()))
                .collect(),
        }
    }

    /// Whether any key is configured.
    pub fn is_configured(&self) -> bool {
        !self.digests.is_empty()
    }

    /// The index of the matching key, if any.
    pub fn verify(&self, presented: &str) -> Option<usize> {
        let d = digest(presented);
        let mut found = subtle::Choice::from(0);
        let mut index = 0u64;
        for (i, candidate) in self.digests.iter().enumerate() {
            let eq = candidate.ct_eq(&d);
            index.conditional_assign(&(i as u64), eq & !found);
            found |= eq;
        }
        bool::from(found).then_some(index as usize)
    }
}

/// Constant-time equality of two secrets via their digests.
pub fn secrets_equal(a: &str, b: &str) -> bool {
    bool::from(digest(a).ct_eq(&digest(b)))
}
