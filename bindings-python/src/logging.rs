//! The library's log records into Python's `logging`: the core's events (refusals, sweeps,
//! proxy failures, audit verification) reach the loggers `inferwarden.gate`,
//! `inferwarden.lifecycle`, `inferwarden.proxy`, `inferwarden.audit` through pyo3-log.
//! Records at `debug` and above are forwarded (spans' `trace` records never are). Levels are
//! cached per logger; `reset_log_cache()` makes a changed level take effect.

use std::sync::OnceLock;

use log::LevelFilter;
use pyo3::prelude::*;

static RESET: OnceLock<pyo3_log::ResetHandle> = OnceLock::new();

/// Installs the bridge once per process. If another extension already installed a `log`
/// logger, that one keeps the records (the call is a no-op).
pub fn install(py: Python<'_>) {
    if RESET.get().is_some() {
        return;
    }
    let Ok(logger) = pyo3_log::Logger::new(py, pyo3_log::Caching::LoggersAndLevels) else {
        return;
    };
    if let Ok(handle) = logger.filter(LevelFilter::Debug).install() {
        let _ = RESET.set(handle);
    }
}

/// Forgets the cached logger levels: call after changing the level of an `inferwarden.*`
/// logger (or adding a handler) so the next record sees it.
#[pyfunction]
pub fn reset_log_cache() {
    if let Some(h) = RESET.get() {
        h.reset();
    }
}
