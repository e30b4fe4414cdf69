//! Fuzz regressions: every committed corpus input and every crash the fuzzers found
//! (`fuzz/corpus/<target>/`, `fuzz/regressions/<target>/`), plus fresh seeds made with the
//! real encoders, replayed through the same harness the fuzz targets run. A crash fixed once
//! stays fixed; `scripts/fuzz` finds new ones.
//!
//! With `ILM_FUZZ_WRITE_SEEDS=1` the seeds are also written into `fuzz/corpus/` (what
//! `scripts/fuzz` does before fuzzing).

#[path = "../fuzz/harness.rs"]
mod harness;

use std::collections::BTreeMap;
use std::path::Path;

fn fuzz_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz"))
}

#[test]
fn every_corpus_input_and_found_crash_runs_cleanly_through_its_target() {
    let seeds = harness::seeds();
    let mut runs: BTreeMap<&str, usize> = BTreeMap::new();
    for (target, bytes) in &seeds {
        let f = harness::TARGETS
            .iter()
            .find(|(n, _)| n == target)
            .map(|(_, f)| *f)
            .expect("seed for a known target");
        f(bytes);
        *runs.entry(target).or_default() += 1;
        if std::env::var_os("ILM_FUZZ_WRITE_SEEDS").is_some() {
            let dir = fuzz_dir().join("corpus").join(target);
            std::fs::create_dir_all(&dir).expect("corpus dir");
            let name = format!("seed-{}", ilm_protocol::bytes::to_hex(&sha(bytes)[..8]));
            std::fs::write(dir.join(name), bytes).expect("write seed");
        }
    }
    for (target, f) in harness::TARGETS {
        for kind in ["corpus", "regressions"] {
            let dir = fuzz_dir().join(kind).join(target);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries {
                let path = e.expect("entry").path();
                let bytes = std::fs::read(&path).expect("read input");
                // A panic here names nothing by itself: say which input it was.
                let outcome = std::panic::catch_unwind(|| f(&bytes));
                assert!(
                    outcome.is_ok(),
                    "{} panics in target {target}",
                    path.display()
                );
                *runs.entry(target).or_default() += 1;
            }
        }
    }
    // Every target ran something: a missing seed or an empty corpus is a gap, not a pass.
    for (target, _) in harness::TARGETS {
        assert!(
            runs.get(target).copied().unwrap_or(0) > 0,
            "target {target} has no input"
        );
    }
}

fn sha(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}
