//! Command-line definitions for the `ilm` binary: the top-level commands and the node's
//! own here; the others by what they are for (`data`, `casework`, `network`).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

mod casework;
mod data;
mod network;

pub use casework::{
    AttestationCommand, CaseCommand, CaseListArgs, ContactArgs, ContactCommand, LinkCommand,
    NewCaseArgs, OpenCaseArgs,
};
pub use data::{
    BackupArgs, BackupSecretArgs, DbCommand, EraseCommand, ExportCommand, ExportFormat,
    RecoveryKeyCommand, RestoreArgs, StatisticsCommand,
};
pub use network::{MemberCommand, NetworkCommand, SuccessionCommand};

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
    /// be stopped; the contact index is built again at its next start); with --check, only
    /// compare them with a recount, and the contact index with its contacts.
    Reindex {
        /// Compare instead of rebuilding: the aggregates, then the contact index (what it
        /// keeps of identities and notes with the vault's key, unlocked as the node's start
        /// unlocks it); exits 1 and lists what differs.
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
    /// Make a new vault key for a node whose vault.key is lost for good, with no backup that
    /// holds it (the node must be stopped). What the lost key sealed no longer opens: the
    /// identities and notes of the contacts recorded before, the disclosures received, the
    /// portal's threads. Put the key back from a backup instead whenever you can.
    ReplaceVault {
        /// Confirm that the vault key is lost for good.
        #[arg(long)]
        lost: bool,
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
