#![no_main]
//! Fuzz target `wire`: see `fuzz/harness.rs`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| ilm_fuzz::harness::wire(data));
