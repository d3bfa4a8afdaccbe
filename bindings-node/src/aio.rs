//! Core futures as JS promises. They run on napi-rs's tokio runtime — the one runtime of a
//! Node process, created on first use — and settle on the JS thread: a value is converted
//! there, a core error becomes the same coded error object synchronous calls throw.

use std::future::Future;

use napi::bindgen_prelude::*;

use crate::errors::rejection;

/// Spawns `future`; the promise resolves with `convert(env, value)` or rejects with the coded
/// error.
pub fn spawn<'e, T, V, F, C>(env: &'e Env, future: F, convert: C) -> napi::Result<PromiseRaw<'e, V>>
where
    T: Send + 'static,
    V: ToNapiValue,
    F: Future<Output = std::result::Result<T, inferwarden::Error>> + Send + 'static,
    C: FnOnce(&Env, T) -> napi::Result<V> + 'static,
{
    env.spawn_future_with_callback(async move { Ok(future.await) }, move |env, outcome| {
        match outcome {
            Ok(v) => convert(env, v),
            Err(e) => Err(rejection(env, e)),
        }
    })
}
