//! Negative test vectors (`invalid.json`): inputs every conforming implementation must refuse,
//! each with the code of the refusal (the crate's `code()` of its error), so that another
//! implementation can check its rejections against ours.

use super::{Org, Result, err, money, ts};
use ed25519_dalek::Signer as _;
use ilm_protocol::attestation::BundleFormat;
use ilm_protocol::event::{Escalation, RemediationAction};
use ilm_protocol::record::RecordSignature;
use ilm_protocol::*;
use serde::Serialize;
use std::collections::BTreeMap;

mod bundles;
use bundles::bundle_vectors;

/// The day (after T0) the small lifecycle case starts.
const DAY: u64 = super::DAY;
/// The nonce of the lifecycle vectors' case.
const CASE: CaseNonce = CaseNonce([0x1c; 16]);

/// `invalid.json`.
#[derive(Serialize)]
pub struct InvalidFile {
    format: &'static str,
    description: &'static str,
    /// Valid events of a small case, by name, that the `event` checks build histories from.
    events: Vec<NamedRecord>,
    /// The inputs to refuse.
    pub cases: Vec<InvalidCase>,
}

/// A valid event of the lifecycle case.
#[derive(Serialize)]
struct NamedRecord {
    name: String,
    record: SignedRecord,
}

/// One input to refuse and the refusal's code.
#[derive(Serialize)]
pub struct InvalidCase {
    /// Short name.
    pub name: &'static str,
    /// What is wrong with it.
    pub description: &'static str,
    /// The code of the expected refusal.
    pub expect: &'static str,
    #[serde(flatten)]
    check: Check,
}

impl InvalidCase {
    /// Which check the case exercises.
    pub fn check_name(&self) -> &'static str {
        match self.check {
            Check::Record { .. } => "record",
            Check::Event { .. } => "event",
            Check::Bundle { .. } => "bundle",
        }
    }
}

/// How to check a case.
#[derive(Serialize)]
#[serde(tag = "check", rename_all = "snake_case")]
enum Check {
    /// Verify `record` as a record of its own kind (section 3.4, strict JSON of section 1).
    Record {
        record: SignedRecord,
        /// The body as text, when it is text (for reading the vector).
        body_utf8: Option<String>,
    },
    /// Add `event` to the case history made of the named `history` events (section 7), with
    /// the certificates of records.json, each checked at the event's own time.
    Event {
        history: Vec<String>,
        event: SignedRecord,
    },
    /// Verify `bundle` (section 8), knowing `revocations`.
    Bundle {
        bundle: Box<AttestationBundle>,
        revocations: Vec<SignedRecord>,
    },
}

/// What the generator already built that the negative vectors reuse.
pub struct Inputs<'a> {
    pub network: &'a Network,
    pub steward: &'a Org,
    pub cso: &'a Org,
    pub supplier: &'a Org,
    pub brand: &'a Org,
    pub certs: &'a BTreeMap<OrgId, MembershipCertificate>,
    pub cert_records: Vec<SignedRecord>,
    pub ack_record: &'a SignedRecord,
    pub bundle: &'a AttestationBundle,
}

/// Signs arbitrary body bytes as `kind` (bodies that the crate's own encoder would never
/// produce, such as JSON with a duplicate key).
fn sign_raw(kind: RecordKind, tag: RecordKind, body: Vec<u8>, org: &Org) -> SignedRecord {
    let key = ed25519_dalek::SigningKey::from_bytes(&org.seed);
    let sig = key.sign(&tag.signing_input(&body)).to_bytes();
    SignedRecord {
        kind,
        body,
        signatures: vec![RecordSignature {
            signer: org.id(),
            key: None,
            signature: SignatureBytes(sig),
        }],
    }
}

/// The order of the ed25519 group, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// `s + L` as 32 little-endian bytes (fits: s < L < 2^253).
fn add_l(s: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let v = s[i] as u16 + L[i] as u16 + carry;
        out[i] = v as u8;
        carry = v >> 8;
    }
    out
}

/// A lifecycle vector: name, description, how many events of the small case precede it, its
/// author, its day, its payload and the expected refusal.
type LifecycleVector<'o> = (
    &'static str,
    &'static str,
    usize,
    &'o Org,
    u64,
    EventPayload,
    &'static str,
);

struct Builder<'a> {
    inp: &'a Inputs<'a>,
    events: Vec<NamedRecord>,
    history: CaseHistory,
    cases: Vec<InvalidCase>,
}

impl<'a> Builder<'a> {
    /// The lifecycle case's reference (opened by the CSO).
    fn case_ref(&self) -> CaseRef {
        CaseRef::derive(&self.inp.cso.id(), &CASE)
    }

    fn event_body(&self, author: &Org, day: u64, payload: EventPayload) -> CaseEvent {
        CaseEvent {
            network_id: self.inp.network.id(),
            case_ref: self.case_ref(),
            case_nonce: self.history.is_empty().then_some(CASE),
            parents: self.history.heads(),
            author: author.id(),
            authored_at: ts(day * DAY),
            payload,
        }
    }

    fn cert_of(&self) -> impl Fn(&OrgId, Timestamp) -> Option<MembershipCertificate> + '_ {
        |org, at| {
            self.inp
                .certs
                .get(org)
                .filter(|c| c.not_before <= at && at < c.not_after)
                .cloned()
        }
    }

    /// Appends a valid event to the lifecycle case.
    fn valid(&mut self, name: &str, author: &Org, day: u64, payload: EventPayload) -> Result<()> {
        let rec = SignedRecord::sign(&self.event_body(author, day, payload), &author.keys)?;
        let cert_of = |org: &OrgId, at: Timestamp| {
            self.inp
                .certs
                .get(org)
                .filter(|c| c.not_before <= at && at < c.not_after)
                .cloned()
        };
        self.history.insert(&rec, &cert_of)?;
        self.events.push(NamedRecord {
            name: name.into(),
            record: rec,
        });
        Ok(())
    }

    /// A refused event on the first `upto` events of the lifecycle case.
    fn refused(&mut self, v: LifecycleVector) -> Result<()> {
        let (name, description, upto, author, day, payload, expect) = v;
        let mut h = CaseHistory::new(self.inp.network.id(), self.case_ref());
        for e in &self.events[..upto] {
            h.insert(&e.record, &self.cert_of())?;
        }
        let body = CaseEvent {
            parents: h.heads(),
            ..self.event_body(author, day, payload)
        };
        let rec = SignedRecord::sign(&body, &author.keys)?;
        let got = h
            .insert(&rec, &self.cert_of())
            .map(|_| ())
            .map_err(|e| e.code());
        let history = self.events[..upto].iter().map(|e| e.name.clone()).collect();
        self.push(
            (name, description, expect),
            got,
            Check::Event {
                history,
                event: rec,
            },
        )
    }

    /// Adds a case once the crate refused it with the expected code.
    fn push(
        &mut self,
        (name, description, expect): (&'static str, &'static str, &'static str),
        got: std::result::Result<(), &'static str>,
        check: Check,
    ) -> Result<()> {
        if got != Err(expect) {
            return Err(err(format!(
                "vector {name}: expected {expect}, got {got:?}"
            )));
        }
        self.cases.push(InvalidCase {
            name,
            description,
            expect,
            check,
        });
        Ok(())
    }

    fn record(
        &mut self,
        name: &'static str,
        description: &'static str,
        record: SignedRecord,
        expect: &'static str,
    ) -> Result<()> {
        let got = record
            .verify::<CaseEvent>()
            .map(|_| ())
            .map_err(|e| e.code());
        if got != Err(expect) {
            return Err(err(format!(
                "vector {name}: expected {expect}, got {got:?}"
            )));
        }
        let body_utf8 = String::from_utf8(record.body.clone()).ok();
        self.cases.push(InvalidCase {
            name,
            description,
            expect,
            check: Check::Record { record, body_utf8 },
        });
        Ok(())
    }

    fn bundle(
        &mut self,
        name: &'static str,
        description: &'static str,
        bundle: AttestationBundle,
        revocations: Vec<SignedRecord>,
        expect: &'static str,
    ) -> Result<()> {
        let mut list = RevocationList::new();
        for r in &revocations {
            list.add(&self.inp.network.check_revocation(r)?);
        }
        let got = bundle
            .verify_with_revocations(&list)
            .map(|_| ())
            .map_err(|e| e.code());
        self.push(
            (name, description, expect),
            got,
            Check::Bundle {
                bundle: Box::new(bundle),
                revocations,
            },
        )
    }
}

fn escalation_to(to: &Org, day: u64) -> EventPayload {
    EventPayload::Escalation(Escalation {
        to: to.id(),
        categories: vec![IssueCategory::WithholdingOfWages],
        workers_affected: 35,
        site: "Garment factory, Mae Sot".into(),
        requested_remedy: "Pay two months of withheld wages".into(),
        description: "Wages for September and October were not paid.".into(),
        recruitment_fees: None,
        acknowledge_by: ts((day + 7) * DAY),
        remediate_by: ts((day + 45) * DAY),
    })
}

fn text(kind: &str, field: &str, value: &str) -> EventPayload {
    let v = value.to_string();
    match (kind, field) {
        ("ack", _) => EventPayload::Acknowledgement { note: v },
        ("dispute", _) => EventPayload::Dispute { reason: v },
        ("reported", _) => EventPayload::RemediationReported { summary: v },
        ("reopened", _) => EventPayload::Reopened { reason: v },
        _ => EventPayload::Closed { outcome: v },
    }
}

/// Builds every negative vector, checking each against the crate first.
pub fn build(inp: &Inputs) -> Result<InvalidFile> {
    let (cso, supplier, brand) = (inp.cso, inp.supplier, inp.brand);
    let mut b = Builder {
        inp,
        events: Vec::new(),
        history: CaseHistory::new(inp.network.id(), CaseRef::derive(&inp.cso.id(), &CASE)),
        cases: Vec::new(),
    };
    // The small case: escalation, dispute, change of mind, report, resolved, closed.
    b.valid("l1_escalation", cso, 2, escalation_to(supplier, 2))?;
    b.valid(
        "l2_dispute",
        supplier,
        3,
        text("dispute", "", "Wages were paid in cash"),
    )?;
    b.valid(
        "l3_acknowledgement",
        supplier,
        4,
        text("ack", "", "Payroll records show the arrears"),
    )?;
    b.valid(
        "l4_remediation_reported",
        supplier,
        5,
        text("reported", "", "Arrears paid"),
    )?;
    b.valid(
        "l5_worker_verification",
        cso,
        6,
        EventPayload::WorkerVerification {
            verdict: Verdict::Resolved,
            workers_consulted: 12,
            note: "Workers confirm payment".into(),
        },
    )?;
    b.valid("l6_closed", cso, 7, text("closed", "", "Wages paid"))?;

    let action = EventPayload::RemediationAction(RemediationAction {
        description: "Extra payment".into(),
        taken_at: ts(2 * DAY),
        amount_repaid: Some(money(100_000, "THB")?),
        workers_benefited: 1,
        evidence: vec![],
    });
    let plan = EventPayload::RemediationPlan {
        description: "Pay by Friday".into(),
        target_date: ts(20 * DAY),
    };
    let verification = EventPayload::WorkerVerification {
        verdict: Verdict::Resolved,
        workers_consulted: 3,
        note: String::new(),
    };
    let ack = text("ack", "", "Received");
    #[rustfmt::skip]
    let lifecycle: [LifecycleVector; 16] = [
        ("escalation_after_close", "An escalation after the case was closed.", 6, cso, 8, escalation_to(brand, 8), "lifecycle.case_closed"),
        ("escalation_to_a_cso", "An escalation to a CSO (only agencies, suppliers, brands and governments can be asked to act).", 1, cso, 3, escalation_to(cso, 3), "event.bad_escalation_target"),
        ("acknowledgement_by_a_party_not_escalated_to", "The brand acknowledges a case never escalated to it.", 1, brand, 3, ack.clone(), "lifecycle.not_escalated_to"),
        ("acknowledgement_twice", "A second acknowledgement of the same escalation.", 3, supplier, 5, ack.clone(), "lifecycle.already_acknowledged"),
        ("acknowledgement_by_the_cso", "The CSO acknowledges (a responder's step).", 1, cso, 3, ack.clone(), "event.role_not_allowed"),
        ("dispute_twice", "A second dispute while already disputing.", 2, supplier, 4, text("dispute", "", "Still disputed"), "lifecycle.already_disputed"),
        ("dispute_after_resolved", "A dispute after the workers verified the party's remediation as resolved.", 5, supplier, 7, text("dispute", "", "Late dispute"), "lifecycle.already_resolved"),
        ("remediation_plan_awaiting_verdict", "A plan after the party reported remediation complete, before the workers' verdict.", 4, supplier, 6, plan.clone(), "lifecycle.awaiting_verification"),
        ("remediation_action_after_resolved", "An action after the workers verified the party's remediation as resolved.", 5, supplier, 7, action.clone(), "lifecycle.already_resolved"),
        ("remediation_reported_before_acknowledgement", "Remediation reported complete by a party that never acknowledged.", 1, supplier, 3, text("reported", "", "Done"), "lifecycle.report_without_acknowledgement"),
        ("remediation_reported_while_disputing", "Remediation reported complete by a party whose latest answer is a dispute.", 2, supplier, 4, text("reported", "", "Done"), "lifecycle.report_without_acknowledgement"),
        ("worker_verification_before_report", "A workers' verdict on a case where nobody reported remediation (only acknowledged).", 3, cso, 5, verification.clone(), "lifecycle.verification_without_report"),
        ("worker_verification_by_a_supplier", "A supplier records the workers' verdict (the CSO's step).", 4, supplier, 6, verification.clone(), "event.role_not_allowed"),
        ("reopened_without_verdict", "A reopen with no not-resolved or partly-resolved verdict.", 3, cso, 5, text("reopened", "", "Reopen"), "lifecycle.reopen_without_verdict"),
        ("closed_twice", "Closing a closed case.", 6, cso, 8, text("closed", "", "Again"), "lifecycle.case_closed"),
        ("event_before_its_ancestors", "An event that claims a time more than 600 s before an event it follows.", 3, supplier, 3, plan, "event.time_before_ancestors"),
    ];
    for v in lifecycle {
        b.refused(v)?;
    }
    reused_reference(&mut b)?;

    record_vectors(&mut b)?;
    bundle_vectors(&mut b)?;
    Ok(InvalidFile {
        format: "ilm-test-vectors-invalid/1",
        description: "Inputs a conforming ILM protocol v1 implementation must refuse, each with the code of the refusal; see docs/PROTOCOL.md section 12. `event` checks use the certificates of records.json.",
        events: b.events,
        cases: b.cases,
    })
}

/// A root escalation reusing a reference that does not derive from its author and nonce (a
/// second CSO taking the lifecycle case's reference).
fn reused_reference(b: &mut Builder) -> Result<()> {
    let (cso, supplier) = (b.inp.cso, b.inp.supplier);
    let body = CaseEvent {
        case_ref: b.case_ref(),
        case_nonce: Some(CaseNonce([0x2d; 16])),
        parents: vec![],
        ..b.event_body(cso, 2, escalation_to(supplier, 2))
    };
    let rec = SignedRecord::sign(&body, &cso.keys)?;
    let mut h = CaseHistory::new(b.inp.network.id(), b.case_ref());
    let got = h
        .insert(&rec, &b.cert_of())
        .map(|_| ())
        .map_err(|e| e.code());
    b.push(
        (
            "case_ref_not_derived",
            "A first escalation whose case_ref does not derive from its author and nonce (another case's reference taken over).",
            "event.case_ref_not_bound",
        ),
        got,
        Check::Event {
            history: vec![],
            event: rec,
        },
    )
}

fn record_vectors(b: &mut Builder) -> Result<()> {
    let (cso, supplier) = (b.inp.cso, b.inp.supplier);
    // A case event "signed" by the identity point: with R the identity and S = 0, the plain
    // cofactorless equation holds for any message, so only the small-order check refuses it.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut body = b.event_body(cso, 2, escalation_to(supplier, 2));
    body.parents.clear();
    body.author = OrgId(identity);
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&identity);
    let small = SignedRecord {
        kind: RecordKind::CaseEvent,
        body: serde_json::to_vec(&body)?,
        signatures: vec![RecordSignature {
            signer: OrgId(identity),
            key: None,
            signature: SignatureBytes(sig),
        }],
    };
    b.record(
        "small_order_public_key",
        "A case event whose author key is the identity point (small order), with the signature R = identity, S = 0 that satisfies the unchecked equation for every message.",
        small,
        "record.bad_signature",
    )?;

    let mut high_s = b.inp.ack_record.clone();
    let s = high_s.signatures[0].signature.0;
    let mut sig = s;
    sig[32..].copy_from_slice(&add_l(&s[32..]));
    high_s.signatures[0].signature = SignatureBytes(sig);
    b.record(
        "non_canonical_s",
        "Record event_02_acknowledgement with S replaced by S + L (the same value modulo the group order, not canonical).",
        high_s,
        "record.bad_signature",
    )?;

    let l2 = b.events[1].record.body.clone();
    b.record(
        "signature_over_another_domain_tag",
        "Event l2_dispute signed over the membership-certificate signing input instead of the case-event one.",
        sign_raw(
            RecordKind::CaseEvent,
            RecordKind::MembershipCertificate,
            l2.clone(),
            supplier,
        ),
        "record.bad_signature",
    )?;

    let l2_text = String::from_utf8(l2)?;
    let replace = |from: &str, to: &str| -> Result<Vec<u8>> {
        if !l2_text.contains(from) {
            return Err(err(format!("{from:?} not in the l2 body")));
        }
        Ok(l2_text.replacen(from, to, 1).into_bytes())
    };
    let authored = format!("\"authored_at\":{}", ts(3 * DAY).0);
    #[rustfmt::skip]
    let json_cases: [(&str, &str, Vec<u8>); 6] = [
        ("json_duplicate_key", "Event l2_dispute with its authored_at member twice (validly signed bytes).", replace(&authored, &format!("{authored},{authored}"))?),
        ("json_duplicate_payload_type", "Event l2_dispute with the payload's type member twice.", replace("\"type\":\"dispute\"", "\"type\":\"dispute\",\"type\":\"dispute\"")?),
        ("json_negative_zero", "Event l2_dispute with authored_at written as -0.", replace(&authored, "\"authored_at\":-0")?),
        ("json_lone_surrogate", "Event l2_dispute whose reason contains the escape \\ud800 (a lone surrogate, not a Unicode character).", replace("Wages were paid", "Wages\\ud800 were paid")?),
        ("json_unknown_field", "Event l2_dispute with an extra member (every object is closed).", replace(&authored, &format!("{authored},\"priority\":1"))?),
        ("json_uppercase_hex", "Event l2_dispute with its case_ref in uppercase hex.", replace(&b.case_ref().to_hex(), &b.case_ref().to_hex().to_uppercase())?),
    ];
    for (name, description, bytes) in json_cases {
        b.record(
            name,
            description,
            sign_raw(
                RecordKind::CaseEvent,
                RecordKind::CaseEvent,
                bytes,
                supplier,
            ),
            "record.malformed_body",
        )?;
    }
    Ok(())
}
