//! `setLogger(callback, level)`: the library's log records to a JavaScript callback (the
//! core's events: refusals, sweeps, proxy failures, audit verification; never a secret).
//! Records are queued to the JS thread without blocking the thread that logged, and the
//! callback does not keep the process alive. `setLogger(null)` stops the records.

use std::sync::RwLock;

use log::{LevelFilter, Log, Metadata, Record};
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

/// One log record.
#[napi(object)]
pub struct LogRecord {
    /// `error`, `warn`, `info` or `debug`.
    pub level: String,
    /// The module that logged, e.g. `inferwarden::gate`.
    pub target: String,
    /// The message with its fields, e.g. `request refused route_class="generation" code="invalid_api_key"`.
    pub message: String,
}

/// The callback: called on the JS thread, weakly held (it never keeps the process alive).
type OnLog = ThreadsafeFunction<LogRecord, (), LogRecord, Status, false, true>;

static SINK: RwLock<Option<OnLog>> = RwLock::new(None);

struct NodeLogger;

static LOGGER: NodeLogger = NodeLogger;

impl Log for NodeLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        if let Ok(sink) = SINK.read() {
            if let Some(cb) = sink.as_ref() {
                cb.call(
                    LogRecord {
                        level: record.level().as_str().to_ascii_lowercase(),
                        target: record.target().to_owned(),
                        message: record.args().to_string(),
                    },
                    ThreadsafeFunctionCallMode::NonBlocking,
                );
            }
        }
    }

    fn flush(&self) {}
}

/// Sends the library's log records at `level` (`error`, `warn`, `info` (default) or
/// `debug`) and above to `callback`; `null` stops them.
#[napi]
pub fn set_logger(
    env: Env,
    #[napi(ts_arg_type = "((record: LogRecord) => void) | null")] callback: Option<OnLog>,
    level: Option<String>,
) -> napi::Result<()> {
    let filter = match level.as_deref().unwrap_or("info") {
        "error" => LevelFilter::Error,
        "warn" => LevelFilter::Warn,
        "info" => LevelFilter::Info,
        "debug" => LevelFilter::Debug,
        other => {
            let err = inferwarden::Error::with_detail(
                inferwarden::ErrorCode::ValidationError,
                format!("unknown log level {other:?}: use error, warn, info or debug"),
            )
            .meta("field", "level");
            return Err(crate::errors::throw(&env, err));
        }
    };
    // The first call installs the logger; if another addon installed one, ours stays out.
    let _ = log::set_logger(&LOGGER);
    let on = callback.is_some();
    *SINK
        .write()
        .map_err(|_| napi::Error::new(Status::GenericFailure, "logger lock poisoned"))? = callback;
    log::set_max_level(if on { filter } else { LevelFilter::Off });
    Ok(())
}
