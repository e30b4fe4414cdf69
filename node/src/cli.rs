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
    /// Verify an attestation bundle, certificate or signed record offline.
    Verify(VerifyArgs),
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
}
