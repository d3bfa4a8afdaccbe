//! The error contract: every rejection is one [`Error`] value carrying exactly one stable
//! [`ErrorCode`], an HTTP status, a human `detail` and a `user_action` hint.
//!
//! The table in [`ERROR_SPECS`] is the one place where codes, statuses, families, binding
//! class names and default hints are written out (the pydantic-core style). Everything else
//! (the Python exception tree, Node `err.code`, the golden vectors, the docs) derives from it.
//!
//! Serialised form: `{"code", "detail", "user_action", "metadata"?}`.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// A stable machine code. `#[non_exhaustive]`: new codes may be added, existing ones never
/// change their string, status or meaning.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorCode {
    /// An API key was presented (header or query) and does not match.
    InvalidApiKey,
    /// No credential at all on a protected generation/media route.
    SessionRequired,
    /// Session cookie present but expired or revoked.
    SessionExpired,
    /// Session cookie present but unknown or malformed.
    SessionInvalid,
    /// Admin route without an admin session.
    AdminSessionRequired,
    /// Admin bootstrap with a wrong or missing `x-admin-key`.
    AdminKeyInvalid,
    /// Admin key not configured or shorter than 16 characters (fail closed).
    AdminMisconfigured,
    /// API key secret missing while anonymous access is not explicitly allowed.
    ServerMisconfigured,
    /// Throttled; carries `Retry-After` seconds in metadata.
    RateLimited,
    /// Origin not in the allowlist.
    CorsOriginBlocked,
    /// Unknown task id, including an unknown remote workspace.
    TaskNotFound,
    /// Malformed `workspace::id`, or a target that fails resolution checks.
    ProxyTargetInvalid,
    /// The remote workspace failed or timed out.
    RemoteUnavailable,
    /// A task status change the lifecycle forbids.
    InvalidTransition,
    /// Request parameters violate the model catalogue.
    ValidationError,
    /// Degraded queue full (depth) or wait exceeded.
    QueueOverloaded,
    /// Worker error text shows CUDA out-of-memory.
    GpuMemoryExceeded,
    /// Session, secret or audit store unreachable: fail closed.
    DependencyUnavailable,
    /// The runtime policy configuration is invalid.
    ConfigInvalid,
    /// A bug in inferwarden or its embedding (for example a panic caught at a binding).
    InternalError,
}

/// The family an error belongs to; bindings map each family to an exception base class.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorFamily {
    /// Credentials, sessions and the admin boundary.
    Auth,
    /// Throttling.
    RateLimit,
    /// Cross-origin policy.
    Cors,
    /// Task ids, remote workspaces and the proxy.
    Routing,
    /// Task status transitions.
    Lifecycle,
    /// Request validation against the catalogue.
    Request,
    /// Queue and GPU capacity.
    Capacity,
    /// Stores and other dependencies.
    Dependency,
    /// Server-side configuration.
    Configuration,
    /// Unexpected failures.
    Server,
}

impl ErrorFamily {
    /// Every family, in declaration order.
    pub const ALL: [ErrorFamily; 10] = [
        ErrorFamily::Auth,
        ErrorFamily::RateLimit,
        ErrorFamily::Cors,
        ErrorFamily::Routing,
        ErrorFamily::Lifecycle,
        ErrorFamily::Request,
        ErrorFamily::Capacity,
        ErrorFamily::Dependency,
        ErrorFamily::Configuration,
        ErrorFamily::Server,
    ];

    /// Stable snake_case name of the family.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorFamily::Auth => "auth",
            ErrorFamily::RateLimit => "rate_limit",
            ErrorFamily::Cors => "cors",
            ErrorFamily::Routing => "routing",
            ErrorFamily::Lifecycle => "lifecycle",
            ErrorFamily::Request => "request",
            ErrorFamily::Capacity => "capacity",
            ErrorFamily::Dependency => "dependency",
            ErrorFamily::Configuration => "configuration",
            ErrorFamily::Server => "server",
        }
    }

    /// The exception base class name the bindings use for this family.
    pub fn class_name(self) -> &'static str {
        match self {
            ErrorFamily::Auth => "AuthError",
            ErrorFamily::RateLimit => "RateLimitError",
            ErrorFamily::Cors => "CorsError",
            ErrorFamily::Routing => "RoutingError",
            ErrorFamily::Lifecycle => "LifecycleError",
            ErrorFamily::Request => "RequestError",
            ErrorFamily::Capacity => "CapacityError",
            ErrorFamily::Dependency => "DependencyError",
            ErrorFamily::Configuration => "ConfigurationError",
            ErrorFamily::Server => "ServerError",
        }
    }
}

/// Everything fixed about one code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ErrorSpec {
    /// The code this row describes.
    #[serde(skip)]
    pub variant: ErrorCode,
    /// The stable snake_case string.
    pub code: &'static str,
    /// The HTTP status of a response carrying this code.
    pub http_status: u16,
    /// The family (exception base class).
    pub family: ErrorFamily,
    /// The leaf exception class name in the bindings.
    pub class_name: &'static str,
    /// A default human detail, used when the caller gives none.
    pub default_detail: &'static str,
    /// What the user (or operator) should do next.
    pub user_action: &'static str,
}

macro_rules! spec {
    ($v:ident, $code:literal, $status:literal, $fam:ident, $class:literal, $detail:literal, $action:literal) => {
        ErrorSpec {
            variant: ErrorCode::$v,
            code: $code,
            http_status: $status,
            family: ErrorFamily::$fam,
            class_name: $class,
            default_detail: $detail,
            user_action: $action,
        }
    };
}

/// The one table of codes. Its order is the declaration order of [`ErrorCode`]
/// (checked by a unit test), so lookup by variant is an index.
pub const ERROR_SPECS: [ErrorSpec; 20] = [
    spec!(
        InvalidApiKey,
        "invalid_api_key",
        403,
        Auth,
        "InvalidApiKeyError",
        "The API key presented does not match.",
        "Check the X-API-Key header or api_key parameter; do not send a stale key."
    ),
    spec!(
        SessionRequired,
        "session_required",
        401,
        Auth,
        "SessionRequiredError",
        "No credential was presented.",
        "Sign in to obtain a session, or send an X-API-Key header."
    ),
    spec!(
        SessionExpired,
        "session_expired",
        401,
        Auth,
        "SessionExpiredError",
        "The session has expired or was revoked.",
        "Sign in again to obtain a new session."
    ),
    spec!(
        SessionInvalid,
        "session_invalid",
        401,
        Auth,
        "SessionInvalidError",
        "The session cookie is not valid.",
        "Clear the session cookie and sign in again."
    ),
    spec!(
        AdminSessionRequired,
        "admin_session_required",
        401,
        Auth,
        "AdminSessionRequiredError",
        "This admin route requires an admin session.",
        "Open an admin session with POST /admin/session first."
    ),
    spec!(
        AdminKeyInvalid,
        "admin_key_invalid",
        403,
        Auth,
        "AdminKeyInvalidError",
        "The admin bootstrap key is missing or wrong.",
        "Send the configured x-admin-key header to POST /admin/session only."
    ),
    spec!(
        AdminMisconfigured,
        "admin_misconfigured",
        503,
        Configuration,
        "AdminMisconfiguredError",
        "The admin key is not configured or is shorter than 16 characters.",
        "Operator: configure an admin key of at least 16 characters."
    ),
    spec!(
        ServerMisconfigured,
        "server_misconfigured",
        503,
        Configuration,
        "ServerMisconfiguredError",
        "No API key is configured and anonymous access is not allowed here.",
        "Operator: configure an API key, or allow anonymous access in a dev environment only."
    ),
    spec!(
        RateLimited,
        "rate_limited",
        429,
        RateLimit,
        "RateLimitedError",
        "Too many requests.",
        "Wait for the number of seconds in Retry-After, then try again."
    ),
    spec!(
        CorsOriginBlocked,
        "cors_origin_blocked",
        403,
        Cors,
        "CorsOriginBlockedError",
        "The request origin is not allowed.",
        "Use the platform from an allowed frontend origin."
    ),
    spec!(
        TaskNotFound,
        "task_not_found",
        404,
        Routing,
        "TaskNotFoundError",
        "No such task.",
        "Check the task id; it may belong to a workspace that no longer exists."
    ),
    spec!(
        ProxyTargetInvalid,
        "proxy_target_invalid",
        400,
        Routing,
        "ProxyTargetInvalidError",
        "The task id or its remote target is not valid.",
        "Use a task id exactly as the platform returned it."
    ),
    spec!(
        RemoteUnavailable,
        "remote_unavailable",
        502,
        Routing,
        "RemoteUnavailableError",
        "The remote workspace failed or timed out.",
        "Try again later; the task is kept on the remote workspace."
    ),
    spec!(
        InvalidTransition,
        "invalid_transition",
        409,
        Lifecycle,
        "InvalidTransitionError",
        "The task status change is not allowed.",
        "Reload the task: it may already be finished or failed."
    ),
    spec!(
        ValidationError,
        "validation_error",
        422,
        Request,
        "RequestValidationError",
        "The request parameters violate the model catalogue.",
        "Fix the parameters listed in metadata.violations and resubmit."
    ),
    spec!(
        QueueOverloaded,
        "queue_overloaded",
        503,
        Capacity,
        "QueueOverloadedError",
        "The generation queue is full.",
        "Wait for the number of seconds in Retry-After, then resubmit."
    ),
    spec!(
        GpuMemoryExceeded,
        "gpu_memory_exceeded",
        507,
        Capacity,
        "GpuMemoryExceededError",
        "The GPU ran out of memory for this request.",
        "Lower the resolution, frame count or batch size and resubmit."
    ),
    spec!(
        DependencyUnavailable,
        "dependency_unavailable",
        503,
        Dependency,
        "DependencyUnavailableError",
        "A required store is unreachable.",
        "Try again shortly; operators are alerted."
    ),
    spec!(
        ConfigInvalid,
        "config_invalid",
        500,
        Configuration,
        "ConfigInvalidError",
        "The runtime policy configuration is invalid.",
        "Operator: fix the fields listed in metadata.issues."
    ),
    spec!(
        InternalError,
        "internal_error",
        500,
        Server,
        "InternalError",
        "An internal error occurred.",
        "Try again; report the correlation id if it persists."
    ),
];

impl ErrorCode {
    /// Every code, in declaration order (like pydantic-core's `list_all_errors`).
    pub fn all() -> impl Iterator<Item = ErrorCode> {
        ERROR_SPECS.iter().map(|s| s.variant)
    }

    /// The row of [`ERROR_SPECS`] for this code.
    pub fn spec(self) -> &'static ErrorSpec {
        &ERROR_SPECS[self as usize]
    }

    /// The stable snake_case string.
    pub fn code(self) -> &'static str {
        self.spec().code
    }

    /// The HTTP status of a response carrying this code.
    pub fn http_status(self) -> u16 {
        self.spec().http_status
    }

    /// The default user action hint.
    pub fn user_action(self) -> &'static str {
        self.spec().user_action
    }

    /// The family (exception base class).
    pub fn family(self) -> ErrorFamily {
        self.spec().family
    }

    /// Parses a stable code string. Legacy codes are not accepted here; see
    /// [`from_legacy_code`].
    pub fn from_code(code: &str) -> Option<ErrorCode> {
        ERROR_SPECS
            .iter()
            .find(|s| s.code == code)
            .map(|s| s.variant)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Every code an existing platform backend emits today with the stable code that replaces
/// it (see [`crate::legacy`]).
pub const LEGACY_CODES: [(&str, ErrorCode); 5] = [
    ("generation_session_missing", ErrorCode::SessionRequired),
    ("generation_session_expired", ErrorCode::SessionExpired),
    ("generation_session_invalid", ErrorCode::SessionInvalid),
    ("admin_session_missing", ErrorCode::AdminSessionRequired),
    ("admin_rate_limited", ErrorCode::RateLimited),
];

/// The stable code replacing a legacy one, or `None` when `code` is not a legacy code.
pub fn from_legacy_code(code: &str) -> Option<ErrorCode> {
    LEGACY_CODES
        .iter()
        .find(|(legacy, _)| *legacy == code)
        .map(|(_, c)| *c)
}

/// Every code's spec, in declaration order.
pub fn list_all_errors() -> &'static [ErrorSpec] {
    &ERROR_SPECS
}

/// One rejection: exactly one code, a human detail, a user action and optional metadata.
///
/// `detail` and `metadata` must never contain a secret; constructors in this crate only put
/// rule names, field paths and positions there, never presented credential values.
#[derive(Clone, PartialEq)]
pub struct Error {
    code: ErrorCode,
    detail: Cow<'static, str>,
    user_action: Option<Cow<'static, str>>,
    metadata: Option<Map<String, Value>>,
    /// Server-side cause (a driver's message): in `Debug` and [`Error::cause`] for logs,
    /// never in the envelope a client sees.
    cause: Option<Box<str>>,
}

impl Error {
    /// An error with the code's default detail.
    pub fn new(code: ErrorCode) -> Self {
        Error {
            code,
            detail: Cow::Borrowed(code.spec().default_detail),
            user_action: None,
            metadata: None,
            cause: None,
        }
    }

    /// An error with a specific detail.
    pub fn with_detail(code: ErrorCode, detail: impl Into<Cow<'static, str>>) -> Self {
        Error {
            code,
            detail: detail.into(),
            user_action: None,
            metadata: None,
            cause: None,
        }
    }

    /// Attaches a server-side cause (a driver's or the operating system's message). It is
    /// kept out of the envelope (`detail`, `to_json`, bindings' exception text): such text can
    /// name hosts, paths and schema, which a client must not see.
    pub fn with_cause(mut self, cause: impl fmt::Display) -> Self {
        self.cause = Some(cause.to_string().into_boxed_str());
        self
    }

    /// The server-side cause, for logs.
    pub fn cause(&self) -> Option<&str> {
        self.cause.as_deref()
    }

    /// Overrides the user action hint.
    pub fn user_action_hint(mut self, action: impl Into<Cow<'static, str>>) -> Self {
        self.user_action = Some(action.into());
        self
    }

    /// Adds one metadata entry.
    pub fn meta(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.metadata
            .get_or_insert_with(Map::new)
            .insert(key.to_owned(), value.into());
        self
    }

    /// The code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The stable code string.
    pub fn code_str(&self) -> &'static str {
        self.code.code()
    }

    /// The HTTP status.
    pub fn http_status(&self) -> u16 {
        self.code.http_status()
    }

    /// The human detail.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The user action hint (the code's default unless overridden).
    pub fn user_action(&self) -> &str {
        self.user_action
            .as_deref()
            .unwrap_or(self.code.user_action())
    }

    /// Metadata, if any.
    pub fn metadata(&self) -> Option<&Map<String, Value>> {
        self.metadata.as_ref()
    }

    /// The `Retry-After` seconds carried by throttling and overload errors.
    pub fn retry_after_seconds(&self) -> Option<u64> {
        self.metadata.as_ref()?.get("retry_after_seconds")?.as_u64()
    }

    /// The JSON envelope `{"code","detail","user_action","metadata"?}`.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("code", &self.code.code())
            .field("detail", &self.detail)
            .field("metadata", &self.metadata)
            .field("cause", &self.cause)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.code(), self.detail)
    }
}

impl std::error::Error for Error {}

#[derive(Serialize, Deserialize)]
struct Envelope<'a> {
    code: Cow<'a, str>,
    detail: Cow<'a, str>,
    user_action: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    metadata: Option<Map<String, Value>>,
}

impl Serialize for Error {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Envelope {
            code: Cow::Borrowed(self.code.code()),
            detail: Cow::Borrowed(&self.detail),
            user_action: Cow::Borrowed(self.user_action()),
            metadata: self.metadata.clone(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Error {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let env = Envelope::deserialize(deserializer)?;
        let code = ErrorCode::from_code(&env.code)
            .or_else(|| from_legacy_code(&env.code))
            .ok_or_else(|| {
                serde::de::Error::custom(format!("unknown error code `{}`", env.code))
            })?;
        let user_action = if env.user_action == code.user_action() {
            None
        } else {
            Some(Cow::Owned(env.user_action.into_owned()))
        };
        Ok(Error {
            code,
            detail: Cow::Owned(env.detail.into_owned()),
            user_action,
            metadata: env.metadata,
            cause: None,
        })
    }
}

/// Serialises a value into JSON for a binding or a report; a failure (never expected for
/// this crate's types) is `internal_error`.
pub fn to_json_value<T: Serialize>(value: &T) -> Result<Value, Error> {
    serde_json::to_value(value)
        .map_err(|e| Error::with_detail(ErrorCode::InternalError, format!("cannot serialise: {e}")))
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
