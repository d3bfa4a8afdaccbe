//! Keyed HMAC-SHA256 for identifiers an operator may not want in clear (session ids, client
//! IPs). A configured field (`actor`, `target`, `correlation_id` or `details.<key>`) is
//! stored as `hmac-sha256:<hex>`; [`IdentifierHasher::hash`] computes the same value for a
//! known identifier so the log can be searched for it. The key comes from an environment
//! variable and is never stored in the log.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::event::AuditEvent;
use super::record::hex;
use crate::config::check_hmac_field;
use crate::error::{Error, ErrorCode};

/// The prefix of a hashed identifier.
pub const HMAC_PREFIX: &str = "hmac-sha256:";
/// The shortest key accepted (bytes).
pub const MIN_HMAC_KEY_BYTES: usize = 32;

/// Hashes configured identifiers before an event is written.
pub struct IdentifierHasher {
    key: Zeroizing<Vec<u8>>,
    fields: Vec<String>,
}

impl std::fmt::Debug for IdentifierHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentifierHasher")
            .field("key", &crate::secret::REDACTED)
            .field("fields", &self.fields)
            .finish()
    }
}

fn config_invalid(detail: String) -> Error {
    Error::with_detail(ErrorCode::ConfigInvalid, detail)
}

impl IdentifierHasher {
    /// A hasher over `fields` with `key` (at least [`MIN_HMAC_KEY_BYTES`] bytes).
    pub fn new(key: &[u8], fields: &[String]) -> Result<Self, Error> {
        if key.len() < MIN_HMAC_KEY_BYTES {
            return Err(config_invalid(format!(
                "the audit HMAC key needs at least {MIN_HMAC_KEY_BYTES} bytes"
            )));
        }
        for field in fields {
            check_hmac_field(field).map_err(config_invalid)?;
        }
        Ok(IdentifierHasher {
            key: Zeroizing::new(key.to_vec()),
            fields: fields.to_vec(),
        })
    }

    /// Reads the key from the environment variable `var`.
    pub fn from_env(var: &str, fields: &[String]) -> Result<Self, Error> {
        let value = Zeroizing::new(std::env::var(var).map_err(|_| {
            config_invalid(format!(
                "audit.hmac_fields is set but the key variable `{var}` is not"
            ))
            .meta("variable", var)
        })?);
        Self::new(value.as_bytes(), fields)
    }

    /// `hmac-sha256:<hex>` of `value`.
    pub fn hash(&self, value: &str) -> String {
        // A key of any length is accepted by HMAC; `new` checked ours is long enough.
        let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => return format!("{HMAC_PREFIX}unavailable"),
        };
        mac.update(value.as_bytes());
        format!("{HMAC_PREFIX}{}", hex(&mac.finalize().into_bytes()))
    }

    fn hash_in_place(&self, value: &mut String) {
        if !value.starts_with(HMAC_PREFIX) {
            *value = self.hash(value);
        }
    }

    /// Replaces every configured field of `event` with its HMAC. A non-string detail is
    /// hashed in its JSON form.
    pub fn apply(&self, event: &mut AuditEvent) {
        for field in &self.fields {
            match field.as_str() {
                "actor" => self.hash_in_place(&mut event.actor),
                "target" => self.hash_in_place(&mut event.target),
                "correlation_id" => self.hash_in_place(&mut event.correlation_id),
                other => {
                    let Some(key) = other.strip_prefix("details.") else {
                        continue;
                    };
                    if let Some(value) = event.details.get_mut(key) {
                        let hashed = match &*value {
                            Value::String(s) if s.starts_with(HMAC_PREFIX) => continue,
                            Value::String(s) => self.hash(s),
                            v => self.hash(&v.to_string()),
                        };
                        *value = Value::String(hashed);
                    }
                }
            }
        }
    }
}
