//! Compaction: rewriting the database into a fresh directory so that erased bytes leave the
//! disk, and recovery of a swap a crash interrupted.

use super::engine::{Hold, Reads, closed, compaction_lock, open_engine};
use super::fill;
use super::meta::{COMPACTED_BYTES_KEY, COMPACTED_LAYOUT_KEY, record_compacted};
use super::{COMPACTION_KEY, META, Result, StoreError};
use std::path::Path;

/// What a compaction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Compaction {
    /// Database size on disk before, in bytes.
    pub bytes_before: u64,
    /// And after.
    pub bytes_after: u64,
    /// Keys copied.
    pub keys: u64,
}

/// Whether a key of tree `name` stays out of the compacted copy: the marker that asked for
/// it, and the size and layout the last one left (written once the copy is in place).
pub(super) fn left_out(name: &[u8], key: &[u8]) -> bool {
    name == META.as_bytes()
        && (key == COMPACTION_KEY || key == COMPACTED_BYTES_KEY || key == COMPACTED_LAYOUT_KEY)
}

/// The bytes of every file under `path`.
pub(super) fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// The sibling directories a compaction of `path` uses: the copy being written, and the
/// original while the copy takes its place.
fn compaction_paths(path: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "db".into());
    (
        path.with_file_name(format!("{name}.compacting")),
        path.with_file_name(format!("{name}.old")),
    )
}

/// Whether a compaction of `path` left its files (one under way, or one a crash stopped).
pub(super) fn left_over(path: &Path) -> bool {
    let (copy, old) = compaction_paths(path);
    copy.exists() || old.exists()
}

/// Whether `copy` holds exactly the records of `original` that `keep` keeps: the same keys
/// with the same values, none missing and none more.
fn holds_the_same(
    original: &sled::Tree,
    copy: &sled::Tree,
    keep: impl Fn(&[u8]) -> bool,
) -> Result<bool> {
    let mut theirs = copy.iter();
    for kv in original.iter() {
        let (k, v) = kv?;
        if !keep(&k) {
            continue;
        }
        match theirs.next() {
            Some(Ok((k2, v2))) if k2 == k && v2 == v => {}
            Some(Err(e)) => return Err(e.into()),
            _ => return Ok(false),
        }
    }
    Ok(theirs.next().is_none())
}

/// Finishes or rolls back a compaction a crash interrupted, so `path` holds one whole
/// database: the copy if it had taken the original's place, else the original. The caller
/// holds the compaction lock alone (so no compaction runs: what is left is a crash's).
pub(super) fn recover(path: &Path) -> Result<()> {
    let (copy, old) = compaction_paths(path);
    let io = |e: std::io::Error| StoreError::Engine(format!("{}: {e}", path.display()));
    if old.exists() {
        if path.exists() {
            std::fs::remove_dir_all(&old).map_err(io)?;
        } else {
            std::fs::rename(&old, path).map_err(io)?;
        }
    }
    if copy.exists() {
        std::fs::remove_dir_all(&copy).map_err(io)?;
    }
    Ok(())
}

/// Rewrites the database at `path` into a fresh one holding only live keys, so that bytes
/// removed or overwritten (erased personal data) leave the disk; the node must be stopped.
/// The copy is checked key for key before it replaces the original.
pub fn compact(path: &Path) -> Result<Compaction> {
    compact_pausing(path, &|| {})
}

/// [`compact`], calling `out_of_place` while the original is out of place (tests look at
/// what another process would find then).
fn compact_pausing(path: &Path, out_of_place: &dyn Fn()) -> Result<Compaction> {
    // Held until the copy has taken the original's place (see `CompactionLock`).
    let _compaction = compaction_lock(path, Hold::Alone)?.ok_or_else(|| {
        StoreError::Engine(format!(
            "{} cannot be made or read: a compaction needs it",
            super::engine::compaction_lock_path(path).display()
        ))
    })?;
    recover(path)?;
    if !path.exists() {
        return Err(StoreError::Engine(format!(
            "no database at {}",
            path.display()
        )));
    }
    let (copy, old) = compaction_paths(path);
    let bytes_before = dir_size(path);
    let mut keys = 0u64;
    {
        // Both read and written whole: what the copy read and wrote is given back as it
        // goes (see `Reads`).
        let src = open_engine(path, Reads::Whole)?;
        let dst = open_engine(&copy, Reads::Whole)?;
        for name in src.tree_names() {
            let from = src.open_tree(&name)?;
            let to = dst.open_tree(&name)?;
            keys += fill::copy(&from, &to, |k| !left_out(&name, k))?;
        }
        dst.flush()?;
        // The copy must hold exactly what the original holds, but what it leaves out.
        for name in src.tree_names() {
            let (a, b) = (src.open_tree(&name)?, dst.open_tree(&name)?);
            if !holds_the_same(&a, &b, |k| !left_out(&name, k))? {
                return Err(StoreError::Corrupt(format!(
                    "the compacted copy of {} differs from it; the original is kept",
                    path.display()
                )));
            }
        }
    }
    // sled's threads may hold the copy's lock a moment after the handles are gone.
    closed(path);
    let io = |e: std::io::Error| StoreError::Engine(format!("{}: {e}", path.display()));
    std::fs::rename(path, &old).map_err(io)?;
    out_of_place();
    if let Err(e) = std::fs::rename(&copy, path) {
        // Put the original back rather than leave no database in its place.
        let _ = std::fs::rename(&old, path);
        return Err(io(e));
    }
    std::fs::remove_dir_all(&old).map_err(io)?;
    // What this compaction left, measured once the engine has laid out its files again: a
    // start compacts once the log has outgrown it (see `Store::growth`).
    let bytes_after = {
        let db = open_engine(path, Reads::Whole)?;
        let size = dir_size(path);
        record_compacted(&db.open_tree(META)?, size)?;
        db.flush()?;
        size
    };
    closed(path);
    Ok(Compaction {
        bytes_before,
        bytes_after,
        keys,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, Table, WriteBatch};

    const VALUES: Table<String> = Table::new(b'x', "values");

    /// Makes a database at `path` holding one record.
    fn holding_a_record(path: &Path) {
        let store = Store::open_unversioned(path).expect("open");
        let mut batch = WriteBatch::new();
        batch.put(&VALUES, b"k", &"kept".to_string()).expect("put");
        store.commit(batch).expect("commit");
    }

    /// The database at `path` opens and holds the record [`holding_a_record`] wrote.
    fn assert_holds_the_record(path: &Path) {
        let store = Store::open_unversioned(path).expect("open");
        assert_eq!(
            store.get(&VALUES, b"k").expect("read"),
            Some("kept".to_string())
        );
    }

    /// A copy is the same only with every kept record, each with its value, and nothing
    /// more (a record more was not looked for before).
    #[test]
    fn a_copy_with_a_record_more_or_less_is_not_the_same() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let db = sled::open(tmp.path().join("db")).expect("open");
        let (original, copy) = (db.open_tree("a").expect("a"), db.open_tree("b").expect("b"));
        for k in [b"k1", b"k2", b"k3"] {
            original.insert(k, b"v").expect("insert");
        }
        let no_k3 = |k: &[u8]| k != b"k3";
        for k in [b"k1", b"k2"] {
            copy.insert(k, b"v").expect("insert");
        }
        assert!(holds_the_same(&original, &copy, no_k3).expect("read"));
        assert!(!holds_the_same(&original, &copy, |_| true).expect("read"));
        copy.insert(b"k9", b"v").expect("insert");
        assert!(!holds_the_same(&original, &copy, no_k3).expect("read"));
        copy.remove(b"k9").expect("remove");
        copy.insert(b"k2", b"other").expect("insert");
        assert!(!holds_the_same(&original, &copy, no_k3).expect("read"));
    }

    /// A compaction writes the store's records on full leaf pages (see `fill`), fewer than
    /// its first writes left (the control: the leaves before, written as one batch, which
    /// the engine applies in no set order).
    #[test]
    fn a_compaction_fills_the_engine_s_pages() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("db");
        let n = 3_200;
        {
            let store = Store::open_unversioned(&path).expect("open");
            let mut batch = WriteBatch::new();
            for i in 0..n {
                let id = format!("{i:08}");
                batch.put(&VALUES, id.as_bytes(), &id).expect("put");
            }
            store.commit(batch).expect("commit");
        }
        let leaves = || {
            let db = open_engine(&path, Reads::Views).expect("open");
            let leaves =
                super::fill::tests::leaves(&db.open_tree(super::super::DATA).expect("data"));
            drop(db);
            closed(&path);
            leaves
        };
        let before = leaves();
        // As written they are about 12 records a leaf.
        assert!(before > n / 16 * 5 / 4, "{before} leaves as written");
        assert_eq!(compact(&path).expect("compact").keys, n as u64);
        assert_eq!(leaves(), n / 16, "leaves after the compaction");
        let store = Store::open_unversioned(&path).expect("open");
        assert_eq!(
            store.get(&VALUES, b"00001234").expect("read"),
            Some("00001234".to_string())
        );
    }

    /// While a compaction in another process has the database out of place (between its
    /// two renames), an opening is refused instead of making a new, empty database where
    /// the original was (which the next recovery would then have removed as the older of
    /// two), and a recovery waits for it too; once nothing holds the lock (the compaction
    /// crashed there), an opening recovers the original first.
    #[test]
    fn nothing_opens_a_database_a_compaction_has_out_of_place() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("db");
        holding_a_record(&path);
        let (_, old) = compaction_paths(&path);
        let held = compaction_lock(&path, Hold::Alone)
            .expect("lock")
            .expect("a lock file");
        std::fs::rename(&path, &old).expect("out of place, as a compaction puts it");
        // Another process: a lock of its own (locks are per opening of the file).
        assert!(matches!(
            Store::open_unversioned(&path).err(),
            Some(StoreError::Compacting)
        ));
        assert!(
            !path.exists(),
            "a database was made in the original's place"
        );
        assert!(matches!(
            compaction_lock(&path, Hold::Alone).err(),
            Some(StoreError::Compacting)
        ));
        assert!(old.exists(), "the recovery touched the original");
        // Once the lock is let go (as when the compaction's process crashed there), an
        // opening recovers first: the original is back, whole.
        drop(held);
        assert_holds_the_record(&path);
        assert!(!old.exists());
    }

    /// A compaction holds its lock while the original is out of place: an opening from
    /// elsewhere then is refused and makes nothing (the test above sets this up by hand).
    #[test]
    fn a_compaction_keeps_its_lock_while_the_original_is_out_of_place() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("db");
        holding_a_record(&path);
        let seen = std::cell::Cell::new(None);
        compact_pausing(&path, &|| {
            // Its own lock of the file, as another process takes it.
            let opened = Store::open_unversioned(&path).err();
            seen.set(Some((
                matches!(opened, Some(StoreError::Compacting)),
                path.exists(),
            )));
        })
        .expect("compact");
        assert_eq!(
            seen.get(),
            Some((true, false)),
            "(refused, a database in place)"
        );
        assert_holds_the_record(&path);
    }
}
