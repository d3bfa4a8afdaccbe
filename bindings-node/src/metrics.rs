//! `metrics()`, `metricsAsync()`, `metricsFamilies()`, `setMetricsEnabled()` and `METRICS_CONTENT_TYPE`: the
//! core's process-wide metrics as OpenMetrics text. Conversion only.

use napi::bindgen_prelude::*;
use napi_derive::napi;

/// One metric family.
#[napi(object)]
pub struct MetricFamily {
    /// The family name (without `_total`).
    pub name: String,
    /// `counter`, `gauge` or `histogram`.
    #[napi(js_name = "type")]
    pub kind: String,
    /// The `# HELP` text.
    pub help: String,
    /// The label names of its samples.
    pub labels: Vec<String>,
}

/// The exposition of every family now (OpenMetrics text, ending with `# EOF`). It counts
/// the active sessions of every SQLite or PostgreSQL session store with a query on this
/// thread: a server calls `metricsAsync()` instead.
#[napi]
pub fn metrics() -> String {
    inferwarden::metrics::render()
}

/// `metrics()` as a promise, made on the native runtime's blocking pool so the event loop
/// never waits on a session store's count.
#[napi(ts_return_type = "Promise<string>")]
// Only the generated registration calls it, and `cargo test` builds none.
#[cfg_attr(test, allow(dead_code))]
pub fn metrics_async(env: &Env) -> napi::Result<PromiseRaw<'_, String>> {
    crate::aio::spawn(
        env,
        inferwarden::runtime::blocking(inferwarden::metrics::render),
        |_, text| Ok(text),
    )
}

/// Every family, in exposition order.
#[napi]
pub fn metrics_families() -> Vec<MetricFamily> {
    inferwarden::metrics::families()
        .into_iter()
        .map(|f| MetricFamily {
            name: f.name.to_owned(),
            kind: f.kind.as_str().to_owned(),
            help: f.help.to_owned(),
            labels: f.labels.iter().map(|l| (*l).to_owned()).collect(),
        })
        .collect()
}

/// Turns recording on or off for the whole process (on by default).
#[napi]
pub fn set_metrics_enabled(on: bool) {
    inferwarden::metrics::set_enabled(on);
}

/// The content type to serve the exposition with.
#[napi]
pub fn metrics_content_type() -> String {
    inferwarden::metrics::CONTENT_TYPE.to_owned()
}
