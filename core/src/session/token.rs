//! Session tokens: 32 bytes from the OS RNG, URL-safe base64 without padding (43 chars).
//! The id stored is the lowercase hex SHA-256 of the token text.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorCode};
use crate::secret::Secret;

/// Length of a token's text.
pub const TOKEN_LEN: usize = 43;

/// A fresh random token.
pub fn new_token() -> Result<Secret, Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| {
        Error::with_detail(
            ErrorCode::DependencyUnavailable,
            "the OS random number generator failed",
        )
    })?;
    Ok(Secret::new(URL_SAFE_NO_PAD.encode(bytes)))
}

/// Whether `token` has the shape of a token (43 URL-safe base64 characters).
pub fn is_well_formed(token: &str) -> bool {
    token.len() == TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The store id of a token: lowercase hex SHA-256.
pub fn token_id(token: &str) -> String {
    crate::hex::encode(&Sha256::digest(token.as_bytes()))
}
