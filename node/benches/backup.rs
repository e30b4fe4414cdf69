//! Backup and restore of a large database: how long a snapshot holds writes back (every
//! write waits while `Store::snapshot` copies the database), how that compares with copying
//! the database's files (the baseline, measured in the same run), how long sealing and a
//! restore take, and the longest commit a writer saw while a snapshot was taken.
//!
//! Run: `cargo bench -p ilm-node --bench backup` (release); `cargo test --benches` runs a
//! small smoke version. Knobs: ILM_BENCH_RECORDS (200000; smoke 2000), ILM_BENCH_VALUE_BYTES
//! (600). Nothing asserts on time.

use anyhow::{Context, Result};
use ilm_node::backup::archive::{ArchiveHeader, ArchiveReader, ArchiveWriter, FORMAT, Item};
use ilm_node::backup::sealed::{OpenReader, SealWriter, read_header};
use ilm_node::backup::{BackupSecret, RecoveryKey};
use ilm_node::store::{Import, SnapshotItem, Store, Table, WriteBatch};
use ilm_protocol::{OrgId, Timestamp};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const RECORDS: Table<String> = Table::new(b'x', "bench records");

fn env(name: &str, default: u64) -> Result<u64> {
    match std::env::var(name) {
        Ok(v) => v.parse().with_context(|| format!("{name}={v:?}")),
        Err(_) => Ok(default),
    }
}

fn dir_bytes(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Copies every file under `from` to `to` (the raw-copy baseline).
fn copy_dir(from: &Path, to: &Path) -> Result<u64> {
    std::fs::create_dir_all(to)?;
    let mut n = 0;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let target = to.join(e.file_name());
        if e.metadata()?.is_dir() {
            n += copy_dir(&e.path(), &target)?;
        } else {
            n += std::fs::copy(e.path(), &target)?;
            std::fs::File::open(&target)?.sync_all()?;
        }
    }
    Ok(n)
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn main() -> Result<()> {
    let measuring = std::env::args().any(|a| a == "--bench");
    let records = env("ILM_BENCH_RECORDS", if measuring { 200_000 } else { 2_000 })?;
    let value_bytes = env("ILM_BENCH_VALUE_BYTES", 600)? as usize;
    let tmp = tempfile::tempdir()?;
    let db = tmp.path().join("db");
    let store: Store = ilm_node::schema::open(&db)?;
    let filler = "w".repeat(value_bytes);
    let mut i = 0u64;
    while i < records {
        let mut batch = WriteBatch::new();
        for _ in 0..1000.min(records - i) {
            batch.put(&RECORDS, &i.to_be_bytes(), &format!("{i}:{filler}"))?;
            i += 1;
        }
        store.commit(batch)?;
    }
    store.flush()?;
    let on_disk = dir_bytes(&db);
    println!(
        "database: {records} records of ~{value_bytes} bytes, {:.1} MB on disk",
        on_disk as f64 / 1e6
    );

    // Baseline: copying the database's files (not a consistent backup of a live database).
    let started = Instant::now();
    let copied = copy_dir(&db, &tmp.path().join("copy"))?;
    let raw_copy = started.elapsed();

    // Commit latency with no snapshot, then while snapshots run back to back.
    let commit_once = |k: u64| -> Result<Duration> {
        let mut batch = WriteBatch::new();
        batch.put(
            &RECORDS,
            &(u64::MAX - k).to_be_bytes(),
            &"concurrent".to_string(),
        )?;
        let t = Instant::now();
        store.commit(batch)?;
        Ok(t.elapsed())
    };
    let mut quiet_max = Duration::ZERO;
    for k in 0..50 {
        quiet_max = quiet_max.max(commit_once(k)?);
    }
    let archive_path = tmp.path().join("archive");
    let stop = AtomicBool::new(false);
    let (snapshot_time, archive_bytes, stalled_max, commits) =
        std::thread::scope(|s| -> Result<(Duration, u64, Duration, u64)> {
            let writer = s.spawn(|| -> Result<(Duration, u64)> {
                let (mut worst, mut n) = (Duration::ZERO, 0u64);
                while !stop.load(Ordering::Relaxed) {
                    worst = worst.max(commit_once(1_000 + n)?);
                    n += 1;
                }
                Ok((worst, n))
            });
            std::thread::sleep(Duration::from_millis(50));
            let started = Instant::now();
            let file = std::fs::File::create(&archive_path)?;
            let header = ArchiveHeader {
                format: FORMAT,
                created_at: Timestamp(0),
                org_id: OrgId([1; 32]),
                schema_version: Some(1),
            };
            let mut w = ArchiveWriter::new(BufWriter::new(file), &header)?;
            store.snapshot(|item| w.snapshot_item(item))?;
            let (out, _) = w.finish()?;
            out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            let took = started.elapsed();
            std::thread::sleep(Duration::from_millis(50));
            stop.store(true, Ordering::Relaxed);
            let (worst, n) = writer
                .join()
                .map_err(|_| anyhow::anyhow!("writer panicked"))??;
            Ok((took, std::fs::metadata(&archive_path)?.len(), worst, n))
        })?;

    // Sealing (the CLI's side) and restoring (opening, checking and importing).
    let key = RecoveryKey::generate()?;
    let secret = BackupSecret::RecoveryKey(RecoveryKey::from_bytes(*key.bytes()));
    let sealed_path = tmp.path().join("backup");
    let started = Instant::now();
    {
        let mut w = SealWriter::new(
            BufWriter::new(std::fs::File::create(&sealed_path)?),
            OrgId([1; 32]),
            Timestamp(0),
            &secret,
            &sealed_path,
        )?;
        std::io::copy(
            &mut BufReader::new(std::fs::File::open(&archive_path)?),
            &mut w,
        )?;
        let mut out = w.finish()?;
        out.flush()?;
    }
    let seal_time = started.elapsed();
    let started = Instant::now();
    let mut f = BufReader::new(std::fs::File::open(&sealed_path)?);
    let (header, aad) = read_header(&mut f)?;
    let opened = OpenReader::new(f, &header, aad, &secret, &sealed_path)?;
    let mut archive = ArchiveReader::new(BufReader::new(opened))?;
    let mut import = Import::create(&tmp.path().join("restored"))?;
    while let Some(item) = archive.next_item()? {
        match item {
            Item::Tree(name) => import.add(SnapshotItem::Tree(&name))?,
            Item::Record { key, value } => import.add(SnapshotItem::Record {
                key: &key,
                value: &value,
            })?,
            Item::File { .. } => {}
        }
    }
    let restored = import.finish()?;
    let restore_time = started.elapsed();
    let mut rest = Vec::new();
    archive.into_inner().read_to_end(&mut rest)?;

    println!(
        "raw copy of the database files: {} ({:.1} MB)",
        ms(raw_copy),
        copied as f64 / 1e6
    );
    println!(
        "snapshot into an archive (writes wait): {} ({:.1} MB archive) = {:.2}x the raw copy",
        ms(snapshot_time),
        archive_bytes as f64 / 1e6,
        snapshot_time.as_secs_f64() / raw_copy.as_secs_f64().max(1e-9)
    );
    println!(
        "longest commit: {} with no snapshot, {} while the snapshot ran ({commits} commits meanwhile)",
        ms(quiet_max),
        ms(stalled_max)
    );
    println!(
        "seal to a recovery key: {}; open, check and import ({restored} records): {}",
        ms(seal_time),
        ms(restore_time)
    );
    Ok(())
}
