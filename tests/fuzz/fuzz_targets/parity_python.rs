//! cargo-fuzz target `parity_python`: arbitrary bytes through [`inferwarden_tests::fuzz::parity_python`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| inferwarden_tests::fuzz::parity_python(data));
