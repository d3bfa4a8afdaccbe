//! A `GateRequest` object (`{ method, path, headers?, query?, peer? }`) read into the core's
//! `RequestView` straight through Node-API: `gate.decide` and `decideAsync` are JS
//! functions ([`FIELDS`]) that read the five properties and pass them as arguments; then one
//! element read per pair entry, and short strings copied through a stack buffer in one
//! call. A value that is not an object is read by [`read`], which names the fault. napi-rs's
//! derived conversion made two calls per optional field and two per string, and it sits on
//! every `gate.decide`. Nothing here decides anything.
//!
//! A bad shape is `validation_error` with `metadata.field` naming the field (napi-rs gave
//! `InvalidArg` or `StringExpected`); an exception thrown while reading (a getter that
//! throws) is left pending and reaches the caller as it was thrown.

use std::ffi::CStr;
use std::ptr;

use inferwarden::gate::{parse_peer, RequestView};
use inferwarden::{Error as CoreError, ErrorCode};
use napi::bindgen_prelude::*;
use napi::sys;

use crate::errors::throw;

/// Strings up to this many bytes are read in one call (methods, paths and most header
/// values); longer ones take a second call for their length.
const STACK_STRING: usize = 512;

/// Why a read stopped: a shape the core refuses, or an exception already pending in JS.
enum Stop {
    Invalid(CoreError),
    Pending,
}

type Read<T> = std::result::Result<T, Stop>;

fn invalid(field: &str, detail: String) -> Stop {
    Stop::Invalid(CoreError::with_detail(ErrorCode::ValidationError, detail).meta("field", field))
}

/// A Node-API status as a read result: a pending exception stays pending.
fn status(env: sys::napi_env, status: sys::napi_status, field: &str) -> Read<()> {
    if status == sys::Status::napi_ok {
        return Ok(());
    }
    let mut pending = false;
    unsafe { sys::napi_is_exception_pending(env, &mut pending) };
    if pending {
        Err(Stop::Pending)
    } else {
        Err(invalid(
            field,
            format!("the request's `{field}` could not be read"),
        ))
    }
}

fn type_of(env: sys::napi_env, value: sys::napi_value, field: &str) -> Read<sys::napi_valuetype> {
    let mut kind = 0;
    status(
        env,
        unsafe { sys::napi_typeof(env, value, &mut kind) },
        field,
    )?;
    Ok(kind)
}

fn is_absent(kind: sys::napi_valuetype) -> bool {
    kind == sys::ValueType::napi_undefined || kind == sys::ValueType::napi_null
}

fn property(
    env: sys::napi_env,
    obj: sys::napi_value,
    name: &CStr,
    field: &str,
) -> Read<sys::napi_value> {
    let mut value = ptr::null_mut();
    status(
        env,
        unsafe { sys::napi_get_named_property(env, obj, name.as_ptr(), &mut value) },
        field,
    )?;
    Ok(value)
}

fn element(
    env: sys::napi_env,
    array: sys::napi_value,
    index: u32,
    field: &str,
) -> Read<sys::napi_value> {
    let mut value = ptr::null_mut();
    status(
        env,
        unsafe { sys::napi_get_element(env, array, index, &mut value) },
        field,
    )?;
    Ok(value)
}

/// The length of `value` when it is an array, else `None`.
fn array_length(env: sys::napi_env, value: sys::napi_value, field: &str) -> Read<Option<u32>> {
    let mut len = 0u32;
    // One call: Node-API answers `napi_array_expected` for anything that is not an array.
    let read = unsafe { sys::napi_get_array_length(env, value, &mut len) };
    if read == sys::Status::napi_array_expected {
        return Ok(None);
    }
    status(env, read, field)?;
    Ok(Some(len))
}

/// A JS string as UTF-8 (lone surrogates become U+FFFD, as napi-rs's conversion did).
fn string(env: sys::napi_env, value: sys::napi_value, field: &str) -> Read<String> {
    // Not zeroed first (zeroing 512 bytes per string was 2-3 % of a decision): Node-API
    // writes `len` bytes and a terminator, and only those are read.
    let mut buf = std::mem::MaybeUninit::<[u8; STACK_STRING]>::uninit();
    let mut len = 0usize;
    let read = unsafe {
        sys::napi_get_value_string_utf8(env, value, buf.as_mut_ptr().cast(), STACK_STRING, &mut len)
    };
    if read == sys::Status::napi_string_expected {
        return Err(invalid(
            field,
            format!("the request's `{field}` must be a string"),
        ));
    }
    status(env, read, field)?;
    // Node-API writes whole UTF-8 sequences only, so a string cut short can end up to three
    // bytes before the buffer's last byte: only a shorter result is surely the whole string.
    if len + 4 < STACK_STRING {
        // SAFETY: Node-API initialised the first `len` bytes (`len` < the buffer's size).
        let written = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), len) };
        return Ok(match std::str::from_utf8(written) {
            Ok(text) => text.to_owned(),
            Err(_) => String::from_utf8_lossy(written).into_owned(),
        });
    }
    status(
        env,
        unsafe { sys::napi_get_value_string_utf8(env, value, ptr::null_mut(), 0, &mut len) },
        field,
    )?;
    let mut whole = vec![0u8; len + 1];
    status(
        env,
        unsafe {
            sys::napi_get_value_string_utf8(
                env,
                value,
                whole.as_mut_ptr().cast(),
                len + 1,
                &mut len,
            )
        },
        field,
    )?;
    whole.truncate(len);
    Ok(String::from_utf8(whole)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// `[name, value]` pairs (absent: none).
fn pairs(env: sys::napi_env, value: sys::napi_value, field: &str) -> Read<Vec<(String, String)>> {
    if is_absent(type_of(env, value, field)?) {
        return Ok(Vec::new());
    }
    let not_pairs = || {
        invalid(
            field,
            format!("{field} entries must be [name, value] pairs"),
        )
    };
    let len = array_length(env, value, field)?
        .ok_or_else(|| invalid(field, format!("the request's `{field}` must be an array")))?;
    let mut out = Vec::with_capacity(len as usize);
    for i in 0..len {
        let pair = element(env, value, i, field)?;
        if array_length(env, pair, field)? != Some(2) {
            return Err(not_pairs());
        }
        let (name, text) = (element(env, pair, 0, field)?, element(env, pair, 1, field)?);
        out.push((string(env, name, field)?, string(env, text, field)?));
    }
    Ok(out)
}

fn request(env: sys::napi_env, obj: sys::napi_value) -> Read<RequestView> {
    let kind = type_of(env, obj, "request")?;
    if kind != sys::ValueType::napi_object {
        return Err(invalid(
            "request",
            "the request must be an object { method, path, headers?, query?, peer? }".to_owned(),
        ));
    }
    // Fields are read and checked in this order, so a request with several faults names
    // the first of them (as napi-rs's conversion did).
    let method = property(env, obj, c"method", "method")?;
    let method = string(env, method, "method")?;
    let path = property(env, obj, c"path", "path")?;
    let path = string(env, path, "path")?;
    let headers = property(env, obj, c"headers", "headers")?;
    let headers = pairs(env, headers, "headers")?;
    let query = property(env, obj, c"query", "query")?;
    let query = pairs(env, query, "query")?;
    let peer = property(env, obj, c"peer", "peer")?;
    finish(env, method, path, headers, query, peer)
}

/// The request whose five fields JS has already read (see [`FIELDS`]), checked in the
/// same order as [`request`] checks them.
fn fields(env: sys::napi_env, values: &[sys::napi_value; 5]) -> Read<RequestView> {
    let [method, path, headers, query, peer] = *values;
    let method = string(env, method, "method")?;
    let path = string(env, path, "path")?;
    let headers = pairs(env, headers, "headers")?;
    let query = pairs(env, query, "query")?;
    finish(env, method, path, headers, query, peer)
}

fn finish(
    env: sys::napi_env,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    peer: sys::napi_value,
) -> Read<RequestView> {
    let peer = if is_absent(type_of(env, peer, "peer")?) {
        None
    } else {
        Some(string(env, peer, "peer")?)
    };
    let peer = parse_peer(peer.as_deref()).map_err(Stop::Invalid)?;
    Ok(RequestView {
        method,
        path,
        headers,
        query,
        peer,
    })
}

fn thrown(env: &Env, read: Read<RequestView>) -> napi::Result<RequestView> {
    match read {
        Ok(view) => Ok(view),
        Err(Stop::Invalid(e)) => Err(throw(env, e)),
        Err(Stop::Pending) => Err(napi::Error::new(Status::PendingException, String::new())),
    }
}

/// Reads the JS value `value` as a gate request; a bad shape is thrown as
/// `validation_error`.
pub fn read(env: &Env, value: sys::napi_value) -> napi::Result<RequestView> {
    thrown(env, request(env.raw(), value))
}

/// Reads a gate request from its five fields (`method`, `path`, `headers`, `query`,
/// `peer`), as the JS `decide` wrapper passes them ([`FIELDS`]); a bad shape is thrown as
/// `validation_error`, exactly as [`read`] would throw it for the object.
pub fn read_fields(env: &Env, values: [Unknown<'_>; 5]) -> napi::Result<RequestView> {
    thrown(env, fields(env.raw(), &values.map(|v| v.raw())))
}

/// Installed over `Gate.prototype.decide` and `decideAsync` at load time: JS reads the
/// request's five properties (V8's inline caches make that almost free) and hands them to
/// the native method as arguments, which Node-API gives back in one call. Read natively,
/// each property was a Node-API call that also turned its name into a V8 string (the
/// string-table lookup alone was a twentieth of a decision). Anything that is not an
/// object goes to the object reader, which names the fault. The properties are read in the
/// order the object reader reads them, and each once; a throwing getter's exception
/// reaches the caller as it was thrown.
pub const FIELDS: &str = r#"(function (exports) {
  'use strict';
  const proto = exports.Gate.prototype;
  const wrap = (name, object, fields) => ({
    [name](request) {
      if (typeof request !== 'object' || request === null) return object.call(this, request);
      return fields.call(this, request.method, request.path, request.headers, request.query, request.peer);
    },
  })[name];
  for (const [name, fieldsName] of [['decide', 'decideFields'], ['decideAsync', 'decideAsyncFields']]) {
    const object = proto[name];
    const fields = proto[fieldsName];
    delete proto[fieldsName];
    proto[name] = wrap(name, object, fields);
  }
})"#;

/// Runs [`FIELDS`] over the exports (called by the module's load hook in `lib.rs`).
#[cfg_attr(test, allow(dead_code))]
pub fn install_field_readers(exports: &Object, env: &Env) -> napi::Result<()> {
    let source = crate::raw::latin1(env.raw(), FIELDS)?;
    let mut install = std::ptr::null_mut();
    crate::raw::check(
        unsafe { sys::napi_run_script(env.raw(), source, &mut install) },
        "Gate.prototype.decide",
    )?;
    crate::raw::call(
        env.raw(),
        install,
        &[exports.raw()],
        "Gate.prototype.decide",
    )
    .map(|_| ())
}
