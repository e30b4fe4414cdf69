//! `ilm network create` and `ilm member ...`: the file-based membership flow.

use super::{fmt_time, now};
use crate::client::AdminClient;
use crate::datadir::{DataDir, read_record, record_json};
use crate::output::Output;
use crate::register;
use crate::schema;
use crate::store::Store;
use anyhow::{Context, Result, bail};
use ilm_protocol::{
    MembershipCertificate, Network, NetworkGenesis, OrgId, OrgKeys, Role, SignedRecord,
};
use serde_json::json;
use std::path::Path;

/// How long a steward's own certificate lasts.
const STEWARD_VALID_DAYS: u64 = 3650;

pub(super) fn open_store(dir: &DataDir) -> Result<Store> {
    schema::open(&dir.db_path())
        .with_context(|| format!("open the database in {}", dir.root().display()))
}

fn write_out(path: &Path, rec: &SignedRecord) -> Result<()> {
    DataDir::write_public_file(path, &record_json(rec))?;
    Ok(())
}

/// Loads this node as a steward of its network, or explains why it is not one.
fn as_steward(dir: &DataDir) -> Result<(OrgKeys, Network)> {
    let keys = dir.load_keys()?;
    let cfg = dir.load_config()?;
    if cfg.node.role != Role::Steward {
        bail!(
            "only a steward node can do this (this node is a {})",
            cfg.node.role
        );
    }
    let successions = super::succession::stored(&open_store(dir)?)?;
    let (network, _cert) = dir.load_membership_with(&successions)?;
    if !network.is_steward(&keys.org_id()) {
        bail!("this node is not a steward of network {}", network.id());
    }
    Ok((keys, network))
}

/// The certificate a steward issues itself (at the network's creation, or when it takes up a
/// place by succession), checked against `network`.
pub(super) fn own_steward_certificate(
    keys: &OrgKeys,
    cfg: &crate::config::Config,
    network: &Network,
    t: ilm_protocol::Timestamp,
) -> Result<SignedRecord> {
    let cert = SignedRecord::sign(
        &MembershipCertificate {
            network_id: network.id(),
            org_id: keys.org_id(),
            name: cfg.node.name.clone(),
            role: Role::Steward,
            country: cfg.node.country.clone(),
            encryption_key: keys.encryption_key(),
            not_before: t,
            not_after: t.plus_days(STEWARD_VALID_DAYS),
            issuer: keys.org_id(),
            issued_at: t,
            signing_key: None,
            earlier_keys: Vec::new(),
        },
        keys,
    )?;
    network.verify_certificate(&cert)?;
    Ok(cert)
}

pub(super) fn network_create(dir: &DataDir, name: &str, out: &Path) -> Result<Output> {
    let keys = dir.load_keys()?;
    let cfg = dir.load_config()?;
    if cfg.node.role != Role::Steward {
        bail!(
            "only a steward node can create a network (this node is a {})",
            cfg.node.role
        );
    }
    if let Some(existing) = dir.load_network()? {
        bail!(
            "this node already belongs to network {:?} ({})",
            existing.name(),
            existing.id()
        );
    }
    let name = name.trim();
    let t = now();
    let genesis = SignedRecord::sign(
        &NetworkGenesis {
            name: name.to_string(),
            stewards: vec![keys.org_id()],
            created_at: t,
        },
        &keys,
    )?;
    let network = Network::from_genesis(&genesis)?;
    let cert = own_steward_certificate(&keys, &cfg, &network, t)?;
    let store = open_store(dir)?;
    store.put_issued_certificate(&keys.org_id(), &cert)?;
    write_out(out, &genesis)?;
    dir.store_membership(&genesis, &cert)?;
    Ok(Output::new(
        json!({ "network_id": network.id(), "name": name, "genesis_file": out }),
        format!(
            "Created network {name:?} ({})\nGenesis written to {}: give it to every member.",
            network.id(),
            out.display()
        ),
    ))
}

pub(super) fn request(dir: &DataDir, out: &Path) -> Result<Output> {
    let keys = dir.load_keys()?;
    let cfg = dir.load_config()?;
    let rec = SignedRecord::sign(
        &ilm_protocol::MembershipRequest {
            org_id: keys.org_id(),
            name: cfg.node.name.clone(),
            role: cfg.node.role,
            country: cfg.node.country.clone(),
            encryption_key: keys.encryption_key(),
            requested_at: now(),
        },
        &keys,
    )?;
    write_out(out, &rec)?;
    Ok(Output::new(
        json!({ "org_id": keys.org_id(), "request_file": out }),
        format!(
            "Membership request written to {}: send it to the steward.",
            out.display()
        ),
    ))
}

/// Whether a daemon holds this node's database (then commands go through its API).
pub(super) fn daemon_running(dir: &DataDir) -> bool {
    matches!(
        schema::open(&dir.db_path()),
        Err(crate::store::StoreError::Locked)
    )
}

pub(super) fn issue(dir: &DataDir, request: &Path, out: &Path, valid_days: u64) -> Result<Output> {
    let rec = read_record(request)?;
    let cert = if daemon_running(dir) {
        let client = AdminClient::for_dir(dir)?;
        let v = client.post(
            "/api/members/issue",
            &json!({ "request": rec, "valid_days": valid_days }),
        )?;
        serde_json::from_value::<SignedRecord>(v["certificate"].clone())
            .context("the node returned no certificate")?
    } else {
        let (keys, network) = as_steward(dir)?;
        register::issue(&keys, &network, &open_store(dir)?, &rec, valid_days, now())
            .map_err(|e| match e {
                register::RegisterError::BadRequest(_) => anyhow::anyhow!(
                    "{} is not a valid membership request: {e}",
                    request.display()
                ),
                other => other.into(),
            })?
            .0
    };
    let c: MembershipCertificate = serde_json::from_slice(&cert.body)?;
    write_out(out, &cert)?;
    Ok(Output::new(
        json!({
            "org_id": c.org_id, "name": c.name, "role": c.role, "country": c.country,
            "not_after": c.not_after, "certificate_file": out,
        }),
        format!(
            "Issued a {} certificate to {:?} ({}) valid until {}, written to {}.",
            c.role,
            c.name,
            c.org_id,
            fmt_time(c.not_after),
            out.display()
        ),
    ))
}

pub(super) fn join(
    dir: &DataDir,
    network_file: &Path,
    cert_file: &Path,
    succession_files: &[std::path::PathBuf],
) -> Result<Output> {
    let keys = dir.load_keys()?;
    let cfg = dir.load_config()?;
    let genesis = read_record(network_file)?;
    let mut network = Network::from_genesis(&genesis)
        .with_context(|| format!("{} is not a valid network genesis", network_file.display()))?;
    if let Some(existing) = dir.load_network()?
        && existing.id() != network.id()
    {
        bail!(
            "this node already belongs to another network {:?} ({})",
            existing.name(),
            existing.id()
        );
    }
    let rec = read_record(cert_file)?;
    let store = open_store(dir)?;
    let mut successions = super::succession::stored(&store)?;
    for f in succession_files {
        successions.push(read_record(f)?);
    }
    let applied = crate::membership::add_successions(&mut network, &successions);
    if network.successions().count() < successions.len() {
        bail!(
            "a steward succession does not fit this network (applied {applied} of {}): check the files and their order in time",
            successions.len()
        );
    }
    let revoked = register::revocation_list(&store, &network)?;
    let cert = network
        .check_certificate(&rec, now(), &revoked)
        .with_context(|| {
            format!(
                "{} is not a valid certificate for this network",
                cert_file.display()
            )
        })?;
    let c = cert.body();
    let key_check = super::rotation::check_keys(dir, &keys, c)?;
    if c.role != cfg.node.role {
        bail!(
            "the certificate grants the {} role but config.toml says {}",
            c.role,
            cfg.node.role
        );
    }
    // The certificate first: until the keys follow, the pending rotation keeps the node
    // from starting, and joining again finishes the change.
    super::succession::store_all(&store, &network)?;
    dir.store_membership(&genesis, &rec)?;
    let rotated = matches!(key_check, super::rotation::KeyCheck::Rotation);
    if rotated {
        dir.promote_next_keys()?;
    }
    Ok(Output::new(
        json!({ "network_id": network.id(), "network_name": network.name(), "role": c.role, "not_after": c.not_after, "rotated": rotated }),
        format!(
            "Joined network {:?} ({}) as {} {:?}.{}",
            network.name(),
            network.id(),
            c.role,
            c.name,
            if rotated {
                format!(
                    "\nThe node now signs with its new key {} (start it again to use it).",
                    c.current_key()
                )
            } else {
                String::new()
            }
        ),
    ))
}

pub(super) fn revoke(dir: &DataDir, org: &str, reason: &str, out: Option<&Path>) -> Result<Output> {
    let org: OrgId = org
        .parse()
        .with_context(|| format!("{org:?} is not an organisation id (64 lowercase hex digits)"))?;
    let rec = if daemon_running(dir) {
        let v = AdminClient::for_dir(dir)?.post(
            "/api/members/revoke",
            &json!({ "org_id": org, "reason": reason }),
        )?;
        serde_json::from_value::<SignedRecord>(v["revocation"].clone())
            .context("the node returned no revocation")?
    } else {
        let (keys, network) = as_steward(dir)?;
        register::revoke(&keys, &network, &open_store(dir)?, org, reason, now())?
    };
    if let Some(out) = out {
        write_out(out, &rec)?;
    }
    Ok(Output::new(
        json!({ "revoked": org, "reason": reason.trim(), "revocation_file": out }),
        format!("Revoked {org}."),
    ))
}

pub(super) fn list(dir: &DataDir) -> Result<Output> {
    let rows: Vec<register::MemberRow> = if daemon_running(dir) {
        let v = AdminClient::for_dir(dir)?.get("/api/members")?;
        serde_json::from_value(v["members"].clone()).context("unreadable member list")?
    } else {
        let (network, _) = dir.load_membership()?;
        register::list(&network, &open_store(dir)?, now())?
    };
    let mut text = String::new();
    for r in &rows {
        text.push_str(&format!(
            "{}  {:<10} {:<3} {}{}\n",
            r.org_id,
            r.role,
            r.country,
            r.name,
            if r.revoked { "  [revoked]" } else { "" }
        ));
    }
    if rows.is_empty() {
        text.push_str("No certificates issued by this node.\n");
    }
    Ok(Output::new(
        json!({ "members": rows }),
        text.trim_end().to_string(),
    ))
}
