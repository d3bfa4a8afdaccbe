//! Spans around decisions and store calls (feature `tracing`). [`span!`] opens a `trace`
//! span for the rest of the enclosing block and compiles to nothing without the feature,
//! so a service that links the crate without `tracing` pays nothing.
//!
//! With a `tracing` subscriber installed (a Rust service) the spans and events go to it.
//! Without one, the `log` feature of `tracing` turns events into `log` records: the Python
//! binding forwards them to `logging` (pyo3-log), the Node binding to `setLogger`'s
//! callback. Targets are `inferwarden::<module>` (Python loggers `inferwarden.<module>`).
//!
//! Fields are codes, route classes, operation names, task ids and durations: never a key,
//! token, cookie, header value or a database driver's message.
//!
//! Events are emitted only where no lock is held (after a decision, a sweep, a verification,
//! a proxied request): a logger that takes a lock of its own (Python's GIL, for pyo3-log)
//! can then never wait on a thread that waits on it. Spans are `trace`,
//! so they cost a level check unless a subscriber asks for them (`inferwarden=trace`), and
//! never reach the Python or Node loggers, which take `debug` and above.

/// Opens a `trace` span named `$name` under `$target` with `key = value` fields until the
/// end of the enclosing block (feature `tracing`; nothing otherwise).
macro_rules! span {
    ($target:literal, $name:literal $(, $k:ident = $v:expr)* $(,)?) => {
        #[cfg(feature = "tracing")]
        let _span = if $crate::trace::spans_wanted() {
            tracing::trace_span!(target: $target, $name $(, $k = $v)*).entered()
        } else {
            tracing::Span::none().entered()
        };
    };
}
pub(crate) use span;

/// Whether a span would go anywhere: a subscriber takes `trace`, or a `log` logger does.
/// `tracing`'s own check, with no subscriber set, only compares with `log`'s compile-time
/// maximum, so a disabled span still computed its fields (the decision span's correlation
/// id: an allocation and a formatted id per request) for a `log` logger that then dropped
/// the record.
#[cfg(feature = "tracing")]
#[inline]
pub(crate) fn spans_wanted() -> bool {
    tracing::level_enabled!(tracing::Level::TRACE)
        || tracing::log::max_level() >= tracing::log::LevelFilter::Trace
}
