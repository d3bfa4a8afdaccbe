//! Plain Node-API helpers for the few hot conversions built without napi-rs's generic
//! machinery (`parseTaskRef`'s result, thrown errors): a status check, strings, and data
//! properties defined in one `napi_define_properties` call.

use std::ffi::{c_char, CStr};
use std::ptr;

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

/// `[key]: value`, with a JS string key.
pub fn keyed(key: sys::napi_value, value: sys::napi_value) -> sys::napi_property_descriptor {
    data_property(ptr::null(), key, value)
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
