//! `memory::trim` gives the memory the allocator holds free back to the system. Alone in its
//! test binary, so that no other test allocates while it reads the process's memory. Only
//! where the allocator is glibc's: elsewhere `trim` does nothing, by design.
#![cfg(all(target_os = "linux", target_env = "gnu"))]

/// Resident anonymous memory of this process, in bytes.
fn resident() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("RssAnon")
        * 1024
}

#[test]
fn trim_returns_freed_memory_to_the_system() {
    const MB: u64 = 1 << 20;
    let start = resident();
    // 200 MB in blocks of 1,000 bytes, then all freed but one in 64: the blocks kept pin the
    // pages between them, so the allocator keeps those pages although they are free.
    let blocks: Vec<Vec<u8>> = (0..200_000).map(|_| vec![1u8; 1_000]).collect();
    let kept: Vec<Vec<u8>> = blocks
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % 64 == 0)
        .map(|(_, b)| b)
        .collect();
    let before = resident();
    // Control: freeing alone gave little back (without it the test could not fail).
    assert!(
        before > start + 150 * MB,
        "freed blocks stay resident: {} MB at start, {} MB after freeing",
        start / MB,
        before / MB
    );
    ilm_node::memory::trim();
    let after = resident();
    assert!(
        after + 100 * MB < before,
        "{} MB resident before the trim, {} MB after",
        before / MB,
        after / MB
    );
    assert_eq!(kept.len(), 3_125, "the blocks kept stay allocated");
}
