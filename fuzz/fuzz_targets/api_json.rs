#![no_main]
//! Fuzz target `api_json`: see `fuzz/harness.rs`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| ilm_fuzz::harness::api_json(data));
