//! `ilm key rotate`: new signing and encryption keys for the same organisation, granted by a
//! steward's certificate and installed by `ilm member join`.

use super::now;
use crate::datadir::{DataDir, record_json};
use crate::output::Output;
use anyhow::{Context, Result, bail};
use ilm_protocol::{KeyRotationRequest, MembershipCertificate, OrgKeys, SignedRecord};
use serde_json::json;
use std::path::Path;

pub(super) fn rotate(dir: &DataDir, out: Option<&Path>, cancel: bool) -> Result<Output> {
    if cancel {
        if !dir.rotation_pending() {
            bail!("no key rotation is pending; nothing to cancel");
        }
        dir.cancel_rotation()?;
        return Ok(Output::new(
            json!({ "cancelled": true }),
            "Key rotation cancelled: the node keeps its current keys.".to_string(),
        ));
    }
    let Some(out) = out else {
        bail!("give --out FILE for the rotation request (or --cancel)");
    };
    if dir.load_config()?.node.role == ilm_protocol::Role::Steward {
        bail!(
            "a steward's key is not rotated but handed over: `ilm network succession start` (see docs/KEY-ROTATION.md)"
        );
    }
    if dir.rotation_pending() {
        bail!(
            "a key rotation is already pending: install the steward's certificate with `ilm member join`, or cancel it with `ilm key rotate --cancel`"
        );
    }
    // From the request on, records must carry the new key: a running node would go on
    // signing with the old one, and peers refuse those once they learn the rotation.
    if super::membership::daemon_running(dir) {
        bail!("stop the node first (`ilm run` must not sign with the old key after the request)");
    }
    let keys = dir.load_keys()?;
    let (network, _) = dir.load_membership()?;
    let next = OrgKeys::generate()?;
    let request = KeyRotationRequest {
        network_id: network.id(),
        org_id: keys.org_id(),
        new_signing_key: next.signing_key_id(),
        new_encryption_key: next.encryption_key(),
        requested_at: now(),
    };
    let mut rec = SignedRecord::sign(&request, &keys)?;
    rec.cosign(&next);
    dir.write_next_keys(&next)?;
    if let Err(e) = DataDir::write_public_file(out, &record_json(&rec)) {
        // Without the request nobody can grant these keys: do not leave them pending.
        let _ = dir.cancel_rotation();
        return Err(e).with_context(|| format!("write {}", out.display()));
    }
    Ok(Output::new(
        json!({
            "org_id": keys.org_id(),
            "new_signing_key": next.signing_key_id(),
            "request_file": out,
        }),
        format!(
            "Key rotation request written to {}: send it to the steward that certified this node.\nThe node will not start until you install the certificate the steward returns with `ilm member join NETWORK CERT` (or cancel with `ilm key rotate --cancel`).",
            out.display()
        ),
    ))
}

/// What joining with a certificate does to this node's keys.
pub(super) enum KeyCheck {
    /// The certificate names the keys the node holds.
    Current,
    /// The certificate grants the pending rotation: its keys become the node's once the
    /// certificate is stored.
    Rotation,
}

/// Checks that a certificate names this node's keys, or the keys of its pending rotation.
pub(super) fn check_keys(
    dir: &DataDir,
    keys: &OrgKeys,
    cert: &MembershipCertificate,
) -> Result<KeyCheck> {
    if cert.org_id != keys.org_id() {
        bail!(
            "the certificate is for organisation {}, not this node ({})",
            cert.org_id,
            keys.org_id()
        );
    }
    if let Some(next) = dir.load_next_keys()?
        && cert.current_key() == next.signing_key_id()
    {
        if cert.encryption_key != next.encryption_key() {
            bail!("the certificate names another encryption key than the pending rotation's");
        }
        return Ok(KeyCheck::Rotation);
    }
    if cert.current_key() != keys.signing_key_id() {
        bail!("the certificate names another signing key than this node's");
    }
    if cert.encryption_key != keys.encryption_key() {
        bail!("the certificate names another encryption key than this node's");
    }
    Ok(KeyCheck::Current)
}
