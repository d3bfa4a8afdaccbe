//! cargo-fuzz target `parity_typescript`: arbitrary bytes through [`inferwarden_tests::fuzz::parity_typescript`].
//! The guarded allocator stops a parse past its memory or time budget (oxc 0.146 has
//! inputs whose parse grows without bound), under `FUZZ_PARSE_LIMITS` (a 256 KiB budget,
//! no cap on stopped parses); the oracle fails if TypeScript files are ever refused for too
//! many, so a run that ends clean read every input. `scripts/fuzz.sh` runs this target in
//! fork mode, whose short-lived children give the stopped parses' memory back.
#![no_main]

#[global_allocator]
static ALLOCATOR: inferwarden::parity::GuardedAllocator =
    inferwarden::parity::GuardedAllocator::system();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    inferwarden::parity::set_parse_limits(inferwarden_tests::fuzz::FUZZ_PARSE_LIMITS);
    inferwarden_tests::fuzz::parity_typescript(data)
});
