//! `ilm network succession ...`: a steward hands its place to a new key. The outgoing steward
//! starts the record, every other steward in office signs it in turn, and the incoming
//! steward signs last, which installs it on that node with a steward certificate of its own.

use super::membership::{daemon_running, open_store, own_steward_certificate};
use super::now;
use crate::datadir::{DataDir, read_record, record_json};
use crate::output::Output;
use crate::schema;
use crate::store::{Store, WriteBatch};
use anyhow::{Context, Result, bail};
use ilm_protocol::{Network, OrgId, RecordBody, Role, SignedRecord, StewardSuccession};
use serde_json::json;
use std::path::Path;

/// The successions this node stored (to apply on top of its genesis).
pub(super) fn stored(store: &Store) -> Result<Vec<SignedRecord>> {
    Ok(store.scan(&schema::SUCCESSIONS, &[])?)
}

/// Stores successions that `network` accepted (durably).
pub(super) fn store_all(store: &Store, network: &Network) -> Result<()> {
    let mut batch = WriteBatch::new();
    for rec in network.successions() {
        batch.put(&schema::SUCCESSIONS, rec.digest().as_bytes(), rec)?;
    }
    store.commit(batch)?;
    Ok(())
}

fn stopped(dir: &DataDir) -> Result<()> {
    if daemon_running(dir) {
        bail!("stop the node first: it needs the node's database");
    }
    Ok(())
}

pub(super) fn start(dir: &DataDir, to: &str, out: &Path) -> Result<Output> {
    stopped(dir)?;
    let to: OrgId = to
        .parse()
        .with_context(|| format!("{to:?} is not an organisation id (64 lowercase hex digits)"))?;
    let keys = dir.load_keys()?;
    let store = open_store(dir)?;
    let (network, _) = dir.load_membership_with(&stored(&store)?)?;
    let at = now();
    if !network.is_steward_at(&keys.org_id(), at) {
        bail!("this node is not a steward of network {} now", network.id());
    }
    let body = StewardSuccession {
        network_id: network.id(),
        old: keys.org_id(),
        new: to,
        cosigners: network
            .stewards_at(at)
            .into_iter()
            .filter(|s| *s != keys.org_id())
            .collect(),
        at,
    };
    let rec = SignedRecord::sign(&body, &keys)?;
    DataDir::write_public_file(out, &record_json(&rec))?;
    let order: Vec<String> = body.required_signers()[1..]
        .iter()
        .map(OrgId::to_string)
        .collect();
    Ok(Output::new(
        json!({ "succession_file": out, "old": body.old, "new": to, "signers_to_come": order }),
        format!(
            "Succession to {to} started in {}. Next, each of these signs it in turn with `ilm network succession sign FILE`, the incoming steward last:\n{}",
            out.display(),
            order.join("\n")
        ),
    ))
}

pub(super) fn sign(dir: &DataDir, file: &Path, genesis_file: Option<&Path>) -> Result<Output> {
    let mut rec = read_record(file)?;
    let body: StewardSuccession = rec
        .verify_partial()
        .with_context(|| format!("{} is not a valid steward succession", file.display()))?;
    let required = body.required_signers();
    let Some(next) = required.get(rec.signatures.len()).copied() else {
        bail!("the succession is already signed by everyone");
    };
    let keys = dir.load_keys()?;
    if keys.org_id() != next {
        bail!(
            "the next signature is {next}'s, not this node's ({})",
            keys.org_id()
        );
    }
    rec.cosign(&keys);
    if next != body.new {
        DataDir::write_public_file(file, &record_json(&rec))?;
        return Ok(Output::new(
            json!({ "signed": true, "complete": false }),
            format!(
                "Signed. Pass {} on to {}.",
                file.display(),
                required[rec.signatures.len()]
            ),
        ));
    }
    stopped(dir)?;
    install(dir, &rec, &body, genesis_file)?;
    DataDir::write_public_file(file, &record_json(&rec))?;
    Ok(Output::new(
        json!({ "signed": true, "complete": true, "steward": body.new }),
        format!(
            "Signed by everyone: this node is now a steward of the network from {}. Give {} to every member (it is spread when this node runs) and start this node.",
            super::fmt_time(body.at),
            file.display()
        ),
    ))
}

/// Takes up the place on the incoming steward's node: the network with the succession, and
/// a steward certificate this node issues itself.
fn install(
    dir: &DataDir,
    rec: &SignedRecord,
    body: &StewardSuccession,
    genesis_file: Option<&Path>,
) -> Result<()> {
    let cfg = dir.load_config()?;
    if cfg.node.role != Role::Steward {
        bail!(
            "the incoming steward's node must be initialised with --role steward (this one is a {})",
            cfg.node.role
        );
    }
    let genesis = match genesis_file {
        Some(f) => read_record(f)?,
        None if dir.network_path().exists() => read_record(&dir.network_path())?,
        None => bail!("give the network's genesis file with --network FILE"),
    };
    let store = open_store(dir)?;
    let mut network = Network::from_genesis(&genesis)?;
    crate::membership::add_successions(&mut network, &stored(&store)?);
    network
        .add_succession(rec)
        .context("the succession does not fit this network")?;
    let keys = dir.load_keys()?;
    let cert = own_steward_certificate(&keys, &cfg, &network, now().max(body.at))?;
    store_all(&store, &network)?;
    store.put_issued_certificate(&keys.org_id(), &cert)?;
    dir.store_membership(&genesis, &cert)?;
    Ok(())
}
