//! The storage schema: every table of the node's database with the type of its records and
//! how its ids are made, the schema version, and the migrations between versions. The only
//! place that decides what is stored under which key; `crate::store` knows sled, not this.

use crate::aggregates::lists::Block;
use crate::intake::{Contact, LocalCase};
use crate::records::{
    CaseMeta, CaseRecord, IntakeKey, Operator, OutboxEntry, ProcessedMarker, Pruned, StatusReport,
    StoredAttestation, StoredLink, StoredPublication,
};
use crate::store::{Dictionary, Store, StoreError, Table};
use crate::vault::Sealed;
use ilm_protocol::{CaseRef, CaseState, EventHash, MessageId, OrgId, SignedRecord};
use std::path::Path;

mod migrations;
#[cfg(test)]
pub(crate) use migrations::remove_all;
pub(crate) use migrations::remove_all_unmarked;
pub use migrations::{MIGRATIONS, Migration};

/// The schema version this build writes. Databases of older versions are migrated when
/// opened; newer ones are refused.
pub const SCHEMA_VERSION: u32 = 5;

/// Contacts newest first, in blocks of keys (`contact_list::groups::key`): every contact,
/// each operator's, and those of workers who got in touch more than once; each of those
/// also per set of coded values (`contact_list::groups::by_values`).
pub const CONTACT_LISTS: Table<Block> = Table::new(b'M', "contacts by time");
/// Per contact whose sealed identity has a phone number or messenger id: its worker group
/// and the keyed hashes of those (`contact_list::groups::Caller`).
pub const CALLERS: Table<crate::contact_list::groups::Caller> =
    Table::new(b'h', "contacts' worker keys");
/// The worker group of each keyed hash of a phone number or messenger id.
pub const WORKER_KEYS: Table<crate::intake::ContactId> = Table::new(b'p', "worker keys");
/// The contacts of each worker group, by the group's id (one of its contacts' ids).
pub const WORKER_GROUPS: Table<Vec<crate::intake::ContactId>> = Table::new(b'g', "worker groups");
/// How many contacts each list of [`CONTACT_LISTS`] holds, by the list's name.
pub const CONTACT_COUNTS: Table<u64> = Table::new(b'f', "contact list counts");
/// The version of the contact index this node built (`contact_list::groups::VERSION`).
pub const CONTACT_INDEX: Table<u32> = Table::new(b'F', "contact index version");
/// The contact search index's rows of signature bits, by block and row
/// (`contact_list::signatures`).
pub const SEARCH_ROWS: Table<crate::contact_list::signatures::Row> =
    Table::new(b'q', "contact search rows");
/// Each indexed contact's column in the search index, by contact id.
pub const SEARCH_COLUMNS: Table<u64> = Table::new(b'j', "contact search columns");
/// The contact of each column of the search index and its set of values, by column (8 bytes,
/// big-endian).
pub const SEARCH_PLACES: Table<crate::contact_list::signatures::Place> =
    Table::new(b't', "contact search places");
/// Every set of coded values contacts have (`contact_list::signatures::ValueSet`).
pub const CONTACT_VALUES: Table<crate::contact_list::signatures::ValueSet> =
    Table::new(b'v', "contact value sets");
/// The words of values a search finds in contacts' notes from lists, each with the search
/// column from which every contact was checked for it (`contact_list::mentions`).
pub const MENTION_WORDS: Table<u64> = Table::new(b'b', "contact mention words");
/// The words of values each contact's identity and notes mention, as keyed hashes, by
/// contact id (none for a contact that mentions none).
pub const MENTIONS: Table<Vec<crate::contact_list::mentions::MentionId>> =
    Table::new(b'u', "contact mentions");

/// Messages processed, by message id (the marker that makes redelivery a no-op).
pub const PROCESSED: Table<ProcessedMarker> = Table::new(b'm', "processed messages");
/// Case events, by case and event hash ([`event_id`]); compressed, since each signed body
/// repeats the same JSON field names (the signed bytes read back exactly).
pub const EVENTS: Table<SignedRecord> =
    Table::compressed(b'e', "case events", Dictionary::CaseEvents);
/// The case index schema versions 1 and 2 kept, by case: no longer written (the read model,
/// [`CASE_STATES`], lists the cases). What is left of it lists the cases of an earlier
/// release the core's start-up check has still to make sure of (their state and heads);
/// the check removes each as it does.
pub const CASES: Table<CaseMeta> = Table::new(b'c', "cases");
/// The read model: each case's lifecycle state and heads, written in the same batch as its
/// events (read through `crate::cases`); compressed, since every copy repeats the same
/// field names and this table holds one record per case.
pub const CASE_STATES: Table<CaseRecord> =
    Table::compressed(b'C', "case states", Dictionary::CaseRecords);
/// Outgoing messages, by message id and recipient ([`outbox_id`]).
pub const OUTBOX: Table<OutboxEntry> = Table::new(b'o', "outbox");
/// Counts of outbox entries pruned, under [`PRUNED_ID`].
pub const PRUNED: Table<Pruned> = Table::new(b'n', "pruned outbox counts");
/// Member certificates, by organisation.
pub const CERTIFICATES: Table<SignedRecord> = Table::new(b'k', "member certificates");
/// Incremental aggregates (`aggregates.rs`), by cell name: those not kept per unit
/// ([`AGGREGATE_UNITS`]).
pub const AGGREGATES: Table<i64> = Table::new(b'A', "aggregates");
/// The aggregates kept per unit (`aggregates::units`: at a brand, an organisation's day or
/// month, or its day or month of one facet), each unit's cells in one record, by the unit's
/// prefix.
pub const AGGREGATE_UNITS: Table<std::collections::BTreeMap<String, i64>> =
    Table::new(b'@', "aggregates per unit");
/// Steward successions, by record digest.
pub const SUCCESSIONS: Table<SignedRecord> = Table::new(b'S', "steward successions");
/// Worker contacts (CSO; personal data sealed with the vault key), by contact id.
pub const CONTACTS: Table<Contact> = Table::new(b'w', "contacts");
/// The CSO's own view of its cases (workers, issues, consent), by case.
pub const LOCAL_CASES: Table<LocalCase> = Table::new(b'L', "local cases");
/// Remediation attestations, drafts and complete, by case.
pub const ATTESTATIONS: Table<StoredAttestation> = Table::new(b'a', "attestations");
/// Supply-chain links, proposed and complete, by link id.
pub const LINKS: Table<StoredLink> = Table::new(b'l', "links");
/// Worker identities disclosed to this node (a sealed `ReceivedDisclosure`), by
/// [`disclosure_id`].
pub const DISCLOSURES: Table<Sealed> = Table::new(b'd', "received disclosures");
/// Case status reports received (brands), by case, sending CSO and party ([`report_id`]).
pub const STATUS_REPORTS: Table<StatusReport> = Table::new(b's', "status reports");

/// The id of a status report: the case, the CSO that sent it, then the supplier or agency it
/// concerns (a case escalated to a supplier and to its agency has one report of each).
pub fn report_id(case: &CaseRef, cso: &OrgId, party: &OrgId) -> Vec<u8> {
    [case.as_bytes().as_slice(), cso.as_bytes(), party.as_bytes()].concat()
}

/// The id status reports were kept under before they named the party: the case and the
/// CSO (only suppliers' cases were reported then). A report under it is replaced by the next
/// one for the same case, CSO and supplier.
pub fn legacy_report_id(case: &CaseRef, cso: &OrgId) -> Vec<u8> {
    [case.as_bytes().as_slice(), cso.as_bytes()].concat()
}
/// Operator accounts of the admin UI, by name.
pub const OPERATORS: Table<Operator> = Table::new(b'O', "operators");
/// Contacts already recorded for an intake form, by operator and the form's idempotency key
/// ([`intake_key_id`]), so a second submit of the same form returns the first contact.
pub const INTAKE_KEYS: Table<IntakeKey> = Table::new(b'i', "intake idempotency keys");

/// The retention record (last sweep, totals), under one id.
pub const RETENTION: Table<crate::retention::RetentionState> = Table::new(b'r', "retention");

/// The restore record of a database that came from a backup, under one id.
pub const RESTORE: Table<crate::backup::RestoreState> = Table::new(b'R', "restore");

/// Published statistics, this node's and those received, by month and publisher
/// ([`publication_id`]).
pub const PUBLICATIONS: Table<StoredPublication> = Table::new(b'P', "published statistics");

/// Improvement-plan activities (this supplier's or agency's own, or received), the latest
/// version of each, by organisation and activity ([`improvement_id`]).
pub const IMPROVEMENTS: Table<SignedRecord> = Table::new(b'I', "improvement activities");

/// The id of an improvement activity: the organisation, then the activity id.
pub fn improvement_id(org: &OrgId, id: &ilm_protocol::ActivityId) -> Vec<u8> {
    [org.as_bytes().as_slice(), id.as_bytes()].concat()
}

/// Open cases by earliest due date (`aggregates::due`), in blocks (`aggregates::lists`).
pub const DUE: Table<Block> = Table::new(b'D', "open cases by due date");

/// Open cases by party and that party's earliest due date (`aggregates::due`), in blocks.
pub const PARTY_DUE: Table<Block> = Table::new(b'Y', "open cases by party and due date");

/// Per party, the cases escalated to it in which it owes nothing, newest first
/// (`aggregates::due::SETTLED`), in blocks.
pub const PARTY_SETTLED: Table<Block> = Table::new(b'E', "cases by party owing nothing");

/// At a brand, per party a status report concerns, its reports newest first (all, and per
/// category, sector and corridor) and its open ones by the earliest date it owes something
/// by (`aggregates::reports`, `aggregates::report_facets`), and the case-level lists
/// (`aggregates::chain`), in blocks.
pub const REPORT_LISTS: Table<Block> = Table::new(b'X', "status reports by party");

/// At a brand, per party a status report concerns and per category, sector and corridor,
/// what its scorecard counts of each of its reports that have it, packed beside the
/// report's key, newest first (`aggregates::report_figures`), in blocks.
pub const REPORT_FIGURES: Table<Block> =
    Table::new(b'x', "status reports' figures by party and facet");

/// Cases not closed, newest first (`aggregates::opened`), in blocks.
pub const OPENED: Table<Block> = Table::new(b'N', "open cases by opening date");

/// Each case's heads as schema version 2 kept them, by case: no longer written (they are in
/// the case's [`CASE_STATES`] record) and moved there by the migration to version 3.
pub const HEADS: Table<Vec<EventHash>> = Table::new(b'H', "case heads");

/// The case list's search index (`aggregates::terms`): each term's cases in blocks
/// (`aggregates::lists`).
pub const TERMS: Table<Block> = Table::new(b'T', "cases by search term");

/// Reports raised through the workers' portal: thread (passphrase hash, limits, sealed
/// messages) by contact id.
pub const PORTAL_THREADS: Table<crate::portal::thread::Thread> = Table::new(b'W', "portal threads");

/// The contact of each portal receipt, by the receipt code's hash.
pub const RECEIPTS: Table<crate::intake::ContactId> = Table::new(b'Q', "portal receipts");

/// Know-your-rights pages the CSO writes for the portal, by corridor then language.
pub const RIGHTS_PAGES: Table<crate::portal::rights::RightsPage> =
    Table::new(b'K', "know-your-rights pages");

/// Broker alerts (this CSO's own, or received from other CSOs; at an agency, those it
/// proposed once published), the latest version of each, by reviewer and alert
/// ([`alert_id`]).
pub const ALERTS: Table<SignedRecord> = Table::new(b'B', "broker alerts");

/// Proposed broker alerts: at a CSO, those waiting for its review; at an agency, those it
/// sent. By proposer and alert ([`alert_id`]).
pub const ALERT_PROPOSALS: Table<crate::records::StoredProposal> =
    Table::new(b'Z', "proposed broker alerts");

/// The id of an alert or proposal: its reviewer (or proposer), then the alert id.
pub fn alert_id(org: &OrgId, id: &ilm_protocol::AlertId) -> Vec<u8> {
    [org.as_bytes().as_slice(), id.as_bytes()].concat()
}

/// Job listings (this agency's or supplier's own, or received at a CSO), the latest version
/// of each, by publisher and listing ([`listing_id`]).
pub const LISTINGS: Table<SignedRecord> = Table::new(b'J', "job listings");

/// The id of a job listing: the publisher, then the listing id.
pub fn listing_id(publisher: &OrgId, id: &ilm_protocol::ListingId) -> Vec<u8> {
    [publisher.as_bytes().as_slice(), id.as_bytes()].concat()
}

/// Workers' ratings a CSO collected, by rated organisation then the contact keyed with the
/// vault key (`ratings::rating_id`).
pub const RATINGS: Table<crate::ratings::StoredRating> = Table::new(b'G', "workers' ratings");

/// Rating summaries (this CSO's own, or received), the latest of each CSO about each
/// organisation ([`rating_summary_id`]).
pub const RATING_SUMMARIES: Table<SignedRecord> = Table::new(b'U', "rating summaries");

/// The id of a rating summary: the organisation rated, then the CSO.
pub fn rating_summary_id(org: &OrgId, publisher: &OrgId) -> Vec<u8> {
    [org.as_bytes().as_slice(), publisher.as_bytes()].concat()
}

/// Rated organisations' public answers, the latest of each, by organisation.
pub const RATING_ANSWERS: Table<SignedRecord> = Table::new(b'V', "answers to ratings");

/// The id of a publication: `YYYY-MM` then the publisher's id, so a scan runs by month.
pub fn publication_id(month: ilm_protocol::Month, publisher: &OrgId) -> Vec<u8> {
    [month.to_string().as_bytes(), publisher.as_bytes()].concat()
}

/// The id of the one record of [`PRUNED`].
pub const PRUNED_ID: &[u8] = b"outbox-pruned";

/// The prefix and name of every table, for the check that no two share a prefix.
pub const PREFIXES: &[(u8, &str)] = &[
    (PROCESSED.prefix(), PROCESSED.name()),
    (EVENTS.prefix(), EVENTS.name()),
    (CASES.prefix(), CASES.name()),
    (CASE_STATES.prefix(), CASE_STATES.name()),
    (OUTBOX.prefix(), OUTBOX.name()),
    (PRUNED.prefix(), PRUNED.name()),
    (CERTIFICATES.prefix(), CERTIFICATES.name()),
    (SUCCESSIONS.prefix(), SUCCESSIONS.name()),
    (AGGREGATES.prefix(), AGGREGATES.name()),
    (AGGREGATE_UNITS.prefix(), AGGREGATE_UNITS.name()),
    (CONTACTS.prefix(), CONTACTS.name()),
    (LOCAL_CASES.prefix(), LOCAL_CASES.name()),
    (ATTESTATIONS.prefix(), ATTESTATIONS.name()),
    (LINKS.prefix(), LINKS.name()),
    (DISCLOSURES.prefix(), DISCLOSURES.name()),
    (STATUS_REPORTS.prefix(), STATUS_REPORTS.name()),
    (OPERATORS.prefix(), OPERATORS.name()),
    (INTAKE_KEYS.prefix(), INTAKE_KEYS.name()),
    (RETENTION.prefix(), RETENTION.name()),
    (RESTORE.prefix(), RESTORE.name()),
    (PUBLICATIONS.prefix(), PUBLICATIONS.name()),
    (IMPROVEMENTS.prefix(), IMPROVEMENTS.name()),
    (DUE.prefix(), DUE.name()),
    (PARTY_DUE.prefix(), PARTY_DUE.name()),
    (PARTY_SETTLED.prefix(), PARTY_SETTLED.name()),
    (REPORT_LISTS.prefix(), REPORT_LISTS.name()),
    (REPORT_FIGURES.prefix(), REPORT_FIGURES.name()),
    (OPENED.prefix(), OPENED.name()),
    (TERMS.prefix(), TERMS.name()),
    (HEADS.prefix(), HEADS.name()),
    (PORTAL_THREADS.prefix(), PORTAL_THREADS.name()),
    (RECEIPTS.prefix(), RECEIPTS.name()),
    (RIGHTS_PAGES.prefix(), RIGHTS_PAGES.name()),
    (ALERTS.prefix(), ALERTS.name()),
    (LISTINGS.prefix(), LISTINGS.name()),
    (RATINGS.prefix(), RATINGS.name()),
    (RATING_SUMMARIES.prefix(), RATING_SUMMARIES.name()),
    (RATING_ANSWERS.prefix(), RATING_ANSWERS.name()),
    (ALERT_PROPOSALS.prefix(), ALERT_PROPOSALS.name()),
    (CONTACT_LISTS.prefix(), CONTACT_LISTS.name()),
    (CONTACT_COUNTS.prefix(), CONTACT_COUNTS.name()),
    (CALLERS.prefix(), CALLERS.name()),
    (WORKER_KEYS.prefix(), WORKER_KEYS.name()),
    (WORKER_GROUPS.prefix(), WORKER_GROUPS.name()),
    (CONTACT_INDEX.prefix(), CONTACT_INDEX.name()),
    (SEARCH_ROWS.prefix(), SEARCH_ROWS.name()),
    (SEARCH_COLUMNS.prefix(), SEARCH_COLUMNS.name()),
    (SEARCH_PLACES.prefix(), SEARCH_PLACES.name()),
    (CONTACT_VALUES.prefix(), CONTACT_VALUES.name()),
    (MENTION_WORDS.prefix(), MENTION_WORDS.name()),
    (MENTIONS.prefix(), MENTIONS.name()),
];

/// The id of one intake idempotency key: operator name, a zero byte, then the key.
pub fn intake_key_id(operator: &str, key: &str) -> Vec<u8> {
    [operator.as_bytes(), &[0], key.as_bytes()].concat()
}

/// The id of one event: case, then event hash (so a case's events scan together).
pub fn event_id(case: &CaseRef, hash: &EventHash) -> Vec<u8> {
    [case.as_bytes().as_slice(), hash.as_bytes()].concat()
}

/// The id of one outbox entry: message id, then recipient.
pub fn outbox_id(message: &MessageId, recipient: &OrgId) -> Vec<u8> {
    [message.as_bytes().as_slice(), recipient.as_bytes()].concat()
}

/// The id of one received disclosure: case, then the message that carried it.
pub fn disclosure_id(case: &CaseRef, message: &MessageId) -> Vec<u8> {
    [case.as_bytes().as_slice(), message.as_bytes()].concat()
}

/// Opens the node's database: a new one gets the current version; an older one is migrated
/// (each step recorded as it completes); a newer one is refused with a clear error.
pub fn open(path: &Path) -> Result<Store, StoreError> {
    open_for(path, crate::store::Reads::Views)
}

/// [`open`], for `reads`: a command that reads every record in a process of its own opens
/// it for [`crate::store::Reads::Whole`].
pub fn open_for(path: &Path, reads: crate::store::Reads) -> Result<Store, StoreError> {
    let store = Store::open_unversioned_for(path, reads)?;
    migrations::migrate(&store, SCHEMA_VERSION, MIGRATIONS)?;
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_table_has_its_own_prefix() {
        let mut seen = HashSet::new();
        for (prefix, name) in PREFIXES {
            assert!(
                seen.insert(prefix),
                "{name} shares prefix {}",
                *prefix as char
            );
        }
    }
}
