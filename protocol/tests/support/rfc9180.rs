//! A from-scratch RFC 9180 key schedule for the one HPKE suite the envelope uses
//! (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305, base mode), written only from
//! the RFC with SHA-256 and the X25519 function.
//!
//! Shared by the test-vector generator (`examples/gen_vectors.rs`, to record intermediate
//! values) and the vector test (`tests/vectors.rs`, to check them), via `#[path]`. It exists so
//! that the vectors show every step a reimplementation in another language has to get right,
//! and so that the test can show that docs/PROTOCOL.md's recipe is what the `hpke` crate does.
#![allow(dead_code)]

use sha2::Digest as _;

/// KEM id of DHKEM(X25519, HKDF-SHA256).
pub const KEM_ID: u16 = 0x0020;
/// KDF id of HKDF-SHA256.
pub const KDF_ID: u16 = 0x0001;
/// AEAD id of ChaCha20-Poly1305.
pub const AEAD_ID: u16 = 0x0003;
/// Mode id of the base mode.
pub const MODE_BASE: u8 = 0x00;

/// `"KEM" || I2OSP(kem_id, 2)`: the suite id used inside the KEM.
pub fn kem_suite_id() -> Vec<u8> {
    let mut s = b"KEM".to_vec();
    s.extend_from_slice(&KEM_ID.to_be_bytes());
    s
}

/// `"HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) || I2OSP(aead_id, 2)`: the key-schedule suite id.
pub fn hpke_suite_id() -> Vec<u8> {
    let mut s = b"HPKE".to_vec();
    s.extend_from_slice(&KEM_ID.to_be_bytes());
    s.extend_from_slice(&KDF_ID.to_be_bytes());
    s.extend_from_slice(&AEAD_ID.to_be_bytes());
    s
}

/// SHA-256 of the concatenated parts.
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// HMAC-SHA256 (RFC 2104) for keys of at most 64 bytes (all keys used here are 0 or 32 bytes).
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    assert!(
        key.len() <= 64,
        "HMAC keys longer than a block are not needed here"
    );
    let mut block = [0u8; 64];
    block[..key.len()].copy_from_slice(key);
    let ipad: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
    let inner = sha256(&[&ipad, msg]);
    sha256(&[&opad, &inner])
}

/// `LabeledExtract(salt, label, ikm) = HKDF-Extract(salt, "HPKE-v1" || suite_id || label || ikm)`.
pub fn labeled_extract(suite_id: &[u8], salt: &[u8], label: &[u8], ikm: &[u8]) -> [u8; 32] {
    let mut labeled = b"HPKE-v1".to_vec();
    labeled.extend_from_slice(suite_id);
    labeled.extend_from_slice(label);
    labeled.extend_from_slice(ikm);
    hmac_sha256(salt, &labeled)
}

/// `LabeledExpand(prk, label, info, L) = HKDF-Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id
/// || label || info, L)`, for `L <= 32` (one HKDF block).
pub fn labeled_expand(
    suite_id: &[u8],
    prk: &[u8; 32],
    label: &[u8],
    info: &[u8],
    len: u16,
) -> Vec<u8> {
    assert!(len <= 32, "one HKDF-Expand block is enough for this suite");
    let mut labeled = len.to_be_bytes().to_vec();
    labeled.extend_from_slice(b"HPKE-v1");
    labeled.extend_from_slice(suite_id);
    labeled.extend_from_slice(label);
    labeled.extend_from_slice(info);
    labeled.push(0x01); // HKDF-Expand block counter T(1)
    hmac_sha256(prk, &labeled)[..usize::from(len)].to_vec()
}

/// X25519 public key of a secret (RFC 7748; the function clamps the scalar).
pub fn x25519_public(secret: &[u8; 32]) -> [u8; 32] {
    x25519_dalek::x25519(*secret, x25519_dalek::X25519_BASEPOINT_BYTES)
}

/// `DeriveKeyPair(ikm)` for DHKEM(X25519, HKDF-SHA256): (secret, public).
pub fn derive_keypair(ikm: &[u8]) -> ([u8; 32], [u8; 32]) {
    let suite = kem_suite_id();
    let dkp_prk = labeled_extract(&suite, b"", b"dkp_prk", ikm);
    let sk_vec = labeled_expand(&suite, &dkp_prk, b"sk", b"", 32);
    let mut sk = [0u8; 32];
    sk.copy_from_slice(&sk_vec);
    (sk, x25519_public(&sk))
}

/// Every intermediate value of one base-mode HPKE context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The encapsulated key (ephemeral public key).
    pub enc: [u8; 32],
    /// X25519(ephemeral secret, recipient public) = X25519(recipient secret, enc).
    pub dh: [u8; 32],
    /// The KEM shared secret.
    pub shared_secret: [u8; 32],
    /// The AEAD key.
    pub key: [u8; 32],
    /// The AEAD base nonce (the nonce of the first and only message).
    pub base_nonce: [u8; 12],
}

fn schedule(enc: [u8; 32], dh: [u8; 32], pk_r: &[u8; 32], info: &[u8]) -> Option<Context> {
    if dh == [0u8; 32] {
        return None; // RFC 9180 section 7.1.4: an all-zero DH output is an error
    }
    // ExtractAndExpand(dh, kem_context), kem_context = enc || pkRm
    let kem = kem_suite_id();
    let eae_prk = labeled_extract(&kem, b"", b"eae_prk", &dh);
    let mut kem_context = enc.to_vec();
    kem_context.extend_from_slice(pk_r);
    let ss = labeled_expand(&kem, &eae_prk, b"shared_secret", &kem_context, 32);
    let mut shared_secret = [0u8; 32];
    shared_secret.copy_from_slice(&ss);
    // KeySchedule(mode_base, shared_secret, info, psk = "", psk_id = "")
    let suite = hpke_suite_id();
    let psk_id_hash = labeled_extract(&suite, b"", b"psk_id_hash", b"");
    let info_hash = labeled_extract(&suite, b"", b"info_hash", info);
    let mut ksc = vec![MODE_BASE];
    ksc.extend_from_slice(&psk_id_hash);
    ksc.extend_from_slice(&info_hash);
    let secret = labeled_extract(&suite, &shared_secret, b"secret", b"");
    let key_vec = labeled_expand(&suite, &secret, b"key", &ksc, 32);
    let nonce_vec = labeled_expand(&suite, &secret, b"base_nonce", &ksc, 12);
    let mut key = [0u8; 32];
    key.copy_from_slice(&key_vec);
    let mut base_nonce = [0u8; 12];
    base_nonce.copy_from_slice(&nonce_vec);
    Some(Context {
        enc,
        dh,
        shared_secret,
        key,
        base_nonce,
    })
}

/// Sender side: `SetupBaseS(pkR, info)` with the ephemeral key pair derived from `eph_ikm`.
pub fn setup_sender(eph_ikm: &[u8], pk_r: &[u8; 32], info: &[u8]) -> Option<Context> {
    let (sk_e, pk_e) = derive_keypair(eph_ikm);
    let dh = x25519_dalek::x25519(sk_e, *pk_r);
    schedule(pk_e, dh, pk_r, info)
}

/// Receiver side: `SetupBaseR(enc, skR, info)`.
pub fn setup_receiver(enc: &[u8; 32], sk_r: &[u8; 32], info: &[u8]) -> Option<Context> {
    let pk_r = x25519_public(sk_r);
    let dh = x25519_dalek::x25519(*sk_r, *enc);
    schedule(*enc, dh, &pk_r, info)
}
