//! Core futures as JS promises. They run on napi-rs's tokio runtime — the one runtime of a
//! Node process, which is core's (`inferwarden::runtime::build`, handed to napi-rs when the
//! module loads, so its threads never preempt the JS thread on wake-up) — and settle on the
//! JS thread: a value is converted there, a core error becomes the same coded error object
//! synchronous calls throw.

use std::future::Future;
use std::sync::OnceLock;

use napi::bindgen_prelude::*;

use crate::errors::rejection;

/// Why core's runtime could not be built when the module loaded (`config_invalid` for a bad
/// `INFERWARDEN_RUNTIME_SCHED`): every promise of this module then rejects with it.
static RUNTIME_REFUSED: OnceLock<inferwarden::Error> = OnceLock::new();

/// Hands napi-rs core's runtime when the module loads (before any promise), so the
/// blocking pool a decision waits in is that runtime's (`inferwarden::thread_policy`).
#[napi_derive::module_init]
fn use_core_runtime() {
    match inferwarden::runtime::build() {
        Ok(runtime) => create_custom_tokio_runtime(runtime),
        Err(error) => {
            let _ = RUNTIME_REFUSED.set(error);
        }
    }
}

/// Spawns `future`; the promise resolves with `convert(env, value)` or rejects with the coded
/// error (at once, with the runtime's error, when core's runtime was refused at load).
pub fn spawn<'e, T, V, F, C>(env: &'e Env, future: F, convert: C) -> napi::Result<PromiseRaw<'e, V>>
where
    T: Send + 'static,
    V: ToNapiValue,
    F: Future<Output = std::result::Result<T, inferwarden::Error>> + Send + 'static,
    C: FnOnce(&Env, T) -> napi::Result<V> + 'static,
{
    if let Some(refused) = RUNTIME_REFUSED.get() {
        return PromiseRaw::reject(env, crate::errors::js_error(env, refused)?);
    }
    env.spawn_future_with_callback(async move { Ok(future.await) }, move |env, outcome| {
        match outcome {
            Ok(v) => convert(env, v),
            Err(e) => Err(rejection(env, e)),
        }
    })
}
