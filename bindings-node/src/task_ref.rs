//! `parseTaskRef`: a task id in, a `TaskRef` object out, with as few Node-API calls as the
//! conversion allows (it sits on every request that names a task).
//!
//! - The argument is copied into a stack buffer in one call. Every id the grammar accepts
//!   is at most 194 ASCII bytes; a longer string (always refused) is read whole, so the core
//!   sees exactly what the caller passed.
//! - The result's keys are defined in one `napi_define_properties` call; a local id's
//!   `taskId` is the argument itself; the kind and the parts of a remote id (ASCII, as the
//!   grammar requires) are made as Latin-1 strings, which skips UTF-8 decoding.

use std::ptr;

use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;

use crate::errors::{js_error, throw};
use crate::raw;

/// A parsed public task id.
// The shape `parseTaskRef` builds by hand, declared for the generated types.
#[napi(object)]
#[allow(dead_code)]
pub struct TaskRef {
    /// `"local"` or `"remote"`.
    pub kind: String,
    /// The workspace for remote ids.
    pub workspace: Option<String>,
    /// The task id part.
    pub task_id: String,
}

/// The longest argument read into the stack buffer (the grammar's longest id is 194 bytes).
const STACK_ID: usize = 200;

/// What parsing gives: the `TaskRef`, or the coded error of a refused id (not yet thrown).
enum Parsed {
    TaskRef(sys::napi_value),
    Refused(inferwarden::Error),
}

/// Parses the JS string `value` and builds its `TaskRef`, or throws (a pending exception,
/// reported as `Err`).
fn parse(env: sys::napi_env, value: sys::napi_value) -> Result<sys::napi_value> {
    match parse_value(env, value)? {
        Parsed::TaskRef(r) => Ok(r),
        Parsed::Refused(e) => Err(throw(&Env::from_raw(env), e)),
    }
}

/// Parses the JS string `value`: its `TaskRef`, or the error of a refused id; `Err` for an
/// argument that is not a string.
fn parse_value(env: sys::napi_env, value: sys::napi_value) -> Result<Parsed> {
    let mut buf = [0u8; STACK_ID];
    let mut len = 0usize;
    let status = unsafe {
        sys::napi_get_value_string_utf8(env, value, buf.as_mut_ptr().cast(), STACK_ID, &mut len)
    };
    if status != sys::Status::napi_ok {
        return Err(Error::new(
            Status::StringExpected,
            "parseTaskRef expects a string".to_owned(),
        ));
    }
    let whole;
    // Node-API writes whole UTF-8 sequences only, so a string cut short can end up to three
    // bytes before the buffer's last byte: only a shorter result is surely the whole string.
    let id = if len + 4 < STACK_ID {
        std::str::from_utf8(&buf[..len]).unwrap_or_default()
    } else {
        // A full buffer may have cut the string short: read it whole.
        whole = unsafe { String::from_napi_value(env, value)? };
        &whole
    };
    match inferwarden::parse_task_ref(id) {
        Ok(r) => task_ref_object(env, value, &r).map(Parsed::TaskRef),
        Err(e) => Ok(Parsed::Refused(e)),
    }
}

/// A JS value already made (the `TaskRef` object).
pub struct Made(sys::napi_value);

impl ToNapiValue for Made {
    unsafe fn to_napi_value(_env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        Ok(val.0)
    }
}

fn task_ref_object(
    env: sys::napi_env,
    arg: sys::napi_value,
    r: &inferwarden::TaskRef,
) -> Result<sys::napi_value> {
    const WHAT: &str = "the TaskRef";
    let obj = raw::object(env, WHAT)?;
    // The keys in the order napi-rs gave them (`workspace` only on a remote id).
    match r.workspace() {
        None => raw::define(
            env,
            obj,
            &[
                raw::named(c"kind", raw::latin1(env, "local")?),
                raw::named(c"taskId", arg),
            ],
            WHAT,
        )?,
        Some(ws) => raw::define(
            env,
            obj,
            &[
                raw::named(c"kind", raw::latin1(env, "remote")?),
                raw::named(c"taskId", raw::latin1(env, r.task_id())?),
                raw::named(c"workspace", raw::latin1(env, ws)?),
            ],
            WHAT,
        )?,
    }
    Ok(obj)
}

/// Parses `taskId` or `workspace::taskId`. Throws an error with
/// `code === "proxy_target_invalid"` and `metadata.rule` naming the broken rule.
//
// This declaration gives the generated JS and types their `parseTaskRef`; at load time
// `install_fast_parse_task_ref` puts a plain Node-API callback over the same `parse` in its
// place, which skips napi-rs's per-call set-up (a borrow scope allocated and freed on every
// call: about a sixth of the call).
#[napi(ts_args_type = "id: string", ts_return_type = "TaskRef")]
pub fn parse_task_ref(env: Env, id: Unknown<'_>) -> napi::Result<Made> {
    parse(env.raw(), id.raw()).map(Made)
}

/// `parseTaskRef` as exported: a JS function around the native parse, which returns a
/// refused id's error instead of throwing it. Thrown here, from JS, V8 places the throw
/// from the JS frame; thrown by native code (`napi_throw`), it walked the stack a second
/// time to compute the location, a fifth of a refused call.
const PARSE_TASK_REF: &str = r#"(function (parse) {
  'use strict';
  return function parseTaskRef(id) {
    const r = parse(id);
    if (r instanceof Error) throw r;
    return r;
  };
})"#;

/// The native parse behind `PARSE_TASK_REF`: the `TaskRef`, or the refused id's error
/// returned (not thrown).
#[cfg_attr(test, allow(dead_code))]
unsafe extern "C" fn parse_task_ref_callback(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let mut argc = 1usize;
    let mut argv = [ptr::null_mut(); 1];
    let read = unsafe {
        sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    let outcome = if read != sys::Status::napi_ok {
        Err(Error::new(
            Status::GenericFailure,
            "parseTaskRef: arguments unreadable".to_owned(),
        ))
    } else {
        // A missing argument reads as `undefined`, which `parse` refuses as not a string.
        if argc == 0 {
            unsafe { sys::napi_get_undefined(env, &mut argv[0]) };
        }
        std::panic::catch_unwind(|| match parse_value(env, argv[0])? {
            Parsed::TaskRef(r) => Ok(r),
            // Returned, for the JS wrapper to throw (see `PARSE_TASK_REF`).
            Parsed::Refused(e) => js_error(&Env::from_raw(env), &e).map(|o| o.raw()),
        })
        .unwrap_or_else(|_| {
            Err(throw(
                &Env::from_raw(env),
                inferwarden::Error::with_detail(
                    inferwarden::ErrorCode::InternalError,
                    "panic in inferwarden core",
                ),
            ))
        })
    };
    match outcome {
        Ok(value) => value,
        Err(e) => {
            if e.status != Status::PendingException {
                unsafe { JsError::from(e).throw_into(env) };
            }
            ptr::null_mut()
        }
    }
}

/// Replaces the generated `parseTaskRef` export with [`PARSE_TASK_REF`] around
/// [`parse_task_ref_callback`] (called by the module's load hook in `lib.rs`).
#[cfg_attr(test, allow(dead_code))]
pub fn install_fast_parse_task_ref(exports: &mut Object, env: &Env) -> napi::Result<()> {
    let mut function = ptr::null_mut();
    raw::check(
        unsafe {
            sys::napi_create_function(
                env.raw(),
                c"parseTaskRef".as_ptr(),
                "parseTaskRef".len() as isize,
                Some(parse_task_ref_callback),
                ptr::null_mut(),
                &mut function,
            )
        },
        "parseTaskRef",
    )?;
    let source = raw::latin1(env.raw(), PARSE_TASK_REF)?;
    let mut make = ptr::null_mut();
    raw::check(
        unsafe { sys::napi_run_script(env.raw(), source, &mut make) },
        "parseTaskRef",
    )?;
    let wrapper = raw::call(env.raw(), make, &[function], "parseTaskRef")?;
    exports.set_named_property("parseTaskRef", unsafe {
        Unknown::from_raw_unchecked(env.raw(), wrapper)
    })
}
