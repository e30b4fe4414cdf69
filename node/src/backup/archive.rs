//! The archive a backup seals: the data directory's files and a snapshot of the database as
//! length-prefixed frames, ending with a summary, so a cut-off archive is never taken for a
//! whole one.
//!
//! Frame: one tag byte, then each field as a 4-byte big-endian length and its bytes.
//! `H` header (JSON), `F` file (name, contents), `T` tree (name), `R` record (key, value),
//! `E` end (JSON summary). Specified in docs/OPERATIONS.md ("Backup file format").

use crate::store::SnapshotItem;
use ilm_protocol::{OrgId, Timestamp};
use serde::{Deserialize, Serialize};
use std::io::{self, Read, Write};

/// The archive's first bytes.
pub const MAGIC: &[u8; 12] = b"ILM-ARCHIVE1";
/// The archive format this build writes and reads.
pub const FORMAT: u32 = 1;
/// The data directory's files a backup carries. The admin token and address are made anew
/// by the restored node; anything else named in an archive is refused (no path from a file
/// decides where a restore writes).
pub const FILES: &[&str] = &[
    "identity.key",
    "vault.key",
    "config.toml",
    "network.json",
    "certificate.json",
];

const MAX_NAME: usize = 4096;
const MAX_FIELD: usize = 256 << 20;

/// What the archive is: written first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ArchiveHeader {
    /// Always [`FORMAT`].
    pub format: u32,
    /// When the snapshot was taken (the node's clock).
    pub created_at: Timestamp,
    /// The organisation whose node it is.
    pub org_id: OrgId,
    /// The database's schema version.
    pub schema_version: Option<u32>,
}

/// What the archive held: written last, and checked against what was read.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ArchiveSummary {
    /// Data directory files.
    pub files: u64,
    /// Database trees.
    pub trees: u64,
    /// Database records.
    pub records: u64,
}

/// Why an archive could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// Reading failed (including a wrong key or tampering, found by the sealed layer).
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The bytes are not an archive of this format.
    #[error("not a backup archive this version of ilm can read: {0}")]
    Malformed(String),
}

fn bad(why: impl Into<String>) -> ArchiveError {
    ArchiveError::Malformed(why.into())
}

/// One item read from an archive.
#[derive(Debug)]
pub enum Item {
    /// A data directory file.
    File {
        /// One of [`FILES`].
        name: &'static str,
        /// Its bytes, as they were on disk.
        contents: Vec<u8>,
    },
    /// The records that follow belong to this tree.
    Tree(Vec<u8>),
    /// One record.
    Record {
        /// Its key.
        key: Vec<u8>,
        /// Its value.
        value: Vec<u8>,
    },
}

/// Writes an archive.
pub struct ArchiveWriter<W: Write> {
    w: W,
    summary: ArchiveSummary,
}

impl<W: Write> ArchiveWriter<W> {
    /// Starts an archive with its header.
    pub fn new(mut w: W, header: &ArchiveHeader) -> io::Result<ArchiveWriter<W>> {
        w.write_all(MAGIC)?;
        let json = serde_json::to_vec(header).map_err(io::Error::other)?;
        frame(&mut w, b'H', &[&json])?;
        Ok(ArchiveWriter {
            w,
            summary: ArchiveSummary::default(),
        })
    }

    /// Adds a data directory file (`name` must be one of [`FILES`]).
    pub fn file(&mut self, name: &str, contents: &[u8]) -> io::Result<()> {
        if !FILES.contains(&name) {
            return Err(io::Error::other(format!("{name} is not a backed-up file")));
        }
        self.summary.files += 1;
        frame(&mut self.w, b'F', &[name.as_bytes(), contents])
    }

    /// Adds one item of a database snapshot.
    pub fn snapshot_item(&mut self, item: SnapshotItem<'_>) -> io::Result<()> {
        match item {
            SnapshotItem::Tree(name) => {
                self.summary.trees += 1;
                frame(&mut self.w, b'T', &[name])
            }
            SnapshotItem::Record { key, value } => {
                self.summary.records += 1;
                frame(&mut self.w, b'R', &[key, value])
            }
        }
    }

    /// Ends the archive with its summary; returns the writer and the summary.
    pub fn finish(mut self) -> io::Result<(W, ArchiveSummary)> {
        let json = serde_json::to_vec(&self.summary).map_err(io::Error::other)?;
        frame(&mut self.w, b'E', &[&json])?;
        self.w.flush()?;
        Ok((self.w, self.summary))
    }
}

fn frame(w: &mut impl Write, tag: u8, fields: &[&[u8]]) -> io::Result<()> {
    w.write_all(&[tag])?;
    for f in fields {
        let len = u32::try_from(f.len())
            .ok()
            .filter(|l| *l as usize <= MAX_FIELD)
            .ok_or_else(|| io::Error::other("a backed-up value is too large"))?;
        w.write_all(&len.to_be_bytes())?;
        w.write_all(f)?;
    }
    Ok(())
}

/// Reads an archive item by item, checking its order and its summary.
pub struct ArchiveReader<R: Read> {
    r: R,
    header: ArchiveHeader,
    seen: ArchiveSummary,
    ended: bool,
}

impl<R: Read> ArchiveReader<R> {
    /// Reads the magic and the header.
    pub fn new(mut r: R) -> Result<ArchiveReader<R>, ArchiveError> {
        let mut magic = [0u8; 12];
        r.read_exact(&mut magic)?;
        if &magic != MAGIC {
            return Err(bad("wrong magic bytes"));
        }
        let mut tag = [0u8; 1];
        r.read_exact(&mut tag)?;
        if tag[0] != b'H' {
            return Err(bad("the header is missing"));
        }
        let json = field(&mut r, 64 * 1024)?;
        let header: ArchiveHeader =
            serde_json::from_slice(&json).map_err(|e| bad(format!("header: {e}")))?;
        if header.format != FORMAT {
            return Err(bad(format!("archive format {}", header.format)));
        }
        Ok(ArchiveReader {
            r,
            header,
            seen: ArchiveSummary::default(),
            ended: false,
        })
    }

    /// The archive's header.
    pub fn header(&self) -> &ArchiveHeader {
        &self.header
    }

    /// The next item, or None after the end frame (whose summary matched what was read).
    pub fn next_item(&mut self) -> Result<Option<Item>, ArchiveError> {
        if self.ended {
            return Ok(None);
        }
        let mut tag = [0u8; 1];
        self.r.read_exact(&mut tag).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => bad("the archive ends before its summary"),
            _ => ArchiveError::Io(e),
        })?;
        match tag[0] {
            b'F' => {
                if self.seen.trees > 0 {
                    return Err(bad("a file after the database"));
                }
                let name = field(&mut self.r, MAX_NAME)?;
                let name = FILES
                    .iter()
                    .copied()
                    .find(|f| f.as_bytes() == name.as_slice())
                    .ok_or_else(|| bad("a file that backups do not carry"))?;
                let contents = field(&mut self.r, MAX_FIELD)?;
                self.seen.files += 1;
                Ok(Some(Item::File { name, contents }))
            }
            b'T' => {
                self.seen.trees += 1;
                Ok(Some(Item::Tree(field(&mut self.r, MAX_NAME)?)))
            }
            b'R' => {
                if self.seen.trees == 0 {
                    return Err(bad("a record before any tree"));
                }
                let key = field(&mut self.r, MAX_FIELD)?;
                let value = field(&mut self.r, MAX_FIELD)?;
                self.seen.records += 1;
                Ok(Some(Item::Record { key, value }))
            }
            b'E' => {
                let json = field(&mut self.r, 64 * 1024)?;
                let summary: ArchiveSummary =
                    serde_json::from_slice(&json).map_err(|e| bad(format!("summary: {e}")))?;
                if summary != self.seen {
                    return Err(bad(format!(
                        "the summary says {summary:?} but the archive holds {:?}",
                        self.seen
                    )));
                }
                self.ended = true;
                Ok(None)
            }
            t => Err(bad(format!("unknown frame {t:#04x}"))),
        }
    }

    /// What was read so far.
    pub fn seen(&self) -> ArchiveSummary {
        self.seen
    }

    /// The reader, once the archive ended.
    pub fn into_inner(self) -> R {
        self.r
    }
}

fn field(r: &mut impl Read, max: usize) -> Result<Vec<u8>, ArchiveError> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(bad(format!("a field of {len} bytes (at most {max})")));
    }
    // Grows with the bytes actually there, so a length field alone cannot claim memory.
    let mut buf = Vec::new();
    r.take(len as u64).read_to_end(&mut buf)?;
    if buf.len() != len {
        return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let header = ArchiveHeader {
            format: FORMAT,
            created_at: Timestamp(1_800_000_000),
            org_id: OrgId([7; 32]),
            schema_version: Some(1),
        };
        let mut w = ArchiveWriter::new(Vec::new(), &header).expect("header");
        w.file("config.toml", b"[node]\n").expect("file");
        w.snapshot_item(SnapshotItem::Tree(b"data")).expect("tree");
        w.snapshot_item(SnapshotItem::Record {
            key: b"k",
            value: b"v",
        })
        .expect("record");
        w.finish().expect("finish").0
    }

    fn read_all(bytes: &[u8]) -> Result<(usize, ArchiveSummary), ArchiveError> {
        let mut r = ArchiveReader::new(bytes)?;
        let mut n = 0;
        while r.next_item()?.is_some() {
            n += 1;
        }
        Ok((n, r.seen()))
    }

    #[test]
    fn an_archive_reads_back_item_for_item() {
        let (items, seen) = read_all(&sample()).expect("read");
        assert_eq!(items, 3);
        assert_eq!(
            seen,
            ArchiveSummary {
                files: 1,
                trees: 1,
                records: 1
            }
        );
    }

    #[test]
    fn a_cut_off_archive_is_refused_at_every_length() {
        let bytes = sample();
        for len in 0..bytes.len() {
            assert!(
                read_all(&bytes[..len]).is_err(),
                "cut at {len} was accepted"
            );
        }
    }

    #[test]
    fn a_file_outside_the_list_is_refused() {
        let mut bytes = sample();
        let at = bytes
            .windows(11)
            .position(|w| w == b"config.toml")
            .expect("name");
        bytes[at..at + 11].copy_from_slice(b"../evil.key");
        let err = read_all(&bytes).expect_err("refused");
        assert!(err.to_string().contains("do not carry"), "{err}");
    }
}
