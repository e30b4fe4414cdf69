#![no_main]
//! Fuzz target `backup`: see `fuzz/harness.rs`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| ilm_fuzz::harness::backup(data));
