//! A time and memory budget for reading one TypeScript/TSX file.
//!
//! oxc 0.146's parser is exponential on some invalid inputs (speculative parsing of `<`
//! type arguments retried at every nesting level): the fuzzer found 514 bytes that take
//! 17 s, and 359 bytes whose parse grows to 3 GB within 5 s. Newer oxc releases need a newer
//! Rust than the declared minimum. The cheap bound of [`super::nesting`] refuses the first
//! family before parsing; this one covers the rest: the file is read on the reader thread
//! ([`super::reader_thread`], with the large stack deep nesting needs) under a
//! [`Watch`](super::memory_guard::Watch), and when the file's memory budget
//! ([`super::memory_guard::memory_budget`]) or its time budget passes, the file is reported
//! as a `source_parse_error` and the check goes on.
//!
//! The parser cannot be interrupted. Where [`super::memory_guard::GuardedAllocator`] is the
//! global allocator, the thread of a parse past either budget is stopped at its next
//! allocation and sleeps for good, holding at most the memory budget; at most
//! [`MAX_STOPPED`] such threads are kept, and past that TypeScript files are refused. Where it
//! is not installed, a parse past its time budget runs on until oxc returns, holding a core
//! and a growing arena; at most [`MAX_ABANDONED`] such thread exists at a time, and while it
//! runs further TypeScript files are refused at once rather than adding another.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::facts::{SourceError, SourceFacts};
use super::location::Location;
use super::memory_guard::{memory_budget, parse_limits, Watch};
use super::reader_thread::{self, NoResult, Running};

/// The default budget for one file. Real sources parse in milliseconds (the adopter's
/// 68 files: 0.3 s in all, unoptimised); the budget leaves two orders of magnitude.
pub const PARSE_BUDGET: Duration = Duration::from_secs(5);

/// The most reader threads left running past their budget at one time (where the guarded
/// allocator is not installed).
pub const MAX_ABANDONED: usize = 1;

/// The most reader threads stopped by the guarded allocator a process keeps by default (each
/// holds at most its file's memory budget); past that, TypeScript files are refused. See
/// [`super::ParseLimits`].
pub const MAX_STOPPED: usize = 16;

/// How often the wait for a file looks whether its reading was stopped.
const POLL: Duration = Duration::from_millis(20);

/// How long a reading told to stop has to reach its next allocation.
const GRACE: Duration = Duration::from_millis(200);

static ABANDONED: AtomicUsize = AtomicUsize::new(0);

/// The watch of the parse counted in [`ABANDONED`], if one is: the guarded allocator may
/// still stop it after the caller gave up (a thread that reached no allocation within
/// [`GRACE`]), and it is then counted as stopped instead ([`reclaim_stopped`]).
static ABANDONED_WATCH: Mutex<Option<Arc<Watch>>> = Mutex::new(None);

/// Moves an abandoned parse that has since been stopped from [`ABANDONED`] to [`STOPPED`].
fn reclaim_stopped() {
    let Ok(mut slot) = ABANDONED_WATCH.lock() else {
        return;
    };
    if slot.as_ref().is_some_and(|w| w.stopped()) {
        *slot = None;
        ABANDONED.fetch_sub(1, Ordering::SeqCst);
        STOPPED.fetch_add(1, Ordering::SeqCst);
    }
}

/// Forgets `watch` as the abandoned parse (it finished after all).
fn forget_abandoned(watch: &Arc<Watch>) {
    if let Ok(mut slot) = ABANDONED_WATCH.lock() {
        if slot.as_ref().is_some_and(|w| Arc::ptr_eq(w, watch)) {
            *slot = None;
        }
    }
}
static STOPPED: AtomicUsize = AtomicUsize::new(0);

/// The facts of a file that could not be read: one error at its first line.
pub(super) fn file_error(file: &str, message: String) -> SourceFacts {
    SourceFacts {
        facts: Vec::new(),
        errors: vec![SourceError {
            at: Location {
                file: file.to_owned(),
                line: 1,
                column: 1,
            },
            message,
        }],
        names: Default::default(),
    }
}

const RUNNING: u8 = 0;
const FINISHED: u8 = 1;
const GIVEN_UP: u8 = 2;

/// Runs `read` for a file of `len` bytes on the reader thread (256 MiB stack), with its
/// memory budget, and waits at most `budget` for it.
pub fn within(
    file: &str,
    len: usize,
    budget: Duration,
    read: impl FnOnce() -> SourceFacts + Send + 'static,
) -> SourceFacts {
    reclaim_stopped();
    if ABANDONED.load(Ordering::SeqCst) >= MAX_ABANDONED {
        return file_error(
            file,
            format!(
                "not parsed: an earlier file is still being parsed past its time budget \
                 (at most {MAX_ABANDONED} at a time)"
            ),
        );
    }
    let (stopped, max) = (STOPPED.load(Ordering::SeqCst), parse_limits().max_stopped);
    if stopped >= max {
        return file_error(
            file,
            format!(
                "not parsed: {stopped} earlier files were stopped past their parse budget in \
                 this process, and the memory they hold stays held until it exits (at most \
                 {max}); restart it"
            ),
        );
    }
    let state = Arc::new(AtomicU8::new(RUNNING));
    let thread_state = Arc::clone(&state);
    let watch = Watch::new(memory_budget(len));
    let thread_watch = Arc::clone(&watch);
    let running = reader_thread::start(move || {
        let facts = thread_watch.run(read);
        let mark =
            thread_state.compare_exchange(RUNNING, FINISHED, Ordering::SeqCst, Ordering::SeqCst);
        if mark.is_err() {
            // The caller gave up on this file and counted us: uncount.
            forget_abandoned(&thread_watch);
            ABANDONED.fetch_sub(1, Ordering::SeqCst);
        }
        facts
    });
    let Some(mut running) = running else {
        return file_error(
            file,
            "the source could not be read (no reader thread)".into(),
        );
    };
    let failed = || file_error(file, "the source could not be read (reader failed)".into());
    let started = Instant::now();
    match wait(&mut running, &watch, started + budget) {
        Ok(facts) => return facts,
        Err(NoResult::Failed) => return failed(),
        Err(NoResult::StillRunning) => {}
    }
    let out_of_time = || {
        file_error(
            file,
            format!(
                "the TypeScript parser did not finish within {} s (a pathological input: \
                 oxc's parse time grows exponentially on some invalid nesting); the file is \
                 not checked",
                budget.as_secs_f64()
            ),
        )
    };
    if !watch.stopped() {
        // Past the time budget: stop it at its next allocation (with the guarded allocator).
        watch.cancel();
        match wait(&mut running, &watch, Instant::now() + GRACE) {
            Ok(facts) => return facts,
            Err(NoResult::Failed) => return failed(),
            Err(NoResult::StillRunning) => {}
        }
    }
    if watch.stopped() {
        // It sleeps for good inside the allocator, holding at most its budget.
        STOPPED.fetch_add(1, Ordering::SeqCst);
        if !watch.over_limit() {
            return out_of_time();
        }
        return file_error(
            file,
            format!(
                "the TypeScript parser held more than {} reading this {len}-byte file (a \
                 pathological input: oxc's parse grows exponentially on some invalid \
                 nesting) and was stopped; the file is not checked",
                binary_size(watch.limit())
            ),
        );
    }
    ABANDONED.fetch_add(1, Ordering::SeqCst);
    if let Ok(mut slot) = ABANDONED_WATCH.lock() {
        *slot = Some(Arc::clone(&watch));
    }
    let gave_up = state.compare_exchange(RUNNING, GIVEN_UP, Ordering::SeqCst, Ordering::SeqCst);
    if gave_up.is_err() {
        // It finished as the budget ran out: take its answer.
        forget_abandoned(&watch);
        ABANDONED.fetch_sub(1, Ordering::SeqCst);
        return running.wait().unwrap_or_else(failed);
    }
    // Dropping `running` leaves the thread to its parse; it exits when that ends.
    out_of_time()
}

/// `bytes` in whole MiB, or in KiB below one MiB.
fn binary_size(bytes: usize) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{} KiB", bytes >> 10)
    }
}

/// Waits for the reading's result until `until`, or until its thread is stopped.
fn wait(
    running: &mut Running<SourceFacts>,
    watch: &Watch,
    until: Instant,
) -> Result<SourceFacts, NoResult> {
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match running.wait_for(left.min(POLL)) {
            Err(NoResult::StillRunning) if !watch.stopped() && Instant::now() < until => {}
            other => return other,
        }
    }
}
