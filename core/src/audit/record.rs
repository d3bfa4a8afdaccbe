//! One stored audit record and its canonical encoding, the bytes its hash covers.
//!
//! # Canonical encoding (for third-party verification)
//!
//! A record's hash is `SHA-256(0x00 || C)`: the RFC 6962 leaf hash of `C`, so the record
//! hash is also its leaf in the log's Merkle tree. `C` is a UTF-8 JSON object with exactly
//! these keys in this (byte) order and no whitespace:
//!
//! ```text
//! {"action":S,"actor":S,"correlation_id":S,"details":D,"outcome":S,"prev_hash":H,
//!  "seq":N,"source":S,"target":S,"timestamp_ms":N}
//! ```
//!
//! - `S` is a JSON string: `"` and `\` escaped as `\"` and `\\`; `\b \f \n \r \t` as those
//!   two-character escapes; every other character below U+0020 as `\u00xx` (lower-case hex);
//!   everything else, non-ASCII included, written as is (UTF-8).
//! - `N` is a decimal integer without sign for `seq` (0 for the first record) and with a
//!   leading `-` only when negative for `timestamp_ms`.
//! - `H` is the previous record's hash as 64 lower-case hex digits in quotes; the first
//!   record's is 64 zeros.
//! - `D` is the `details` column verbatim: the details object written with keys sorted by
//!   byte order at every depth, no whitespace, strings as above, numbers as `serde_json`
//!   writes them.
//!
//! The golden vectors in `tests/vectors/audit.json` pin the bytes.

use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::event::AuditEvent;
use super::merkle::{leaf_hash, Hash};

/// The previous-hash of the first record.
pub const GENESIS_HASH: Hash = [0u8; 32];

/// A record as stored: every column in its raw form, so a verifier can re-hash exactly what
/// the store holds (even a value edited into something invalid).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// Contiguous from 0 (signed only because a tampered row may hold anything).
    pub seq: i64,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// Who acted.
    pub actor: String,
    /// Which component observed it.
    pub source: String,
    /// What was attempted.
    pub action: String,
    /// What it was attempted on.
    pub target: String,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    /// Correlates the event with a request.
    pub correlation_id: String,
    /// The details object in canonical JSON.
    pub details: String,
    /// The previous record's hash.
    #[serde(serialize_with = "hex_ser")]
    pub prev_hash: Hash,
    /// This record's hash (`SHA-256(0x00 || canonical)`).
    #[serde(serialize_with = "hex_ser")]
    pub hash: Hash,
}

fn hex_ser<S: serde::Serializer>(h: &Hash, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex(h))
}

/// Lower-case hex of `bytes` (the crate's one encoder).
pub use crate::hex::encode as hex;

/// A hash column read back from a store. A value edited to another length reads as a hash
/// that matches nothing (verification then reports the record), never as an error.
pub fn hash_from_bytes(bytes: &[u8]) -> Hash {
    let mut h = [0xffu8; 32];
    let n = bytes.len().min(32);
    h[..n].copy_from_slice(&bytes[..n]);
    if bytes.len() != 32 {
        h[31] ^= 0x5a;
    }
    h
}

/// Parses 64 hex digits into a hash.
pub fn parse_hash_hex(text: &str) -> Option<Hash> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_canonical_value(out: &mut String, value: &Value) {
    match value {
        Value::Object(map) => write_canonical_object(out, map),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical_value(out, item);
            }
            out.push(']');
        }
        Value::String(s) => write_json_string(out, s),
        other => out.push_str(&other.to_string()),
    }
}

fn write_canonical_object(out: &mut String, map: &Map<String, Value>) {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    out.push('{');
    for (i, key) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_string(out, key);
        out.push(':');
        write_canonical_value(out, &map[key]);
    }
    out.push('}');
}

/// The details object in canonical JSON (keys sorted at every depth).
pub fn canonical_details(details: &Map<String, Value>) -> String {
    let mut out = String::new();
    write_canonical_object(&mut out, details);
    out
}

/// The canonical bytes of a record's content at position `seq` after `prev_hash`.
pub fn canonical_bytes(record: &AuditRecord, seq: u64) -> String {
    let mut out = String::with_capacity(256 + record.details.len());
    out.push_str("{\"action\":");
    write_json_string(&mut out, &record.action);
    out.push_str(",\"actor\":");
    write_json_string(&mut out, &record.actor);
    out.push_str(",\"correlation_id\":");
    write_json_string(&mut out, &record.correlation_id);
    out.push_str(",\"details\":");
    out.push_str(&record.details);
    out.push_str(",\"outcome\":");
    write_json_string(&mut out, &record.outcome);
    out.push_str(",\"prev_hash\":\"");
    out.push_str(&hex(&record.prev_hash));
    out.push_str("\",\"seq\":");
    out.push_str(&seq.to_string());
    out.push_str(",\"source\":");
    write_json_string(&mut out, &record.source);
    out.push_str(",\"target\":");
    write_json_string(&mut out, &record.target);
    out.push_str(",\"timestamp_ms\":");
    out.push_str(&record.timestamp_ms.to_string());
    out.push('}');
    out
}

impl AuditRecord {
    /// The record for `event` at `seq` after `prev_hash`, its hash computed.
    pub fn chained(event: &AuditEvent, seq: u64, prev_hash: Hash) -> AuditRecord {
        let outcome = match serde_json::to_value(event.outcome) {
            Ok(Value::String(s)) => s,
            _ => String::new(),
        };
        let mut record = AuditRecord {
            seq: seq as i64,
            timestamp_ms: event.timestamp_ms,
            actor: event.actor.clone(),
            source: event.source.clone(),
            action: event.action.clone(),
            target: event.target.clone(),
            outcome,
            correlation_id: event.correlation_id.clone(),
            details: canonical_details(&event.details),
            prev_hash,
            hash: [0; 32],
        };
        record.hash = record.computed_hash_at(seq);
        record
    }

    /// The hash of this record's content as if it stood at `seq`.
    pub fn computed_hash_at(&self, seq: u64) -> Hash {
        leaf_hash(canonical_bytes(self, seq).as_bytes())
    }

    /// Whether the stored hash matches the content at the stored position.
    pub fn hash_is_valid(&self) -> bool {
        self.seq >= 0 && self.computed_hash_at(self.seq as u64) == self.hash
    }

    /// The record as a JSON object (hashes in hex, details parsed back).
    pub fn to_json(&self) -> Value {
        let details: Value =
            serde_json::from_str(&self.details).unwrap_or(Value::String(self.details.clone()));
        serde_json::json!({
            "seq": self.seq,
            "timestamp_ms": self.timestamp_ms,
            "actor": self.actor,
            "source": self.source,
            "action": self.action,
            "target": self.target,
            "outcome": self.outcome,
            "correlation_id": self.correlation_id,
            "details": details,
            "prev_hash": hex(&self.prev_hash),
            "hash": hex(&self.hash),
        })
    }
}

/// SHA-256 of `bytes` (used for key ids and the empty tree).
pub fn sha256(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}
