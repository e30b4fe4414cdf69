//! End-to-end encrypted envelopes: round trips, recipients only, header bound.

mod common;

use common::*;
use ilm_protocol::envelope::KeyWrap;
use ilm_protocol::*;
use proptest::prelude::*;

fn recipient(k: &OrgKeys) -> Recipient {
    Recipient {
        org_id: k.org_id(),
        encryption_key: k.encryption_key(),
    }
}

fn net() -> NetworkId {
    NetworkId([3; 16])
}

#[test]
fn every_named_recipient_can_open_and_others_cannot() {
    let sender = keys(1);
    let (a, b, outsider) = (keys(2), keys(3), keys(4));
    let env = Envelope::seal(
        &sender,
        net(),
        MessageKind::CaseEvent,
        &[recipient(&a), recipient(&b)],
        T0,
        b"escalation",
    )
    .expect("seal");
    for k in [&a, &b] {
        let opened = env.open(k).expect("open");
        assert_eq!(opened.payload, b"escalation");
        assert_eq!(opened.header.sender, sender.org_id());
    }
    assert!(matches!(
        env.open(&outsider),
        Err(EnvelopeError::NotARecipient)
    ));
}

#[test]
fn wrong_recipient_key_cannot_decrypt() {
    let sender = keys(1);
    let a = keys(2);
    // Same org id as `a`, different X25519 secret: decryption must fail.
    let impostor = OrgKeys::from_secret_bytes(a.signing_seed(), [77; 32]);
    let env = Envelope::seal(
        &sender,
        net(),
        MessageKind::CaseEvent,
        &[recipient(&a)],
        T0,
        b"x",
    )
    .expect("seal");
    assert!(matches!(env.open(&impostor), Err(EnvelopeError::Decrypt)));
    // A wrap sealed to someone else, swapped in, does not open either.
    let other = Envelope::seal(
        &sender,
        net(),
        MessageKind::CaseEvent,
        &[recipient(&keys(5))],
        T0,
        b"x",
    )
    .expect("seal");
    let mut swapped = env.clone();
    swapped.wraps[0] = KeyWrap {
        ..other.wraps[0].clone()
    };
    assert!(swapped.open_unsigned(&a).is_err());
}

#[test]
fn tampered_header_fails_decryption_even_when_re_signed() {
    let sender = keys(1);
    let a = keys(2);
    let env = Envelope::seal(
        &sender,
        net(),
        MessageKind::CaseEvent,
        &[recipient(&a)],
        T0,
        b"payload",
    )
    .expect("seal");
    let mut header: Header = serde_json::from_slice(&env.header).expect("header");
    header.kind = MessageKind::Attestation;
    let mut tampered = env.clone();
    tampered.header = serde_json::to_vec(&header).expect("encode");
    // The outer signature catches it...
    assert!(matches!(
        tampered.open(&a),
        Err(EnvelopeError::BadSignature)
    ));
    // ...and the AEADs bind the header on their own: without the signature check, and even
    // re-signed by the sender, decryption fails.
    assert!(matches!(
        tampered.open_unsigned(&a),
        Err(EnvelopeError::Decrypt)
    ));
    let resigned = resign(&tampered, &sender);
    assert!(resigned.verify().is_ok());
    assert!(matches!(resigned.open(&a), Err(EnvelopeError::Decrypt)));
}

/// Signs the tampered envelope again with the sender's key, as a sender changing its own
/// header after sealing would.
fn resign(env: &Envelope, sender: &OrgKeys) -> Envelope {
    let mut out = env.clone();
    let input = out.signing_input();
    out.signature = sign_bytes(sender, &input);
    out
}

fn sign_bytes(k: &OrgKeys, msg: &[u8]) -> SignatureBytes {
    use ed25519_dalek::{Signer, SigningKey};
    SignatureBytes(
        SigningKey::from_bytes(&k.signing_seed())
            .sign(msg)
            .to_bytes(),
    )
}

#[test]
fn tampered_ciphertext_or_signature_is_rejected() {
    let sender = keys(1);
    let a = keys(2);
    let env = Envelope::seal(
        &sender,
        net(),
        MessageKind::CaseEvent,
        &[recipient(&a)],
        T0,
        b"payload",
    )
    .expect("seal");
    let mut c = env.clone();
    c.ciphertext[0] ^= 1;
    assert!(matches!(c.open(&a), Err(EnvelopeError::BadSignature)));
    assert!(matches!(c.open_unsigned(&a), Err(EnvelopeError::Decrypt)));
    let mut s = env.clone();
    s.signature.0[10] ^= 0x20;
    assert!(matches!(s.open(&a), Err(EnvelopeError::BadSignature)));
    let mut w = env.clone();
    w.wraps[0].sealed_key[5] ^= 1;
    assert!(matches!(w.open(&a), Err(EnvelopeError::BadSignature)));
    assert!(matches!(w.open_unsigned(&a), Err(EnvelopeError::Decrypt)));
}

#[test]
fn malformed_envelopes_get_clear_errors() {
    let sender = keys(1);
    let a = keys(2);
    assert!(Envelope::seal(&sender, net(), MessageKind::CaseEvent, &[], T0, b"x").is_err());
    let env = Envelope::seal(
        &sender,
        net(),
        MessageKind::CaseEvent,
        &[recipient(&a)],
        T0,
        b"x",
    )
    .expect("seal");
    let mut no_wrap = env.clone();
    no_wrap.wraps.clear();
    assert!(matches!(no_wrap.open(&a), Err(EnvelopeError::Malformed(_))));
    let mut bad_header = env.clone();
    bad_header.header = b"not json".to_vec();
    assert!(matches!(
        bad_header.open(&a),
        Err(EnvelopeError::MalformedHeader(_))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn seal_open_round_trip(payload in proptest::collection::vec(any::<u8>(), 0..4096), n in 1usize..4) {
        let sender = keys(1);
        let rs: Vec<OrgKeys> = (0..n).map(|i| keys(10 + i as u8)).collect();
        let recipients: Vec<Recipient> = rs.iter().map(recipient).collect();
        let env = Envelope::seal(&sender, net(), MessageKind::HistorySync, &recipients, T0, &payload)
            .expect("seal");
        // Survives both encodings the node uses.
        let json = serde_json::to_vec(&env).expect("json");
        let env: Envelope = serde_json::from_slice(&json).expect("json back");
        for k in &rs {
            let opened = env.open(k).expect("open");
            prop_assert_eq!(&opened.payload, &payload);
            prop_assert_eq!(opened.header.recipients.len(), n);
        }
    }
}

#[test]
fn a_recipient_named_twice_is_refused() {
    let sender = keys(1);
    let a = keys(2);
    assert!(matches!(
        Envelope::seal(
            &sender,
            net(),
            MessageKind::CaseEvent,
            &[recipient(&a), recipient(&a)],
            T0,
            b"x"
        ),
        Err(EnvelopeError::Malformed(_))
    ));
}

#[test]
fn check_then_open_verifies_once_and_refuses_forgeries() {
    let sender = keys(1);
    let a = keys(2);
    let env = Envelope::seal(
        &sender,
        net(),
        MessageKind::CaseEvent,
        &[recipient(&a)],
        T0,
        b"once",
    )
    .expect("seal");
    let checked = env.check().expect("check");
    assert_eq!(checked.header().sender, sender.org_id());
    assert_eq!(checked.open(&a).expect("open").payload, b"once");
    let mut forged = env.clone();
    forged.signature.0[0] ^= 1;
    assert!(matches!(forged.check(), Err(EnvelopeError::BadSignature)));
    // The claimed header is readable without verification (and says nothing about validity).
    assert_eq!(
        forged.claimed_header().expect("header").sender,
        sender.org_id()
    );
}
