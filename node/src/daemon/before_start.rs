//! What `ilm run` does before the node opens its database, each in a process of its own so
//! that the memory it takes leaves with that process: the check of every record (`ilm db
//! check`: the reads leave about a third of an idle node's memory behind) and the
//! compaction a start makes when one is due (`ilm db compact --if-due`: the rewrite holds
//! what the engine read of every page it copied, about 200 MB at 100,000 cases).

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// What `ilm run` makes of the answer of `ilm --json db compact --if-due`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compacted {
    /// Nothing was due.
    NotDue,
    /// Compacted, and why.
    Done {
        /// Why it was due.
        why: String,
        /// Bytes on disk before.
        bytes_before: Option<u64>,
        /// And after.
        bytes_after: Option<u64>,
    },
    /// A compaction for size failed: the database opens as it is, and the next start tries
    /// again.
    Waits {
        /// Why it was due.
        why: String,
        /// Why it failed.
        failed: String,
    },
}

/// Runs `exe ARGS` on the data directory `dir` to its end.
fn run(exe: &Path, dir: &Path, args: &[&str]) -> Result<Output> {
    Command::new(exe)
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("run `ilm {}`", args.join(" ")))
}

/// Why a child process that failed failed: what it said on stderr, or how it ended when it
/// said nothing (killed by the system, say for want of memory).
fn failure(what: &str, out: &Output) -> anyhow::Error {
    let said = String::from_utf8_lossy(&out.stderr);
    let said = said.trim();
    if out.status.code().is_none() {
        // Killed: what it said before may not be why it stopped.
        anyhow::anyhow!(
            "`{what}` was stopped ({}): killed by the system? (for want of memory, say); the node did not start{}{said}",
            out.status,
            if said.is_empty() {
                ""
            } else {
                ". It had said: "
            }
        )
    } else if said.is_empty() {
        anyhow::anyhow!(
            "`{what}` stopped without a word ({}): killed by the system? (for want of memory, say); the node did not start",
            out.status
        )
    } else {
        anyhow::anyhow!("{}", said.strip_prefix("error: ").unwrap_or(said))
    }
}

/// `ilm db check` on `dir`, with the binary `exe`.
pub fn check(exe: &Path, dir: &Path) -> Result<()> {
    let out = run(exe, dir, &["db", "check"])?;
    if out.status.success() {
        return Ok(());
    }
    Err(failure("ilm db check", &out))
}

/// `ilm db compact --if-due` on `dir`, with the binary `exe`.
pub fn compact_if_due(exe: &Path, dir: &Path) -> Result<Compacted> {
    let out = run(exe, dir, &["--json", "db", "compact", "--if-due"])?;
    read_compacted(&out)
}

/// Reads the answer of `ilm --json db compact --if-due`: a compaction for size that failed
/// (exit 1, `failed` said) is [`Compacted::Waits`]; any other failure is an error.
fn read_compacted(out: &Output) -> Result<Compacted> {
    let said: Option<serde_json::Value> = serde_json::from_slice(&out.stdout).ok();
    let why = |v: &serde_json::Value| v["why"].as_str().unwrap_or_default().to_string();
    match said {
        Some(v) if out.status.success() && v["compacted"] == true => Ok(Compacted::Done {
            why: why(&v),
            bytes_before: v["bytes_before"].as_u64(),
            bytes_after: v["bytes_after"].as_u64(),
        }),
        Some(v) if out.status.code() == Some(1) && v["compacted"] == false => {
            match v["failed"].as_str() {
                Some(failed) => Ok(Compacted::Waits {
                    why: why(&v),
                    failed: failed.to_string(),
                }),
                None => Err(failure("ilm db compact --if-due", out)),
            }
        }
        Some(v) if out.status.success() && v["compacted"] == false && v["due"].is_null() => {
            Ok(Compacted::NotDue)
        }
        Some(_) | None if !out.status.success() => Err(failure("ilm db compact --if-due", out)),
        _ => bail!(
            "`ilm db compact --if-due` answered what this release does not read: {}",
            String::from_utf8_lossy(&out.stdout).trim()
        ),
    }
}

/// Makes a write past the process's file-size limit (RLIMIT_FSIZE, a quota) fail as a full
/// disk does instead of killing the process with SIGXFSZ; children started after it inherit
/// that (a compaction that goes past the limit fails and says so). The daemon catches the
/// signal itself once it runs, to report it.
#[allow(unsafe_code)]
pub fn fail_writes_past_the_file_size_limit() {
    // SAFETY: setting a signal's disposition to "ignore" touches no memory of ours and is
    // done once, before any other thread of this process starts.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    fn answer(code: i32, stdout: &str, stderr: &str) -> Output {
        Output {
            status: std::process::ExitStatus::from_raw(code << 8),
            stdout: stdout.as_bytes().to_vec(),
            stderr: stderr.as_bytes().to_vec(),
        }
    }

    /// Each answer of `ilm --json db compact --if-due` read as what it says: done, nothing
    /// due, a compaction for size that waits, and failures (an error, a process killed
    /// without a word) as errors that say why.
    #[test]
    fn the_compaction_s_answer_is_read_for_what_it_says() {
        let done = answer(
            0,
            r#"{"compacted":true,"due":{"reason":"erased"},"why":"erased data","bytes_before":10,"bytes_after":4,"keys":3}"#,
            "",
        );
        assert_eq!(
            read_compacted(&done).expect("done"),
            Compacted::Done {
                why: "erased data".into(),
                bytes_before: Some(10),
                bytes_after: Some(4)
            }
        );
        let none = answer(0, r#"{"compacted":false,"due":null}"#, "");
        assert_eq!(read_compacted(&none).expect("none"), Compacted::NotDue);
        let waits = answer(
            1,
            r#"{"compacted":false,"due":{"reason":"outgrown"},"why":"grown","failed":"no space left on device"}"#,
            "",
        );
        assert_eq!(
            read_compacted(&waits).expect("waits"),
            Compacted::Waits {
                why: "grown".into(),
                failed: "no space left on device".into()
            }
        );
        // An error (what `--json` prints for one): its words, from stderr.
        let error = answer(
            1,
            r#"{"result":null,"error":"compact the database (erased data): no space","valid":null}"#,
            "error: compact the database (erased data): no space\n",
        );
        let e = read_compacted(&error).expect_err("an error");
        assert_eq!(
            e.to_string(),
            "compact the database (erased data): no space"
        );
        // Killed without a word: how it ended is said.
        let killed = Output {
            status: std::process::ExitStatus::from_raw(9),
            stdout: Vec::new(),
            stderr: Vec::new(),
        };
        let e = read_compacted(&killed).expect_err("killed");
        assert!(e.to_string().contains("was stopped"), "{e}");
        assert!(e.to_string().contains("signal: 9"), "{e}");
        // A success that says what this release does not know is not taken for one.
        let odd = answer(0, r#"{"compacted":"maybe"}"#, "");
        assert!(read_compacted(&odd).is_err());
    }
}
