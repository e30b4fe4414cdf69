//! The envelope vector: its fields and signing input built by hand from the document, its
//! signature, opened by the crate and again with the raw primitives, and resealed.

use super::*;

/// The envelope signing input built by hand from the document.
fn manual_envelope_input(header: &[u8], wraps: &[([u8; 32], Vec<u8>)], ct: &[u8]) -> Vec<u8> {
    let mut out = b"ilm/v1/envelope\n".to_vec();
    out.extend_from_slice(&(header.len() as u32).to_be_bytes());
    out.extend_from_slice(header);
    out.extend_from_slice(&(wraps.len() as u32).to_be_bytes());
    for (enc, sealed) in wraps {
        out.extend_from_slice(enc);
        out.extend_from_slice(&(sealed.len() as u32).to_be_bytes());
        out.extend_from_slice(sealed);
    }
    out.extend_from_slice(&(ct.len() as u32).to_be_bytes());
    out.extend_from_slice(ct);
    out
}

#[test]
fn envelope_fields_signature_and_crate_open() {
    let e = envelope_json();
    let r = records_json();
    let env: Envelope = serde_json::from_value(e["envelope"].clone()).expect("envelope parses");
    let header = hex(&e, "header_hex");
    assert_eq!(text(&e, "header_utf8").as_bytes(), &header[..]);
    assert_eq!(env.header, header);
    let ct = hex(&e, "ciphertext_hex");
    assert_eq!(env.ciphertext, ct);
    let wraps: Vec<([u8; 32], Vec<u8>)> = list(&e, "wraps")
        .iter()
        .map(|w| (hex32(w, "enc"), hex(w, "sealed_key")))
        .collect();
    assert_eq!(env.wraps.len(), wraps.len());
    for (w, (enc, sealed)) in env.wraps.iter().zip(&wraps) {
        assert_eq!(&w.enc.0, enc);
        assert_eq!(&w.sealed_key, sealed);
    }

    let input = hex(&e, "signing_input_hex");
    assert_eq!(manual_envelope_input(&header, &wraps, &ct), input);
    assert_eq!(env.signing_input(), input);
    assert_eq!(
        to_hex(&rfc9180::sha256(&[&input])),
        text(&e, "signing_input_sha256")
    );
    // Raw ed25519-dalek over the hand-built input.
    let sender = ed25519_dalek::VerifyingKey::from_bytes(&hex32(&e, "sender_id"))
        .expect("sender id is an ed25519 point");
    let sig = ed25519_dalek::Signature::from_bytes(
        &hex(&e, "signature")
            .try_into()
            .expect("signature is 64 bytes"),
    );
    sender
        .verify_strict(&input, &sig)
        .expect("raw ed25519 verification of the envelope");
    assert_eq!(env.signature.to_hex(), text(&e, "signature"));

    let parsed = env.verify().expect("envelope verifies");
    assert_eq!(parsed.sender.to_hex(), text(&e, "sender_id"));
    assert_eq!(parsed.message_id.to_hex(), text(&e, "message_id"));
    assert_eq!(
        Some(parsed.created_at.0),
        e["created_at"].as_u64(),
        "created_at"
    );
    assert_eq!(parsed.kind, MessageKind::CaseEvent);
    let network = Network::from_genesis(&record_named(&r, "genesis")).expect("genesis");
    assert_eq!(parsed.network_id, network.id());

    let plaintext = hex(&e, "plaintext_hex");
    assert_eq!(text(&e, "plaintext_utf8").as_bytes(), &plaintext[..]);
    let recipients = list(&e, "recipients");
    assert_eq!(recipients.len(), parsed.recipients.len());
    for (rv, id) in recipients.iter().zip(&parsed.recipients) {
        assert_eq!(id.to_hex(), text(rv, "org_id"));
        let keys =
            OrgKeys::from_secret_bytes(hex32(rv, "ed25519_seed"), hex32(rv, "x25519_secret"));
        assert_eq!(keys.org_id(), *id);
        assert_eq!(keys.encryption_key().to_hex(), text(rv, "x25519_public"));
        let opened = env.open(&keys).expect("recipient opens the envelope");
        assert_eq!(opened.payload, plaintext);
        assert_eq!(opened.header, parsed);
    }
    // The payload is the signed acknowledgement record, which verifies on its own.
    let payload: SignedRecord = serde_json::from_slice(&plaintext).expect("payload is a record");
    assert_eq!(payload, record_named(&r, "event_02_acknowledgement"));
    payload.verify::<CaseEvent>().expect("payload verifies");

    // Someone not named cannot open it.
    assert!(matches!(
        env.open(&org_keys(&r, "steward")),
        Err(EnvelopeError::NotARecipient)
    ));
    // A flipped header bit breaks the signature (and the AEADs).
    let mut tampered = env.clone();
    let last = tampered.header.len() - 2;
    tampered.header[last] ^= 0x01;
    assert!(tampered.verify().is_err());
}

#[test]
fn envelope_opens_and_reseals_with_raw_primitives() {
    let e = envelope_json();
    let header = hex(&e, "header_hex");
    let ct = hex(&e, "ciphertext_hex");
    let content_key = hex32(&e, "content_key");
    let plaintext = hex(&e, "plaintext_hex");
    let info = text(&e, "hpke_info_utf8").as_bytes();
    assert_eq!(info, HPKE_INFO);
    let secrets: BTreeMap<&str, [u8; 32]> = list(&e, "recipients")
        .iter()
        .map(|r| (text(r, "name"), hex32(r, "x25519_secret")))
        .collect();

    for w in list(&e, "wraps") {
        let name = text(w, "recipient");
        let enc = hex32(w, "enc");
        let sealed = hex(w, "sealed_key");
        // Receiver: RFC 9180 SetupBaseR, then open the 48-byte wrap with aad = header bytes.
        let ctx = rfc9180::setup_receiver(&enc, &secrets[name], info).expect("non-zero DH");
        assert_eq!(to_hex(&ctx.dh), text(w, "dh"), "{name}");
        assert_eq!(
            to_hex(&ctx.shared_secret),
            text(w, "shared_secret"),
            "{name}"
        );
        assert_eq!(to_hex(&ctx.key), text(w, "key"), "{name}");
        assert_eq!(to_hex(&ctx.base_nonce), text(w, "base_nonce"), "{name}");
        let key = ChaCha20Poly1305::new(&ctx.key.into())
            .decrypt(
                &ctx.base_nonce.into(),
                Payload {
                    msg: &sealed,
                    aad: &header,
                },
            )
            .expect("the key wrap opens");
        assert_eq!(key, content_key.to_vec(), "{name}");
        // Payload: ChaCha20-Poly1305 with the content key, zero nonce, aad = header bytes.
        let key: [u8; 32] = key.try_into().expect("content key is 32 bytes");
        let opened = ChaCha20Poly1305::new(&key.into())
            .decrypt(
                &[0u8; 12].into(),
                Payload {
                    msg: &ct,
                    aad: &header,
                },
            )
            .expect("the payload opens");
        assert_eq!(opened, plaintext, "{name}");

        // Sender: the same wrap again from the recorded ephemeral input keying material.
        let ikm = hex(w, "ephemeral_ikm");
        let (eph_secret, eph_public) = rfc9180::derive_keypair(&ikm);
        assert_eq!(to_hex(&eph_secret), text(w, "ephemeral_secret"), "{name}");
        assert_eq!(eph_public, enc, "{name}");
        let pk = rfc9180::x25519_public(&secrets[name]);
        let sctx = rfc9180::setup_sender(&ikm, &pk, info).expect("non-zero DH");
        assert_eq!(sctx, ctx, "{name}: both sides derive the same context");
        let resealed = ChaCha20Poly1305::new(&sctx.key.into())
            .encrypt(
                &sctx.base_nonce.into(),
                Payload {
                    msg: &content_key,
                    aad: &header,
                },
            )
            .expect("seal");
        assert_eq!(resealed, sealed, "{name}");
    }
    let reencrypted = ChaCha20Poly1305::new(&content_key.into())
        .encrypt(
            &[0u8; 12].into(),
            Payload {
                msg: &plaintext,
                aad: &header,
            },
        )
        .expect("encrypt");
    assert_eq!(reencrypted, ct);

    // The sender's signature is deterministic too.
    let r = records_json();
    let (seed, _) = secrets_of(&r, text(&e, "sender"));
    let sig = ed25519_dalek::SigningKey::from_bytes(&seed).sign(&hex(&e, "signing_input_hex"));
    assert_eq!(to_hex(&sig.to_bytes()), text(&e, "signature"));
}

fn secrets_of(v: &Value, name: &str) -> ([u8; 32], [u8; 32]) {
    secrets(v)
        .get(name)
        .copied()
        .unwrap_or_else(|| panic!("no key named {name}"))
}
