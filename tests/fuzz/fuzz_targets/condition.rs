//! cargo-fuzz target `condition`: arbitrary bytes through [`inferwarden_tests::fuzz::condition`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| inferwarden_tests::fuzz::condition(data));
