//! The order a compaction writes a tree in, so that the engine's leaf pages come out full
//! and in one piece.
//!
//! sled 0.34 keeps an entry per page in memory from its opening on (its page table, with
//! an entry per fragment of each page), so an idle node's memory grows with the number of
//! pages, not the bytes they hold. A leaf splits once it holds more than 16 records, into its
//! first 9 and the rest, so a tree written in key order ends with leaves of 9: 78 % more
//! pages than full ones. Written in two passes instead (per run of 16 records in key order,
//! first the first 8 and the last, then the 7 between), every leaf a split leaves behind
//! holds exactly one run's 9 first-pass records, as one fragment, and its upper bound lies
//! between the run's last record and the next run's first (a shortened copy of that key), so
//! the second pass's records all land in it and fill it to 16 without splitting it again.
//!
//! A record added to a page is kept as a fragment beside it until the page holds 10 of
//! them, and the snapshot the engine reads at its opening lists every fragment (a filled
//! copy left in 8 fragments a page had a snapshot four times that of a key-order copy, and
//! its opening took more memory, not less). So three of each run's second-pass records are
//! written twice (an empty value first), which makes ten changes to the page: the last one
//! rewrites it whole. A tree's last page or two may end fuller or in more fragments.
//!
//! The numbers are sled 0.34.7's (`node.rs`: a leaf of more than 16 records split at
//! `len / 2 + 1`, on the next write that reaches it; `pagecache/constants.rs`:
//! consolidation at 10 fragments; the dependency is pinned). Under other numbers the pages
//! would come out otherwise full; the copy is checked record for record whatever they are.
//! A filled page splits again at the first record added between its keys later, so the
//! saving lasts where a node adds records at the end of its tables (most do: ids and days
//! grow) and fades where it adds them between.

use super::Result;

/// Records a leaf page holds before the engine splits it.
const RUN: usize = 16;

/// Whether the record at `position` (in key order, from 0) of a tree is written in the first
/// pass: the first half of its run and the run's last record.
fn first_pass(position: usize) -> bool {
    let at = position % RUN;
    at < RUN / 2 || at == RUN - 1
}

/// Whether the record at `position` is written twice in the second pass (an empty value
/// first), so that its page gets the changes that make the engine rewrite it whole.
fn written_twice(position: usize) -> bool {
    let at = position % RUN;
    (RUN - 4..RUN - 1).contains(&at)
}

/// Copies every record of `from` that `keep` keeps into the empty tree `to`, in the order
/// above; returns how many it copied.
pub(super) fn copy(
    from: &sled::Tree,
    to: &sled::Tree,
    keep: impl Fn(&[u8]) -> bool,
) -> Result<u64> {
    let mut copied = 0u64;
    for first in [true, false] {
        let kept = from
            .iter()
            .filter(|kv| kv.as_ref().map_or(true, |(k, _)| keep(k.as_ref())));
        for (position, kv) in kept.enumerate() {
            let (k, v) = kv?;
            if first_pass(position) != first {
                continue;
            }
            if !first && written_twice(position) {
                to.insert(&k, &[])?;
            }
            to.insert(k, v)?;
            copied += 1;
        }
    }
    Ok(copied)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Each position is written exactly once in one pass, and the runs' first passes hold 9
    /// records (what a split leaves on the left), the second 7 of which 3 twice.
    #[test]
    fn each_record_is_written_in_one_pass() {
        let first = (0..RUN).filter(|&p| first_pass(p)).count();
        assert_eq!(first, 9);
        assert!(first_pass(RUN - 1) && first_pass(RUN) && !first_pass(RUN + 8));
        assert!((0..RUN).all(|p| !(first_pass(p) && written_twice(p))));
        assert_eq!((0..RUN).filter(|&p| written_twice(p)).count(), 3);
    }

    /// The leaf pages of `tree`, counted from the engine's own print of its levels (the
    /// last level printed is the leaves', one line per page).
    pub(in crate::store) fn leaves(tree: &sled::Tree) -> usize {
        let printed = format!("{tree:?}");
        let last = printed.split("\tlevel ").last().unwrap_or_default();
        last.lines().filter(|l| l.starts_with("\t\t")).count()
    }

    /// The bytes of the engine's snapshot files under `path` (its page table as written at
    /// an opening: an entry per fragment of each page).
    fn snapshot_bytes(path: &std::path::Path) -> u64 {
        std::fs::read_dir(path)
            .expect("read the database's directory")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("snap."))
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum()
    }

    /// A database at `path` with one tree of `n` records of 24-byte keys in no order.
    fn shuffled(path: &std::path::Path, n: u64) -> sled::Db {
        let db = sled::open(path).expect("open");
        let tree = db.open_tree("t").expect("tree");
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = [x.to_be_bytes(), i.to_be_bytes(), (!x).to_be_bytes()].concat();
            tree.insert(key, vec![7u8; 60]).expect("insert");
        }
        db
    }

    /// The tree copied into a fresh database at `to` by `copying`, reopened (so the engine
    /// writes its snapshot): its leaves and the snapshot's bytes.
    fn copied(
        from: &sled::Tree,
        to: &std::path::Path,
        copying: impl Fn(&sled::Tree, &sled::Tree),
    ) -> (usize, u64) {
        {
            let db = sled::open(to).expect("open the copy");
            copying(from, &db.open_tree("t").expect("tree"));
            db.flush().expect("flush");
        }
        let db = sled::open(to).expect("reopen the copy");
        let tree = db.open_tree("t").expect("tree");
        assert_eq!(tree.len(), from.len());
        assert!(tree.iter().zip(from.iter()).all(|(a, b)| {
            let (a, b) = (a.expect("read"), b.expect("read"));
            a == b
        }));
        (leaves(&tree), snapshot_bytes(to))
    }

    /// A copy made in two passes is a copy (same records) on full leaves (16 records each
    /// but the last), each in one piece: its snapshot is smaller than that of the same tree
    /// copied in key order, whose leaves hold 9 records (the control: the count and the
    /// snapshot find what the fill saves).
    #[test]
    fn a_copy_fills_its_leaves() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let n = 4_000;
        let source = shuffled(&tmp.path().join("source"), n);
        let from = source.open_tree("t").expect("tree");
        let (filled, filled_snapshot) = copied(&from, &tmp.path().join("filled"), |f, t| {
            assert_eq!(copy(f, t, |_| true).expect("copy"), n);
        });
        let (in_order, in_order_snapshot) = copied(&from, &tmp.path().join("in-order"), |f, t| {
            for kv in f.iter() {
                let (k, v) = kv.expect("read");
                t.insert(k, v).expect("insert");
            }
        });
        let n = usize::try_from(n).expect("small");
        assert_eq!(filled, n.div_ceil(RUN), "leaves of the filled copy");
        assert!(in_order >= n / 9, "{in_order} leaves in key order");
        assert!(
            filled_snapshot < in_order_snapshot,
            "snapshot {filled_snapshot} bytes filled, {in_order_snapshot} in key order"
        );
    }

    /// What `keep` leaves out is not copied, and the rest still fills its leaves.
    #[test]
    fn a_copy_leaves_out_what_it_is_told_to() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let source = shuffled(&tmp.path().join("source"), 1_000);
        let from = source.open_tree("t").expect("tree");
        let db = sled::open(tmp.path().join("copy")).expect("open");
        let to = db.open_tree("t").expect("tree");
        let odd = |k: &[u8]| k[15] % 2 == 1;
        let kept = from
            .iter()
            .filter(|kv| kv.as_ref().is_ok_and(|(k, _)| odd(k)))
            .count();
        assert_eq!(kept, 500);
        assert_eq!(copy(&from, &to, odd).expect("copy"), kept as u64);
        assert_eq!(to.len(), kept);
        assert!(
            to.iter()
                .all(|kv| kv.is_ok_and(|(k, v)| odd(&k) && v.len() == 60))
        );
        assert_eq!(leaves(&to), kept.div_ceil(RUN));
    }
}
