//! The steward's membership register: issuing certificates, revoking members, listing them.
//! Used both by the CLI (daemon stopped) and by the admin API (daemon running).

use crate::store::{Store, StoreError};
use ilm_protocol::membership::verify_request_with;
use ilm_protocol::{
    Country, KeyRotationRequest, MembershipCertificate, MembershipRequest, Network, OrgId, OrgKeys,
    RecordKind, Revocation, RevocationList, Role, SignedRecord, Timestamp, Verified,
};
use serde::{Deserialize, Serialize};

/// Longest revocation reason accepted.
pub const MAX_REASON_LEN: usize = 500;

/// Why a register operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// This node is not a steward of its network.
    #[error("only a steward node can do this")]
    NotSteward,
    /// The request is not a valid signed membership request.
    #[error("not a valid membership request: {0}")]
    BadRequest(String),
    /// Someone asked for the steward role.
    #[error(
        "the request asks for the steward role, which only the network's genesis stewards hold"
    )]
    StewardRole,
    /// A steward tried to revoke itself.
    #[error("a steward cannot revoke itself")]
    SelfRevoke,
    /// Reason empty or too long.
    #[error("the reason must be 1 to 500 characters")]
    BadReason,
    /// Validity out of range.
    #[error("validity must be 1 to 3650 days")]
    BadValidity,
    /// A key rotation for an organisation with no known certificate.
    #[error(
        "no certificate of {0} is known here: a key rotation builds on the organisation's newest certificate"
    )]
    NotCertifiedHere(String),
    /// A key rotation for a revoked organisation.
    #[error(
        "{0} is revoked: a key rotation would lift the revocation; re-admit it with a membership request instead"
    )]
    RevokedMember(String),
    /// A key rotation request that cannot be granted.
    #[error(transparent)]
    Rotation(#[from] ilm_protocol::RotationError),
    /// Signing or verification failed.
    #[error("{0}")]
    Record(String),
    /// Database failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn check_steward(keys: &OrgKeys, network: &Network) -> Result<(), RegisterError> {
    if network.is_steward(&keys.org_id()) {
        Ok(())
    } else {
        Err(RegisterError::NotSteward)
    }
}

/// The newest certificate of `org` this node knows, whichever steward issued it: the ones this
/// steward issued and the ones it learned from the network. After a key rotation granted
/// elsewhere, only the newest says which key is the organisation's now.
fn newest_known(
    network: &Network,
    store: &Store,
    org: &OrgId,
) -> Result<Option<MembershipCertificate>, RegisterError> {
    let learned = store.get(&crate::schema::CERTIFICATES, org.as_bytes())?;
    Ok(store
        .issued_certificates()?
        .iter()
        .chain(learned.iter())
        .filter_map(|rec| network.verify_certificate(rec).ok())
        .map(|c| c.into_parts().1)
        .filter(|c| c.org_id == *org)
        .max_by_key(|c| c.issued_at))
}

/// Checks a membership request. An organisation that rotated its keys signs with its
/// current key, which its newest certificate names.
fn verify_membership_request(
    network: &Network,
    store: &Store,
    request: &SignedRecord,
) -> Result<(Verified<MembershipRequest>, Option<MembershipCertificate>), RegisterError> {
    let bad = |e: String| RegisterError::BadRequest(e);
    let claimed: MembershipRequest =
        serde_json::from_slice(&request.body).map_err(|e| bad(e.to_string()))?;
    let previous = newest_known(network, store, &claimed.org_id)?;
    let book = |org: &OrgId| previous.clone().filter(|c| c.org_id == *org);
    let req = verify_request_with(request, &book).map_err(|e| bad(e.to_string()))?;
    Ok((req, previous))
}

/// Issues a certificate for a signed membership or key rotation request and records it
/// (durably).
pub fn issue(
    keys: &OrgKeys,
    network: &Network,
    store: &Store,
    request: &SignedRecord,
    valid_days: u64,
    now: Timestamp,
) -> Result<(SignedRecord, MembershipCertificate), RegisterError> {
    check_steward(keys, network)?;
    if request.kind == RecordKind::KeyRotationRequest {
        return issue_rotation(keys, network, store, request, now);
    }
    if !(1..=3650).contains(&valid_days) {
        return Err(RegisterError::BadValidity);
    }
    let (req, previous) = verify_membership_request(network, store, request)?;
    let r = req.body();
    if r.role == Role::Steward && !network.is_steward(&r.org_id) {
        return Err(RegisterError::StewardRole);
    }
    // A renewal keeps the key history, so the member's earlier signatures stay bound.
    let (signing_key, earlier_keys) = previous
        .map(|p| (p.signing_key, p.earlier_keys))
        .unwrap_or_default();
    let body = MembershipCertificate {
        network_id: network.id(),
        org_id: r.org_id,
        name: r.name.clone(),
        role: r.role,
        country: r.country.clone(),
        encryption_key: r.encryption_key,
        not_before: now,
        not_after: now.plus_days(valid_days),
        issuer: keys.org_id(),
        issued_at: now,
        signing_key,
        earlier_keys,
    };
    sign_and_record(keys, network, store, body)
}

fn sign_and_record(
    keys: &OrgKeys,
    network: &Network,
    store: &Store,
    body: MembershipCertificate,
) -> Result<(SignedRecord, MembershipCertificate), RegisterError> {
    let cert = SignedRecord::sign(&body, keys).map_err(|e| RegisterError::Record(e.to_string()))?;
    network
        .verify_certificate(&cert)
        .map_err(|e| RegisterError::Record(e.to_string()))?;
    store.put_issued_certificate(&body.org_id, &cert)?;
    Ok((cert, body))
}

/// Grants a key rotation: a certificate naming the new keys that keeps everything else of
/// the one this steward last issued, with the replaced key valid for records dated before
/// the request.
fn issue_rotation(
    keys: &OrgKeys,
    network: &Network,
    store: &Store,
    request: &SignedRecord,
    now: Timestamp,
) -> Result<(SignedRecord, MembershipCertificate), RegisterError> {
    let bad = |e: String| RegisterError::BadRequest(e);
    let claimed: KeyRotationRequest =
        serde_json::from_slice(&request.body).map_err(|e| bad(e.to_string()))?;
    let current = newest_known(network, store, &claimed.org_id)?
        .ok_or_else(|| RegisterError::NotCertifiedHere(claimed.org_id.to_string()))?;
    // A new certificate would be issued after the revocation, hence escape it.
    if revocation_list(store, network)?.revokes(&current, now) {
        return Err(RegisterError::RevokedMember(claimed.org_id.to_string()));
    }
    let book = |org: &OrgId| (*org == current.org_id).then(|| current.clone());
    let req = request
        .verify_with::<KeyRotationRequest>(&book)
        .map_err(|e| bad(e.to_string()))?;
    let body = ilm_protocol::rotated_certificate(&current, req.body(), keys.org_id(), now)?;
    sign_and_record(keys, network, store, body)
}

/// What a membership request asks for, checked (signature and fields) but not issued: the
/// steward reviews it before signing.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RequestReview {
    /// The organisation's id (from its key).
    pub org_id: OrgId,
    /// The name it asks to be known by.
    pub name: String,
    /// The role it asks for.
    pub role: Role,
    /// Its country.
    pub country: Country,
    /// Whether the organisation already holds a certificate (a renewal).
    pub renewal: bool,
}

/// Checks a membership request without issuing anything.
pub fn review(
    keys: &OrgKeys,
    network: &Network,
    store: &Store,
    request: &SignedRecord,
) -> Result<RequestReview, RegisterError> {
    check_steward(keys, network)?;
    let (req, previous) = verify_membership_request(network, store, request)?;
    let r = req.body();
    if r.role == Role::Steward && !network.is_steward(&r.org_id) {
        return Err(RegisterError::StewardRole);
    }
    let renewal = previous.is_some();
    Ok(RequestReview {
        org_id: r.org_id,
        name: r.name.clone(),
        role: r.role,
        country: r.country.clone(),
        renewal,
    })
}

/// Revokes an organisation and records the revocation (durably).
pub fn revoke(
    keys: &OrgKeys,
    network: &Network,
    store: &Store,
    org: OrgId,
    reason: &str,
    now: Timestamp,
) -> Result<SignedRecord, RegisterError> {
    check_steward(keys, network)?;
    if org == keys.org_id() {
        return Err(RegisterError::SelfRevoke);
    }
    let reason = reason.trim();
    if reason.is_empty() || reason.len() > MAX_REASON_LEN || reason.chars().any(char::is_control) {
        return Err(RegisterError::BadReason);
    }
    let rec = SignedRecord::sign(
        &Revocation {
            network_id: network.id(),
            org_id: org,
            reason: reason.to_string(),
            revoked_at: now,
            issuer: keys.org_id(),
        },
        keys,
    )
    .map_err(|e| RegisterError::Record(e.to_string()))?;
    network
        .check_revocation(&rec)
        .map_err(|e| RegisterError::Record(e.to_string()))?;
    store.put_revocation(&org, &rec)?;
    Ok(rec)
}

/// The certificates this node holds, signed: those it learned from the network (each
/// organisation's newest) and, at a steward, those it issued (its register).
pub fn held_certificates(store: &Store) -> Result<Vec<SignedRecord>, StoreError> {
    let mut records = store.scan(&crate::schema::CERTIFICATES, &[])?;
    records.extend(store.issued_certificates()?);
    Ok(records)
}

/// Revocations in the database, verified against the network.
pub fn revocation_list(store: &Store, network: &Network) -> Result<RevocationList, RegisterError> {
    let mut list = RevocationList::new();
    for rec in store.revocations()? {
        let rev = network.check_revocation(&rec).map_err(|e| {
            RegisterError::Record(format!("a stored revocation no longer verifies: {e}"))
        })?;
        list.add(&rev);
    }
    Ok(list)
}

/// One row of the register.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemberRow {
    /// Organisation id.
    pub org_id: OrgId,
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Country.
    pub country: Country,
    /// End of validity.
    pub not_after: Timestamp,
    /// Revoked now.
    pub revoked: bool,
}

/// The certificates this steward issued, with their revocation state.
pub fn list(
    network: &Network,
    store: &Store,
    now: Timestamp,
) -> Result<Vec<MemberRow>, RegisterError> {
    let revoked = revocation_list(store, network)?;
    let mut rows = Vec::new();
    for rec in store.issued_certificates()? {
        let cert = network
            .verify_certificate(&rec)
            .map_err(|e| RegisterError::Record(e.to_string()))?;
        let c = cert.body();
        rows.push(MemberRow {
            org_id: c.org_id,
            name: c.name.clone(),
            role: c.role,
            country: c.country.clone(),
            not_after: c.not_after,
            revoked: revoked.revokes(c, now),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::WriteBatch;
    use ilm_protocol::{KeyRotationRequest, NetworkGenesis};

    const T0: Timestamp = Timestamp(1_767_225_600);

    struct World {
        _dir: tempfile::TempDir,
        store: Store,
        network: Network,
        steward: OrgKeys,
        member: OrgKeys,
    }

    fn world() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = crate::schema::open(&dir.path().join("db")).expect("store");
        let steward = OrgKeys::from_secret_bytes([1; 32], [2; 32]);
        let genesis = SignedRecord::sign(
            &NetworkGenesis {
                name: "Register test".into(),
                stewards: vec![steward.org_id()],
                created_at: T0,
            },
            &steward,
        )
        .expect("genesis");
        World {
            _dir: dir,
            store,
            network: Network::from_genesis(&genesis).expect("network"),
            steward,
            member: OrgKeys::from_secret_bytes([3; 32], [4; 32]),
        }
    }

    fn request(keys: &OrgKeys) -> SignedRecord {
        SignedRecord::sign(
            &MembershipRequest {
                org_id: keys.org_id(),
                name: "Supplier".into(),
                role: Role::Supplier,
                country: "TH".parse().expect("country"),
                encryption_key: keys.encryption_key(),
                requested_at: T0,
            },
            keys,
        )
        .expect("request")
    }

    fn rotation(w: &World, current: &OrgKeys, next: &OrgKeys, at: Timestamp) -> SignedRecord {
        let mut rec = SignedRecord::sign(
            &KeyRotationRequest {
                network_id: w.network.id(),
                org_id: current.org_id(),
                new_signing_key: next.signing_key_id(),
                new_encryption_key: next.encryption_key(),
                requested_at: at,
            },
            current,
        )
        .expect("rotation");
        rec.cosign(next);
        rec
    }

    #[test]
    fn renewals_and_rotations_build_on_the_newest_certificate_known_and_never_on_a_revoked_one() {
        let w = world();
        let (first, _) = issue(
            &w.steward,
            &w.network,
            &w.store,
            &request(&w.member),
            365,
            T0,
        )
        .expect("first certificate");
        // The rotation is granted by another steward: this one only learned its certificate
        // (here written as the node stores a learned one).
        let next = OrgKeys::from_secret_bytes([5; 32], [6; 32]);
        let other = ilm_protocol::rotated_certificate(
            &serde_json::from_slice(&first.body).expect("body"),
            &serde_json::from_slice(&rotation(&w, &w.member, &next, T0.plus_secs(10)).body)
                .expect("body"),
            w.steward.org_id(),
            T0.plus_secs(20),
        )
        .expect("granted");
        let learned = SignedRecord::sign(&other, &w.steward).expect("sign");
        let mut batch = WriteBatch::new();
        batch
            .put(
                &crate::schema::CERTIFICATES,
                w.member.org_id().as_bytes(),
                &learned,
            )
            .expect("put");
        w.store.commit(batch).expect("commit");
        let rotated = OrgKeys::from_secret_bytes(next.signing_seed(), next.encryption_secret())
            .rotated(w.member.org_id(), vec![w.member.encryption_secret()]);
        // A renewal signed with the key rotated away from is refused...
        let stale = issue(
            &w.steward,
            &w.network,
            &w.store,
            &request(&w.member),
            365,
            T0.plus_secs(30),
        );
        assert!(
            matches!(stale, Err(RegisterError::BadRequest(_))),
            "{stale:?}"
        );
        // ... and one signed with the current key keeps the key history.
        let mut renewal: MembershipRequest =
            serde_json::from_slice(&request(&w.member).body).expect("body");
        renewal.encryption_key = rotated.encryption_key();
        let renewal = SignedRecord::sign(&renewal, &rotated).expect("sign");
        let (_, body) = issue(
            &w.steward,
            &w.network,
            &w.store,
            &renewal,
            365,
            T0.plus_secs(30),
        )
        .expect("renewal");
        assert_eq!(body.current_key(), next.signing_key_id());
        assert_eq!(body.earlier_keys, other.earlier_keys);
        // A second rotation must be signed by the current key, not the first one.
        let third = OrgKeys::from_secret_bytes([7; 32], [8; 32]);
        let by_old = rotation(&w, &w.member, &third, T0.plus_secs(40));
        assert!(
            issue(
                &w.steward,
                &w.network,
                &w.store,
                &by_old,
                0,
                T0.plus_secs(50)
            )
            .is_err()
        );
        // A revoked member's rotation would escape the revocation: refused.
        revoke(
            &w.steward,
            &w.network,
            &w.store,
            w.member.org_id(),
            "left",
            T0.plus_secs(60),
        )
        .expect("revoke");
        let by_current = rotation(&w, &rotated, &third, T0.plus_secs(70));
        let refused = issue(
            &w.steward,
            &w.network,
            &w.store,
            &by_current,
            0,
            T0.plus_secs(80),
        );
        assert!(
            matches!(refused, Err(RegisterError::RevokedMember(_))),
            "{refused:?}"
        );
    }
}
