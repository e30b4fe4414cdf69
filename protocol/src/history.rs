//! A case's history: a hash-linked graph of verified events that converges when parties
//! append concurrently (an event may name several parents, merging heads).

use crate::event::{CaseEvent, CaseRef, EventHash, EventPayload};
use crate::identity::{OrgId, Role, Timestamp};
use crate::membership::{MembershipCertificate, NetworkId};
use crate::record::{RecordError, SignedRecord, Verified};
use crate::rules::{CaseContext, ValidationError, validate};
use std::collections::{BTreeMap, BTreeSet};

/// Why an event could not join a history.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    /// Signature or format.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// Authorisation or content rules.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// The event belongs to another case or network.
    #[error("event belongs to another case")]
    WrongCase,
    /// Parents not held yet; fetch them first.
    #[error("{} parent event(s) are missing", .0.len())]
    MissingParents(Vec<EventHash>),
    /// A second root: a case has exactly one first escalation.
    #[error("case already has a first event")]
    SecondRoot,
    /// No current certificate for the author.
    #[error("author {0} is not a current member")]
    UnknownAuthor(String),
}

/// Whether an insert changed the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// A new event.
    New(EventHash),
    /// Already held; nothing changed (replays are no-ops).
    Duplicate(EventHash),
}

/// The events of one case that have been verified and validated.
#[derive(Debug, Clone)]
pub struct CaseHistory {
    network_id: NetworkId,
    case_ref: CaseRef,
    root: Option<EventHash>,
    events: BTreeMap<EventHash, Verified<CaseEvent>>,
    /// Events that some other event names as parent.
    referenced: BTreeSet<EventHash>,
}

impl CaseHistory {
    /// An empty history for a case.
    pub fn new(network_id: NetworkId, case_ref: CaseRef) -> CaseHistory {
        CaseHistory {
            network_id,
            case_ref,
            root: None,
            events: BTreeMap::new(),
            referenced: BTreeSet::new(),
        }
    }

    /// The case.
    pub fn case_ref(&self) -> CaseRef {
        self.case_ref
    }

    /// Number of events held.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether no event is held.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Whether the event is held.
    pub fn contains(&self, hash: &EventHash) -> bool {
        self.events.contains_key(hash)
    }

    /// An event by hash.
    pub fn get(&self, hash: &EventHash) -> Option<&Verified<CaseEvent>> {
        self.events.get(hash)
    }

    /// Events no other event follows yet; a new event names all of them as parents.
    pub fn heads(&self) -> Vec<EventHash> {
        self.events
            .keys()
            .filter(|h| !self.referenced.contains(h))
            .copied()
            .collect()
    }

    /// The case context as seen from the given parents: owner and every party escalated to
    /// among their ancestors. Depends only on the ancestors, so every node computes the same.
    pub fn context_for(&self, parents: &[EventHash]) -> Option<CaseContext> {
        let root = self.root?;
        let owner = self.events.get(&root)?.body().author;
        let mut responders = BTreeSet::new();
        let mut seen = BTreeSet::new();
        let mut stack: Vec<EventHash> = parents.to_vec();
        while let Some(h) = stack.pop() {
            if !seen.insert(h) {
                continue;
            }
            if let Some(ev) = self.events.get(&h) {
                if let EventPayload::Escalation(e) = &ev.body().payload {
                    responders.insert(e.to);
                }
                stack.extend(ev.body().parents.iter().copied());
            }
        }
        Some(CaseContext {
            network_id: self.network_id,
            case_ref: self.case_ref,
            owner,
            responders,
        })
    }

    /// Verifies, validates and adds an event.
    ///
    /// `cert_of(org, at)` returns the certificate making `org` a member at `at` (the event's
    /// authoring time), or None for non-members and revoked members. A live node may ignore
    /// `at` and answer for now. The author's role comes from it, never from the event.
    pub fn insert(
        &mut self,
        record: &SignedRecord,
        cert_of: &dyn Fn(&OrgId, Timestamp) -> Option<MembershipCertificate>,
    ) -> Result<Inserted, HistoryError> {
        self.insert_verified(record.verify::<CaseEvent>()?, cert_of)
    }

    /// Like [`CaseHistory::insert`], for an event whose signature the caller already verified
    /// (the type proves it), so it is not verified twice.
    pub fn insert_verified(
        &mut self,
        event: Verified<CaseEvent>,
        cert_of: &dyn Fn(&OrgId, Timestamp) -> Option<MembershipCertificate>,
    ) -> Result<Inserted, HistoryError> {
        let hash = event.digest();
        if self.events.contains_key(&hash) {
            return Ok(Inserted::Duplicate(hash));
        }
        self.check_insertable(event.body(), cert_of)?;
        if event.body().parents.is_empty() {
            self.root = Some(hash);
        }
        self.referenced.extend(event.body().parents.iter().copied());
        self.events.insert(hash, event);
        Ok(Inserted::New(hash))
    }

    fn check_insertable(
        &self,
        ev: &CaseEvent,
        cert_of: &dyn Fn(&OrgId, Timestamp) -> Option<MembershipCertificate>,
    ) -> Result<(), HistoryError> {
        if ev.case_ref != self.case_ref || ev.network_id != self.network_id {
            return Err(HistoryError::WrongCase);
        }
        if ev.parents.is_empty() && self.root.is_some() {
            return Err(HistoryError::SecondRoot);
        }
        let missing: Vec<EventHash> = ev
            .parents
            .iter()
            .filter(|p| !self.events.contains_key(p))
            .copied()
            .collect();
        if !missing.is_empty() {
            return Err(HistoryError::MissingParents(missing));
        }
        let author = cert_of(&ev.author, ev.authored_at)
            .ok_or_else(|| HistoryError::UnknownAuthor(ev.author.short()))?;
        let ctx = if ev.parents.is_empty() {
            None
        } else {
            self.context_for(&ev.parents)
        };
        let role_of =
            |org: &OrgId| -> Option<Role> { cert_of(org, ev.authored_at).map(|c| c.role) };
        validate(ev, &author, ctx.as_ref(), &role_of)?;
        Ok(())
    }

    /// All events in a deterministic causal order: parents first, ties broken by authoring
    /// time and then hash, so two nodes holding the same events list them identically.
    pub fn ordered(&self) -> Vec<&Verified<CaseEvent>> {
        let mut pending: BTreeMap<EventHash, usize> = BTreeMap::new();
        let mut children: BTreeMap<EventHash, Vec<EventHash>> = BTreeMap::new();
        for (h, ev) in &self.events {
            pending.insert(*h, ev.body().parents.len());
            for p in &ev.body().parents {
                children.entry(*p).or_default().push(*h);
            }
        }
        let key = |h: &EventHash| (self.events[h].body().authored_at, *h);
        let mut ready: BTreeSet<_> = pending
            .iter()
            .filter(|(_, n)| **n == 0)
            .map(|(h, _)| key(h))
            .collect();
        let mut out = Vec::with_capacity(self.events.len());
        while let Some(next) = ready.pop_first() {
            let h = next.1;
            out.push(&self.events[&h]);
            for c in children.get(&h).into_iter().flatten() {
                if let Some(n) = pending.get_mut(c) {
                    *n -= 1;
                    if *n == 0 {
                        ready.insert(key(c));
                    }
                }
            }
        }
        out
    }
}
