//! The membership state's remembered attestation checks: made once until the membership
//! changes, and never remembered when a change overtakes them.

use super::*;
use ilm_protocol::{NetworkGenesis, OrgKeys, Revocation, Role};

const T0: Timestamp = Timestamp(1_767_225_600);

struct World {
    network: Network,
    steward: OrgKeys,
    member: OrgKeys,
    state: MembershipState,
}

fn cert(w: &Network, steward: &OrgKeys, keys: &OrgKeys, issued_at: Timestamp) -> SignedRecord {
    SignedRecord::sign(
        &MembershipCertificate {
            network_id: w.id(),
            org_id: keys.org_id(),
            name: "Member".into(),
            role: Role::Supplier,
            country: "TH".parse().expect("country"),
            encryption_key: keys.encryption_key(),
            not_before: T0,
            not_after: Timestamp(u32::MAX as u64 * 2),
            issuer: steward.org_id(),
            issued_at,
            signing_key: None,
            earlier_keys: Vec::new(),
        },
        steward,
    )
    .expect("certificate")
}

fn world() -> World {
    let k = |n: u8| OrgKeys::from_secret_bytes([n; 32], [n + 100; 32]);
    let (steward, own, member) = (k(1), k(2), k(3));
    let genesis = SignedRecord::sign(
        &NetworkGenesis {
            name: "Membership tests".into(),
            stewards: vec![steward.org_id()],
            created_at: T0,
        },
        &steward,
    )
    .expect("genesis");
    let network = Network::from_genesis(&genesis).expect("network");
    let state = MembershipState::new(
        network.clone(),
        cert(&network, &steward, &own, T0),
        vec![cert(&network, &steward, &member, T0)],
        vec![],
    )
    .expect("state");
    World {
        network,
        steward,
        member,
        state,
    }
}

fn revocation(w: &World, at: Timestamp) -> SignedRecord {
    SignedRecord::sign(
        &Revocation {
            network_id: w.network.id(),
            org_id: w.member.org_id(),
            reason: "suspended".into(),
            revoked_at: at,
            issuer: w.steward.org_id(),
        },
        &w.steward,
    )
    .expect("revocation")
}

/// Runs the check of `key`, counting in `runs` each time it is really made.
fn check(w: &World, key: u8, runs: &std::cell::Cell<u32>) -> bool {
    w.state
        .check_attestation([key; 32], || {
            runs.set(runs.get() + 1);
            AttestationCheck {
                body: None,
                verified: true,
            }
        })
        .verified
}

#[test]
fn an_attestation_is_checked_once_until_the_membership_changes() {
    let w = world();
    let runs = std::cell::Cell::new(0);
    assert!(check(&w, 1, &runs));
    assert!(check(&w, 1, &runs));
    assert_eq!(runs.get(), 1, "the second view used the first check");
    check(&w, 2, &runs);
    assert_eq!(runs.get(), 2, "another attestation is checked");
    // A revocation: signatures it covers no longer verify, so every check is made again.
    let rev = revocation(&w, Timestamp(T0.0 + 10));
    assert!(matches!(
        w.state.learn_revocation(&rev),
        Ok(Learned::Revocation(_))
    ));
    check(&w, 1, &runs);
    assert_eq!(runs.get(), 3);
    // Learning nothing new keeps what was checked.
    assert_eq!(w.state.learn_revocation(&rev), Ok(Learned::Nothing));
    check(&w, 1, &runs);
    assert_eq!(runs.get(), 3);
    // A newer certificate changes which key signs for whom.
    let newer = cert(&w.network, &w.steward, &w.member, Timestamp(T0.0 + 20));
    assert!(matches!(
        w.state.learn_certificate(&newer),
        Ok(Learned::Certificate(_))
    ));
    check(&w, 1, &runs);
    assert_eq!(runs.get(), 4);
    assert_eq!(w.state.attestation_checks_made(), 4);
}

#[test]
fn a_check_overtaken_by_a_change_is_not_remembered() {
    let w = world();
    let runs = std::cell::Cell::new(0);
    // The membership changes while the check reads it: what it found may predate the
    // change, so the next view checks again.
    w.state.check_attestation([7; 32], || {
        runs.set(runs.get() + 1);
        w.state
            .learn_revocation(&revocation(&w, Timestamp(T0.0 + 10)))
            .expect("revocation");
        AttestationCheck {
            body: None,
            verified: true,
        }
    });
    check(&w, 7, &runs);
    assert_eq!(runs.get(), 2);
    check(&w, 7, &runs);
    assert_eq!(runs.get(), 2, "a check made against the new state is kept");
}
