//! Tests for `parity/reader_thread.rs`: sources are read on one big-stack reader thread
//! that is kept between files, not on a new thread per file.
#![cfg(feature = "parity")]

use std::path::Path;

#[test]
fn the_reader_thread_is_reused_between_files_and_checks() {
    let first = inferwarden::parity::reader_thread_id().expect("a reader thread");
    assert_ne!(first, std::thread::current().id());
    assert_eq!(inferwarden::parity::reader_thread_id(), Some(first));
    // A whole check of the sample platform (Python and TypeScript files) reads every file
    // on that same thread and leaves it idle for the next.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/platform");
    let run = inferwarden::parity::check_tree(&root).unwrap();
    assert!(run.sources.len() >= 2, "{:?}", run.sources.keys());
    assert_eq!(inferwarden::parity::reader_thread_id(), Some(first));
}
