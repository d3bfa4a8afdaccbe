//! The gate's `Decision` as a plain JS object, made by one call of a small JS function.
//!
//! It was a napi-rs class: every decision was constructed through a JS constructor call,
//! wrapped, type-tagged, given a reference and entered in a per-thread map, then finalised
//! after garbage collection, which was about a quarter of `gate.decide`. Now it is an object
//! literal made by one small JS function ([`FACTORY`], compiled once per JS thread), called
//! once with the decision's values: V8 builds a literal from its boilerplate, where defining
//! the same properties through Node-API looked up and internalised every key and walked the
//! map transitions one property at a time (a third of the call). `body()` returns the
//! rejection's envelope, made when the decision is.
//!
//! Only a decision the core says [`grants_session`](inferwarden::gate::Decision::grants_session)
//! (an allowed `POST /auth/session` or `POST /admin/session`) keeps the core decision: it is
//! wrapped into the object under a type tag, and `issueSession` unwraps it. Any other object,
//! including a copy of a decision's fields, carries no grant, and the core refuses it
//! (`session_required`). Nothing here decides anything.

use std::cell::RefCell;
use std::ffi::c_void;
use std::ptr;

use inferwarden::gate::{Decision as CoreDecision, Principal};
use napi::bindgen_prelude::*;
use napi::sys;

use crate::raw;

/// Marks the objects that carry a core decision (random; fixed for this addon).
static GRANT_TAG: sys::napi_type_tag = sys::napi_type_tag {
    lower: 0x6f1c_2b7e_93d4_a501,
    upper: 0xd2e8_45a9_0c37_b16f,
};

const WHAT: &str = "the Decision";

/// A core decision on its way to JS (`decide`, `decideAsync`).
pub struct DecisionValue(pub CoreDecision);

impl ToNapiValue for DecisionValue {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        build(env, val.0)
    }
}

/// Builds a decision object from its values; the principal's keys are those of its JSON
/// (`inferwarden::gate::Principal`, pinned by the Node tests).
/// `outcome`: 0 a rejection, 1 allowed, 2 a preflight; `headers`: `null` for none; `null`
/// for each absent value.
const FACTORY: &str = r#"(function () {
  'use strict';
  const none = function body() { return null; };
  return function decision(outcome, status, headers, kind, detail, route, code, envelope) {
    let principal = null;
    switch (kind) {
      case null: break;
      case 'api_key': principal = { kind, key_index: detail }; break;
      case 'session': case 'admin_session': principal = { kind, session_id: detail }; break;
      case 'signed_media': principal = { kind, task_id: detail }; break;
      default: principal = { kind };
    }
    return {
      allowed: outcome === 1,
      preflight: outcome === 2,
      status,
      headers: headers === null ? [] : headers,
      principal,
      route,
      code,
      body: envelope === null ? none : function body() { return envelope; },
    };
  };
})()"#;

thread_local! {
    static FACTORY_SLOT: RefCell<Option<raw::ScriptObject>> = const { RefCell::new(None) };
}

fn null(env: sys::napi_env) -> Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    raw::check(unsafe { sys::napi_get_null(env, &mut out) }, WHAT)?;
    Ok(out)
}

fn number(env: sys::napi_env, n: f64) -> Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    raw::check(unsafe { sys::napi_create_double(env, n, &mut out) }, WHAT)?;
    Ok(out)
}

fn array(env: sys::napi_env, len: usize) -> Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    raw::check(
        unsafe { sys::napi_create_array_with_length(env, len, &mut out) },
        WHAT,
    )?;
    Ok(out)
}

fn set_element(
    env: sys::napi_env,
    arr: sys::napi_value,
    index: u32,
    value: sys::napi_value,
) -> Result<()> {
    raw::check(
        unsafe { sys::napi_set_element(env, arr, index, value) },
        WHAT,
    )
}

/// `[[name, value], ...]`.
fn headers(env: sys::napi_env, set: &[(String, String)]) -> Result<sys::napi_value> {
    let out = array(env, set.len())?;
    for (i, (name, value)) in set.iter().enumerate() {
        let pair = array(env, 2)?;
        set_element(env, pair, 0, raw::utf8(env, name)?)?;
        set_element(env, pair, 1, raw::utf8(env, value)?)?;
        set_element(env, out, i as u32, pair)?;
    }
    Ok(out)
}

/// The principal's `kind` and its one detail (`key_index`, `session_id` or `task_id`).
fn principal(
    env: sys::napi_env,
    p: &Principal,
    nothing: sys::napi_value,
) -> Result<(sys::napi_value, sys::napi_value)> {
    let detail = match p {
        Principal::ApiKey { key_index } => number(env, *key_index as f64)?,
        Principal::Session { session_id } | Principal::AdminSession { session_id } => {
            raw::utf8(env, session_id)?
        }
        Principal::SignedMedia { task_id } => raw::utf8(env, task_id)?,
        Principal::Public | Principal::Anonymous | Principal::AdminBootstrap => nothing,
    };
    Ok((raw::latin1(env, p.kind())?, detail))
}

/// Frees a decision wrapped into its object, once the object is collected.
unsafe extern "C" fn drop_grant(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    drop(unsafe { Box::from_raw(data.cast::<CoreDecision>()) });
}

fn build(env: sys::napi_env, d: CoreDecision) -> Result<sys::napi_value> {
    let factory = raw::script_object(env, &FACTORY_SLOT, FACTORY, WHAT)?;
    // One `null` for every absent value (each Node-API call costs).
    let nothing = null(env)?;
    let ((kind, detail), route) = match &d {
        CoreDecision::Allow {
            principal: p,
            route,
            ..
        } => (
            principal(env, p, nothing)?,
            raw::latin1(env, route.as_str())?,
        ),
        _ => ((nothing, nothing), nothing),
    };
    let (code, envelope) = match d.error() {
        Some(e) => (raw::latin1(env, e.code_str())?, unsafe {
            serde_json::Value::to_napi_value(env, e.to_json())?
        }),
        None => (nothing, nothing),
    };
    let outcome = match d {
        CoreDecision::Reject { .. } => 0.0,
        CoreDecision::Allow { .. } => 1.0,
        CoreDecision::Preflight { .. } => 2.0,
    };
    let set = d.set_headers();
    let args = [
        number(env, outcome)?,
        number(env, f64::from(d.http_status()))?,
        if set.is_empty() {
            nothing
        } else {
            headers(env, set)?
        },
        kind,
        detail,
        route,
        code,
        envelope,
    ];
    let obj = raw::call(env, factory, &args, WHAT)?;
    if d.grants_session() {
        let data = Box::into_raw(Box::new(d));
        let wrapped = unsafe {
            sys::napi_wrap(
                env,
                obj,
                data.cast(),
                Some(drop_grant),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if wrapped != sys::Status::napi_ok {
            drop(unsafe { Box::from_raw(data) });
            return raw::check(wrapped, WHAT).map(|()| obj);
        }
        raw::check(
            unsafe { sys::napi_type_tag_object(env, obj, &GRANT_TAG) },
            WHAT,
        )?;
    }
    Ok(obj)
}

/// The core decision `value` carries, when it is a decision object that grants a session;
/// `None` for anything else (another decision, a copy of one, any other value).
pub fn grant<'a>(env: sys::napi_env, value: sys::napi_value) -> Option<&'a CoreDecision> {
    let mut kind = 0;
    if unsafe { sys::napi_typeof(env, value, &mut kind) } != sys::Status::napi_ok
        || kind != sys::ValueType::napi_object
    {
        return None;
    }
    let mut tagged = false;
    if unsafe { sys::napi_check_object_type_tag(env, value, &GRANT_TAG, &mut tagged) }
        != sys::Status::napi_ok
        || !tagged
    {
        return None;
    }
    let mut data = ptr::null_mut();
    if unsafe { sys::napi_unwrap(env, value, &mut data) } != sys::Status::napi_ok || data.is_null()
    {
        return None;
    }
    // The object holds it until it is collected, and it is in use for this call.
    Some(unsafe { &*data.cast::<CoreDecision>() })
}
