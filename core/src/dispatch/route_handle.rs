//! [`RouteHandle`]: a routed request as a caller that shares it holds it (a binding object,
//! a handler's state): the lane, why it fell back, and the degraded-queue slot behind a
//! lock. One rule for every surface: a poisoned lock is `internal_error` from every method
//! (fail closed), so `start` never reports a start it did not make and `renew` never a
//! renewal it did not get.

use std::sync::{Mutex, MutexGuard};

use super::lanes::Route;
use super::queue::QueueSlot;
use crate::error::{Error, ErrorCode};

/// A routed request: the dedicated lane, or a degraded slot released by
/// [`RouteHandle::release`] (or on drop).
#[derive(Debug)]
pub struct RouteHandle {
    lane: &'static str,
    cause: Option<&'static str>,
    slot: Mutex<Option<QueueSlot>>,
}

impl From<Route> for RouteHandle {
    fn from(route: Route) -> Self {
        match route {
            Route::Dedicated { .. } => RouteHandle {
                lane: "dedicated",
                cause: None,
                slot: Mutex::new(None),
            },
            Route::Degraded { slot, cause } => RouteHandle {
                lane: "degraded",
                cause: Some(cause.as_str()),
                slot: Mutex::new(Some(slot)),
            },
        }
    }
}

impl RouteHandle {
    /// `dedicated` or `degraded`.
    pub fn lane(&self) -> &'static str {
        self.lane
    }

    /// Why the request fell back (`capacity`, `quota`, `manual`), if it did.
    pub fn cause(&self) -> Option<&'static str> {
        self.cause
    }

    fn slot(&self) -> Result<MutexGuard<'_, Option<QueueSlot>>, Error> {
        self.slot
            .lock()
            .map_err(|_| Error::with_detail(ErrorCode::InternalError, "route handle poisoned"))
    }

    /// Marks the degraded slot started (a worker picked it up) and returns the wait in ms;
    /// `queue_overloaded` when the wait was exceeded. 0 on the dedicated lane.
    pub fn start(&self) -> Result<i64, Error> {
        match self.slot()?.as_ref() {
            Some(slot) => slot.start(),
            None if self.lane == "dedicated" => Ok(0),
            None => Err(Error::with_detail(
                ErrorCode::InvalidTransition,
                "the degraded slot was already released",
            )),
        }
    }

    /// Renews a started degraded lease (a heartbeat): `false` when it expired or was
    /// released. Always `true` on the dedicated lane (no lease to keep).
    pub fn renew(&self) -> Result<bool, Error> {
        Ok(match self.slot()?.as_ref() {
            Some(slot) => slot.renew(),
            None => self.lane == "dedicated",
        })
    }

    /// Releases the degraded slot (idempotent). A poisoned lock still releases it.
    pub fn release(&self) {
        let mut guard = match self.slot.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        guard.take();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;
    use crate::dispatch::DegradedQueue;

    fn degraded() -> RouteHandle {
        let queue = DegradedQueue::new(4, 30_000, 60_000, Arc::new(ManualClock::new(0)));
        let slot = queue.admit().expect("admitted");
        Route::Degraded {
            slot,
            cause: crate::dispatch::FallbackCause::Capacity,
        }
        .into()
    }

    #[test]
    fn a_poisoned_handle_fails_closed() {
        let handle = degraded();
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _guard = handle.slot.lock().unwrap();
            panic!("poison the lock");
        }));
        assert!(handle.slot.is_poisoned());
        assert_eq!(handle.start().unwrap_err().code(), ErrorCode::InternalError);
        assert_eq!(handle.renew().unwrap_err().code(), ErrorCode::InternalError);
        // Releasing still works: the slot is given back.
        handle.release();
    }
}
