//! The commands of a caseworker's day: contacts, cases, attestations and links to
//! suppliers.

use super::*;

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
