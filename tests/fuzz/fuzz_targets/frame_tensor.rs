//! cargo-fuzz target `frame_tensor`: arbitrary bytes through [`inferwarden_tests::fuzz::frame_tensor`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| inferwarden_tests::fuzz::frame_tensor(data));
