//! The commands that keep and give out a node's data: backups and restores, recovery keys,
//! erasure, the database, exports and published statistics.

use super::*;

/// What seals or opens a backup: a recovery key file, or a backup passphrase (from a file,
/// a file descriptor or, without these flags, the terminal).
#[derive(Debug, Clone, clap::Args)]
pub struct BackupSecretArgs {
    /// A recovery key file (from `ilm recovery-key new`).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["backup_passphrase_file", "backup_passphrase_fd"])]
    pub recovery_key: Option<PathBuf>,
    /// Read the backup passphrase from this file's first line.
    #[arg(long, value_name = "PATH", conflicts_with = "backup_passphrase_fd")]
    pub backup_passphrase_file: Option<PathBuf>,
    /// Read the backup passphrase from this inherited file descriptor.
    #[arg(long, value_name = "FD")]
    pub backup_passphrase_fd: Option<u32>,
}

/// `ilm backup`
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The backup file to write (it must not exist yet).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// How the backup is sealed.
    #[command(flatten)]
    pub secret: BackupSecretArgs,
}

/// `ilm restore`
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The backup file.
    pub file: PathBuf,
    /// How the backup is opened.
    #[command(flatten)]
    pub secret: BackupSecretArgs,
}

/// `ilm recovery-key ...`
#[derive(Debug, Subcommand)]
pub enum RecoveryKeyCommand {
    /// Make a new recovery key file (owner-only). Keep it offline, away from the node.
    New {
        /// Where to write it (it must not exist yet).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Split a recovery key into Shamir shares for trusted parties: any THRESHOLD of them
    /// rebuild it, fewer reveal nothing. Writes share-I-of-N.txt files (owner-only).
    Split {
        /// The recovery key file.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// How many shares rebuild the key (at least 2).
        #[arg(long)]
        threshold: u8,
        /// How many shares to make (at most 255).
        #[arg(long)]
        shares: u8,
        /// A new directory for the share files.
        #[arg(long, value_name = "DIR")]
        out_dir: PathBuf,
    },
    /// Rebuild a recovery key from enough share files, and check it is the right one.
    Combine {
        /// The share files.
        #[arg(required = true)]
        shares: Vec<PathBuf>,
        /// Where to write the rebuilt key (it must not exist yet).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

/// `ilm erase ...`
#[derive(Debug, Subcommand)]
pub enum EraseCommand {
    /// Erase a worker's identity and the notes of one contact (CSO, admin token). The case's
    /// signed events and the contact's statistics stay; the sealed bytes leave the disk when
    /// the node next starts (or with `ilm db compact` while it is stopped).
    Contact {
        /// The contact id (from `ilm contact list`).
        id: String,
    },
}

/// `ilm db ...`
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Rewrite the database without erased and deleted bytes (the node must be stopped; it
    /// also does this at start when something was erased).
    Compact {
        /// Only when the next start would: something erased, or the log grown past four
        /// times what the last compaction left and by more than 256 MiB (or past 256 MiB
        /// with no size recorded). `ilm run` runs this before it starts. A compaction for
        /// size that fails changes nothing and exits with status 1.
        #[arg(long)]
        if_due: bool,
    },
    /// Read every record of the database and say whether it is whole (the node must be
    /// stopped; `ilm run` does this before it starts).
    Check,
}

/// `ilm export ...`
#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Every aggregate cell (counts by month, status, category, corridor...).
    Aggregates {
        /// Output format.
        #[arg(long, value_enum, default_value = "csv")]
        format: ExportFormat,
        /// Write here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// A brand's scorecard of each linked supplier (the node must be running), narrowed as
    /// the Supply chain page narrows it.
    Scorecards {
        /// Output format.
        #[arg(long, value_enum, default_value = "csv")]
        format: ExportFormat,
        /// Write here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Only cases escalated on or after this day (YYYY-MM-DD).
        #[arg(long, value_name = "DAY", default_value = "")]
        from: String,
        /// Only cases escalated on or before this day (YYYY-MM-DD).
        #[arg(long, value_name = "DAY", default_value = "")]
        to: String,
        /// Only cases with this issue category (a codebook code).
        #[arg(long, value_name = "CODE", default_value = "")]
        category: String,
        /// Only cases in this sector (e.g. seafood).
        #[arg(long, value_name = "CODE", default_value = "")]
        sector: String,
        /// Only cases on this corridor: origin and destination country codes (e.g. MM-TH).
        #[arg(long, value_name = "FROM-TO", default_value = "")]
        corridor: String,
    },
    /// A CSO's worker contacts (the node must be running): without personal data, or with
    /// the workers' identities when asked for with --with-identities (logged by the node).
    Contacts {
        /// Include names, phone numbers, messenger ids and ID numbers. Keep the file safe.
        #[arg(long)]
        with_identities: bool,
        /// Write here instead of standard output (CSV).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// The node's case list, as its Cases page shows it (the node must be running).
    Cases {
        /// Output format.
        #[arg(long, value_enum, default_value = "csv")]
        format: ExportFormat,
        /// Write here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// `ilm statistics ...` (the node must be running).
#[derive(Debug, Subcommand)]
pub enum StatisticsCommand {
    /// Sign this CSO's counts of an ended month, small counts suppressed, and send them to
    /// every member. A month is published once.
    Publish {
        /// The month, YYYY-MM.
        #[arg(long, value_name = "YYYY-MM")]
        month: String,
    },
    /// The network-wide picture of what CSOs published, and the months this CSO may still
    /// publish.
    Show,
}

/// A file format for exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Comma-separated values with a header line (RFC 4180 quoting).
    Csv,
    /// One JSON document.
    Json,
}
