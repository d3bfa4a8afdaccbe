//! Signed checkpoints in the C2SP `tlog-checkpoint` format, wrapped in a C2SP `signed-note`
//! with an Ed25519 signature.
//!
//! Body: `<origin>\n<tree size>\n<base64 root hash>\n`. Note: the body, an empty line, then
//! one line per signature: `— <key name> <base64(key id (4 bytes) || signature (64 bytes))>`.
//! The key id is the first 4 bytes of `SHA-256(<key name> || "\n" || 0x01 || public key)`.
//! Keys use the note formats: a signer key `PRIVATE+KEY+<name>+<id hex>+<base64(0x01 ||
//! seed)>` (read from the environment variable configuration names; never stored) and a
//! verifier key `<name>+<id hex>+<base64(0x01 || public key)>`.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::Serialize;
use zeroize::Zeroizing;

use super::merkle::Hash;
use super::record::sha256;
use crate::error::{Error, ErrorCode};

/// The Ed25519 algorithm byte of note keys.
const ALG_ED25519: u8 = 0x01;
/// The signature-line prefix: an em dash and a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// A tree head: the log's origin line, its size and root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checkpoint {
    /// Names the log (first line).
    pub origin: String,
    /// Records in the tree.
    pub size: u64,
    /// The tree head.
    #[serde(serialize_with = "b64_ser")]
    pub root: Hash,
}

fn b64_ser<S: serde::Serializer>(h: &Hash, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&B64.encode(h))
}

fn invalid(detail: impl Into<String>) -> Error {
    Error::with_detail(ErrorCode::ValidationError, detail.into())
}

fn config_invalid(detail: impl Into<String>) -> Error {
    Error::with_detail(ErrorCode::ConfigInvalid, detail.into())
}

impl Checkpoint {
    /// The checkpoint body text.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        )
    }

    /// Parses a body (the text before the note's blank line).
    pub fn parse_body(body: &str) -> Result<Checkpoint, Error> {
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        let size = lines.next().unwrap_or_default();
        let root = lines.next().unwrap_or_default();
        if origin.is_empty() || !body.ends_with('\n') {
            return Err(invalid(
                "checkpoint body needs an origin line and ends with a newline",
            ));
        }
        let size: u64 = size
            .parse()
            .map_err(|_| invalid("checkpoint size is not a decimal number"))?;
        let root = B64
            .decode(root)
            .ok()
            .and_then(|b| <Hash>::try_from(b.as_slice()).ok())
            .ok_or_else(|| invalid("checkpoint root is not a base64 SHA-256 hash"))?;
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
        })
    }
}

fn key_id(name: &str, public: &[u8; 32]) -> [u8; 4] {
    let mut data = Vec::with_capacity(name.len() + 34);
    data.extend_from_slice(name.as_bytes());
    data.push(b'\n');
    data.push(ALG_ED25519);
    data.extend_from_slice(public);
    let h = sha256(&data);
    [h[0], h[1], h[2], h[3]]
}

fn check_key_name(name: &str) -> Result<(), Error> {
    if name.is_empty() || name.contains(['+', ' ', '\n', '\t']) {
        return Err(config_invalid(
            "a note key name is non-empty and has no '+', space or newline",
        ));
    }
    Ok(())
}

/// A checkpoint verifier: a key name and an Ed25519 public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    id: [u8; 4],
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Parses `<name>+<id hex>+<base64(0x01 || public key)>`.
    pub fn parse(text: &str) -> Result<NoteVerifier, Error> {
        let bad = || config_invalid("a verifier key is <name>+<8 hex digits>+<base64 key>");
        // The base64 part may itself hold '+': split off the first two fields only.
        let mut parts = text.trim().splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        check_key_name(name)?;
        let raw = B64.decode(key_b64).map_err(|_| bad())?;
        if raw.len() != 33 || raw[0] != ALG_ED25519 {
            return Err(config_invalid(
                "the verifier key is not an Ed25519 note key",
            ));
        }
        let public: [u8; 32] = raw[1..].try_into().map_err(|_| bad())?;
        let key = VerifyingKey::from_bytes(&public).map_err(|_| bad())?;
        let id = key_id(name, &public);
        if super::record::hex(&id) != id_hex.to_ascii_lowercase() {
            return Err(config_invalid(
                "the verifier key's id does not match its key",
            ));
        }
        Ok(NoteVerifier {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key in note format.
    pub fn to_note_key(&self) -> String {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        format!(
            "{}+{}+{}",
            self.name,
            super::record::hex(&self.id),
            B64.encode(raw)
        )
    }

    /// Verifies a signed note and returns its checkpoint. Fails when no signature line by
    /// this key verifies.
    pub fn open(&self, note: &str) -> Result<Checkpoint, Error> {
        let (body, sigs) = split_note(note)?;
        for line in sigs.lines() {
            let Some(rest) = line.strip_prefix(SIG_PREFIX) else {
                return Err(invalid(
                    "a signature line starts with an em dash and a space",
                ));
            };
            let Some((name, sig_b64)) = rest.rsplit_once(' ') else {
                return Err(invalid("a signature line is '— <name> <base64>'"));
            };
            if name != self.name {
                continue;
            }
            let Ok(raw) = B64.decode(sig_b64) else {
                continue;
            };
            if raw.len() != 68 || raw[..4] != self.id {
                continue;
            }
            let Ok(sig) = Signature::from_slice(&raw[4..]) else {
                continue;
            };
            if self.key.verify(body.as_bytes(), &sig).is_ok() {
                return Checkpoint::parse_body(body);
            }
        }
        Err(invalid(format!(
            "no valid signature by key `{}` on the checkpoint",
            self.name
        )))
    }
}

fn split_note(note: &str) -> Result<(&str, &str), Error> {
    let Some(idx) = note.find("\n\n") else {
        return Err(invalid(
            "a signed note has a blank line between body and signatures",
        ));
    };
    Ok((&note[..idx + 1], &note[idx + 2..]))
}

/// Reads a checkpoint's body without checking any signature (for listing).
pub fn unverified_checkpoint(note: &str) -> Result<Checkpoint, Error> {
    let (body, _) = split_note(note)?;
    Checkpoint::parse_body(body)
}

/// A checkpoint signer: a key name and an Ed25519 private key (zeroed on drop).
pub struct NoteSigner {
    name: String,
    id: [u8; 4],
    key: SigningKey,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key", &crate::secret::REDACTED)
            .finish()
    }
}

impl NoteSigner {
    /// Parses `PRIVATE+KEY+<name>+<id hex>+<base64(0x01 || 32-byte seed)>`.
    pub fn parse(text: &str) -> Result<NoteSigner, Error> {
        let bad =
            || config_invalid("a signer key is PRIVATE+KEY+<name>+<8 hex digits>+<base64 seed>");
        let text = text.trim();
        let rest = text.strip_prefix("PRIVATE+KEY+").ok_or_else(bad)?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(seed_b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        check_key_name(name)?;
        let raw = Zeroizing::new(B64.decode(seed_b64).map_err(|_| bad())?);
        if raw.len() != 33 || raw[0] != ALG_ED25519 {
            return Err(config_invalid("the signer key is not an Ed25519 note key"));
        }
        let seed: Zeroizing<[u8; 32]> = Zeroizing::new(raw[1..].try_into().map_err(|_| bad())?);
        let key = SigningKey::from_bytes(&seed);
        let id = key_id(name, key.verifying_key().as_bytes());
        if super::record::hex(&id) != id_hex.to_ascii_lowercase() {
            return Err(config_invalid("the signer key's id does not match its key"));
        }
        Ok(NoteSigner {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// Reads the signer key from the environment variable `var`.
    pub fn from_env(var: &str) -> Result<NoteSigner, Error> {
        let value = Zeroizing::new(std::env::var(var).map_err(|_| {
            config_invalid(format!("the audit signing key variable `{var}` is not set"))
                .meta("variable", var)
        })?);
        NoteSigner::parse(&value).map_err(|e| e.meta("variable", var))
    }

    /// A new key pair named `name` from the operating system's random source: (signer key,
    /// verifier key), both in note format.
    pub fn generate(name: &str) -> Result<(zeroize::Zeroizing<String>, String), Error> {
        check_key_name(name)?;
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|_| {
            Error::with_detail(ErrorCode::DependencyUnavailable, "no random source")
        })?;
        let key = SigningKey::from_bytes(&seed);
        let id = super::record::hex(&key_id(name, key.verifying_key().as_bytes()));
        let mut raw = Zeroizing::new(vec![ALG_ED25519]);
        raw.extend_from_slice(seed.as_ref());
        let signer = Zeroizing::new(format!("PRIVATE+KEY+{name}+{id}+{}", B64.encode(&*raw)));
        let verifier = NoteSigner::parse(&signer)?.verifier().to_note_key();
        Ok((signer, verifier))
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    /// Signs a checkpoint: the whole signed note's text.
    pub fn sign(&self, checkpoint: &Checkpoint) -> String {
        let body = checkpoint.body();
        let sig = self.key.sign(body.as_bytes());
        let mut raw = Vec::with_capacity(68);
        raw.extend_from_slice(&self.id);
        raw.extend_from_slice(&sig.to_bytes());
        format!("{body}\n{SIG_PREFIX}{} {}\n", self.name, B64.encode(raw))
    }
}
