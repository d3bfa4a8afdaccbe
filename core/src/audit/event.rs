//! The audit event. Every mandatory field (`actor`, `source`, `action`, `target`,
//! `outcome`, `timestamp`, `correlation_id`) is a required constructor input: leaving one out
//! does not compile, and an empty one is rejected at run time. Detail values whose key names
//! a secret (`key`, `token`, `secret`, `password`, `cookie`, `authorization`) are redacted
//! before the event exists, so no sink can write them. Every string is capped
//! ([`MAX_FIELD_BYTES`], [`MAX_DETAIL_BYTES`], [`MAX_DETAILS`]) so a hostile request (a long
//! path, a huge header) can never make an event, or a store of events, grow without bound.

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

impl Outcome {
    /// Parses `success`, `failure` or `denied`; anything else is `validation_error`.
    pub fn parse(text: &str) -> Result<Outcome, Error> {
        match text {
            "success" => Ok(Outcome::Success),
            "failure" => Ok(Outcome::Failure),
            "denied" => Ok(Outcome::Denied),
            other => Err(Error::with_detail(
                ErrorCode::ValidationError,
                format!(
                    "outcome `{}` is not success, failure or denied",
                    cap_string(other, 64)
                ),
            )
            .meta("field", "outcome")),
        }
    }
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

/// The most bytes a mandatory string field keeps; longer values are cut at a character
/// boundary and end with [`TRUNCATED_MARK`].
pub const MAX_FIELD_BYTES: usize = 512;
/// The most bytes one detail string value (or key) keeps.
pub const MAX_DETAIL_BYTES: usize = 1024;
/// The most detail entries an event keeps; later ones are dropped and `details_dropped`
/// counts them.
pub const MAX_DETAILS: usize = 32;
/// What ends a value that was cut.
pub const TRUNCATED_MARK: &str = "...[truncated]";

/// Cuts `value` to at most `max` bytes (at a character boundary), marking the cut.
pub fn cap_string(value: &str, max: usize) -> String {
    if value.len() <= max {
        return value.to_owned();
    }
    let mut end = max.saturating_sub(TRUNCATED_MARK.len());
    while end > 0 && !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{TRUNCATED_MARK}", &value[..end])
}

/// [`cap_string`] for an owned string: a short one is kept as it is (no copy).
fn cap_owned(value: String, max: usize) -> String {
    if value.len() <= max {
        value
    } else {
        cap_string(&value, max)
    }
}

/// Caps every string inside a detail value (nested arrays and objects included).
fn cap_value(value: Value) -> Value {
    match value {
        Value::String(s) => Value::String(cap_owned(s, MAX_DETAIL_BYTES)),
        Value::Array(items) => {
            Value::Array(items.into_iter().take(MAX_DETAILS).map(cap_value).collect())
        }
        Value::Object(map) => Value::Object(
            map.into_iter()
                .take(MAX_DETAILS)
                .map(|(k, v)| (cap_owned(k, MAX_DETAIL_BYTES), cap_value(v)))
                .collect(),
        ),
        other => other,
    }
}

/// The detail key that counts entries dropped past [`MAX_DETAILS`].
pub const DETAILS_DROPPED: &str = "details_dropped";

const SECRET_KEY_PARTS: [&str; 7] = [
    "key",
    "token",
    "secret",
    "password",
    "cookie",
    "authorization",
    "sig",
];

/// Whether `key` contains one of [`SECRET_KEY_PARTS`], ASCII case ignored (no copy made:
/// this runs for every detail of every event).
fn is_secret_key(key: &str) -> bool {
    let key = key.as_bytes();
    SECRET_KEY_PARTS.iter().any(|part| {
        key.windows(part.len())
            .any(|w| w.eq_ignore_ascii_case(part.as_bytes()))
    })
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
            actor: cap_string(fields.actor, MAX_FIELD_BYTES),
            source: cap_string(fields.source, MAX_FIELD_BYTES),
            action: cap_string(fields.action, MAX_FIELD_BYTES),
            target: cap_string(fields.target, MAX_FIELD_BYTES),
            outcome: fields.outcome,
            timestamp_ms: clock.now_ms(),
            correlation_id: cap_string(fields.correlation_id, MAX_FIELD_BYTES),
            details: Map::new(),
        })
    }

    /// Adds a detail; the value is replaced by `[REDACTED]` when the key names a secret.
    /// Strings are capped at [`MAX_DETAIL_BYTES`]; past [`MAX_DETAILS`] entries a new key is
    /// dropped and counted in `details_dropped`.
    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        let value = if is_secret_key(key) {
            Value::String(REDACTED.to_owned())
        } else {
            cap_value(value.into())
        };
        let key = cap_string(key, MAX_DETAIL_BYTES);
        if self.details.len() >= MAX_DETAILS && !self.details.contains_key(&key) {
            let dropped = self
                .details
                .get(DETAILS_DROPPED)
                .and_then(Value::as_u64)
                .unwrap_or(0);
            self.details
                .insert(DETAILS_DROPPED.to_owned(), Value::from(dropped + 1));
            return self;
        }
        self.details.insert(key, value);
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
        // Reuse the constructor's checks (and caps) without re-stamping the time.
        let stamp = self.timestamp_ms;
        let mut checked = AuditEvent::new(fields, &FixedClock(stamp))?;
        for (key, value) in std::mem::take(&mut self.details) {
            checked = checked.detail(&key, value);
        }
        Ok(checked)
    }
}

#[derive(Debug)]
struct FixedClock(i64);

impl Clock for FixedClock {
    fn now_ms(&self) -> i64 {
        self.0
    }
}
