//! cargo-fuzz target `audit_checkpoint`: arbitrary bytes through [`inferwarden_tests::fuzz::audit_checkpoint`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| inferwarden_tests::fuzz::audit_checkpoint(data));
