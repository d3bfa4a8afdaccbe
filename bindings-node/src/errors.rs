//! The one place where core errors become JavaScript errors: an `Error` whose `message` is
//! the detail and whose `code` is the stable error code, plus `status` (HTTP), `userAction`,
//! `detail` and `metadata`.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;

use crate::raw;

/// The JS value of one metadata entry: strings, numbers, booleans and null made directly,
/// anything nested through napi-rs's serde conversion.
fn metadata_value(env: sys::napi_env, value: &serde_json::Value) -> napi::Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    let status = match value {
        serde_json::Value::String(s) => return raw::utf8(env, s),
        serde_json::Value::Bool(b) => unsafe { sys::napi_get_boolean(env, *b, &mut out) },
        serde_json::Value::Null => unsafe { sys::napi_get_null(env, &mut out) },
        serde_json::Value::Number(n) => {
            let n = n.as_f64().unwrap_or(f64::NAN);
            unsafe { sys::napi_create_double(env, n, &mut out) }
        }
        nested => return unsafe { serde_json::Value::to_napi_value(env, nested.clone()) },
    };
    raw::check(status, "error metadata")?;
    Ok(out)
}

/// Sets an error's properties by assignment, in one call: assignments in JS go through V8's
/// inline caches, where defining them through Node-API decoded and looked up every key and
/// took the generic define path (about 15 % of a refused `parseTaskRef`, with the metadata
/// object's).
const DECORATE: &str = r#"(function decorate(e, status, detail, userAction) {
  'use strict';
  e.status = status;
  e.detail = detail;
  e.userAction = userAction;
  const metadata = {};
  for (let i = 4; i < arguments.length; i += 2) metadata[arguments[i]] = arguments[i + 1];
  e.metadata = metadata;
  return e;
})"#;

thread_local! {
    static DECORATE_SLOT: RefCell<Option<raw::ScriptObject>> = const { RefCell::new(None) };
}

/// The JS error object for `err`: `message` is the detail, `code` the core code (set by
/// `napi_create_error`, whose stack trace starts at the binding's caller); `status`,
/// `detail`, `userAction` and `metadata` (made from its entries) set by [`DECORATE`] (a
/// thrown error is built on every refused request, so it is made with as few calls as it
/// can be).
pub fn js_error<'e>(env: &'e Env, err: &inferwarden::Error) -> napi::Result<Object<'e>> {
    let env_raw = env.raw();
    let detail = raw::utf8(env_raw, err.detail())?;
    let code = raw::latin1(env_raw, err.code_str())?;
    let mut obj = ptr::null_mut();
    raw::check(
        unsafe { sys::napi_create_error(env_raw, code, detail, &mut obj) },
        "the error",
    )?;
    let mut status = ptr::null_mut();
    raw::check(
        unsafe { sys::napi_create_uint32(env_raw, u32::from(err.http_status()), &mut status) },
        "the error",
    )?;
    let decorate = raw::script_object(env_raw, &DECORATE_SLOT, DECORATE, "the error")?;
    let mut args = Vec::with_capacity(8);
    args.extend([obj, status, detail, raw::utf8(env_raw, err.user_action())?]);
    // The metadata as key, value, key, value, ... after the four.
    for (key, value) in err.metadata().into_iter().flatten() {
        args.push(raw::utf8(env_raw, key)?);
        args.push(metadata_value(env_raw, value)?);
    }
    raw::call(env_raw, decorate, &args, "the error")?;
    Ok(Object::from_raw(env_raw, obj))
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
