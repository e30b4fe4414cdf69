//! Negative vectors of attestation bundles, each with the code of the refusal: a bit of an
//! event's signed body flipped, an attestation claiming more than the supplier recorded,
//! one over a case cut before the workers' verdict, and a co-signer revoked before the
//! attestation was issued.

use super::*;

pub(super) fn bundle_vectors(b: &mut Builder) -> Result<()> {
    let inp = b.inp;
    let (cso, supplier) = (inp.cso, inp.supplier);
    let good = inp.bundle.clone();
    good.verify()?;

    // One bit of the last digit of the first event's authored_at: still well-formed JSON.
    let mut tampered = good.clone();
    let body = &mut tampered.events[0].body;
    let at = body
        .windows(14)
        .position(|w| w == b"\"authored_at\":")
        .ok_or_else(|| err("no authored_at in the first event"))?;
    body[at + 14 + 9] ^= 0x01;
    b.bundle(
        "tampered_bundle",
        "bundle.json with one bit of the last digit of the first event's authored_at flipped (still well-formed JSON).",
        tampered,
        vec![],
        "record.bad_signature",
    )?;

    let att: RemediationAttestation = good
        .attestation
        .verify::<RemediationAttestation>()?
        .body()
        .clone();
    let cosigned = |body: &RemediationAttestation| -> Result<SignedRecord> {
        let mut rec = SignedRecord::sign(body, &cso.keys)?;
        rec.cosign(&supplier.keys);
        Ok(rec)
    };
    let mut more = att.clone();
    for m in &mut more.amounts_repaid {
        m.minor_units *= 2;
    }
    b.bundle(
        "attestation_amounts_not_in_history",
        "bundle.json with an attestation (validly co-signed) claiming twice the amounts the supplier recorded.",
        AttestationBundle {
            attestation: cosigned(&more)?,
            ..good.clone()
        },
        vec![],
        "attestation.amounts",
    )?;

    // An attestation over the small case cut before the workers' verdict.
    let events: Vec<SignedRecord> = b.events[..4].iter().map(|e| e.record.clone()).collect();
    let unverified = RemediationAttestation {
        network_id: inp.network.id(),
        case_ref: b.case_ref(),
        cso: cso.id(),
        remediating_party: supplier.id(),
        categories: vec![IssueCategory::WithholdingOfWages],
        summary: "Arrears paid".into(),
        workers_benefited: 35,
        amounts_repaid: vec![],
        remediated_at: ts(5 * DAY),
        verdict: Verdict::Resolved,
        verified_at: ts(5 * DAY),
        events: events.iter().map(SignedRecord::digest).collect(),
        issued_at: ts(6 * DAY),
    };
    let certs: Vec<SignedRecord> = inp
        .cert_records
        .iter()
        .filter(|r| {
            serde_json::from_slice::<MembershipCertificate>(&r.body)
                .is_ok_and(|c| c.org_id == cso.id() || c.org_id == supplier.id())
        })
        .cloned()
        .collect();
    b.bundle(
        "attestation_without_verification",
        "A co-signed attestation of the small case whose events stop at the supplier's report: the workers never gave a verdict.",
        AttestationBundle {
            format: BundleFormat::V1,
            genesis: inp.network.genesis_record().clone(),
            successions: Vec::new(),
            certificates: certs,
            events,
            attestation: cosigned(&unverified)?,
        },
        vec![],
        "attestation.not_verified",
    )?;

    // The supplier's membership revoked after its last event but before the attestation.
    let revocation = SignedRecord::sign(
        &Revocation {
            network_id: inp.network.id(),
            org_id: supplier.id(),
            reason: "Membership suspended pending investigation".into(),
            revoked_at: Timestamp(att.issued_at.0 - DAY),
            issuer: inp.steward.id(),
        },
        &inp.steward.keys,
    )?;
    b.bundle(
        "cosigner_revoked_before_signing",
        "bundle.json, knowing a revocation of the supplier (the co-signer) made one day before the attestation was issued.",
        good,
        vec![revocation],
        "bundle.signer_revoked",
    )?;
    Ok(())
}
