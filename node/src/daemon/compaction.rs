//! The compaction a start makes: when erased personal data still lies in the engine's log, or
//! the log has outgrown what the last compaction left. `ilm run` makes it in a process of its
//! own (`ilm db compact --if-due`) before the node opens the database: the rewrite holds
//! about 200 MB at 100,000 cases (the engine keeps what it read of every page it copied), and
//! that memory leaves with the process instead of staying the long-running node's peak.

use crate::store::{Compaction, Store, StoreError};
use serde::Serialize;
use std::path::Path;

/// A mebibyte, the unit sizes are said in.
const MIB: u64 = 1 << 20;

/// Why a start compacts the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Reason {
    /// Erased personal data (or records a migration rewrote) still lies in the log: it must
    /// leave the disk, so the node does not start without this compaction.
    Erased,
    /// No size after a compaction is recorded (an earlier release's database, or one written
    /// in bulk) and the database is past [`crate::store::MIN_GROWTH`].
    NoSizeRecorded {
        /// Bytes on disk.
        bytes_on_disk: u64,
    },
    /// The log has outgrown what the last compaction left (see
    /// [`crate::store::GROWTH_FACTOR`]).
    Outgrown {
        /// Bytes on disk.
        bytes_on_disk: u64,
        /// Bytes the last compaction left.
        bytes_after_compaction: u64,
    },
    /// An earlier release compacted or measured the database, so laid the engine's pages
    /// out (9 records a leaf where this release writes 16), and it is past
    /// [`crate::store::MIN_GROWTH`]: an idle node's memory grows with its pages, so it is
    /// compacted once again.
    PagesNotFilled {
        /// Bytes on disk.
        bytes_on_disk: u64,
        /// Bytes that release's compaction left (or its first measure found).
        bytes_after_compaction: u64,
    },
}

impl Reason {
    /// Why `store` is due for a compaction past `(factor, min_growth)`, or None. A database
    /// with no size recorded and not due records its size now (see `Store::growth_past`).
    pub fn of(
        store: &Store,
        (factor, min_growth): (u64, u64),
    ) -> Result<Option<Reason>, StoreError> {
        let growth = store.growth_past(factor, min_growth)?;
        Ok(if store.compaction_due()? {
            Some(Reason::Erased)
        } else if growth.compaction_due && growth.bytes_after_compaction == 0 {
            Some(Reason::NoSizeRecorded {
                bytes_on_disk: growth.bytes_on_disk,
            })
        } else if growth.compaction_due && !growth.pages_filled {
            Some(Reason::PagesNotFilled {
                bytes_on_disk: growth.bytes_on_disk,
                bytes_after_compaction: growth.bytes_after_compaction,
            })
        } else if growth.compaction_due {
            Some(Reason::Outgrown {
                bytes_on_disk: growth.bytes_on_disk,
                bytes_after_compaction: growth.bytes_after_compaction,
            })
        } else {
            None
        })
    }

    /// Whether the node may start when this compaction fails: only one for size may wait.
    pub fn may_wait(&self) -> bool {
        !matches!(self, Reason::Erased)
    }

    /// About the free space the copy needs, when it is known: what the last compaction left
    /// (the live records then; the log may have grown since by rewrites, which the copy
    /// leaves behind). None for the others.
    fn space_needed(&self) -> Option<u64> {
        match *self {
            Reason::Outgrown {
                bytes_after_compaction,
                ..
            }
            | Reason::PagesNotFilled {
                bytes_after_compaction,
                ..
            } => Some(bytes_after_compaction),
            Reason::Erased | Reason::NoSizeRecorded { .. } => None,
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Erased => {
                f.write_str("erased personal data and rewritten records must leave the disk")
            }
            Reason::NoSizeRecorded { bytes_on_disk } => write!(
                f,
                "no size after a compaction is recorded (an earlier release's database, or one written in bulk) and it holds {} MiB",
                bytes_on_disk / MIB
            ),
            Reason::Outgrown {
                bytes_on_disk,
                bytes_after_compaction,
            } => write!(
                f,
                "its log has outgrown what the last compaction left ({} MiB, now {} MiB)",
                bytes_after_compaction / MIB,
                bytes_on_disk / MIB
            ),
            Reason::PagesNotFilled { bytes_on_disk, .. } => write!(
                f,
                "an earlier release laid out its pages (compacted or measured by it), which this release writes full, for less memory ({} MiB)",
                bytes_on_disk / MIB
            ),
        }
    }
}

/// What a compaction for a start did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done: the database holds only live keys.
    Compacted(Compaction),
    /// A compaction for size failed, or was not tried for want of free space: the database
    /// opens as it was and the next start tries again.
    Waits(String),
}

/// Compacts the stopped database at `path` for `reason` with `compact` (tests pass one that
/// fails), `free` bytes being free beside it (None: not known). A compaction for erased
/// data that fails is an error: the node must not start while erased data lies on its
/// disk. One for size that would not fit waits without being tried: filling the file
/// system at each start would stop the node's own writes, and those of the machine's other
/// programs, for what is only space or memory.
pub fn make(
    path: &Path,
    reason: Reason,
    compact: &dyn Fn(&Path) -> Result<Compaction, StoreError>,
    free: Option<u64>,
) -> Result<Outcome, StoreError> {
    if let (true, Some(needed), Some(free)) = (reason.may_wait(), reason.space_needed(), free) {
        // A margin for what the copy holds beyond the records (the engine's own files).
        let needed = needed.saturating_add(needed / 10).saturating_add(64 * MIB);
        if free < needed {
            return Ok(Outcome::Waits(format!(
                "about {} MiB of free space is needed beside the database and {} MiB is free",
                needed / MIB,
                free / MIB
            )));
        }
    }
    match compact(path) {
        Ok(done) => Ok(Outcome::Compacted(done)),
        Err(e) if reason.may_wait() => Ok(Outcome::Waits(e.to_string())),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    /// A compaction for size that would not fit in the free space waits without being
    /// tried; with room enough, or the space not known, it is made (the controls), and one
    /// for erased data, or of a size not known, is made whatever the space.
    #[test]
    fn a_compaction_for_size_that_would_not_fit_is_not_tried() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("db");
        let tried = std::cell::Cell::new(0);
        let compact = |_: &Path| -> Result<Compaction, StoreError> {
            tried.set(tried.get() + 1);
            Ok(Compaction {
                bytes_before: 2,
                bytes_after: 1,
                keys: 1,
            })
        };
        let made = |reason, free| {
            matches!(
                make(&path, reason, &compact, free),
                Ok(Outcome::Compacted(_))
            )
        };
        // The need is what the last compaction left, not the log grown since (positive
        // control: a log of four times the free space is still compacted below).
        let pages = Reason::PagesNotFilled {
            bytes_on_disk: 4 * GIB,
            bytes_after_compaction: GIB,
        };
        let outgrown = Reason::Outgrown {
            bytes_on_disk: 5 * GIB,
            bytes_after_compaction: GIB,
        };
        for reason in [pages, outgrown] {
            let waits = make(&path, reason, &compact, Some(GIB / 2)).expect("waits");
            let Outcome::Waits(why) = waits else {
                panic!("{reason}: {waits:?}");
            };
            assert!(why.contains("free space"), "{why}");
            assert_eq!(tried.get(), 0, "{reason}");
            assert!(made(reason, Some(2 * GIB)), "{reason}");
            assert!(made(reason, None), "{reason}");
            tried.set(0);
        }
        assert!(made(Reason::Erased, Some(0)));
        assert!(made(Reason::NoSizeRecorded { bytes_on_disk: GIB }, Some(0)));
        assert_eq!(tried.get(), 2);
    }

    /// The free space of a real file system is read (the check above has something to
    /// weigh), and none of a path that is not there.
    #[test]
    fn the_free_space_beside_a_database_is_read() {
        let tmp = tempfile::tempdir().expect("tempdir");
        assert!(crate::store::free_bytes(&tmp.path().join("db")).is_some_and(|b| b > 0));
        assert_eq!(crate::store::free_bytes(&tmp.path().join("none/db")), None);
    }
}
