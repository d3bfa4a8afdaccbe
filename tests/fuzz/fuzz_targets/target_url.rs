//! cargo-fuzz target `target_url`: arbitrary bytes through [`inferwarden_tests::fuzz::target_url`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| inferwarden_tests::fuzz::target_url(data));
