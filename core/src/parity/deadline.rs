//! A time budget for reading one TypeScript/TSX file.
//!
//! oxc 0.146's parser is exponential on some invalid inputs (speculative parsing of `<`
//! type arguments retried at every nesting level): the fuzzer found 514 bytes that take
//! 17 s. Newer oxc releases need a newer Rust than the declared minimum. The cheap bound of
//! [`super::nesting`] refuses the first family before parsing; this one covers the rest:
//! the file is read on the reader thread ([`super::reader_thread`], with the large stack
//! deep nesting needs), and when the budget passes the file is reported as a
//! `source_parse_error` and the check goes on.
//!
//! The parser cannot be interrupted, so a thread past its budget runs on until oxc returns
//! (or the process exits, which a CLI run or a build does at once), holding a core and a
//! growing arena: one 359-byte input found by the fuzzer grows it to 3 GB within the 5 s
//! budget, and it goes on growing after the file is reported. At most [`MAX_ABANDONED`]
//! such thread exists at a time; while it runs, further TypeScript files are refused at once
//! rather than adding another. The real fix is an oxc release without the exponential path
//! (0.147 and later need Rust 1.96, above this crate's declared minimum).

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::facts::{SourceError, SourceFacts};
use super::location::Location;
use super::reader_thread::{self, NoResult};

/// The default budget for one file. Real sources parse in milliseconds (the adopter's
/// 68 files: 0.3 s in all, unoptimised); the budget leaves two orders of magnitude.
pub const PARSE_BUDGET: Duration = Duration::from_secs(5);

/// The most reader threads left running past their budget at one time.
pub const MAX_ABANDONED: usize = 1;

static ABANDONED: AtomicUsize = AtomicUsize::new(0);

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

/// Runs `read` on the reader thread (256 MiB stack) and waits at most `budget` for it.
pub fn within(
    file: &str,
    budget: Duration,
    read: impl FnOnce() -> SourceFacts + Send + 'static,
) -> SourceFacts {
    if ABANDONED.load(Ordering::SeqCst) >= MAX_ABANDONED {
        return file_error(
            file,
            format!(
                "not parsed: an earlier file is still being parsed past its time budget \
                 (at most {MAX_ABANDONED} at a time)"
            ),
        );
    }
    const RUNNING: u8 = 0;
    const FINISHED: u8 = 1;
    const GIVEN_UP: u8 = 2;
    let state = Arc::new(AtomicU8::new(RUNNING));
    let thread_state = Arc::clone(&state);
    let running = reader_thread::start(move || {
        let facts = read();
        let mark =
            thread_state.compare_exchange(RUNNING, FINISHED, Ordering::SeqCst, Ordering::SeqCst);
        if mark.is_err() {
            // The caller gave up on this file and counted us: uncount.
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
    match running.wait_for(budget) {
        Ok(facts) => facts,
        Err(NoResult::Failed) => failed(),
        Err(NoResult::StillRunning) => {
            ABANDONED.fetch_add(1, Ordering::SeqCst);
            let gave_up =
                state.compare_exchange(RUNNING, GIVEN_UP, Ordering::SeqCst, Ordering::SeqCst);
            if gave_up.is_err() {
                // It finished as the budget ran out: take its answer.
                ABANDONED.fetch_sub(1, Ordering::SeqCst);
                return running.wait().unwrap_or_else(failed);
            }
            // Dropping `running` leaves the thread to its parse; it exits when that ends.
            file_error(
                file,
                format!(
                    "the TypeScript parser did not finish within {} s (a pathological input: \
                     oxc's parse time grows exponentially on some invalid nesting); the file \
                     is not checked",
                    budget.as_secs_f64()
                ),
            )
        }
    }
}
