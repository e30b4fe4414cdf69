//! Fuzz targets of every decoder of untrusted input; the harness is shared with the
//! regression test in the workspace (`tests/fuzz_regressions.rs`).

#[path = "harness.rs"]
pub mod harness;
