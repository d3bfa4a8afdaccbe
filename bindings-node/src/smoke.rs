//! The live contract smoke runner for Node: `smoke(options)` returns a promise of the
//! report (`{ checks, passed, failed, skipped, text, junit, exitCode, ... }`).

use inferwarden::smoke::{key_from, run, SmokeOptions};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

use crate::aio::spawn;
use crate::errors::guard;

/// What `smoke()` is given. Keys can be given by value or by the NAME of an environment
/// variable (`apiKeyEnv`, `adminKeyEnv`), which keeps them out of command lines.
#[napi(object)]
pub struct SmokeRunOptions {
    /// The platform's base URL.
    pub base_url: String,
    pub api_key: Option<String>,
    pub api_key_env: Option<String>,
    pub admin_key: Option<String>,
    pub admin_key_env: Option<String>,
    pub allowed_origin: Option<String>,
    pub denied_origin: Option<String>,
    /// Opt-in throttle check: the limit N of `POST /auth/session`.
    pub rate_limit: Option<u32>,
    /// Opt-in generation check: the `POST /generate` body.
    pub generation: Option<serde_json::Value>,
    /// Seconds (default 120).
    pub poll_timeout: Option<f64>,
    /// Seconds per request (default 10).
    pub request_timeout: Option<f64>,
    /// Every skip fails the run.
    pub release: Option<bool>,
}

/// A progress callback: called with one line while long checks poll.
type OnProgress = ThreadsafeFunction<String, (), String, Status, false>;

/// Runs every smoke check against `options.baseUrl`; `onProgress(line)` is called while the
/// generation check polls.
#[napi(ts_return_type = "Promise<any>")]
pub fn smoke<'e>(
    env: &'e Env,
    options: SmokeRunOptions,
    #[napi(ts_arg_type = "(line: string) => void")] on_progress: Option<OnProgress>,
) -> napi::Result<PromiseRaw<'e, serde_json::Value>> {
    let mut o = guard(env, || SmokeOptions::new(&options.base_url))?;
    o.api_key = key_from(options.api_key, options.api_key_env.as_deref());
    o.admin_key = key_from(options.admin_key, options.admin_key_env.as_deref());
    o.allowed_origin = options.allowed_origin;
    o.denied_origin = options.denied_origin;
    o.rate_limit = options.rate_limit;
    o.generation = options.generation;
    o.poll_timeout_s = options.poll_timeout.unwrap_or(120.0);
    o.request_timeout_s = options.request_timeout.unwrap_or(10.0);
    o.release = options.release.unwrap_or(false);
    spawn(
        env,
        async move {
            let say = move |line: &str| {
                if let Some(cb) = &on_progress {
                    cb.call(line.to_owned(), ThreadsafeFunctionCallMode::NonBlocking);
                }
            };
            Ok(run(&o, &say).await)
        },
        |_, report| {
            let mut v = serde_json::to_value(&report).unwrap_or_default();
            if let Some(m) = v.as_object_mut() {
                m.insert("text".into(), report.to_text().into());
                m.insert("junit".into(), report.to_junit().into());
                m.insert("exitCode".into(), report.exit_code().into());
            }
            Ok(v)
        },
    )
}
