//! A memory budget for reading one TypeScript/TSX file, kept by a global allocator.
//!
//! oxc 0.146's parser cannot be interrupted, and on some invalid nesting it allocates without
//! bound: one 359-byte input found by the fuzzer grows its arena to 3 GB in 5 s. The time
//! budget of [`super::deadline`] reports such a file, but the parse would run on, holding a
//! core and growing, in a long-lived process (a vite dev server, a FastAPI worker).
//!
//! [`GuardedAllocator`] closes that. Installed as the process's `#[global_allocator]` (the
//! CLI, the Python and Node bindings and the fuzz targets install it; a Rust service that
//! links the crate may), it charges every allocation a reader thread makes while a file is
//! read to that file's [`Watch`]. When the bytes still held pass the watch's limit, or when
//! the reader gave up on the file at its time budget ([`Watch::cancel`]), the parser's
//! thread is stopped at its next allocation: it sleeps there for the rest of the process,
//! using no CPU and allocating nothing more, and the file is reported as not read. Nothing
//! else can end an uninterruptible parse from outside (an allocator may not unwind, and
//! failing the allocation aborts the process), so what that thread already holds stays
//! held: at most the limit per stopped parse ([`super::deadline`] caps how many).
//!
//! Frees of memory allocated before a watch was armed are taken off its count too (floored
//! at zero); a reading frees such memory only as it ends, so the count is not lowered early.
//!
//! A thread is stopped only where it holds no lock of the process's: the guard never stops a
//! panicking thread (whose panic hook holds the output and backtrace locks), and the parser
//! and the extractor take no lock while they read. (A `LazyLock` first initialised late in a
//! pathological parse would be the exception; none is known in oxc 0.146.)
//!
//! Without the allocator installed, watches are never charged and the time budget alone
//! applies (the parse runs on past it, as before). While no file is being read, an
//! allocation pays one relaxed atomic load; while one is, every thread also reads a
//! thread-local (in a shared library, a `__tls_get_addr` call), so the hot paths of a
//! binding do not pay for the guard between parity checks.

// `GlobalAlloc` is an unsafe trait: this is the crate's only module that allows unsafe code.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The bytes a file's reading may hold at once under the current [`ParseLimits`]:
/// `memory_base` plus `memory_per_byte` for each byte of the file.
pub fn memory_budget(file_len: usize) -> usize {
    let limits = parse_limits();
    limits
        .memory_base
        .saturating_add(file_len.saturating_mul(limits.memory_per_byte))
}

/// The fixed part of a file's memory budget by default (16 MiB). Real files hold far less:
/// the adopter's largest (64 KB) at most 0.5 MB while read, a 1 MB form 22 MB.
pub const BASE_BUDGET: usize = 16 << 20;

/// The part of a file's memory budget per byte of source by default (64: a 1 MB file may
/// hold 80 MiB, 3.6 times what one was measured to).
pub const BUDGET_PER_BYTE: usize = 64;

/// The process-wide limits on reading TypeScript/TSX files (see [`set_parse_limits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseLimits {
    /// The fixed part of a file's memory budget ([`BASE_BUDGET`]).
    pub memory_base: usize,
    /// The part per byte of source ([`BUDGET_PER_BYTE`]).
    pub memory_per_byte: usize,
    /// How many stopped parses the process keeps before it refuses TypeScript files
    /// ([`super::MAX_STOPPED`]); each holds at most its file's budget.
    pub max_stopped: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            memory_base: BASE_BUDGET,
            memory_per_byte: BUDGET_PER_BYTE,
            max_stopped: super::deadline::MAX_STOPPED,
        }
    }
}

static MEMORY_BASE: AtomicUsize = AtomicUsize::new(BASE_BUDGET);
static MEMORY_PER_BYTE: AtomicUsize = AtomicUsize::new(BUDGET_PER_BYTE);
static MAX_STOPPED_NOW: AtomicUsize = AtomicUsize::new(super::deadline::MAX_STOPPED);

/// Sets the limits for files read from now on. A process that reads only small files and
/// may meet many pathological ones (a fuzzer) lowers the budget and keeps more stopped
/// parses; the defaults suit a build or a dev server.
pub fn set_parse_limits(limits: ParseLimits) {
    MEMORY_BASE.store(limits.memory_base, Ordering::SeqCst);
    MEMORY_PER_BYTE.store(limits.memory_per_byte, Ordering::SeqCst);
    MAX_STOPPED_NOW.store(limits.max_stopped, Ordering::SeqCst);
}

/// The limits in force.
pub fn parse_limits() -> ParseLimits {
    ParseLimits {
        memory_base: MEMORY_BASE.load(Ordering::SeqCst),
        memory_per_byte: MEMORY_PER_BYTE.load(Ordering::SeqCst),
        max_stopped: MAX_STOPPED_NOW.load(Ordering::SeqCst),
    }
}

/// A global allocator that keeps the memory budget of files being read (see the module
/// documentation) and otherwise hands every call to `inner` unchanged.
///
/// ```ignore
/// #[global_allocator]
/// static ALLOCATOR: inferwarden::parity::GuardedAllocator =
///     inferwarden::parity::GuardedAllocator::system();
/// ```
pub struct GuardedAllocator<A = System> {
    inner: A,
}

impl GuardedAllocator<System> {
    /// Guards the system allocator.
    pub const fn system() -> Self {
        GuardedAllocator { inner: System }
    }
}

impl<A> GuardedAllocator<A> {
    /// Guards `inner` (e.g. a mimalloc or jemalloc allocator).
    pub const fn new(inner: A) -> Self {
        GuardedAllocator { inner }
    }
}

// SAFETY: every call is forwarded to `inner` with the same arguments; the guard only counts
// sizes and may put the calling thread to sleep before forwarding. It never unwinds and
// never allocates.
unsafe impl<A: GlobalAlloc> GlobalAlloc for GuardedAllocator<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        charge(layout.size());
        refund_if_null(unsafe { self.inner.alloc(layout) }, layout.size())
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        charge(layout.size());
        refund_if_null(unsafe { self.inner.alloc_zeroed(layout) }, layout.size())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        refund(layout.size());
        unsafe { self.inner.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            charge(new_size - layout.size());
            // A failed realloc leaves the old block as it was.
            refund_if_null(
                unsafe { self.inner.realloc(ptr, layout, new_size) },
                new_size - layout.size(),
            )
        } else {
            refund(layout.size() - new_size);
            unsafe { self.inner.realloc(ptr, layout, new_size) }
        }
    }
}

/// One file's reading: its limit and what it holds now. Charged only on the thread that
/// runs [`Watch::run`], while it runs.
pub(super) struct Watch {
    limit: usize,
    held: AtomicUsize,
    peak: AtomicUsize,
    cancelled: AtomicBool,
    stopped: AtomicBool,
}

/// How many threads have a watch armed now (a stopped one stays counted).
static ARMED_THREADS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// The watch of the file this thread is reading, or null.
    static ARMED: Cell<*const Watch> = const { Cell::new(std::ptr::null()) };
}

impl Watch {
    /// A watch that stops its reading past `limit` bytes held.
    pub(super) fn new(limit: usize) -> Arc<Watch> {
        Arc::new(Watch {
            limit,
            held: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            cancelled: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
        })
    }

    /// Runs `read` on this thread with every allocation charged to this watch.
    pub(super) fn run<T>(self: &Arc<Self>, read: impl FnOnce() -> T) -> T {
        struct Disarm(*const Watch);
        impl Drop for Disarm {
            fn drop(&mut self) {
                ARMED.set(self.0);
                ARMED_THREADS.fetch_sub(1, Ordering::SeqCst);
            }
        }
        ARMED_THREADS.fetch_add(1, Ordering::SeqCst);
        // `self` outlives the armed span: the Arc is held by the caller until `run` returns.
        let _disarm = Disarm(ARMED.replace(Arc::as_ptr(self)));
        read()
    }

    /// Stops the reading at its next allocation (the caller gave up on it).
    pub(super) fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }

    /// Whether the reading's thread was stopped (it sleeps for the rest of the process).
    pub(super) fn stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Whether it was stopped for passing its limit (not for a [`Watch::cancel`]).
    pub(super) fn over_limit(&self) -> bool {
        self.stopped() && self.peak.load(Ordering::Relaxed) > self.limit
    }

    /// The limit.
    pub(super) fn limit(&self) -> usize {
        self.limit
    }
}

/// This thread's watch, if it is reading a file (one relaxed load while no thread is).
#[inline]
fn armed_watch() -> Option<&'static Watch> {
    if ARMED_THREADS.load(Ordering::Relaxed) == 0 {
        return None;
    }
    // SAFETY: a non-null `ARMED` points at the watch `Watch::run` holds alive on this thread
    // until it resets `ARMED`; the reference is used only inside the allocator call.
    unsafe { ARMED.get().as_ref() }
}

/// Charges `size` bytes to this thread's watch, if it has one, and stops the thread when
/// the watch says so.
#[inline]
fn charge(size: usize) {
    let Some(watch) = armed_watch() else {
        return;
    };
    let held = watch.held.load(Ordering::Relaxed).saturating_add(size);
    watch.held.store(held, Ordering::Relaxed);
    if held > watch.peak.load(Ordering::Relaxed) {
        watch.peak.store(held, Ordering::Relaxed);
    }
    // A panicking thread is never stopped: its panic hook holds locks (the output, the
    // backtrace's) that every later panic and print in the process would wait on for good,
    // and printing a backtrace allocates a lot. It unwinds out of the watch instead.
    if (held > watch.limit || watch.cancelled.load(Ordering::Relaxed)) && !std::thread::panicking()
    {
        watch.stopped.store(true, Ordering::SeqCst);
        sleep_forever();
    }
}

/// Takes `size` bytes off this thread's watch, if it has one.
#[inline]
fn refund(size: usize) {
    let Some(watch) = armed_watch() else {
        return;
    };
    let held = watch.held.load(Ordering::Relaxed).saturating_sub(size);
    watch.held.store(held, Ordering::Relaxed);
}

/// Runs `f` on a new thread under a watch of `limit` bytes and says whether that thread was
/// stopped (a stopped thread is left asleep), waiting at most `wait` for it to finish or
/// stop: how tests see which allocations the guard stops. Needs [`GuardedAllocator`].
#[cfg(feature = "test-hooks")]
pub fn stopped_under_watch(
    limit: usize,
    wait: Duration,
    f: impl FnOnce() + Send + 'static,
) -> bool {
    let watch = Watch::new(limit);
    let thread_watch = Arc::clone(&watch);
    let (done_tx, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        thread_watch.run(f);
        let _ = done_tx.send(());
    });
    let until = std::time::Instant::now() + wait;
    while !watch.stopped() && std::time::Instant::now() < until {
        match done.recv_timeout(Duration::from_millis(10)) {
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            _ => break,
        }
    }
    watch.stopped()
}

/// `ptr`, after taking back the `size` bytes charged for it when the allocation failed.
#[inline]
fn refund_if_null(ptr: *mut u8, size: usize) -> *mut u8 {
    if ptr.is_null() {
        refund(size);
    }
    ptr
}

/// Puts the calling thread to sleep for good, without allocating.
fn sleep_forever() -> ! {
    loop {
        std::thread::sleep(Duration::from_secs(86_400));
    }
}
