//! A case's history: a hash-linked graph of verified events that converges when parties
//! append concurrently (an event may name several parents, merging heads).

use crate::event::{CaseEvent, CaseRef, EventHash};
use crate::identity::{OrgId, Role, Timestamp};
use crate::lifecycle::CaseState;
use crate::membership::{MembershipCertificate, NetworkId};
use crate::record::{RecordError, SignedRecord, Verified};
use crate::rotation::CertKeys;
use crate::rules::{ValidationError, validate};
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

impl HistoryError {
    /// A stable code for this refusal (test vectors and other implementations compare it).
    pub fn code(&self) -> &'static str {
        match self {
            HistoryError::Record(e) => e.code(),
            HistoryError::Validation(e) => e.code(),
            HistoryError::WrongCase => "history.wrong_case",
            HistoryError::MissingParents(_) => "history.missing_parents",
            HistoryError::SecondRoot => "history.second_root",
            HistoryError::UnknownAuthor(_) => "history.unknown_author",
        }
    }
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
    /// The fold of every held event (None while empty).
    state: Option<CaseState>,
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
            state: None,
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

    /// The lifecycle state of the whole history (None while it holds no event).
    pub fn state(&self) -> Option<&CaseState> {
        self.state.as_ref()
    }

    /// The lifecycle state as the given parents see it: the fold of their ancestors (parents
    /// included) in deterministic order. Depends only on those ancestors, so every node
    /// computes the same.
    pub fn state_for(&self, parents: &[EventHash]) -> Option<CaseState> {
        let mut wanted: BTreeSet<EventHash> = parents.iter().copied().collect();
        if wanted == self.heads().into_iter().collect() {
            return self.state.clone();
        }
        let mut stack: Vec<EventHash> = wanted.iter().copied().collect();
        while let Some(h) = stack.pop() {
            if let Some(ev) = self.events.get(&h) {
                for p in &ev.body().parents {
                    if wanted.insert(*p) {
                        stack.push(*p);
                    }
                }
            }
        }
        fold(self.ordered_within(Some(&wanted)))
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
        self.insert_verified(
            record.verify_with::<CaseEvent>(&CertKeys(cert_of))?,
            cert_of,
        )
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
        let extends_all = {
            let parents: BTreeSet<EventHash> = event.body().parents.iter().copied().collect();
            parents == self.heads().into_iter().collect()
        };
        if event.body().parents.is_empty() {
            self.root = Some(hash);
        }
        self.referenced.extend(event.body().parents.iter().copied());
        let body = event.body().clone();
        self.events.insert(hash, event);
        // An event that follows every head comes last in the order: fold it on. Otherwise
        // (a concurrent branch) the order of earlier events may change: fold again.
        match (&mut self.state, extends_all) {
            (Some(state), true) => state.apply(&body),
            _ => self.state = fold(self.ordered_within(None)),
        }
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
        let state = if ev.parents.is_empty() {
            None
        } else {
            self.state_for(&ev.parents)
        };
        let role_of =
            |org: &OrgId| -> Option<Role> { cert_of(org, ev.authored_at).map(|c| c.role) };
        validate(ev, &author, state.as_ref(), &role_of)?;
        Ok(())
    }

    /// All events in a deterministic causal order: parents first, ties broken by authoring
    /// time and then hash, so two nodes holding the same events list them identically.
    pub fn ordered(&self) -> Vec<&Verified<CaseEvent>> {
        self.ordered_within(None)
    }

    /// The deterministic order of the held events in `within` (all when None). `within` must
    /// hold every ancestor of its members; the order is then the restriction of the whole
    /// history's order.
    fn ordered_within(&self, within: Option<&BTreeSet<EventHash>>) -> Vec<&Verified<CaseEvent>> {
        let mut pending: BTreeMap<EventHash, usize> = BTreeMap::new();
        let mut children: BTreeMap<EventHash, Vec<EventHash>> = BTreeMap::new();
        let included = |h: &EventHash| within.is_none_or(|w| w.contains(h));
        for (h, ev) in self.events.iter().filter(|(h, _)| included(h)) {
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

/// The fold of events given in deterministic order, starting from their root.
fn fold<'a>(ordered: impl IntoIterator<Item = &'a Verified<CaseEvent>>) -> Option<CaseState> {
    let mut it = ordered.into_iter();
    let mut state = CaseState::open(it.next()?.body())?;
    for ev in it {
        state.apply(ev.body());
    }
    Some(state)
}
