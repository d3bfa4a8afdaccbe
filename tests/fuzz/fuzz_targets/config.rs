//! cargo-fuzz target `config`: arbitrary bytes through [`inferwarden_tests::fuzz::config`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| inferwarden_tests::fuzz::config(data));
