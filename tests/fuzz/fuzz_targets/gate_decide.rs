//! cargo-fuzz target `gate_decide`: arbitrary bytes through [`inferwarden_tests::fuzz::gate_decide`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| inferwarden_tests::fuzz::gate_decide(data));
