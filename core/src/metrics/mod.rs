//! Process-wide metrics in OpenMetrics text: what operators of an inference platform scrape
//! into Prometheus/Grafana. Every decision the library makes counts itself here, and
//! [`render`] writes the exposition that the Python (`inferwarden.metrics.render()`), Node
//! (`metrics()`) and Rust surfaces serve at `/metrics`.
//!
//! - **Cheap on the request path.** The instruments are relaxed atomics in `static`s
//!   ([`primitives`]); a gate decision adds one atomic increment and takes no lock.
//!   [`set_enabled`]`(false)` turns recording off (what the benchmark compares against).
//! - **Bounded labels.** Every label value comes from a closed set: route classes, error
//!   codes, policy names, causes, the registered models. No task id, path, workspace name or
//!   client address is ever a label value, so the number of series cannot grow with traffic.
//! - **Pinned names.** [`families`] lists every family with its type and label names; a
//!   golden file (`tests/vectors/metrics.json`) pins them on all three surfaces.
//! - **A leaf module.** It depends on `error` alone; callers pass label indices and small
//!   enums, so no policy module and the metrics ever import each other.
//! - **Process-wide.** Like Prometheus' default registry: several gates or routers in one
//!   process add to the same series. Tests compare before/after deltas.

mod audit;
mod dispatch;
pub mod encode;
mod gate;
mod lifecycle;
pub mod primitives;
mod proxy;

use std::sync::atomic::{AtomicBool, Ordering};

pub use encode::{Kind, CONTENT_TYPE};
pub use primitives::{Counter, Gauge, Histogram, HistogramSnapshot, Stopwatch, LATENCY_BUCKETS_S};

pub(crate) use audit::{record_append, record_verification};
pub(crate) use dispatch::{
    record_cold_start, record_fallback, record_lane_ready, record_queue_overload,
    record_queue_slot, record_queue_start, record_route, record_slot, SlotEvent,
};
pub use gate::ROUTE_CLASSES;
pub(crate) use gate::{
    record_decision, record_rate_limit, record_session_check, record_session_issued,
    record_sessions_revoked, register_session_source, DecisionOutcome, RateLimitResult,
    SessionCheckResult, SessionsReading,
};
pub(crate) use lifecycle::{record_batch_halved, record_sweep};
#[cfg(feature = "proxy")]
pub(crate) use proxy::{record_proxy_cancelled, record_proxy_request};

/// One metric family: its name (without `_total`), type, help text and label names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FamilyInfo {
    /// The family name, e.g. `inferwarden_gate_decisions`.
    pub name: &'static str,
    /// Counter, gauge or histogram.
    pub kind: Kind,
    /// One line for `# HELP`.
    pub help: &'static str,
    /// The label names of its samples (`le` of histogram buckets not included).
    pub labels: &'static [&'static str],
}

static ENABLED: AtomicBool = AtomicBool::new(true);

/// Turns recording on or off for the whole process (on by default). Off, every record call
/// returns at once; the exposition still renders (with the values reached so far).
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether recording is on.
#[inline]
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Every family, in exposition order.
pub fn families() -> Vec<&'static FamilyInfo> {
    let mut out = Vec::new();
    out.extend_from_slice(gate::FAMILIES);
    out.extend_from_slice(audit::FAMILIES);
    out.extend_from_slice(lifecycle::FAMILIES);
    out.extend_from_slice(proxy::FAMILIES);
    out.extend_from_slice(dispatch::FAMILIES);
    out
}

/// The exposition of every family now, in OpenMetrics text (serve it with
/// [`CONTENT_TYPE`]). Blocking: it asks each session store for its active sessions (a query
/// for SQLite and PostgreSQL), so an async service runs it off its executor: with
/// `inferwarden::runtime::blocking(render)` (what the bindings' `metricsAsync` and
/// `render_async` do), `spawn_blocking` (the gateway example), or a plain `def` route in a
/// FastAPI app (run in the thread pool).
pub fn render() -> String {
    let mut enc = encode::Encoder::default();
    gate::encode(&mut enc);
    audit::encode(&mut enc);
    lifecycle::encode(&mut enc);
    proxy::encode(&mut enc);
    dispatch::encode(&mut enc);
    enc.finish()
}

/// A label value from a closed set, or `other`: how a string from outside (a sweep reason a
/// custom store returned, a model beyond the cap) keeps the label bounded.
pub(crate) fn bounded<'a>(value: &'a str, allowed: &[&'static str]) -> &'a str {
    if allowed.contains(&value) {
        value
    } else {
        "other"
    }
}
