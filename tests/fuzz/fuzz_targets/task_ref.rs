//! cargo-fuzz target `task_ref`: arbitrary bytes through [`inferwarden_tests::fuzz::task_ref`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| inferwarden_tests::fuzz::task_ref(data));
