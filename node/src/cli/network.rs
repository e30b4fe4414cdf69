//! The commands that run the network: its stewards' succession and its members.

use super::*;

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
