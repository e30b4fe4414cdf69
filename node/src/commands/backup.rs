//! `ilm backup`, `ilm restore` and `ilm recovery-key`.

use crate::backup::progress::{Progress, mb};
use crate::backup::{self, BackupSecret, RecoveryKey};
use crate::cli::{BackupArgs, BackupSecretArgs, RecoveryKeyCommand, RestoreArgs};
use crate::client::AdminClient;
use crate::datadir::DataDir;
use crate::output::Output;
use crate::secrets::PassphraseSource;
use anyhow::{Context, Result, bail};
use ilm_protocol::{OrgId, Timestamp};
use serde_json::json;
use std::fs::OpenOptions;
use std::io::BufWriter;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

const PASS_FLAGS: &str = "--recovery-key, --backup-passphrase-file or --backup-passphrase-fd";

fn recovery_key(path: &Path) -> Result<RecoveryKey> {
    let bytes = DataDir::read_secret_file(path)?;
    let text = String::from_utf8(bytes).context("the recovery key file is not text")?;
    RecoveryKey::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// The secret a new backup is sealed with (a new passphrase is asked twice).
fn sealing_secret(args: &BackupSecretArgs) -> Result<BackupSecret> {
    if let Some(p) = &args.recovery_key {
        return Ok(BackupSecret::RecoveryKey(recovery_key(p)?));
    }
    Ok(BackupSecret::Passphrase(super::identity::new_passphrase(
        args.backup_passphrase_file.clone(),
        args.backup_passphrase_fd,
        PASS_FLAGS,
        "Backup passphrase",
    )?))
}

/// The secret that opens an existing backup.
fn opening_secret(args: &BackupSecretArgs) -> Result<BackupSecret> {
    if let Some(p) = &args.recovery_key {
        return Ok(BackupSecret::RecoveryKey(recovery_key(p)?));
    }
    // Not `PassphraseSource::from_flags`: the node's systemd credential is the key
    // passphrase, never the backup's.
    let source = match (&args.backup_passphrase_file, args.backup_passphrase_fd) {
        (Some(f), _) => PassphraseSource::File(f.clone()),
        (None, Some(n)) => PassphraseSource::Fd(n),
        (None, None) => PassphraseSource::Prompt,
    };
    Ok(BackupSecret::Passphrase(
        source.read("Backup passphrase: ")?,
    ))
}

/// A file created owner-only, never over an existing one.
fn create_new(path: &Path) -> Result<std::fs::File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))
}

/// `ilm backup --out FILE`: the running node's snapshot, sealed on this side.
pub(super) fn backup(dir: &DataDir, args: BackupArgs) -> Result<Output> {
    if args.out.exists() {
        bail!("{} exists already; choose a new file", args.out.display());
    }
    let secret = sealing_secret(&args.secret)?;
    let client = AdminClient::for_dir(dir)?;
    let status = client.get("/api/status")?;
    let org_id: OrgId = serde_json::from_value(status["org_id"].clone())
        .context("the node's status names no organisation")?;
    let partial = PathBuf::from(format!("{}.partial", args.out.display()));
    let file = create_new(&partial)?;
    let result = (|| -> Result<(u64, u64, Timestamp)> {
        let download = client.download("/api/backup")?;
        let at = Timestamp(
            download
                .snapshot_at
                .context("the node did not say when it took the snapshot")?,
        );
        let mut bar = Progress::new("backup", download.length.unwrap_or(0));
        let mut out = BufWriter::new(file);
        let archive = backup::seal(
            download.body,
            &mut out,
            org_id,
            at,
            &secret,
            &args.out,
            |n| bar.set(n),
        )?;
        bar.finish();
        if let Some(len) = download.length
            && len != archive
        {
            bail!("the snapshot was cut off ({archive} of {len} bytes); no backup was written");
        }
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok((archive, file.metadata()?.len(), at))
    })();
    let (archive, size, at) = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    // A hard link never replaces a file that appeared meanwhile (a rename would).
    std::fs::hard_link(&partial, &args.out).with_context(|| {
        format!(
            "cannot give {} its final name {} (does it exist now?)",
            partial.display(),
            args.out.display()
        )
    })?;
    std::fs::remove_file(&partial)
        .with_context(|| format!("cannot remove {}", partial.display()))?;
    let sealed_with = match secret {
        BackupSecret::RecoveryKey(k) => format!("recovery key {}", k.key_id()),
        BackupSecret::Passphrase(_) => "a backup passphrase".to_string(),
    };
    Ok(Output::new(
        json!({
            "file": args.out, "bytes": size, "snapshot_bytes": archive,
            "org_id": org_id, "snapshot_at": at, "sealed_with": sealed_with,
        }),
        format!(
            "Backup written to {} ({}), sealed with {sealed_with}.\nSnapshot of {} taken at {}.\nKeep it away from the node; restore it with `ilm --data-dir NEW restore {}`.",
            args.out.display(),
            mb(size),
            org_id.short(),
            super::fmt_time(at),
            args.out.display(),
        ),
    ))
}

/// `ilm restore FILE` into the data directory given with --data-dir.
pub(super) fn restore(dir: &DataDir, args: RestoreArgs) -> Result<Output> {
    let header = backup::inspect(&args.file)?;
    // Say what the file needs before asking for anything.
    if let backup::sealed::Protection::RecoveryKey { key_id } = &header.protection
        && args.secret.recovery_key.is_none()
    {
        bail!("this backup is sealed to recovery key {key_id}; pass it with --recovery-key FILE");
    }
    let secret = opening_secret(&args.secret)?;
    let size = std::fs::metadata(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?
        .len();
    let mut bar = Progress::new("restore", size);
    let restored = backup::restore(&args.file, &secret, dir, super::now(), |n| bar.set(n))?;
    bar.finish();
    let text = format!(
        "Restored the node of {} from its backup of {} into {}:\n  files: {}\n  database records: {}, cases: {}, messages waiting to be sent: {}\nStart it with `ilm --data-dir {} run`: it then asks each peer for what was delivered to it after the backup (and catches up case histories).",
        restored.org_id.short(),
        super::fmt_time(restored.backup_at),
        dir.root().display(),
        restored.files.join(", "),
        restored.records,
        restored.cases,
        restored.outbox_pending,
        dir.root().display(),
    );
    let mut json = serde_json::to_value(&restored)?;
    json["sealed"] = serde_json::to_value(&header.protection)?;
    Ok(Output::new(json, text))
}

/// `ilm recovery-key ...`
pub(super) fn recovery_key_command(cmd: RecoveryKeyCommand) -> Result<Output> {
    match cmd {
        RecoveryKeyCommand::New { out } => {
            let key = RecoveryKey::generate()?;
            DataDir::write_secret_file(&out, key.to_text().as_bytes())?;
            Ok(Output::new(
                json!({ "file": out, "key_id": key.key_id() }),
                format!(
                    "Recovery key {} written to {} (owner-only). Keep it offline and away from the node: whoever holds it can open backups sealed to it.",
                    key.key_id(),
                    out.display()
                ),
            ))
        }
        RecoveryKeyCommand::Split {
            key,
            threshold,
            shares,
            out_dir,
        } => {
            let key = recovery_key(&key)?;
            let made = backup::shares::split(&key, threshold, shares)?;
            std::fs::create_dir(&out_dir).with_context(|| {
                format!(
                    "cannot create {} (it must not exist yet)",
                    out_dir.display()
                )
            })?;
            DataDir::restrict(&out_dir)?;
            let mut files = Vec::new();
            for share in &made {
                let path = out_dir.join(format!("share-{}-of-{}.txt", share.index, share.total));
                DataDir::write_secret_file(&path, share.to_text().as_bytes())?;
                files.push(path);
            }
            Ok(Output::new(
                json!({ "key_id": key.key_id(), "threshold": threshold, "shares": files }),
                format!(
                    "Recovery key {} split into {shares} shares in {}; any {threshold} rebuild it.\nGive each share to a different trusted party, then delete this directory and keep the key itself offline (or destroy it).",
                    key.key_id(),
                    out_dir.display()
                ),
            ))
        }
        RecoveryKeyCommand::Combine { shares, out } => {
            let parsed = shares
                .iter()
                .map(|p| {
                    let text = String::from_utf8(DataDir::read_secret_file(p)?)
                        .with_context(|| format!("{} is not text", p.display()))?;
                    backup::shares::KeyShare::parse(&text)
                        .with_context(|| format!("{}", p.display()))
                })
                .collect::<Result<Vec<_>>>()?;
            let key = backup::shares::combine(&parsed)?;
            DataDir::write_secret_file(&out, key.to_text().as_bytes())?;
            Ok(Output::new(
                json!({ "file": out, "key_id": key.key_id() }),
                format!(
                    "Recovery key {} rebuilt from {} shares and written to {} (owner-only).",
                    key.key_id(),
                    parsed.len(),
                    out.display()
                ),
            ))
        }
    }
}
