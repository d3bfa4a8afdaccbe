//! cargo-fuzz target `catalogue_request`: arbitrary bytes through [`inferwarden_tests::fuzz::catalogue_request`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| inferwarden_tests::fuzz::catalogue_request(data));
