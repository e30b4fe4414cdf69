//! Broker alerts as the portal and the CSO's page show them: signed records of the CSOs
//! that reviewed them (`core::alert`), shown while they verify now against a current CSO's
//! keys, are not withdrawn and have not expired; and the proposals agencies sent this CSO.

use crate::membership::MembershipState;
use crate::records::StoredProposal;
use crate::schema;
use crate::store::{Store, StoreError};
use ilm_protocol::{AlertProposal, AlertText, BrokerAlert, OrgId, Role, SignedRecord, Timestamp};
use serde::Serialize;

/// Longest title a caseworker or agency writes, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest text, in characters.
pub const MAX_BODY_CHARS: usize = 4_000;

/// Checks a text written at this node for the portal: a portal language, and lengths in
/// characters (the protocol's limits are in bytes).
pub fn check_text(text: &AlertText) -> Result<(), String> {
    super::check_writing(
        &text.language,
        &text.title,
        MAX_TITLE_CHARS,
        &text.body,
        MAX_BODY_CHARS,
    )?;
    text.check().map_err(|e| e.to_string())
}

/// An alert with its reviewer and proposer named.
#[derive(Debug, Clone, Serialize)]
pub struct AlertView {
    /// The alert as its reviewer signed it.
    #[serde(flatten)]
    pub alert: BrokerAlert,
    /// The reviewing CSO's name.
    pub reviewer_name: String,
    /// The proposing agency's name, if an agency proposed it.
    pub proposer_name: Option<String>,
    /// Whether the portal shows it now.
    pub shown: bool,
    /// Its text's paragraphs.
    pub paragraphs: Vec<String>,
}

fn name(membership: &MembershipState, org: &OrgId) -> String {
    membership
        .certificate(org)
        .map(|c| c.name)
        .unwrap_or_else(|| org.short())
}

/// Every alert held whose signature verifies now and whose reviewer is a current CSO,
/// newest first (expired and withdrawn ones too, for the CSO's page).
pub fn held(
    store: &Store,
    membership: &MembershipState,
    now: Timestamp,
) -> Result<Vec<AlertView>, StoreError> {
    let book = membership.key_book();
    let mut out: Vec<AlertView> = store
        .scan::<SignedRecord>(&schema::ALERTS, &[])?
        .iter()
        .filter_map(|r| r.verify_with::<BrokerAlert>(&book).ok())
        .map(|v| v.into_parts().1)
        .filter(|a| {
            membership.current(&a.reviewer).map(|c| c.role) == Some(Role::Cso)
                && a.network_id == membership.network_id()
        })
        .map(|a| AlertView {
            reviewer_name: name(membership, &a.reviewer),
            proposer_name: a.proposed_by.map(|p| name(membership, &p)),
            shown: a.is_shown(now),
            paragraphs: super::paragraphs(&a.text.body),
            alert: a,
        })
        .collect();
    out.sort_by_key(|a| std::cmp::Reverse(a.alert.published_at));
    Ok(out)
}

/// The alerts the portal shows at `now`, those in `language` first, then newest first.
pub fn shown(
    store: &Store,
    membership: &MembershipState,
    now: Timestamp,
    language: &str,
) -> Result<Vec<AlertView>, StoreError> {
    let mut out: Vec<AlertView> = held(store, membership, now)?
        .into_iter()
        .filter(|a| a.shown)
        .collect();
    out.sort_by_key(|a| {
        (
            a.alert.text.language != language,
            std::cmp::Reverse(a.alert.published_at),
        )
    });
    Ok(out)
}

/// Where a proposal stands, as the node holding it knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalState {
    /// Waiting for the CSO's review (or, at the agency, not published yet).
    Waiting,
    /// Declined by this CSO.
    Declined,
    /// Published, and shown or expired.
    Published,
    /// Published, then taken down.
    TakenDown,
}

/// A proposal with its proposer named.
#[derive(Debug, Clone, Serialize)]
pub struct ProposalView {
    /// The proposal as the agency signed it.
    #[serde(flatten)]
    pub proposal: AlertProposal,
    /// The signed record's digest: what a caseworker approves is this version.
    pub digest: ilm_protocol::Digest,
    /// The proposing agency's name.
    pub proposer_name: String,
    /// The reviewing CSO's name.
    pub reviewer_name: String,
    /// Where it stands.
    pub state: ProposalState,
    /// Its text's paragraphs.
    pub paragraphs: Vec<String>,
}

/// The proposals held: at a CSO those sent to it (declined ones marked), at an agency those
/// it sent (published once the alert came back).
pub fn proposals(
    store: &Store,
    membership: &MembershipState,
) -> Result<Vec<ProposalView>, StoreError> {
    let mut out = Vec::new();
    for held in store.scan::<StoredProposal>(&schema::ALERT_PROPOSALS, &[])? {
        let Ok(p) = serde_json::from_slice::<AlertProposal>(&held.record.body) else {
            continue;
        };
        let alert = store
            .get::<SignedRecord>(&schema::ALERTS, &schema::alert_id(&p.reviewer, &p.id))?
            .and_then(|r| serde_json::from_slice::<BrokerAlert>(&r.body).ok());
        let state = match alert {
            Some(a) if a.withdrawn => ProposalState::TakenDown,
            Some(_) => ProposalState::Published,
            None if held.declined => ProposalState::Declined,
            None => ProposalState::Waiting,
        };
        out.push(ProposalView {
            digest: held.record.digest(),
            proposer_name: name(membership, &p.proposer),
            reviewer_name: name(membership, &p.reviewer),
            state,
            paragraphs: super::paragraphs(&p.text.body),
            proposal: p,
        });
    }
    out.sort_by_key(|p| std::cmp::Reverse(p.proposal.proposed_at));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lang: &str) -> AlertText {
        AlertText {
            origin: "MM".parse().expect("country"),
            destination: "TH".parse().expect("country"),
            language: lang.into(),
            title: "Fake jobs on Facebook".into(),
            body: "A broker called U Aung asks 30,000 baht.\n\nDo not pay.".into(),
        }
    }

    #[test]
    fn texts_written_here_are_in_a_portal_language_and_within_their_lengths() {
        assert!(check_text(&text("my")).is_ok());
        assert!(check_text(&text("xx")).is_err(), "not a portal language");
        let mut t = text("en");
        t.title = " ".into();
        assert!(check_text(&t).is_err());
        t.title = "ok".into();
        t.body = "x\u{7}".into();
        assert!(check_text(&t).is_err());
        t.body = "ခ".repeat(MAX_BODY_CHARS);
        assert!(check_text(&t).is_ok(), "4,000 Burmese characters fit");
        t.body.push('ခ');
        assert!(check_text(&t).is_err());
    }
}
