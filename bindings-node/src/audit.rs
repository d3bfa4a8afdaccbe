//! The audit log as a JavaScript class, and the `audit` argument the Gate, Router and
//! Lifecycle constructors take (a store URL, an `AuditLog`, or nothing for the
//! configuration's `audit.store`).

use std::sync::Arc;

use inferwarden::audit::{
    open_configured_audit, sequence_number, AuditFields, AuditHandle, AuditQuery, Outcome,
};
use inferwarden::clock::{Clock, SystemClock};
use inferwarden::config::PolicyConfig as CorePolicyConfig;
use inferwarden::error::to_json_value;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde_json::{Map, Value};

use crate::config::PolicyConfig;
use crate::errors::guard;
use crate::gate::ManualClock;

/// The audit log: durable and hash-chained (`sqlite:PATH`, `postgres://...`) or the bounded
/// in-memory ring (`memory`).
#[napi]
pub struct AuditLog {
    pub(crate) handle: AuditHandle,
    clock: Arc<dyn Clock>,
}

/// The audit destination for a binding object: `audit` as given, or the configuration's.
pub fn audit_handle(
    audit: Option<Either<String, &AuditLog>>,
    config: &CorePolicyConfig,
    clock: Arc<dyn Clock>,
) -> std::result::Result<AuditHandle, inferwarden::Error> {
    match audit {
        Some(Either::B(log)) => Ok(log.handle.clone()),
        Some(Either::A(url)) => open_configured_audit(Some(&url), &config.audit, clock),
        None => open_configured_audit(None, &config.audit, clock),
    }
}

/// One event to append (`outcome`: `success`, `failure` or `denied`).
#[napi(object)]
pub struct AuditEventInput {
    pub actor: String,
    pub source: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub correlation_id: String,
    pub details: Option<Map<String, Value>>,
}

/// A filter and page over the log.
#[napi(object)]
pub struct AuditQueryInput {
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub source: Option<String>,
    pub outcome: Option<String>,
    pub correlation_id: Option<String>,
    pub after_seq: Option<i64>,
    pub before_seq: Option<i64>,
    /// Newest first (page with `beforeSeq`).
    pub newest_first: Option<bool>,
    pub limit: Option<u32>,
}

/// What to verify against.
#[napi(object)]
pub struct AuditVerifyOptions {
    /// Signed checkpoints kept outside the database.
    pub checkpoints: Option<Vec<String>>,
    /// The verifier key (`name+id+base64`); default: the configured signer's.
    pub public_key: Option<String>,
}

impl AuditLog {
    /// Wraps a handle another binding object writes to.
    pub fn wrap(handle: AuditHandle, clock: Arc<dyn Clock>) -> Self {
        AuditLog { handle, clock }
    }
}

#[napi]
impl AuditLog {
    /// Opens `url` (default: `config.audit.store`) with `config`'s audit settings; the
    /// signing and HMAC keys are read from the environment variables they name.
    #[napi(constructor)]
    pub fn new(
        env: Env,
        url: Option<String>,
        config: Option<&PolicyConfig>,
        clock: Option<&ManualClock>,
    ) -> napi::Result<Self> {
        let config = config.map(|c| c.inner().clone()).unwrap_or_default();
        let clock: Arc<dyn Clock> = match clock {
            Some(c) => Arc::new(c.core().clone()),
            None => Arc::new(SystemClock),
        };
        let handle = guard(&env, || {
            open_configured_audit(url.as_deref(), &config.audit, clock.clone())
        })?;
        Ok(AuditLog { handle, clock })
    }

    /// Whether this is a durable, hash-chained log.
    #[napi(getter)]
    pub fn durable(&self) -> bool {
        self.handle.log().is_ok()
    }

    /// The configured signer's verifier key, or `null`.
    #[napi(getter)]
    pub fn public_key(&self) -> Option<String> {
        self.handle.log().ok().and_then(|l| l.public_key())
    }

    /// Appends one event; returns its sequence number (`null` in the in-memory ring).
    /// Throws `dependency_unavailable` when the store cannot write.
    #[napi]
    pub fn append(&self, env: Env, event: AuditEventInput) -> napi::Result<Option<i64>> {
        guard(&env, || {
            let fields = AuditFields {
                actor: &event.actor,
                source: &event.source,
                action: &event.action,
                target: &event.target,
                outcome: Outcome::parse(&event.outcome)?,
                correlation_id: &event.correlation_id,
            };
            let seq = self.handle.append_parts(
                fields,
                event.details.unwrap_or_default(),
                self.clock.as_ref(),
            )?;
            Ok(seq.map(|s| s as i64))
        })
    }

    /// Records matching the filter, oldest first.
    #[napi]
    pub fn query(&self, env: Env, filter: Option<AuditQueryInput>) -> napi::Result<Value> {
        guard(&env, || {
            let q = filter.map(|f| AuditQuery {
                since_ms: f.since_ms,
                until_ms: f.until_ms,
                actor: f.actor,
                action: f.action,
                source: f.source,
                outcome: f.outcome,
                correlation_id: f.correlation_id,
                after_seq: f.after_seq,
                before_seq: f.before_seq,
                newest_first: f.newest_first.unwrap_or(false),
                limit: f.limit.unwrap_or(0) as usize,
            });
            let rows = self.handle.log()?.query(&q.unwrap_or_default())?;
            Ok(Value::Array(rows.iter().map(|r| r.to_json()).collect()))
        })
    }

    /// The newest events (at most `limit`, default 1,000), oldest first.
    #[napi]
    pub fn events(&self, env: Env, limit: Option<u32>) -> napi::Result<Value> {
        guard(&env, || {
            Ok(Value::Array(
                self.handle.recent_json(limit.unwrap_or(1000) as usize)?,
            ))
        })
    }

    /// Verifies the whole log: `{ intact, first_seq, size, root, checkpoints_checked, tamper }`.
    #[napi]
    pub fn verify(&self, env: Env, options: Option<AuditVerifyOptions>) -> napi::Result<Value> {
        guard(&env, || {
            let (checkpoints, key) = match options {
                Some(o) => (o.checkpoints.unwrap_or_default(), o.public_key),
                None => (Vec::new(), None),
            };
            to_json_value(
                &self
                    .handle
                    .log()?
                    .verify_notes(checkpoints, key.as_deref())?,
            )
        })
    }

    /// Signs and stores a checkpoint of the current tree; returns the signed note.
    #[napi]
    pub fn checkpoint(&self, env: Env) -> napi::Result<String> {
        guard(&env, || self.handle.log()?.checkpoint())
    }

    /// The inclusion proof of record `seq`: `{ seq, size, leaf_hash, path, root }` (hex).
    #[napi]
    pub fn prove(&self, env: Env, seq: i64, size: Option<i64>) -> napi::Result<Value> {
        guard(&env, || {
            let seq = sequence_number("seq", seq)?;
            let size = size.map(|s| sequence_number("size", s)).transpose()?;
            to_json_value(&self.handle.log()?.prove(seq, size)?)
        })
    }

    /// The consistency proof between two tree sizes (hex hashes).
    #[napi]
    pub fn consistency(&self, env: Env, old_size: i64, new_size: i64) -> napi::Result<Vec<String>> {
        guard(&env, || {
            let old = sequence_number("oldSize", old_size)?;
            let new = sequence_number("newSize", new_size)?;
            self.handle.log()?.prove_consistency(old, new)
        })
    }

    /// Retention and a due checkpoint (what the sweeper runs): `{ prune, checkpoint }`.
    #[napi]
    pub fn maintain(&self, env: Env) -> napi::Result<Value> {
        guard(&env, || to_json_value(&self.handle.log()?.maintain()?))
    }

    /// The stored form (`hmac-sha256:<hex>`) of an identifier, to search for it.
    #[napi]
    pub fn hmac(&self, env: Env, value: String) -> napi::Result<String> {
        guard(&env, || self.handle.log()?.hmac(&value))
    }
}
