//! Giving freed memory back to the operating system. glibc's allocator keeps what the node
//! frees in its arenas, to reuse it: after the start-up work (the engine reads a snapshot of
//! its page table: at a million cases about 100 MB with leaves of 9 records, 19 MB with the
//! compaction's full ones) and after large answers (an export of every case), a node would
//! keep hundreds of megabytes it no longer uses. Measured on a node of 1,000,000 cases,
//! idle: 301 MB resident, 222 MB after one trim.

use std::time::Duration;

/// How often the daemon gives freed memory back.
pub const TRIM_EVERY: Duration = Duration::from_secs(30);

/// Asks the allocator to return the memory it holds free to the operating system; does
/// nothing where the allocator is not glibc's (others return large blocks themselves).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn trim() {
    // SAFETY: malloc_trim takes no pointers and only rearranges glibc's own free lists,
    // under the locks every allocation takes.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Asks the allocator to return the memory it holds free (nothing to do with this one).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn trim() {}

/// Trims every `every`, for as long as the task runs (one of the daemon's tasks). The walk
/// over the arenas runs on a blocking thread, off the network and API tasks.
pub async fn keep_trimmed(every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let _ = tokio::task::spawn_blocking(trim).await;
    }
}
