//! The audit event. Every mandatory field (`actor`, `source`, `action`, `target`,
//! `outcome`, `timestamp`, `correlation_id`) is a required constructor input: leaving one out
//! does not compile, and an empty one is rejected at run time. Detail values whose key names
//! a secret (`key`, `token`, `secret`, `password`, `cookie`, `authorization`) are redacted
//! before the event exists, so no sink can write them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::clock::Clock;
use crate::error::{Error, ErrorCode};
use crate::secret::REDACTED;

/// How the audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The action was performed.
    Success,
    /// The action was attempted and failed.
    Failure,
    /// Policy refused the action.
    Denied,
}

/// The mandatory fields, all required (no `Default`): a missing one is a compile error.
#[derive(Debug, Clone)]
pub struct AuditFields<'a> {
    /// Who acted (a principal id, `anonymous`, `system:sweeper`, a client IP).
    pub actor: &'a str,
    /// Which component observed it (`gate`, `proxy`, `sweeper`, ...).
    pub source: &'a str,
    /// What was attempted (`admin_login`, `session_revoke`, ...).
    pub action: &'a str,
    /// What it was attempted on (a route, a task id, a workspace).
    pub target: &'a str,
    /// How it ended.
    pub outcome: Outcome,
    /// Correlates the event with a request.
    pub correlation_id: &'a str,
}

/// The fields every serialised audit event carries (besides the free-form `details`).
pub const AUDIT_MANDATORY_FIELDS: [&str; 7] = [
    "actor",
    "source",
    "action",
    "target",
    "outcome",
    "timestamp_ms",
    "correlation_id",
];

/// One audit record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEvent {
    /// Who acted.
    pub actor: String,
    /// Which component observed it.
    pub source: String,
    /// What was attempted.
    pub action: String,
    /// What it was attempted on.
    pub target: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Milliseconds since the Unix epoch, from the injected clock.
    pub timestamp_ms: i64,
    /// Correlates the event with a request.
    pub correlation_id: String,
    /// Free-form details (secret-named keys redacted).
    #[serde(default)]
    pub details: Map<String, Value>,
}

const SECRET_KEY_PARTS: [&str; 7] = [
    "key",
    "token",
    "secret",
    "password",
    "cookie",
    "authorization",
    "sig",
];

fn is_secret_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    SECRET_KEY_PARTS.iter().any(|part| lower.contains(part))
}

impl AuditEvent {
    /// Builds an event stamped with `clock`'s time. Rejects empty mandatory fields with
    /// `internal_error` (a caller bug, never user input).
    pub fn new(fields: AuditFields<'_>, clock: &dyn Clock) -> Result<Self, Error> {
        let checks = [
            ("actor", fields.actor),
            ("source", fields.source),
            ("action", fields.action),
            ("target", fields.target),
            ("correlation_id", fields.correlation_id),
        ];
        if let Some((name, _)) = checks.iter().find(|(_, v)| v.trim().is_empty()) {
            return Err(Error::with_detail(
                ErrorCode::InternalError,
                format!("audit event field `{name}` is empty"),
            )
            .meta("field", *name));
        }
        Ok(AuditEvent {
            actor: fields.actor.to_owned(),
            source: fields.source.to_owned(),
            action: fields.action.to_owned(),
            target: fields.target.to_owned(),
            outcome: fields.outcome,
            timestamp_ms: clock.now_ms(),
            correlation_id: fields.correlation_id.to_owned(),
            details: Map::new(),
        })
    }

    /// Adds a detail; the value is replaced by `[REDACTED]` when the key names a secret.
    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        let value = if is_secret_key(key) {
            Value::String(REDACTED.to_owned())
        } else {
            value.into()
        };
        self.details.insert(key.to_owned(), value);
        self
    }

    /// Re-checks an event that came from outside (deserialised): mandatory fields non-empty
    /// and secret-named details redacted.
    pub fn validated(mut self) -> Result<Self, Error> {
        let fields = AuditFields {
            actor: &self.actor,
            source: &self.source,
            action: &self.action,
            target: &self.target,
            outcome: self.outcome,
            correlation_id: &self.correlation_id,
        };
        // Reuse the constructor's checks without re-stamping the time.
        let stamp = self.timestamp_ms;
        let _ = AuditEvent::new(fields, &FixedClock(stamp))?;
        for (key, value) in self.details.iter_mut() {
            if is_secret_key(key) {
                *value = Value::String(REDACTED.to_owned());
            }
        }
        Ok(self)
    }
}

#[derive(Debug)]
struct FixedClock(i64);

impl Clock for FixedClock {
    fn now_ms(&self) -> i64 {
        self.0
    }
}
