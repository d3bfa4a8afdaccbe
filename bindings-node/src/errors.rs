//! The one place where core errors become JavaScript errors: an `Error` whose `message` is
//! the detail and whose `code` is the stable error code, plus `status` (HTTP), `userAction`,
//! `detail` and `metadata`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use napi::bindgen_prelude::*;
use napi_derive::napi;

/// The JS error object for `err`: `message` is the detail, `code` the core code.
fn js_error<'e>(env: &'e Env, err: &inferwarden::Error) -> napi::Result<Object<'e>> {
    let mut obj = env.create_error(napi::Error::new(
        Status::GenericFailure,
        err.detail().to_owned(),
    ))?;
    obj.set_named_property("code", err.code_str())?;
    obj.set_named_property("status", u32::from(err.http_status()))?;
    obj.set_named_property("detail", err.detail().to_owned())?;
    obj.set_named_property("userAction", err.user_action().to_owned())?;
    let metadata = err
        .metadata()
        .cloned()
        .map(serde_json::Value::Object)
        .unwrap_or_else(|| serde_json::json!({}));
    obj.set_named_property("metadata", metadata)?;
    Ok(obj)
}

/// A promise rejection carrying the coded JS error of `err` (napi-rs rejects with the
/// referenced object itself).
pub fn rejection(env: &Env, err: inferwarden::Error) -> napi::Error {
    match js_error(env, &err) {
        Ok(obj) => napi::Error::from(obj.to_unknown()),
        Err(_) => napi::Error::new(
            Status::GenericFailure,
            format!("{}: {}", err.code_str(), err.detail()),
        ),
    }
}

/// Throws `err` as a JS error with `err.code` set to the core code. Returns the napi error
/// that tells napi-rs an exception is already pending.
pub fn throw(env: &Env, err: inferwarden::Error) -> napi::Error {
    let built = js_error(env, &err).and_then(|obj| env.throw(obj));
    match built {
        Ok(()) => napi::Error::new(Status::PendingException, String::new()),
        // Could not build the object: fall back to a plain error that still names the code.
        Err(_) => napi::Error::new(
            Status::GenericFailure,
            format!("{}: {}", err.code_str(), err.detail()),
        ),
    }
}

/// Runs `f`, throwing a core error as a coded JS error and a panic as `internal_error`.
pub fn guard<T>(
    env: &Env,
    f: impl FnOnce() -> std::result::Result<T, inferwarden::Error>,
) -> napi::Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(throw(env, e)),
        Err(_) => Err(throw(
            env,
            inferwarden::Error::with_detail(
                inferwarden::ErrorCode::InternalError,
                "panic in inferwarden core",
            ),
        )),
    }
}

/// One row of the error contract.
#[napi(object)]
pub struct ErrorSpec {
    /// The stable snake_case code (`err.code`).
    pub code: String,
    /// The HTTP status of a response carrying this code.
    pub http_status: u32,
    /// The error family (`auth`, `routing`, ...).
    pub family: String,
    /// The class name the Python binding uses for this code.
    pub class_name: String,
    /// The default human detail.
    pub default_detail: String,
    /// What the user should do next.
    pub user_action: String,
}

/// Every error code, in the core's order.
#[napi]
pub fn list_all_errors() -> Vec<ErrorSpec> {
    inferwarden::list_all_errors()
        .iter()
        .map(|s| ErrorSpec {
            code: s.code.to_owned(),
            http_status: u32::from(s.http_status),
            family: s.family.as_str().to_owned(),
            class_name: s.class_name.to_owned(),
            default_detail: s.default_detail.to_owned(),
            user_action: s.user_action.to_owned(),
        })
        .collect()
}

/// A legacy code and the stable code replacing it.
#[napi(object)]
pub struct LegacyCode {
    /// The code an existing backend emits today.
    pub legacy: String,
    /// The stable code to use instead.
    pub code: String,
}

/// The legacy-code migration map.
#[napi]
pub fn legacy_codes() -> Vec<LegacyCode> {
    inferwarden::legacy::LEGACY_CODES
        .iter()
        .map(|(l, c)| LegacyCode {
            legacy: (*l).to_owned(),
            code: c.code().to_owned(),
        })
        .collect()
}
