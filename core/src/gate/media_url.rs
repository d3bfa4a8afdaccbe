//! Signed media URLs, so browsers never need `?api_key=`: `exp` (unix seconds) and `sig`
//! (URL-safe base64 HMAC-SHA256 over method, normalised path, task id and expiry, with the
//! server's media signing key). Accepted only on the media routes (`GET /results/{id}`,
//! `GET /preview/{id}`); expired, tampered or cross-task signatures are rejected.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{Error, ErrorCode};
use crate::secret::Secret;

type HmacSha256 = Hmac<Sha256>;

/// Signs and verifies media URLs.
#[derive(Clone)]
pub struct MediaSigner {
    key: Secret,
}

impl std::fmt::Debug for MediaSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MediaSigner([REDACTED])")
    }
}

fn mac(
    key: &Secret,
    method: &str,
    path: &str,
    task_id: &str,
    exp: i64,
) -> Result<HmacSha256, Error> {
    let mut m = HmacSha256::new_from_slice(key.expose().as_bytes()).map_err(|_| {
        Error::with_detail(ErrorCode::ServerMisconfigured, "media signing key unusable")
    })?;
    for part in [method, path, task_id, &exp.to_string()] {
        m.update(part.as_bytes());
        m.update(b"\n");
    }
    Ok(m)
}

impl MediaSigner {
    /// A signer with `key` (at least 32 bytes recommended).
    pub fn new(key: Secret) -> Self {
        MediaSigner { key }
    }

    /// The query string `exp=...&sig=...` for `GET {path}` of `task_id`, valid until
    /// `expires_unix_s`.
    pub fn sign(&self, path: &str, task_id: &str, expires_unix_s: i64) -> Result<String, Error> {
        let tag = mac(&self.key, "GET", path, task_id, expires_unix_s)?
            .finalize()
            .into_bytes();
        Ok(format!(
            "exp={expires_unix_s}&sig={}",
            URL_SAFE_NO_PAD.encode(tag)
        ))
    }

    /// Verifies a signature (constant time). `now_unix_s` must be before `exp`, and `exp` at
    /// most `max_ttl_s` ahead.
    pub fn verify(
        &self,
        path: &str,
        task_id: &str,
        exp: &str,
        sig: &str,
        now_unix_s: i64,
        max_ttl_s: u64,
    ) -> Result<(), Error> {
        let reject = |why: &'static str| {
            Error::with_detail(ErrorCode::InvalidApiKey, format!("media signature {why}"))
        };
        let exp: i64 = exp.parse().map_err(|_| reject("malformed"))?;
        if exp <= now_unix_s {
            return Err(reject("expired"));
        }
        if exp - now_unix_s > i64::try_from(max_ttl_s).unwrap_or(i64::MAX) {
            return Err(reject("lifetime too long"));
        }
        let tag = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| reject("malformed"))?;
        mac(&self.key, "GET", path, task_id, exp)?
            .verify_slice(&tag)
            .map_err(|_| reject("invalid"))
    }
}
