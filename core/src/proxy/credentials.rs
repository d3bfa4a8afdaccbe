//! Worker credentials by reference: a registry entry names its secret (`credential_ref`),
//! and the secret is looked up only after resolution succeeded, so an id that fails
//! resolution never causes a secret to be read, let alone sent.

use std::collections::HashMap;
use std::fmt::Debug;

use crate::error::{Error, ErrorCode};
use crate::secret::Secret;

/// Where worker secrets come from.
pub trait CredentialSource: Send + Sync + Debug {
    /// The secret named `credential_ref`, if configured.
    fn credential(&self, credential_ref: &str) -> Option<Secret>;
}

/// Secrets given by the embedder, with an optional fallback to the environment:
/// `default` reads `INFERWARDEN_WORKER_KEY`; a reference of lowercase letters, digits and
/// `-` reads `INFERWARDEN_WORKER_KEY_<REF>` (upper case, `-` as `_`: one variable per
/// reference). Other references have no environment fallback.
#[derive(Debug, Default, Clone)]
pub struct Credentials {
    secrets: HashMap<String, Secret>,
    from_env: bool,
}

/// The environment variable a reference falls back to, if it has one.
pub fn env_var_for(credential_ref: &str) -> Option<String> {
    if credential_ref == "default" {
        return Some(crate::config::WORKER_KEY_ENV_PREFIX.to_owned());
    }
    let mappable = !credential_ref.is_empty()
        && credential_ref
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    mappable.then(|| {
        format!(
            "{}_{}",
            crate::config::WORKER_KEY_ENV_PREFIX,
            credential_ref.to_ascii_uppercase().replace('-', "_")
        )
    })
}

impl Credentials {
    /// No secrets, no environment fallback.
    pub fn new() -> Self {
        Self::default()
    }

    /// No secrets yet; references fall back to the environment.
    pub fn from_env() -> Self {
        Credentials {
            secrets: HashMap::new(),
            from_env: true,
        }
    }

    /// Adds (or replaces) the secret of `credential_ref`.
    pub fn with(mut self, credential_ref: &str, secret: Secret) -> Self {
        self.secrets.insert(credential_ref.to_owned(), secret);
        self
    }
}

impl CredentialSource for Credentials {
    fn credential(&self, credential_ref: &str) -> Option<Secret> {
        if let Some(s) = self.secrets.get(credential_ref) {
            return Some(s.clone());
        }
        if !self.from_env {
            return None;
        }
        std::env::var(env_var_for(credential_ref)?)
            .ok()
            .filter(|v| !v.is_empty())
            .map(Secret::new)
    }
}

/// The secret of `credential_ref`, or `server_misconfigured` naming the reference (never a
/// value).
pub(crate) fn require(
    source: &dyn CredentialSource,
    credential_ref: &str,
) -> Result<Secret, Error> {
    source.credential(credential_ref).ok_or_else(|| {
        Error::with_detail(
            ErrorCode::ServerMisconfigured,
            "no worker credential is configured for this workspace",
        )
        .meta("credential_ref", credential_ref.to_owned())
    })
}
