//! What the gate answers: allow (with the principal), answer a preflight, or reject with
//! exactly one error; each with the headers to set on the response.

use serde::Serialize;

use crate::config::RouteClass;
use crate::error::Error;

/// Who a request acts as. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Principal {
    /// A public route: no credential needed.
    Public,
    /// No credential, allowed because anonymous access is on in a dev environment.
    Anonymous,
    /// A configured API key (by position in the configured list).
    ApiKey {
        /// Index of the matching key.
        key_index: usize,
    },
    /// A generation session.
    Session {
        /// The session id (hash of the token, not the token).
        session_id: String,
    },
    /// A signed media URL for one task.
    SignedMedia {
        /// The task the signature covers.
        task_id: String,
    },
    /// The admin bootstrap credential, on `POST /admin/session` only.
    AdminBootstrap,
    /// An admin session.
    AdminSession {
        /// The session id (hash of the token, not the token).
        session_id: String,
    },
}

impl Principal {
    /// The principal's `kind` as JSON spells it (`api_key`, `admin_session`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Principal::Public => "public",
            Principal::Anonymous => "anonymous",
            Principal::ApiKey { .. } => "api_key",
            Principal::Session { .. } => "session",
            Principal::SignedMedia { .. } => "signed_media",
            Principal::AdminBootstrap => "admin_bootstrap",
            Principal::AdminSession { .. } => "admin_session",
        }
    }

    /// A short label for audit records (`api_key#0`, `session:ab12...`).
    pub fn label(&self) -> String {
        match self {
            Principal::Public => "public".to_owned(),
            Principal::Anonymous => "anonymous".to_owned(),
            Principal::ApiKey { key_index } => format!("api_key#{key_index}"),
            Principal::Session { session_id } => {
                format!("session:{}", &session_id[..session_id.len().min(12)])
            }
            Principal::SignedMedia { task_id } => format!("signed_media:{task_id}"),
            Principal::AdminBootstrap => "admin_bootstrap".to_owned(),
            Principal::AdminSession { session_id } => {
                format!("admin_session:{}", &session_id[..session_id.len().min(12)])
            }
        }
    }
}

/// The gate's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Run the handler as `principal`, adding `set_headers` to its response.
    Allow {
        /// Who the request acts as.
        principal: Principal,
        /// The route class.
        route: RouteClass,
        /// Headers to add (CORS, rate-limit).
        set_headers: Vec<(String, String)>,
    },
    /// An allowed CORS preflight: answer 204 with these headers, run no handler.
    Preflight {
        /// The preflight response headers.
        set_headers: Vec<(String, String)>,
    },
    /// Refuse with exactly one error (its status, and the envelope as body).
    Reject {
        /// The error.
        error: Error,
        /// Headers to add (`Vary`, `Retry-After`, rate-limit).
        set_headers: Vec<(String, String)>,
    },
}

impl Decision {
    /// Whether the request may proceed to a handler.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }

    /// The error, for rejections.
    pub fn error(&self) -> Option<&Error> {
        match self {
            Decision::Reject { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The HTTP status of the response the gate implies (200 for allow).
    pub fn http_status(&self) -> u16 {
        match self {
            Decision::Allow { .. } => 200,
            Decision::Preflight { .. } => 204,
            Decision::Reject { error, .. } => error.http_status(),
        }
    }

    /// Whether a session may be issued for this decision: an allowed decision of a
    /// bootstrap route (`POST /auth/session` or `POST /admin/session`). A binding may keep
    /// the core decision only for these; `Gate::issue_session_for_grant` refuses the rest.
    pub fn grants_session(&self) -> bool {
        matches!(
            self,
            Decision::Allow {
                route: RouteClass::SessionIssue | RouteClass::AdminBootstrap,
                ..
            }
        )
    }

    /// The headers to set.
    pub fn set_headers(&self) -> &[(String, String)] {
        match self {
            Decision::Allow { set_headers, .. }
            | Decision::Preflight { set_headers }
            | Decision::Reject { set_headers, .. } => set_headers,
        }
    }
}
