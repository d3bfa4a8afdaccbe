//! cargo-fuzz target `parity_typescript`: arbitrary bytes through [`inferwarden_tests::fuzz::parity_typescript`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| inferwarden_tests::fuzz::parity_typescript(data));
