//! Whether a SQLite database in WAL mode has changed: the stamp of its WAL-index header.
//! Feature `sqlite`.
//!
//! Every connection to a database in WAL mode shares the WAL-index (the `-shm` file, mapped
//! into each process). Its header names the last committed frame, the WAL's salts and a
//! counter that every committed transaction increments, and a commit by any connection, in
//! any process, rewrites it. While a connection is open the database cannot leave WAL mode
//! (that takes an exclusive lock on the database file, which every open WAL connection
//! holds a shared lock on), so every commit goes through this header. SQLite keeps its own
//! page cache by the same rule: a reader that finds the header unchanged reuses the pages
//! it read before (`walIndexTryHdr` in SQLite's `wal.c`). Two equal stamps therefore mean
//! that no transaction committed in between, and a value read from the database under the
//! first is still what the database holds under the second.
//!
//! The header is read without a lock, as SQLite's readers read it: it is stored twice;
//! writers write the second copy, then the first; a reader reads the first, then (after a
//! memory barrier) the second, and takes the header only when both match and it is
//! initialised. Anything else (not in WAL mode, no shared memory, a write in progress) is
//! "no stamp", and the caller reads the database.
//!
//! Reaching the header takes SQLite's C interface (`sqlite3_file_control` with
//! `SQLITE_FCNTL_FILE_POINTER`, then the file's `xShmMap` for region 0, the call SQLite's
//! WAL code makes itself), so this module allows unsafe code for those calls alone.
//!
//! [`WalStamp::read`] is an `unsafe fn`: on a connection whose shared memory SQLite has not
//! opened (rollback-journal mode, `locking_mode = EXCLUSIVE`, where the WAL-index lives in
//! the heap), `xShmMap` would open the `-shm` file itself, and nothing would ever close it
//! (SQLite releases it only when it closes the WAL it opened), which leaves SQLite's
//! per-file state pointing at freed memory when the connection closes. The caller
//! establishes WAL mode with normal locking first, as the SQLite session store does when it
//! opens. A read-only `-shm` gives no stamp (`xShmMap` refuses), so a store over one reads
//! the database every time.

#![allow(unsafe_code)]

use std::ffi::{c_int, c_void};
use std::sync::atomic::{fence, AtomicU32, Ordering};

use rusqlite::{ffi, Connection};

/// Bytes in one copy of the WAL-index header (`struct WalIndexHdr`).
const HEADER_BYTES: usize = 48;
/// The header as 32-bit words.
const HEADER_WORDS: usize = HEADER_BYTES / 4;
/// The size of one WAL-index region (`WALINDEX_PGSZ`): every caller of `xShmMap` on a file
/// must pass the size the first caller used, and SQLite's WAL code uses this one.
const REGION_BYTES: c_int = 32_768;
/// Byte offset of `isInit` in the header (after `iVersion`, `unused`, `iChange`).
const IS_INIT_BYTE: usize = 12;

/// A consistent copy of a WAL-index header. Equal stamps of one database mean that no
/// transaction committed between the two reads.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct WalStamp([u32; HEADER_WORDS]);

impl WalStamp {
    /// A stamp from header words, as `read` takes them from shared memory: `None` when the
    /// two copies differ (a write in progress) or the header is not initialised.
    pub fn from_copies(
        first: [u32; HEADER_WORDS],
        second: [u32; HEADER_WORDS],
    ) -> Option<WalStamp> {
        let is_init = first[IS_INIT_BYTE / 4].to_ne_bytes()[IS_INIT_BYTE % 4];
        (first == second && is_init != 0).then_some(WalStamp(first))
    }

    /// The stamp of the main database of `conn`, or `None` when there is none to read: a
    /// database with no file (in memory), a WAL-index not mapped or read-only, or a commit
    /// rewriting the header right now.
    ///
    /// # Safety
    ///
    /// `conn`'s main database is in WAL mode with `locking_mode = NORMAL`, and `conn` has
    /// run a transaction since it entered WAL mode (so SQLite itself has opened and mapped
    /// the shared memory); nothing changes either mode on `conn` while stamps are read; and
    /// the caller is the only user of `conn` for the call (the stores hold their
    /// connection's lock). A database with no file is the one exception: it answers `None`.
    pub unsafe fn read(conn: &Connection) -> Option<WalStamp> {
        let region = wal_index_region(conn)?;
        let words = region.cast::<AtomicU32>();
        // SAFETY: `region` is the start of SQLite's mapping of the WAL-index's first region
        // (32 KiB, page-aligned), asked for just now, while this thread alone uses `conn`:
        // SQLite never moves a region's mapping and unmaps it only when the connection
        // closes its WAL, which cannot happen during this call. Its first 96 bytes are the
        // two header copies; other processes write them concurrently, so they are read as
        // atomics (never through a plain reference).
        let load = |i: usize| unsafe { (*words.add(i)).load(Ordering::Acquire) };
        let first: [u32; HEADER_WORDS] = std::array::from_fn(load);
        fence(Ordering::SeqCst);
        let second: [u32; HEADER_WORDS] = std::array::from_fn(|i| load(HEADER_WORDS + i));
        WalStamp::from_copies(first, second)
    }
}

/// The address of the WAL-index's first region of `conn`'s main database, if mapped.
///
/// Under [`WalStamp::read`]'s safety conditions, `xShmMap` finds the shared memory SQLite
/// opened and only looks the region up.
fn wal_index_region(conn: &Connection) -> Option<*const u8> {
    let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
    // SAFETY: `handle` is the open connection; SQLITE_FCNTL_FILE_POINTER writes the main
    // database's `sqlite3_file*` into `file` (a pointer-sized out parameter) and changes
    // nothing. The file object lives as long as the connection.
    let rc = unsafe {
        ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            ffi::SQLITE_FCNTL_FILE_POINTER,
            (&raw mut file).cast::<c_void>(),
        )
    };
    if rc != ffi::SQLITE_OK || file.is_null() {
        return None;
    }
    // SAFETY: `file` is the database's open file object; `pMethods` is null for a file that
    // is not open (an in-memory database), otherwise SQLite's method table for it.
    let methods = unsafe { (*file).pMethods };
    if methods.is_null() {
        return None;
    }
    // SAFETY: `methods` is a valid method table; `iVersion` says which members exist
    // (`xShmMap` from version 2).
    let map = unsafe {
        if (*methods).iVersion < 2 {
            return None;
        }
        (*methods).xShmMap?
    };
    let mut region: *mut c_void = std::ptr::null_mut();
    // SAFETY: `xShmMap(file, 0, REGION_BYTES, 0, &region)` asks for region 0 without
    // growing the file: it returns SQLite's existing mapping (or maps the file's existing
    // first region), or null when there is none. The caller holds the connection alone.
    let rc = unsafe { map(file, 0, REGION_BYTES, 0, &raw mut region) };
    (rc == ffi::SQLITE_OK && !region.is_null()).then_some(region.cast_const().cast::<u8>())
}
