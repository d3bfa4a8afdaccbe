//! "Try now, never wait": the mode in which [`crate::gate::Gate::try_decide_now`] runs a
//! decision on the caller's thread (an event loop) over a store that usually answers at once
//! but sometimes has to wait (a SQLite file another writer holds, a connection another
//! thread is using).
//!
//! While a try is under way a store that supports the mode
//! ([`crate::session::SessionStore::can_try_without_waiting`]) takes its lock without
//! waiting and sets SQLite's busy timeout to zero. When it would have had to wait it returns
//! [`would_block`]'s error instead.
//!
//! Before the try has written anything, that marks it *bailed*: the caller throws the
//! decision away and runs it again where waiting is allowed (the blocking pool). Throwing a
//! decision away is only safe while it has changed nothing, so the gate calls
//! [`side_effect`] before each write it cannot set aside (a rate-limit count): from then on
//! the try is *committed*, is never thrown away, and a store that would wait fails the call
//! instead (the gate never makes such a call after a count: see `try_decide_now`). Once a
//! try has bailed no further write is made ([`side_effect`] refuses). The state is per
//! thread and reset by [`attempt`], so nothing leaks between decisions.

use std::cell::Cell;

use crate::error::{Error, ErrorCode};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    /// Not in a try: stores wait as usual.
    Off,
    /// In a try, nothing written yet: stores must not wait; giving up discards the try.
    Trying,
    /// In a try that has written: stores must not wait; the try is kept.
    Committed,
    /// In a try a store gave up on before any write: the decision is thrown away.
    Bailed,
}

thread_local! {
    static STATE: Cell<State> = const { Cell::new(State::Off) };
}

/// Restores `Off` however `attempt` ends (a panic included).
struct Reset;

impl Drop for Reset {
    fn drop(&mut self) {
        STATE.with(|s| s.set(State::Off));
    }
}

/// Runs `f` in "try now" mode: `Some(result)` unless a store gave up before anything was
/// written, `None` then (run `f` again where waiting is allowed). A try inside a try is the
/// outer one.
pub fn attempt<T>(f: impl FnOnce() -> T) -> Option<T> {
    if STATE.with(|s| s.get()) != State::Off {
        return Some(f());
    }
    STATE.with(|s| s.set(State::Trying));
    let _reset = Reset;
    let out = f();
    if STATE.with(|s| s.get()) == State::Bailed {
        None
    } else {
        Some(out)
    }
}

/// Whether a store must answer without waiting now (a try is under way, whether it has
/// written, or already given up: its decision is discarded, so nothing after it may wait).
pub fn must_not_wait() -> bool {
    STATE.with(|s| s.get()) != State::Off
}

/// Whether the try under way has given up (its decision will be thrown away): what a
/// metric checks so that a discarded try is not counted.
pub fn bailed() -> bool {
    STATE.with(|s| s.get()) == State::Bailed
}

/// The error of a store that would have had to wait. Before any write it marks the try
/// bailed (the decision is discarded by [`attempt`] and the error never reaches a client);
/// after one it is the call's error (`dependency_unavailable`, `busy`).
pub fn would_block(store: &str) -> Error {
    STATE.with(|s| {
        if s.get() == State::Trying {
            s.set(State::Bailed);
        }
    });
    Error::with_detail(ErrorCode::DependencyUnavailable, format!("{store}: busy"))
        .meta("busy", true)
}

/// Called before a write that cannot be set aside. `Err` when the try has already bailed
/// (the write must not happen: the decision is about to be thrown away and run again);
/// otherwise the try, if any, is committed.
pub fn side_effect() -> Result<(), Error> {
    STATE.with(|s| match s.get() {
        State::Bailed => Err(Error::with_detail(
            ErrorCode::DependencyUnavailable,
            "a store was busy; the decision is retried where waiting is allowed",
        )),
        State::Trying => {
            s.set(State::Committed);
            Ok(())
        }
        State::Off | State::Committed => Ok(()),
    })
}
