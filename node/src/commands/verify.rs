//! `ilm verify FILE`: offline verification of bundles, certificates and signed records.

use super::{fmt_time, now};
use crate::datadir::{DataDir, read_record};
use crate::output::{Invalid, Output};
use crate::register::revocation_list;
use crate::store::Store;
use anyhow::{Context, Result};
use ilm_protocol::{
    AttestationBundle, CaseEvent, MembershipError, Network, RecordKind, RemediationAttestation,
    RevocationList, SignedRecord, SupplyChainLink,
};
use serde_json::{Value, json};
use std::path::Path;

fn invalid(reason: impl std::fmt::Display) -> anyhow::Error {
    Invalid(reason.to_string()).into()
}

/// The network to check membership records against: `--network`, else this node's own.
fn network_for(dir: &DataDir, flag: Option<&Path>) -> Result<(Network, RevocationList)> {
    if let Some(path) = flag {
        let rec = read_record(path)?;
        let net = Network::from_genesis(&rec)
            .with_context(|| format!("{} is not a valid network genesis", path.display()))?;
        return Ok((net, RevocationList::new()));
    }
    let net = dir.load_network()?.context(
        "a certificate or revocation is checked against its network: pass --network FILE",
    )?;
    // The node's own revocations count: from its database, or from its daemon holding it.
    let revoked = match Store::open(&dir.db_path()) {
        Ok(store) => revocation_list(&store, &net)?,
        Err(crate::store::StoreError::Locked) => {
            let v = crate::client::AdminClient::for_dir(dir)?.get("/api/revocations")?;
            let records: Vec<SignedRecord> = serde_json::from_value(v["revocations"].clone())
                .context("unreadable revocations from the running node")?;
            let mut list = RevocationList::new();
            for rec in &records {
                list.add(
                    &net.check_revocation(rec)
                        .context("the running node holds an invalid revocation")?,
                );
            }
            list
        }
        Err(e) => return Err(e).context("cannot read this node's revocations"),
    };
    Ok((net, revoked))
}

pub(super) fn verify(dir: &DataDir, file: &Path, network: Option<&Path>) -> Result<Output> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| invalid(format!("{} is not JSON: {e}", file.display())))?;
    if value.get("format").is_some() {
        let bundle: AttestationBundle = serde_json::from_slice(&bytes)
            .map_err(|e| invalid(format!("malformed attestation bundle: {e}")))?;
        let s = bundle.verify().map_err(invalid)?;
        // A bundle is only as good as its network: compare with the one this machine trusts.
        let trusted = match network {
            Some(path) => Some(network_for(dir, Some(path))?.0),
            None => dir.load_network()?,
        };
        if let Some(trusted) = trusted
            && trusted.id() != s.network_id
        {
            return Err(invalid(format!(
                "the bundle belongs to network {} ({:?}), not the trusted network {} ({:?})",
                s.network_id,
                s.network_name,
                trusted.id(),
                trusted.name()
            )));
        }
        let cats: Vec<&str> = s.categories.iter().map(|c| c.code()).collect();
        return Ok(Output::new(
            json!({ "valid": true, "type": "attestation_bundle", "summary": s }),
            format!(
                "VALID attestation: case {} remediated by {} {:?}, verified by CSO {:?}; {} workers benefited; workers' verdict {:?}; categories {}; {} events; network {:?} ({})",
                s.case_ref,
                s.remediating_party_role,
                s.remediating_party_name,
                s.cso_name,
                s.workers_benefited,
                s.verdict,
                cats.join(","),
                s.events,
                s.network_name,
                s.network_id
            ),
        ));
    }
    let rec: SignedRecord = serde_json::from_slice(&bytes)
        .map_err(|e| invalid(format!("not an attestation bundle or signed record: {e}")))?;
    let (kind, text) = match rec.kind {
        RecordKind::NetworkGenesis => {
            let n = Network::from_genesis(&rec).map_err(invalid)?;
            (
                "network_genesis",
                format!("VALID network genesis {:?} ({})", n.name(), n.id()),
            )
        }
        RecordKind::MembershipCertificate => {
            let (net, revoked) = network_for(dir, network)?;
            let cert = net
                .check_certificate(&rec, now(), &revoked)
                .map_err(|e: MembershipError| invalid(e))?;
            let c = cert.body();
            (
                "membership_certificate",
                format!(
                    "VALID certificate: {} {:?} ({}) in network {:?}, until {}",
                    c.role,
                    c.name,
                    c.org_id,
                    net.name(),
                    fmt_time(c.not_after)
                ),
            )
        }
        RecordKind::Revocation => {
            let (net, _) = network_for(dir, network)?;
            let r = net.check_revocation(&rec).map_err(invalid)?;
            (
                "revocation",
                format!(
                    "VALID revocation of {} in network {:?}",
                    r.body().org_id,
                    net.name()
                ),
            )
        }
        RecordKind::MembershipRequest => {
            let r = ilm_protocol::membership::verify_request(&rec).map_err(invalid)?;
            let b = r.body();
            (
                "membership_request",
                format!(
                    "VALID membership request: {} {:?} ({})",
                    b.role, b.name, b.org_id
                ),
            )
        }
        RecordKind::CaseEvent => {
            let e = rec.verify::<CaseEvent>().map_err(invalid)?;
            (
                "case_event",
                format!(
                    "VALID signature on a {:?} event of case {} by {} (membership is checked in bundles)",
                    e.body().payload.kind(),
                    e.body().case_ref,
                    e.body().author
                ),
            )
        }
        RecordKind::RemediationAttestation => {
            let a = rec.verify::<RemediationAttestation>().map_err(invalid)?;
            (
                "remediation_attestation",
                format!(
                    "VALID signatures on the attestation of case {} (export a bundle to check membership and history)",
                    a.body().case_ref
                ),
            )
        }
        RecordKind::SupplyChainLink => {
            let l = rec.verify::<SupplyChainLink>().map_err(invalid)?;
            (
                "supply_chain_link",
                format!(
                    "VALID {:?} link {} -> {}",
                    l.body().kind,
                    l.body().upstream,
                    l.body().downstream
                ),
            )
        }
    };
    Ok(Output::new(
        json!({ "valid": true, "type": kind, "summary": text }),
        text,
    ))
}
