//! Command-line definitions for the `ilm` binary.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// ILM Network node: worker-voice case handling and remediation across organisations.
#[derive(Debug, Parser)]
#[command(name = "ilm", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// The node's data directory [default: ~/.ilm].
    #[arg(long, global = true, env = "ILM_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Read the passphrase of protected keys from this file's first line (for example a
    /// systemd credential; `$CREDENTIALS_DIRECTORY/ilm-passphrase` is read without this flag).
    #[arg(long, global = true, value_name = "PATH")]
    pub passphrase_file: Option<PathBuf>,
    /// Read the passphrase of protected keys from this inherited file descriptor.
    #[arg(
        long,
        global = true,
        value_name = "N",
        conflicts_with = "passphrase_file"
    )]
    pub passphrase_fd: Option<u32>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a node: keys (owner-only), a commented config.toml and the data directory.
    Init(InitArgs),
    /// Show this node's organisation id, peer id, role and public keys.
    Id,
    /// Network genesis (stewards).
    #[command(subcommand)]
    Network(NetworkCommand),
    /// Membership: request, issue, join, revoke, list.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Verify an attestation bundle, certificate or signed record offline. Exit status: 0
    /// valid against a trusted network, 1 invalid, 2 bad usage, 3 consistent but no trusted
    /// network pinned (give --network, or run in a member's data directory).
    Verify(VerifyArgs),
    /// Run the node daemon (networking, delivery, admin API) until SIGINT/SIGTERM.
    Run(RunArgs),
    /// Show the running node's peers, addresses, outbox depth and membership.
    Status,
    /// List the member peers the running node is connected to.
    Peers,
    /// Show the delivery state of outgoing messages.
    Outbox {
        /// Only entries in this state: pending, delivered or rejected.
        #[arg(long)]
        state: Option<String>,
    },
    /// Cases: open (escalate), list, show, acknowledge, dispute.
    #[command(subcommand)]
    Case(CaseCommand),
    /// Worker contacts at a CSO (intake).
    #[command(subcommand)]
    Contact(ContactCommand),
    /// Escalations addressed to this node, with due dates and overdue marks: what it owes,
    /// soonest due first, then the rest, newest first; a page at a time.
    Inbox {
        /// The page to show, from 1.
        #[arg(long, default_value_t = 1)]
        page: usize,
        /// Cases per page (1 to 10000).
        #[arg(long, default_value_t = crate::worklist::PER_PAGE)]
        per_page: usize,
    },
    /// Acknowledgements and remediations past their due dates that this node can see, most
    /// overdue first, with how many cases each organisation owes something overdue in.
    Overdue {
        /// The most cases listed (1 to 10000); the counts always cover every case.
        #[arg(long, default_value_t = 500)]
        limit: usize,
    },
    /// Remediation attestations: list, co-sign, export a verifiable bundle.
    #[command(subcommand)]
    Attestation(AttestationCommand),
    /// Supply-chain links: propose, accept, list.
    #[command(subcommand)]
    Link(LinkCommand),
    /// A brand's supply chain: linked suppliers, their cases and attestations; each one's
    /// cases a page at a time, newest escalation first.
    SupplyChain {
        /// Only this supplier or agency (its organisation id).
        #[arg(long)]
        supplier: Option<String>,
        /// The page of each one's cases to show, from 1.
        #[arg(long, default_value_t = 1)]
        page: usize,
        /// Cases per page (1 to 10000).
        #[arg(long, default_value_t = 100)]
        per_page: usize,
    },
    /// Start a complete local network with sample data and print how to reach each node.
    Demo(DemoArgs),
    /// Operator accounts of the admin web UI.
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// The node's secret keys at rest.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Erase personal data for real, at a worker's request.
    #[command(subcommand)]
    Erase(EraseCommand),
    /// The node's database.
    #[command(subcommand)]
    Db(DbCommand),
    /// Export the aggregates, scorecards, the case list or a CSO's contacts as JSON or CSV
    /// (personal data only in a contact export asked for with --with-identities).
    #[command(subcommand)]
    Export(ExportCommand),
    /// Network statistics: publish this CSO's counts of a month, or show what CSOs published.
    #[command(subcommand)]
    Statistics(StatisticsCommand),
    /// Recount the dashboards' aggregates from every stored case and contact (the node must
    /// be stopped); with --check, only compare them with a recount.
    Reindex {
        /// Compare instead of rebuilding; exits 1 and lists the differing cells if any.
        #[arg(long)]
        check: bool,
    },
    /// Back up the running node into one sealed file: a consistent snapshot of its database
    /// and keys, sealed to a recovery key or a backup passphrase (the node keeps running).
    Backup(BackupArgs),
    /// Restore a backup into a new data directory (--data-dir, which must hold no node).
    /// When it starts, the node asks its peers for everything delivered after the backup.
    Restore(RestoreArgs),
    /// Recovery keys that backups are sealed to.
    #[command(subcommand)]
    RecoveryKey(RecoveryKeyCommand),
}

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
    Compact,
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

/// `ilm key ...`
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Set, change or remove the passphrase that protects identity.key and vault.key. The
    /// current one comes from --passphrase-file/--passphrase-fd (or the prompt); the new one
    /// from the flags below (or the prompt, twice).
    Passphrase {
        /// Read the new passphrase from this file's first line.
        #[arg(long, value_name = "PATH")]
        new_passphrase_file: Option<PathBuf>,
        /// Read the new passphrase from this inherited file descriptor.
        #[arg(long, value_name = "N", conflicts_with = "new_passphrase_file")]
        new_passphrase_fd: Option<u32>,
        /// Store the keys in the clear again (anyone who copies the data dir gets them).
        #[arg(long, conflicts_with_all = ["new_passphrase_file", "new_passphrase_fd"])]
        remove: bool,
    },
    /// Start a rotation of the signing and encryption keys (the node must be stopped): new
    /// keys wait beside the current ones and a request signed by both goes to the steward,
    /// whose certificate `ilm member join` then installs. The organisation keeps its id.
    Rotate {
        /// Write the rotation request here.
        #[arg(long, value_name = "PATH", required_unless_present = "cancel")]
        out: Option<PathBuf>,
        /// Drop the pending rotation's keys instead.
        #[arg(long, conflicts_with = "out")]
        cancel: bool,
    },
}

/// `ilm operator ...`
#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Add an operator; the password is read from standard input (first line).
    Add {
        /// Login name (letters, digits, '.', '-', '_').
        name: String,
        /// admin, caseworker, intake or readonly.
        #[arg(long, default_value = "caseworker")]
        role: String,
        /// Read the password from standard input (required: it never appears in arguments).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List operators.
    List,
    /// Stop an operator from logging in (its sessions end at once).
    Disable {
        /// Login name.
        name: String,
    },
    /// Let a disabled operator log in again.
    Enable {
        /// Login name.
        name: String,
    },
    /// Set an operator's password; read from standard input (first line).
    Passwd {
        /// Login name.
        name: String,
        /// Read the password from standard input (required: it never appears in arguments).
        #[arg(long)]
        password_stdin: bool,
    },
}

/// Arguments of `ilm demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory for the demo nodes' data (default: a new temporary directory).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Contacts to seed.
    #[arg(long, default_value_t = 2000)]
    pub contacts: u32,
    /// Seed the data, print the summary and stop (instead of running until Ctrl-C).
    #[arg(long)]
    pub exit_after_seed: bool,
    /// Also give the first CSO this many synthetic cases (marked SAMPLE DATA), written
    /// straight into its store before it starts; its suppliers then catch up by history sync.
    #[arg(long, default_value_t = 0)]
    pub cases: u64,
}

/// `ilm contact ...`
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per run; size does not matter
pub enum ContactCommand {
    /// Record a worker contact (identity sealed at rest).
    Add(ContactArgs),
    /// List contacts (without personal data), newest first, with how often each worker
    /// got in touch.
    List {
        /// Words that must all appear (name, phone and notes included for operators who may
        /// see them).
        #[arg(long)]
        search: Option<String>,
        /// Only workers who got in touch more than once.
        #[arg(long)]
        repeat: bool,
        /// Every matching contact instead of one page of 25.
        #[arg(long)]
        all: bool,
        /// Page to show, from 1.
        #[arg(long, default_value_t = 1)]
        page: usize,
    },
    /// Show one contact, with the worker's identity.
    Show {
        /// Contact id.
        id: String,
    },
}

/// Arguments of `ilm contact add`.
#[derive(Debug, Args)]
pub struct ContactArgs {
    /// phone_call, line, facebook, viber, worker_app, in_person or other.
    #[arg(long)]
    pub channel: String,
    /// Language (ISO 639-1, e.g. my, km, lo, ne, th).
    #[arg(long)]
    pub language: String,
    /// Nationality (ISO 3166-1 alpha-2).
    #[arg(long)]
    pub nationality: String,
    /// female, male, other or undisclosed.
    #[arg(long, default_value = "undisclosed")]
    pub gender: String,
    /// under_18, 18_24, 25_34, 35_44, 45_plus or unknown.
    #[arg(long, default_value = "unknown")]
    pub age_band: String,
    /// Sector (e.g. seafood, garment).
    #[arg(long)]
    pub sector: String,
    /// Country of origin.
    #[arg(long)]
    pub origin: String,
    /// Country of work.
    #[arg(long)]
    pub destination: String,
    /// Read the worker's identity and what they reported, as JSON, from standard input:
    /// {"name", "phone", "messenger_id", "id_numbers": [...], "notes"} (name required). Never
    /// from flags, which other local users see in the process list and shell history.
    #[arg(
        long,
        conflicts_with = "identity_file",
        required_unless_present = "identity_file"
    )]
    pub identity_stdin: bool,
    /// Read the same JSON from a file instead.
    #[arg(long, value_name = "FILE")]
    pub identity_file: Option<PathBuf>,
}

/// `ilm attestation ...`
#[derive(Debug, Subcommand)]
pub enum AttestationCommand {
    /// List attestations held by this node.
    List,
    /// Co-sign the attestation draft of a case (remediating party).
    Cosign {
        /// Case reference.
        case: String,
    },
    /// Write the verifiable bundle of a case's attestation to a file.
    Export {
        /// Case reference.
        case: String,
        /// Output file.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

/// `ilm link ...`
#[derive(Debug, Subcommand)]
pub enum LinkCommand {
    /// Propose a link with this node upstream (a brand to a supplier, a supplier to an agency).
    Propose {
        /// brand-supplier or supplier-agency.
        #[arg(long)]
        kind: String,
        /// The other side: organisation id, or a member's name.
        #[arg(long)]
        to: String,
    },
    /// Accept (co-sign) a proposed link.
    Accept {
        /// Link id.
        id: String,
    },
    /// List links.
    List,
}

/// Arguments of `ilm run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Listen address (multiaddr); repeat for several. Replaces config.toml's list.
    #[arg(long, value_name = "MULTIADDR")]
    pub listen: Vec<String>,
    /// Bootstrap member (multiaddr ending in /p2p/PEER_ID); repeat for several.
    #[arg(long, value_name = "MULTIADDR")]
    pub bootstrap: Vec<String>,
    /// Admin API address (default from config.toml: 127.0.0.1:7070).
    #[arg(long, value_name = "ADDR")]
    pub admin_listen: Option<std::net::SocketAddr>,
    /// Discover peers on the local network (development only).
    #[arg(long)]
    pub mdns: bool,
    /// Also serve the web UI and API over TLS on this address, for a team on other machines
    /// (certificate from config.toml's [admin] tls_cert/tls_key, or a self-signed one).
    #[arg(long, value_name = "ADDR")]
    pub admin_tls_listen: Option<std::net::SocketAddr>,
    /// Allow the TLS listener on a non-loopback address (the plain listener stays loopback).
    #[arg(long)]
    pub allow_remote_admin: bool,
    /// Serve the public page of published network statistics on this address (no login;
    /// nothing but what CSOs published). Replaces config.toml's [public] listen.
    #[arg(long, value_name = "ADDR")]
    pub public_listen: Option<std::net::SocketAddr>,
    /// Serve the workers' portal (CSO nodes) over plain HTTP on this loopback address, for a
    /// TLS reverse proxy. Replaces config.toml's [portal] listen.
    #[arg(long, value_name = "ADDR")]
    pub portal_listen: Option<std::net::SocketAddr>,
    /// Serve the workers' portal over TLS on this address (may face the internet).
    /// Replaces config.toml's [portal] tls_listen.
    #[arg(long, value_name = "ADDR")]
    pub portal_tls_listen: Option<std::net::SocketAddr>,
}

/// Which cases `ilm case list` shows (the same query as the web UI's case list).
#[derive(Debug, Args)]
pub struct CaseListArgs {
    /// Words that must all appear (reference, site, organisation names, issue names).
    #[arg(long)]
    pub search: Option<String>,
    /// Only this status (open, escalated, acknowledged, disputed, remediation_planned,
    /// remediating, remediation_reported, resolved, partly_resolved, not_resolved, reopened,
    /// closed).
    #[arg(long)]
    pub status: Option<String>,
    /// Only cases with something overdue.
    #[arg(long)]
    pub overdue: bool,
    /// Only cases with this organisation (a member's name or id).
    #[arg(long)]
    pub party: Option<String>,
    /// Only cases with this issue category code.
    #[arg(long)]
    pub category: Option<String>,
    /// Include closed cases.
    #[arg(long)]
    pub closed: bool,
    /// Order: opened (newest first), due (soonest first) or status.
    #[arg(long, default_value = "opened")]
    pub sort: String,
    /// Show every matching case instead of one page of 25.
    #[arg(long)]
    pub all: bool,
    /// Page to show, from 1.
    #[arg(long, default_value_t = 1)]
    pub page: usize,
}

/// `ilm case ...`
#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// Open a case by escalating issues to an agency, supplier, brand or government office.
    Open(OpenCaseArgs),
    /// List cases this node holds (including cases opened but not escalated yet), newest
    /// first; closed cases only with --closed.
    List(CaseListArgs),
    /// Show a case's signed timeline.
    Show {
        /// Case reference (32 hex digits).
        case: String,
    },
    /// Acknowledge an escalation addressed to this node.
    Ack {
        /// Case reference.
        case: String,
        /// Optional note.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Dispute an escalation addressed to this node.
    Dispute {
        /// Case reference.
        case: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Open a case at a CSO from recorded contacts (not yet escalated).
    New(NewCaseArgs),
    /// Record that workers consent to their identity going to one named recipient (each
    /// worker named with --contact; withdraw with --withdraw).
    Consent {
        /// Case reference.
        case: String,
        /// The recipient organisation id.
        #[arg(long)]
        recipient: String,
        /// A worker (contact id) who consented; repeat for each.
        #[arg(long = "contact", required = true)]
        contacts: Vec<String>,
        /// Withdraw these workers' consent instead.
        #[arg(long)]
        withdraw: bool,
    },
    /// Escalate a case's issues to a supplier, agency, brand or government office.
    Escalate {
        /// Case reference.
        case: String,
        /// The party asked to act: organisation id, or a member's name.
        #[arg(long)]
        to: String,
        /// What is asked for.
        #[arg(long)]
        remedy: String,
        /// Redacted description (no worker identity).
        #[arg(long)]
        description: String,
        /// Days until acknowledgement is due.
        #[arg(long, default_value_t = 7)]
        ack_days: u64,
        /// Days until remediation is due.
        #[arg(long, default_value_t = 60)]
        remediate_days: u64,
    },
    /// Record a remediation plan (escalated party).
    Plan {
        /// Case reference.
        case: String,
        /// What will be done.
        #[arg(long)]
        description: String,
        /// Days until it should be complete.
        #[arg(long, default_value_t = 30)]
        target_days: u64,
    },
    /// Record a remediation action with evidence (escalated party).
    Action {
        /// Case reference.
        case: String,
        /// What was done.
        #[arg(long)]
        description: String,
        /// Workers who benefited.
        #[arg(long)]
        workers: u32,
        /// Amount repaid, as MINOR_UNITS:CURRENCY (e.g. 1500000:THB).
        #[arg(long)]
        amount: Option<String>,
        /// Evidence file (its SHA-256 is recorded; the file stays here); repeat for several.
        #[arg(long)]
        evidence: Vec<PathBuf>,
    },
    /// Report remediation complete (escalated party).
    Complete {
        /// Case reference.
        case: String,
        /// Summary of what was done.
        #[arg(long)]
        summary: String,
    },
    /// Record what the workers say about the remediation (CSO).
    Verify {
        /// Case reference.
        case: String,
        /// resolved, partly_resolved or not_resolved.
        #[arg(long)]
        verdict: String,
        /// Workers consulted.
        #[arg(long)]
        workers: u32,
        /// Notes (no worker identity).
        #[arg(long, default_value = "")]
        note: String,
    },
}

/// Arguments of `ilm case new`.
#[derive(Debug, Args)]
pub struct NewCaseArgs {
    /// Contact id; repeat for several.
    #[arg(long = "contact", required = true)]
    pub contacts: Vec<String>,
    /// Workers affected (collective cases: all of them).
    #[arg(long)]
    pub workers: u32,
    /// Issue category; repeat for several.
    #[arg(long = "issue", required = true)]
    pub issues: Vec<String>,
    /// Recruitment fees paid, as MINOR_UNITS:CURRENCY (with the recruitment_fees issue).
    #[arg(long)]
    pub fee: Option<String>,
    /// The worksite's supplier (organisation id or member name).
    #[arg(long)]
    pub supplier: Option<String>,
    /// A recruitment agency involved (id or name); repeat for several.
    #[arg(long = "agency")]
    pub agencies: Vec<String>,
    /// Worksite.
    #[arg(long)]
    pub site: String,
}

/// Arguments of `ilm case open`.
#[derive(Debug, Args)]
pub struct OpenCaseArgs {
    /// The party asked to act: organisation id, or a member's name.
    #[arg(long)]
    pub to: String,
    /// Issue category code (see docs/PROTOCOL.md); repeat for several.
    #[arg(long = "category", required = true)]
    pub categories: Vec<String>,
    /// Workers affected.
    #[arg(long, default_value_t = 1)]
    pub workers: u32,
    /// Worksite.
    #[arg(long)]
    pub site: String,
    /// What is asked for.
    #[arg(long)]
    pub remedy: String,
    /// Redacted description (no worker identity).
    #[arg(long)]
    pub description: String,
    /// Days until acknowledgement is due.
    #[arg(long, default_value_t = 7)]
    pub ack_days: u64,
    /// Days until remediation is due.
    #[arg(long, default_value_t = 60)]
    pub remediate_days: u64,
}

/// Arguments of `ilm init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Organisation role: steward, cso, agency, supplier, brand or government.
    #[arg(long)]
    pub role: String,
    /// Organisation name.
    #[arg(long)]
    pub name: String,
    /// Country of operation (ISO 3166-1 alpha-2, e.g. TH).
    #[arg(long)]
    pub country: String,
}

/// `ilm network ...`
#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// Create a new network with this node as its steward, and write its genesis file.
    Create {
        /// Network name.
        #[arg(long)]
        name: String,
        /// Where to write the genesis (give it to every member).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Hand a steward's place to a new key (signed by the outgoing steward, every other
    /// steward in office and the incoming one; nodes stopped while signing).
    #[command(subcommand)]
    Succession(SuccessionCommand),
}

/// `ilm network succession ...`
#[derive(Debug, Subcommand)]
pub enum SuccessionCommand {
    /// On the outgoing steward's node: start the succession record.
    Start {
        /// The incoming steward's organisation id (from `ilm id` on its node).
        #[arg(long, value_name = "ORG_ID")]
        to: String,
        /// Where to write the record to pass on for signatures.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// On each other steward's node, then on the incoming steward's: sign the record in
    /// place. The incoming steward's signature completes it and installs it on its node.
    Sign {
        /// The succession record (updated in place).
        file: PathBuf,
        /// The network genesis, on an incoming steward's node that has not joined yet.
        #[arg(long, value_name = "FILE")]
        network: Option<PathBuf>,
    },
}

/// `ilm member ...`
#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Write a signed membership request for the steward.
    Request {
        /// Where to write the request.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Issue a membership certificate for a request (stewards).
    Issue {
        /// The request file.
        request: PathBuf,
        /// Where to write the certificate.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Days the certificate is valid.
        #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u64).range(1..=3650))]
        valid_days: u64,
    },
    /// Join a network with the steward's genesis and this node's certificate.
    Join {
        /// The network genesis file.
        network: PathBuf,
        /// This node's certificate file.
        certificate: PathBuf,
        /// A steward succession the certificate's issuer took office by (repeat, oldest
        /// first).
        #[arg(long, value_name = "FILE")]
        succession: Vec<PathBuf>,
    },
    /// Revoke an organisation's membership (stewards).
    Revoke {
        /// The organisation id (64 hex digits).
        org_id: String,
        /// Why (no personal data).
        #[arg(long, default_value = "revoked by steward")]
        reason: String,
        /// Also write the revocation to this file.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// List the certificates this steward issued and the revocations known.
    List,
}

/// Arguments of `ilm verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The file: attestation bundle, certificate, revocation, genesis or other signed record.
    pub file: PathBuf,
    /// Trusted network genesis: certificates and revocations are checked against it, and a
    /// bundle must belong to it [default: this node's network, if any].
    #[arg(long, value_name = "FILE")]
    pub network: Option<PathBuf>,
    /// Revocations to apply (a revocation record, a list of them, or the admin API's
    /// `/api/revocations` answer), besides those this node knows. A signature made at or after
    /// its signer's revocation makes the file invalid.
    #[arg(long, value_name = "FILE")]
    pub revocations: Option<PathBuf>,
}
