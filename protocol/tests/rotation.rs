//! Key rotation and steward succession: which key signs for whom, and when.

mod common;

use common::*;
use ilm_protocol::*;

/// The supplier's rotation at T0 + 10 days: its request signed by both keys, the steward's
/// certificate granting it, and the supplier's keys after it (same organisation).
struct Rotated {
    request: SignedRecord,
    cert: MembershipCertificate,
    cert_record: SignedRecord,
    new_keys: OrgKeys,
}

const ROTATED_AT: u64 = 10 * DAY;

fn rotate(w: &World) -> Rotated {
    let supplier = w.m(Role::Supplier);
    let next = keys(40);
    let body = KeyRotationRequest {
        network_id: w.network.id(),
        org_id: supplier.keys.org_id(),
        new_signing_key: next.signing_key_id(),
        new_encryption_key: next.encryption_key(),
        requested_at: T0.plus_secs(ROTATED_AT),
    };
    let mut request = SignedRecord::sign(&body, &supplier.keys).expect("sign");
    request.cosign(&next);
    let book = |org: &OrgId| w.cert_of(org);
    let checked = request
        .verify_with::<KeyRotationRequest>(&book)
        .expect("request verifies");
    let cert = rotated_certificate(
        &supplier.body,
        checked.body(),
        w.steward.keys.org_id(),
        T0.plus_secs(ROTATED_AT + 3600),
    )
    .expect("granted");
    let cert_record = SignedRecord::sign(&cert, &w.steward.keys).expect("sign");
    w.network
        .verify_certificate(&cert_record)
        .expect("the rotated certificate verifies");
    let new_keys = OrgKeys::from_secret_bytes(next.signing_seed(), next.encryption_secret())
        .rotated(
            supplier.keys.org_id(),
            vec![supplier.keys.encryption_secret()],
        );
    Rotated {
        request,
        cert,
        cert_record,
        new_keys,
    }
}

/// An acknowledgement by the supplier dated `at`, signed with `keys`.
fn ack(w: &World, keys: &OrgKeys, at: u64) -> SignedRecord {
    let case = case_no(1);
    let root = w.event(Role::Cso, case, vec![], T0, escalation_to(keys.org_id()));
    SignedRecord::sign(
        &CaseEvent {
            network_id: w.network.id(),
            case_ref: case,
            case_nonce: None,
            parents: vec![root.digest()],
            author: keys.org_id(),
            authored_at: T0.plus_secs(at),
            payload: EventPayload::Acknowledgement {
                note: String::new(),
            },
        },
        keys,
    )
    .expect("sign")
}

#[test]
fn an_old_key_signs_only_what_is_dated_up_to_its_rotation() {
    let w = World::new();
    let r = rotate(&w);
    let old = &w.m(Role::Supplier).keys;
    let book = |org: &OrgId| {
        if *org == r.cert.org_id {
            Some(r.cert.clone())
        } else {
            w.cert_of(org)
        }
    };
    // The old key, before and at the rotation's second: valid, and the record names no key.
    for at in [ROTATED_AT - DAY, ROTATED_AT] {
        let rec = ack(&w, old, at);
        assert_eq!(rec.signatures[0].key, None);
        rec.verify_with::<CaseEvent>(&book)
            .expect("old key, old date");
    }
    // The old key after it: refused, as unbound (the signature itself is sound).
    let late = ack(&w, old, ROTATED_AT + 1);
    assert!(matches!(
        late.verify_with::<CaseEvent>(&book),
        Err(RecordError::UnboundKey(_))
    ));
    // Control: without the rotated certificate the same record passes.
    late.verify_with::<CaseEvent>(&|o: &OrgId| w.cert_of(o))
        .expect("before the rotation is known");
    // The new key: valid at any date, and it names itself in the signature.
    for at in [ROTATED_AT - DAY, ROTATED_AT + DAY] {
        let rec = ack(&w, &r.new_keys, at);
        assert_eq!(rec.signatures[0].signer, old.org_id());
        assert_eq!(rec.signatures[0].key, Some(r.new_keys.signing_key_id()));
        rec.verify_with::<CaseEvent>(&book).expect("new key");
        // A verifier that knows no rotation refuses it rather than trusting the named key.
        assert!(matches!(
            rec.verify::<CaseEvent>(),
            Err(RecordError::UnboundKey(_))
        ));
    }
    // A stranger's key named in the signature: refused however it is dated.
    let stranger = OrgKeys::from_secret_bytes([77; 32], [78; 32]).rotated(old.org_id(), vec![]);
    let forged = ack(&w, &stranger, ROTATED_AT + DAY);
    assert!(matches!(
        forged.verify_with::<CaseEvent>(&book),
        Err(RecordError::UnboundKey(_))
    ));
    // A tampered record is named as forged, not as unbound.
    let mut tampered = ack(&w, &r.new_keys, ROTATED_AT + DAY);
    tampered.body[10] ^= 1;
    assert!(matches!(
        tampered.verify_with::<CaseEvent>(&book),
        Err(RecordError::BadSignature(_) | RecordError::MalformedBody(_))
    ));
    // A case history uses the certificate it is given.
    let mut h = CaseHistory::new(w.network.id(), case_no(1));
    let root = w.event(
        Role::Cso,
        case_no(1),
        vec![],
        T0,
        escalation_to(old.org_id()),
    );
    let cert_of = |org: &OrgId, _at: Timestamp| book(org);
    h.insert(&root, &cert_of).expect("root");
    assert!(matches!(
        h.insert(&late, &cert_of),
        Err(HistoryError::Record(RecordError::UnboundKey(_)))
    ));
    h.insert(&ack(&w, &r.new_keys, ROTATED_AT + DAY), &cert_of)
        .expect("new key in a history");
}

#[test]
fn rotation_requests_and_key_histories_are_checked() {
    let w = World::new();
    let r = rotate(&w);
    let supplier = &w.m(Role::Supplier).body;
    let req: KeyRotationRequest = serde_json::from_slice(&r.request.body).expect("body");
    let steward = w.steward.keys.org_id();
    let later = T0.plus_secs(ROTATED_AT + 7200);
    // Without the new key's signature: not proof that the requester holds it.
    let mut unsigned = r.request.clone();
    unsigned.signatures.pop();
    assert!(matches!(
        unsigned.verify_with::<KeyRotationRequest>(&|o: &OrgId| w.cert_of(o)),
        Err(RecordError::WrongSigners { .. })
    ));
    // Another organisation, a time in the future or before the certificate, a key used
    // before: refused.
    let other = w.m(Role::Brand).body.clone();
    assert!(rotated_certificate(&other, &req, steward, later).is_err());
    assert!(rotated_certificate(supplier, &req, steward, T0.plus_secs(ROTATED_AT - 1)).is_err());
    let reused = KeyRotationRequest {
        new_signing_key: supplier.org_id,
        ..req.clone()
    };
    assert!(rotated_certificate(supplier, &reused, steward, later).is_err());
    // A second rotation must come after the first, and keeps the whole history.
    assert!(rotated_certificate(&r.cert, &req, steward, later).is_err());
    let third = keys(41);
    let again = KeyRotationRequest {
        new_signing_key: third.signing_key_id(),
        new_encryption_key: third.encryption_key(),
        requested_at: T0.plus_secs(ROTATED_AT + DAY),
        ..req.clone()
    };
    let twice = rotated_certificate(&r.cert, &again, steward, later.plus_days(1)).expect("again");
    assert_eq!(twice.earlier_keys.len(), 2);
    assert_eq!(twice.earlier_keys[0].key, supplier.org_id);
    assert!(twice.key_valid_at(
        &r.new_keys.signing_key_id(),
        Some(T0.plus_secs(ROTATED_AT + 5))
    ));
    assert!(!twice.key_valid_at(&r.new_keys.signing_key_id(), Some(T0.plus_days(12))));
    // Key histories that do not hold together are refused by every verifier.
    let bad_histories = [
        MembershipCertificate {
            earlier_keys: vec![],
            ..r.cert.clone()
        },
        MembershipCertificate {
            signing_key: None,
            ..r.cert.clone()
        },
        MembershipCertificate {
            earlier_keys: vec![EarlierKey {
                key: third.signing_key_id(),
                until: T0,
            }],
            ..r.cert.clone()
        },
        MembershipCertificate {
            earlier_keys: vec![EarlierKey {
                key: supplier.org_id,
                until: r.cert.issued_at.plus_secs(1),
            }],
            ..r.cert.clone()
        },
        MembershipCertificate {
            signing_key: Some(supplier.org_id),
            ..r.cert.clone()
        },
    ];
    for body in bad_histories {
        let rec = SignedRecord::sign(&body, &w.steward.keys).expect("sign");
        assert!(
            matches!(
                w.network.verify_certificate(&rec),
                Err(MembershipError::Invalid(_))
            ),
            "{body:?}"
        );
    }
    // Control: the granted one verifies.
    w.network.verify_certificate(&r.cert_record).expect("valid");
}

#[test]
fn envelopes_bind_the_sender_key_and_open_with_earlier_secrets() {
    let w = World::new();
    let r = rotate(&w);
    let cso = w.m(Role::Cso);
    let to_cso = [Recipient {
        org_id: cso.keys.org_id(),
        encryption_key: cso.keys.encryption_key(),
    }];
    let sent_at = T0.plus_secs(ROTATED_AT + DAY);
    let env = Envelope::seal(
        &r.new_keys,
        w.network.id(),
        MessageKind::CaseEvent,
        &to_cso,
        sent_at,
        b"payload",
    )
    .expect("seal");
    let header = env.claimed_header().expect("header");
    assert_eq!(header.sender, r.cert.org_id);
    assert_eq!(header.sender_key, Some(r.new_keys.signing_key_id()));
    assert!(matches!(env.verify(), Err(EnvelopeError::UnboundKey)));
    let book = |org: &OrgId| (*org == r.cert.org_id).then(|| r.cert.clone());
    let opened = env.open_with(&cso.keys, &book).expect("opens");
    assert_eq!(opened.payload, b"payload");
    // The old key after the rotation: refused; before it: taken.
    let old = &w.m(Role::Supplier).keys;
    for (at, ok) in [(ROTATED_AT + DAY, false), (ROTATED_AT - DAY, true)] {
        let env = Envelope::seal(
            old,
            w.network.id(),
            MessageKind::CaseEvent,
            &to_cso,
            T0.plus_secs(at),
            b"x",
        )
        .expect("seal");
        assert_eq!(env.verify_with(&book).is_ok(), ok, "sent at {at}");
    }
    // A message sealed to the supplier's old encryption key (by a sender that had not yet
    // learned the rotation) still opens after it; to keys it never held, not.
    let to_old = [Recipient {
        org_id: old.org_id(),
        encryption_key: old.encryption_key(),
    }];
    let env = Envelope::seal(
        &cso.keys,
        w.network.id(),
        MessageKind::CaseEvent,
        &to_old,
        sent_at,
        b"late",
    )
    .expect("seal");
    assert_eq!(env.open(&r.new_keys).expect("opens").payload, b"late");
    let forgetful =
        OrgKeys::from_secret_bytes(r.new_keys.signing_seed(), r.new_keys.encryption_secret())
            .rotated(old.org_id(), vec![]);
    assert!(matches!(env.open(&forgetful), Err(EnvelopeError::Decrypt)));
}

/// A network of two stewards (keys 1 and 9); returns it with their keys.
fn two_stewards() -> (Network, OrgKeys, OrgKeys) {
    let a = keys(1);
    let b = keys(9);
    let mut genesis = SignedRecord::sign(
        &NetworkGenesis {
            name: "Two stewards".into(),
            stewards: vec![a.org_id(), b.org_id()],
            created_at: T0,
        },
        &a,
    )
    .expect("sign");
    genesis.cosign(&b);
    (Network::from_genesis(&genesis).expect("genesis"), a, b)
}

fn succession(
    network: &Network,
    old: &OrgKeys,
    new: &OrgKeys,
    cosigners: &[&OrgKeys],
    at: Timestamp,
) -> SignedRecord {
    let body = StewardSuccession {
        network_id: network.id(),
        old: old.org_id(),
        new: new.org_id(),
        cosigners: cosigners.iter().map(|k| k.org_id()).collect(),
        at,
    };
    let mut rec = SignedRecord::sign(&body, old).expect("sign");
    for k in cosigners {
        rec.cosign(k);
    }
    rec.cosign(new);
    rec
}

#[test]
fn a_steward_succession_moves_the_right_to_issue_at_its_time() {
    let (mut network, a, b) = two_stewards();
    let c = keys(11);
    let at = T0.plus_days(100);
    let member = keys(4);
    let issue = |network: &Network, issuer: &OrgKeys, day: u64| {
        let t = T0.plus_days(day);
        let rec = certificate(
            network,
            issuer,
            &member,
            Role::Supplier,
            t,
            t.plus_days(365),
        );
        network.verify_certificate(&rec).map(|_| ())
    };
    // Refused: without the other steward's consent, with the wrong co-signers, or signed
    // by fewer than all of them.
    let alone = succession(&network, &a, &c, &[], at);
    assert!(matches!(
        network.add_succession(&alone),
        Err(MembershipError::Invalid(_))
    ));
    let mut unsigned = succession(&network, &a, &c, &[&b], at);
    unsigned.signatures.remove(1);
    assert!(matches!(
        network.add_succession(&unsigned),
        Err(MembershipError::Record(RecordError::WrongSigners { .. }))
    ));
    // Refused: handing a place to a key that already holds one.
    let to_b = succession(&network, &a, &b, &[&b], at);
    assert!(network.add_succession(&to_b).is_err());
    assert!(network.stewards_at(at).contains(&a.org_id()));
    // Taken: signed by the old key, every other steward and the new key.
    let ok = succession(&network, &a, &c, &[&b], at);
    assert!(network.add_succession(&ok).expect("succession"));
    assert!(
        !network.add_succession(&ok).expect("again"),
        "a duplicate is no news"
    );
    assert_eq!(network.stewards_at(at), vec![c.org_id(), b.org_id()]);
    assert!(network.is_steward(&c.org_id()) && !network.is_steward(&a.org_id()));
    // What the old key issued before the succession stays valid; after it, not.
    issue(&network, &a, 99).expect("issued before the succession");
    assert!(matches!(
        issue(&network, &a, 101),
        Err(MembershipError::NotASteward(_))
    ));
    // In the succession's own second both count (times are whole seconds).
    let same_second = |issuer: &OrgKeys| {
        let rec = certificate(
            &network,
            issuer,
            &member,
            Role::Supplier,
            at,
            at.plus_days(1),
        );
        network.verify_certificate(&rec).map(|_| ())
    };
    same_second(&a).expect("the outgoing key, in the second it hands over");
    same_second(&c).expect("the incoming key, in its first second");
    // The new key issues from the succession on, not before.
    issue(&network, &c, 101).expect("issued by the successor");
    assert!(matches!(
        issue(&network, &c, 99),
        Err(MembershipError::NotASteward(_))
    ));
    // Successions follow each other in time: an older one is refused.
    let d = keys(12);
    let earlier = succession(&network, &b, &d, &[&c], T0.plus_days(50));
    assert!(network.add_succession(&earlier).is_err());
    let next = succession(&network, &b, &d, &[&c], T0.plus_days(150));
    network.add_succession(&next).expect("second succession");
    assert_eq!(
        network.stewards_at(T0.plus_days(150)),
        vec![c.org_id(), d.org_id()]
    );
    // Another network's node, knowing no succession, refuses the successor's certificates.
    let (fresh, _, _) = two_stewards();
    assert!(issue(&fresh, &c, 101).is_err());
}

#[test]
fn a_rotation_granted_in_the_second_of_the_current_certificate_is_refused() {
    let w = World::new();
    let supplier = &w.m(Role::Supplier).body;
    let next = keys(42);
    let req = KeyRotationRequest {
        network_id: w.network.id(),
        org_id: supplier.org_id,
        new_signing_key: next.signing_key_id(),
        new_encryption_key: next.encryption_key(),
        requested_at: supplier.issued_at,
    };
    // Nodes keep the certificate issued later: one issued in the same second would not
    // replace the current one anywhere.
    let steward = w.steward.keys.org_id();
    assert!(rotated_certificate(supplier, &req, steward, supplier.issued_at).is_err());
    rotated_certificate(supplier, &req, steward, supplier.issued_at.plus_secs(1))
        .expect("a second later");
}

#[test]
fn a_bundle_carries_the_successions_its_certificates_need() {
    let w = World::new();
    let successor = keys(11);
    let mut b = bundle(&w);
    // The stewardship passed before the members were certified: the successor issued them.
    let at = Timestamp(T0.0 - DAY);
    let succession = succession(&w.network, &w.steward.keys, &successor, &[], at);
    b.certificates = b
        .certificates
        .iter()
        .map(|rec| {
            let mut body: MembershipCertificate =
                serde_json::from_slice(&rec.body).expect("certificate");
            body.issuer = successor.org_id();
            SignedRecord::sign(&body, &successor).expect("sign")
        })
        .collect();
    assert!(matches!(
        b.verify(),
        Err(BundleError::Membership(MembershipError::NotASteward(_)))
    ));
    b.successions = vec![succession];
    b.verify().expect("with the succession the bundle verifies");
}
