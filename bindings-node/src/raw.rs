//! Plain Node-API helpers for the few hot conversions built without napi-rs's generic
//! machinery (`parseTaskRef`'s result, thrown errors, decisions): a status check, strings,
//! data properties defined in one `napi_define_properties` call, and small JS functions
//! compiled once per JS environment and called with a decision's or an error's values.

use std::cell::RefCell;
use std::ffi::{c_char, CStr};
use std::ptr;
use std::thread::LocalKey;

use napi::bindgen_prelude::*;
use napi::sys;

/// `Ok` for `napi_ok`; otherwise an error saying `what` could not be built.
pub fn check(status: sys::napi_status, what: &str) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(Error::new(
            Status::GenericFailure,
            format!("could not build {what}"),
        ))
    }
}

/// A JS string from ASCII/Latin-1 text (no UTF-8 decoding).
pub fn latin1(env: sys::napi_env, text: &str) -> Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    check(
        unsafe {
            sys::napi_create_string_latin1(env, text.as_ptr().cast(), text.len() as isize, &mut out)
        },
        "a string",
    )?;
    Ok(out)
}

/// A JS string from UTF-8 text.
pub fn utf8(env: sys::napi_env, text: &str) -> Result<sys::napi_value> {
    let mut out = ptr::null_mut();
    check(
        unsafe {
            sys::napi_create_string_utf8(env, text.as_ptr().cast(), text.len() as isize, &mut out)
        },
        "a string",
    )?;
    Ok(out)
}

/// A plain data property (writable, enumerable, configurable, as an object literal's or an
/// assignment's), named by a C string or, with a null `name`, by the JS value `key`.
fn data_property(
    name: *const c_char,
    key: sys::napi_value,
    value: sys::napi_value,
) -> sys::napi_property_descriptor {
    use sys::PropertyAttributes::{configurable, enumerable, writable};
    sys::napi_property_descriptor {
        utf8name: name,
        name: key,
        method: None,
        getter: None,
        setter: None,
        value,
        attributes: writable | enumerable | configurable,
        data: ptr::null_mut(),
    }
}

/// `name: value`, with a constant name.
pub fn named(name: &'static CStr, value: sys::napi_value) -> sys::napi_property_descriptor {
    data_property(name.as_ptr(), ptr::null_mut(), value)
}

/// Defines `properties` on `obj` in one call.
pub fn define(
    env: sys::napi_env,
    obj: sys::napi_value,
    properties: &[sys::napi_property_descriptor],
    what: &str,
) -> Result<()> {
    check(
        unsafe { sys::napi_define_properties(env, obj, properties.len(), properties.as_ptr()) },
        what,
    )
}

/// A new empty object.
pub fn object(env: sys::napi_env, what: &str) -> Result<sys::napi_value> {
    let mut obj = ptr::null_mut();
    check(unsafe { sys::napi_create_object(env, &mut obj) }, what)?;
    Ok(obj)
}

/// A JS object made once per JS thread by a script, kept referenced (see [`script_object`]).
pub struct ScriptObject {
    env: sys::napi_env,
    reference: sys::napi_ref,
}

/// The cache slot of one [`script_object`].
pub type ScriptSlot = LocalKey<RefCell<Option<ScriptObject>>>;

/// The object (a function, an array of functions) that running `source` gives, compiled on
/// first use in `env` and kept in `slot` after (each JS thread has its own `env`, and a
/// slot made for another `env` is made again).
pub fn script_object(
    env: sys::napi_env,
    slot: &'static ScriptSlot,
    source: &str,
    what: &str,
) -> Result<sys::napi_value> {
    slot.with(|cell| {
        let mut cached = cell.borrow_mut();
        let mut out = ptr::null_mut();
        if let Some(s) = cached.as_ref().filter(|s| s.env == env) {
            check(
                unsafe { sys::napi_get_reference_value(env, s.reference, &mut out) },
                what,
            )?;
            return Ok(out);
        }
        let text = latin1(env, source)?;
        check(unsafe { sys::napi_run_script(env, text, &mut out) }, what)?;
        let mut reference = ptr::null_mut();
        check(
            unsafe { sys::napi_create_reference(env, out, 1, &mut reference) },
            what,
        )?;
        // Forget it when `env` goes, so a later `env` at the same address (a worker started
        // after another ended) compiles its own instead of using a dead reference.
        check(
            unsafe {
                sys::napi_add_env_cleanup_hook(
                    env,
                    Some(forget_script_object),
                    ptr::from_ref(slot).cast_mut().cast(),
                )
            },
            what,
        )?;
        *cached = Some(ScriptObject { env, reference });
        Ok(out)
    })
}

/// Empties a [`script_object`] slot as its `env` is torn down (on that env's thread).
unsafe extern "C" fn forget_script_object(slot: *mut std::ffi::c_void) {
    // SAFETY: `slot` is the `&'static ScriptSlot` given to `napi_add_env_cleanup_hook`.
    let slot = unsafe { &*slot.cast::<ScriptSlot>().cast_const() };
    // The thread's locals may already be gone at thread exit: nothing to forget then.
    let _ = slot.try_with(|cell| {
        if let Ok(mut cached) = cell.try_borrow_mut() {
            *cached = None;
        }
    });
}

/// Calls `function` with `args` (`this` undefined).
pub fn call(
    env: sys::napi_env,
    function: sys::napi_value,
    args: &[sys::napi_value],
    what: &str,
) -> Result<sys::napi_value> {
    let mut undefined = ptr::null_mut();
    let mut out = ptr::null_mut();
    check(
        unsafe { sys::napi_get_undefined(env, &mut undefined) },
        what,
    )?;
    let status = unsafe {
        sys::napi_call_function(
            env,
            undefined,
            function,
            args.len(),
            args.as_ptr(),
            &mut out,
        )
    };
    if status == sys::Status::napi_pending_exception {
        return Err(Error::new(Status::PendingException, String::new()));
    }
    check(status, what)?;
    Ok(out)
}
