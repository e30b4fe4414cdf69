//! `ilm verify FILE`: offline verification of bundles, certificates and signed records.

use super::{fmt_time, now};
use crate::datadir::{DataDir, read_record};
use crate::output::{Invalid, Output};
use crate::schema;
use crate::store::{Store, StoreError};
use anyhow::{Context, Result};
use ilm_protocol::{
    AttestationBundle, CaseEvent, MembershipCertificate, MembershipError, Network, OrgId,
    RecordKind, RemediationAttestation, RevocationList, SignedRecord, SupplyChainLink,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;

fn invalid(reason: impl std::fmt::Display) -> anyhow::Error {
    Invalid(reason.to_string()).into()
}

/// Exit status of `ilm verify` when a bundle is consistent but no trusted network was given.
pub const EXIT_UNPINNED: u8 = 3;

/// The revocations this node knows (each checked against `net`): from its database, or from
/// its daemon holding it.
fn node_revocations(dir: &DataDir, net: &Network) -> Result<RevocationList> {
    let records = node_records(dir, ("/api/revocations", "revocations"), |store| {
        store.revocations()
    })?;
    let mut list = RevocationList::new();
    for rec in &records {
        list.add(
            &net.check_revocation(rec)
                .context("this node holds a revocation that does not verify")?,
        );
    }
    Ok(list)
}

/// The trusted network: `--network`, else this node's own; with the revocations this node
/// knows when it is a member of that network. None when nothing pins a network.
fn trusted_network(
    dir: &DataDir,
    flag: Option<&Path>,
) -> Result<Option<(Network, RevocationList)>> {
    let own = dir.load_network()?;
    let net = match flag {
        Some(path) => {
            let rec = read_record(path)?;
            Network::from_genesis(&rec)
                .with_context(|| format!("{} is not a valid network genesis", path.display()))?
        }
        None => match &own {
            Some(n) => n.clone(),
            None => return Ok(None),
        },
    };
    let mut net = net;
    let revoked = match own {
        Some(o) if o.id() == net.id() && dir.db_path().exists() => {
            // The steward successions this node learned (a revocation or certificate may
            // come from a successor).
            let successions = node_records(dir, ("/api/certificates", "successions"), |store| {
                store.scan(&schema::SUCCESSIONS, &[])
            })?;
            crate::membership::add_successions(&mut net, &successions);
            node_revocations(dir, &net)?
        }
        _ => RevocationList::new(),
    };
    Ok(Some((net, revoked)))
}

/// Signed records this node holds, read by `read` from its database, or, when its daemon
/// holds the database, the `field` of the daemon's answer at `path` (what its database
/// holds); none outside a node's data directory.
fn node_records(
    dir: &DataDir,
    (path, field): (&str, &str),
    read: impl FnOnce(&Store) -> Result<Vec<SignedRecord>, StoreError>,
) -> Result<Vec<SignedRecord>> {
    if !dir.db_path().exists() {
        return Ok(Vec::new());
    }
    match schema::open(&dir.db_path()) {
        Ok(store) => Ok(read(&store)?),
        Err(StoreError::Locked) => {
            let asked =
                || -> Result<Value> { Ok(crate::client::AdminClient::for_dir(dir)?.get(path)?) };
            let v = asked()
                .with_context(|| format!("cannot read the {field} the running node holds"))?;
            serde_json::from_value(v[field].clone())
                .with_context(|| format!("unreadable {field} from the running node"))
        }
        Err(e) => Err(e).with_context(|| format!("cannot read this node's {field}")),
    }
}

/// Which key signs for whom: each organisation's newest certificate this node holds (those
/// it learned, after key rotations, and at a steward those it issued); outside a node's data
/// directory, only organisations' own ids.
fn node_keys(dir: &DataDir) -> Result<Box<dyn ilm_protocol::KeyBook>> {
    let records = node_records(
        dir,
        ("/api/certificates", "certificates"),
        crate::register::held_certificates,
    )?;
    let mut newest: HashMap<OrgId, MembershipCertificate> = HashMap::new();
    for c in records
        .iter()
        .filter_map(|rec| serde_json::from_slice::<MembershipCertificate>(&rec.body).ok())
    {
        if newest
            .get(&c.org_id)
            .is_none_or(|held| c.issued_at > held.issued_at)
        {
            newest.insert(c.org_id, c);
        }
    }
    Ok(Box::new(move |org: &OrgId| newest.get(org).cloned()))
}

/// Revocation records from a file: one record, a list of records, or `{"revocations": [...]}`
/// (the admin API's form).
fn revocation_records(path: &Path) -> Result<Vec<SignedRecord>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let v: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not JSON", path.display()))?;
    let list = match v {
        Value::Array(a) => Value::Array(a),
        Value::Object(ref o) if o.contains_key("revocations") => v["revocations"].clone(),
        other => Value::Array(vec![other]),
    };
    serde_json::from_value(list).with_context(|| {
        format!(
            "{} holds no revocation records (one record, a list, or {{\"revocations\": [...]}})",
            path.display()
        )
    })
}

/// Adds the file's revocations to `list`, each checked against `net`.
fn add_revocations(list: &mut RevocationList, net: &Network, file: Option<&Path>) -> Result<()> {
    let Some(path) = file else {
        return Ok(());
    };
    for rec in revocation_records(path)? {
        let rev = net.check_revocation(&rec).with_context(|| {
            format!(
                "{}: a revocation that this network's stewards did not sign",
                path.display()
            )
        })?;
        list.add(&rev);
    }
    Ok(())
}

/// The network to check membership records against: `--network`, else this node's own.
fn network_for(
    dir: &DataDir,
    flag: Option<&Path>,
    revocations: Option<&Path>,
) -> Result<(Network, RevocationList)> {
    let (net, mut revoked) = trusted_network(dir, flag)?.context(
        "a certificate or revocation is checked against its network: pass --network FILE",
    )?;
    add_revocations(&mut revoked, &net, revocations)?;
    Ok((net, revoked))
}

fn verify_bundle(
    dir: &DataDir,
    bytes: &[u8],
    network: Option<&Path>,
    revocations: Option<&Path>,
) -> Result<Output> {
    let bundle: AttestationBundle = serde_json::from_slice(bytes)
        .map_err(|e| invalid(format!("malformed attestation bundle: {e}")))?;
    // A bundle is only as good as its network: compare with the one this machine trusts.
    let trusted = trusted_network(dir, network)?;
    let (mut pinned, mut revoked) = match trusted {
        Some((net, revoked)) => (Some(net), revoked),
        None => (None, RevocationList::new()),
    };
    // The bundle's successions are signed by the stewards in office: they verify against
    // the trusted genesis as they do against the bundle's own.
    if let Some(net) = &mut pinned {
        crate::membership::add_successions(net, &bundle.successions);
    }
    let own_genesis;
    let against = match &pinned {
        Some(n) => n,
        None => {
            own_genesis = Network::from_genesis(&bundle.genesis).map_err(invalid)?;
            &own_genesis
        }
    };
    add_revocations(&mut revoked, against, revocations)?;
    let s = bundle.verify_with_revocations(&revoked).map_err(invalid)?;
    if let Some(trusted) = &pinned
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
    let what = format!(
        "case {} remediated by {} {:?}, verified by CSO {:?}; {} workers benefited; workers' verdict {:?}; categories {}; {} events; network {:?} ({}); {} revocation(s) checked",
        s.case_ref,
        s.remediating_party_role,
        s.remediating_party_name,
        s.cso_name,
        s.workers_benefited,
        s.verdict,
        cats.join(","),
        s.events,
        s.network_name,
        s.network_id,
        revoked.len(),
    );
    if pinned.is_none() {
        return Ok(Output::new(
            json!({ "result": "unpinned", "valid": null, "type": "attestation_bundle", "summary": s }),
            format!(
                "UNPINNED: the attestation is consistent with its own network genesis, but no trusted network was given, and anyone can make a look-alike network with the same name. Pass --network FILE with the genesis you trust (or run in a member's data directory). {what}"
            ),
        )
        .with_exit(EXIT_UNPINNED));
    }
    Ok(Output::new(
        json!({ "result": "valid", "valid": true, "type": "attestation_bundle", "summary": s }),
        format!("VALID attestation: {what}"),
    ))
}

pub(super) fn verify(
    dir: &DataDir,
    file: &Path,
    network: Option<&Path>,
    revocations: Option<&Path>,
) -> Result<Output> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| invalid(format!("{} is not JSON: {e}", file.display())))?;
    if value.get("format").is_some() {
        return verify_bundle(dir, &bytes, network, revocations);
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
            let (net, revoked) = network_for(dir, network, revocations)?;
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
            let (net, _) = network_for(dir, network, None)?;
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
            let r = ilm_protocol::membership::verify_request_with(&rec, &*node_keys(dir)?)
                .map_err(invalid)?;
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
            let e = rec
                .verify_with::<CaseEvent>(&*node_keys(dir)?)
                .map_err(invalid)?;
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
            let a = rec
                .verify_with::<RemediationAttestation>(&*node_keys(dir)?)
                .map_err(invalid)?;
            (
                "remediation_attestation",
                format!(
                    "VALID signatures on the attestation of case {} (export a bundle to check membership and history)",
                    a.body().case_ref
                ),
            )
        }
        RecordKind::KeyRotationRequest => {
            let r = rec
                .verify_with::<ilm_protocol::KeyRotationRequest>(&*node_keys(dir)?)
                .map_err(invalid)?;
            (
                "key_rotation_request",
                format!(
                    "VALID signatures on a key rotation request of {} to key {} (the steward checks the current key)",
                    r.body().org_id,
                    r.body().new_signing_key
                ),
            )
        }
        RecordKind::ImprovementActivity => {
            let a = rec
                .verify_with::<ilm_protocol::ImprovementActivity>(&*node_keys(dir)?)
                .map_err(invalid)?;
            a.body().check_well_formed().map_err(invalid)?;
            (
                "improvement_activity",
                format!(
                    "VALID signature on the improvement activity {:?} of {} (membership is checked by nodes)",
                    a.body().title,
                    a.body().org
                ),
            )
        }
        RecordKind::JobListing => {
            let l = rec
                .verify_with::<ilm_protocol::JobListing>(&*node_keys(dir)?)
                .map_err(invalid)?;
            l.body().check_well_formed().map_err(invalid)?;
            (
                "job_listing",
                format!(
                    "VALID signature on the job listing {:?} at {:?} by {}, until {} (membership is checked by nodes)",
                    l.body().job,
                    l.body().employer,
                    l.body().publisher,
                    fmt_time(l.body().expires_at)
                ),
            )
        }
        RecordKind::RatingSummary => {
            let r = rec
                .verify_with::<ilm_protocol::RatingSummary>(&*node_keys(dir)?)
                .map_err(invalid)?;
            r.body().check().map_err(invalid)?;
            (
                "rating_summary",
                format!(
                    "VALID summary of {} ratings of {} by {} (k = {}; membership is checked by nodes)",
                    r.body().count,
                    r.body().org,
                    r.body().publisher,
                    r.body().k
                ),
            )
        }
        RecordKind::RatingAnswer => {
            let a = rec
                .verify_with::<ilm_protocol::RatingAnswer>(&*node_keys(dir)?)
                .map_err(invalid)?;
            a.body().check().map_err(invalid)?;
            (
                "rating_answer",
                format!(
                    "VALID answer to its ratings by {} (membership is checked by nodes)",
                    a.body().org
                ),
            )
        }
        RecordKind::BrokerAlert => {
            let a = rec
                .verify_with::<ilm_protocol::BrokerAlert>(&*node_keys(dir)?)
                .map_err(invalid)?;
            a.body().check_well_formed().map_err(invalid)?;
            (
                "broker_alert",
                format!(
                    "VALID signature on the broker alert {:?} reviewed by {}, until {} (membership is checked by nodes)",
                    a.body().text.title,
                    a.body().reviewer,
                    fmt_time(a.body().expires_at)
                ),
            )
        }
        RecordKind::AlertProposal => {
            let a = rec
                .verify_with::<ilm_protocol::AlertProposal>(&*node_keys(dir)?)
                .map_err(invalid)?;
            a.body().check_well_formed().map_err(invalid)?;
            (
                "alert_proposal",
                format!(
                    "VALID signature on the proposed broker alert {:?} by {} for {} (membership is checked by nodes)",
                    a.body().text.title,
                    a.body().proposer,
                    a.body().reviewer
                ),
            )
        }
        RecordKind::PublishedStatistics => {
            let p = rec
                .verify_with::<ilm_protocol::PublishedStatistics>(&*node_keys(dir)?)
                .map_err(invalid)?;
            p.body().check().map_err(invalid)?;
            (
                "published_statistics",
                format!(
                    "VALID statistics ({} tables) for {} by {} (k = {}; membership is checked by nodes)",
                    p.body().tables.len(),
                    p.body().month,
                    p.body().publisher,
                    p.body().k
                ),
            )
        }
        RecordKind::StewardSuccession => {
            let (mut net, _) = network_for(dir, network, None)?;
            net.add_succession(&rec).map_err(invalid)?;
            let s: ilm_protocol::StewardSuccession =
                serde_json::from_slice(&rec.body).map_err(invalid)?;
            (
                "steward_succession",
                format!(
                    "VALID steward succession in network {:?}: {} hands over to {} at {}",
                    net.name(),
                    s.old,
                    s.new,
                    fmt_time(s.at)
                ),
            )
        }
        RecordKind::SupplyChainLink => {
            let l = rec
                .verify_with::<SupplyChainLink>(&*node_keys(dir)?)
                .map_err(invalid)?;
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
        json!({ "result": "valid", "valid": true, "type": kind, "summary": text }),
        text,
    ))
}
