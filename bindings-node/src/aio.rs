//! Core futures as JS promises. They run on core's process-wide runtime
//! (`inferwarden::runtime::shared`, the one the Python binding uses: its threads never
//! preempt the JS thread on wake-up, see `inferwarden::thread_policy`) and settle on the JS
//! thread through a deferred: a value is converted there, a core error becomes the same coded
//! error object synchronous calls throw. The runtime outlives every Node environment of the
//! process (worker threads included), so a promise made after a worker exits runs on it too.

use std::future::Future;

use napi::bindgen_prelude::*;

use crate::errors::{js_error, rejection};

/// Spawns `future` on core's runtime; the promise resolves with `convert(env, value)` or
/// rejects with the coded error. When the runtime cannot start (`config_invalid` for a bad
/// `INFERWARDEN_RUNTIME_SCHED`) the promise is already rejected with that error. A future
/// that panics rejects with `internal_error`: the promise always settles.
pub fn spawn<'e, T, V, F, C>(env: &'e Env, future: F, convert: C) -> napi::Result<PromiseRaw<'e, V>>
where
    T: Send + 'static,
    V: ToNapiValue + 'static,
    F: Future<Output = std::result::Result<T, inferwarden::Error>> + Send + 'static,
    C: FnOnce(&Env, T) -> napi::Result<V> + Send + 'static,
{
    let runtime = match inferwarden::runtime::shared() {
        Ok(runtime) => runtime,
        Err(refused) => return PromiseRaw::reject(env, js_error(env, &refused)?),
    };
    let (deferred, promise) = env.create_deferred()?;
    let task = runtime.spawn(future);
    runtime.spawn(async move {
        let outcome = task.await.unwrap_or_else(|_| {
            Err(inferwarden::Error::with_detail(
                inferwarden::ErrorCode::InternalError,
                "an asynchronous call did not complete",
            ))
        });
        deferred.resolve(move |env: Env| match outcome {
            Ok(value) => convert(&env, value),
            Err(e) => Err(rejection(&env, e)),
        });
    });
    Ok(PromiseRaw::new(env.raw(), promise.raw()))
}
