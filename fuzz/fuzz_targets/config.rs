#![no_main]
//! Fuzz target `config`: see `fuzz/harness.rs`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| ilm_fuzz::harness::config(data));
