//! What each fuzz target does with its input: decode it the way the node decodes untrusted
//! bytes, then run the checks that follow. Shared by the fuzz targets (`fuzz/fuzz_targets`)
//! and by the regression test that replays every committed corpus file and crash
//! (`tests/fuzz_regressions.rs`), so a crash once found stays fixed.
//!
//! Every function must return normally for every input: a panic is the bug the fuzzer
//! looks for.

#![allow(dead_code)]

use ilm_node::net::proto::{Request, Response};
use ilm_protocol::{
    AttestationBundle, CaseEvent, Envelope, MembershipCertificate, Network, NetworkGenesis,
    OrgKeys, RecordKind, SignedRecord, SupplyChainLink, Timestamp,
};
use std::sync::OnceLock;

/// What a target does with one input.
pub type Target = fn(&[u8]);

/// Every target, by name: (name, function).
pub const TARGETS: &[(&str, Target)] = &[
    ("envelope", envelope),
    ("record", record),
    ("bundle", bundle),
    ("wire", wire),
    ("gossip", gossip),
    ("payload", payload),
    ("config", config),
    ("api_json", api_json),
    ("backup", backup),
];

/// A fixed organisation: the recipient of fuzzed envelopes and the steward of the network
/// fuzzed gossip claims to belong to.
fn keys() -> &'static OrgKeys {
    static KEYS: OnceLock<OrgKeys> = OnceLock::new();
    KEYS.get_or_init(|| OrgKeys::from_secret_bytes([7; 32], [9; 32]))
}

fn network() -> Option<&'static Network> {
    static NET: OnceLock<Option<Network>> = OnceLock::new();
    NET.get_or_init(|| {
        let genesis = SignedRecord::sign(
            &NetworkGenesis {
                name: "Fuzz network".into(),
                stewards: vec![keys().org_id()],
                created_at: Timestamp(1_700_000_000),
            },
            keys(),
        )
        .ok()?;
        Network::from_genesis(&genesis).ok()
    })
    .as_ref()
}

/// An envelope as the delivery protocol carries it (CBOR, like libp2p's codec): shape and
/// signature check, then the decryption path (reached without a valid signature through
/// `open_unsigned`, so the fuzzer explores it).
pub fn envelope(data: &[u8]) {
    let Ok(env) = cbor4ii::serde::from_slice::<Envelope>(data) else {
        return;
    };
    if let Ok(checked) = env.check() {
        let _ = checked.open(keys());
    }
    let _ = env.open_unsigned(keys());
}

/// A signed record file (JSON), verified as each kind of body.
pub fn record(data: &[u8]) {
    let Ok(rec) = serde_json::from_slice::<SignedRecord>(data) else {
        return;
    };
    let _ = rec.verify::<CaseEvent>();
    let _ = rec.verify::<MembershipCertificate>();
    let _ = rec.verify::<SupplyChainLink>();
    let _ = Network::from_genesis(&rec);
    let _ = rec.digest();
}

/// An attestation bundle, as `ilm verify` and the brand's upload form read it.
pub fn bundle(data: &[u8]) {
    if let Ok(b) = serde_json::from_slice::<AttestationBundle>(data) {
        let _ = b.verify();
    }
}

/// Request-response messages, decoded as libp2p's CBOR codec decodes them.
pub fn wire(data: &[u8]) {
    let _ = cbor4ii::serde::from_slice::<Request>(data);
    let _ = cbor4ii::serde::from_slice::<Response>(data);
}

/// A gossiped certificate or revocation, checked against a network as the gatekeeper does.
pub fn gossip(data: &[u8]) {
    let Ok(rec) = serde_json::from_slice::<SignedRecord>(data) else {
        return;
    };
    let Some(net) = network() else {
        return;
    };
    match rec.kind {
        RecordKind::MembershipCertificate => {
            let _ = net.verify_certificate(&rec);
        }
        RecordKind::Revocation => {
            let _ = net.check_revocation(&rec);
        }
        _ => {}
    }
}

/// The payloads of opened envelopes, one per message kind.
pub fn payload(data: &[u8]) {
    let _ = serde_json::from_slice::<ilm_node::records::Disclosure>(data);
    let _ = serde_json::from_slice::<ilm_node::records::StatusReport>(data);
    let _ = serde_json::from_slice::<ilm_node::net::proto::SyncPayload>(data);
    let _ = serde_json::from_slice::<SupplyChainLink>(data);
    if let Ok(b) = serde_json::from_slice::<AttestationBundle>(data) {
        let _ = b.verify();
    }
}

/// `config.toml`.
pub fn config(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = ilm_node::config::Config::parse(text);
    }
}

/// JSON bodies of the admin API's intake routes, parsed and validated as the handlers do.
pub fn api_json(data: &[u8]) {
    if let Ok(c) = serde_json::from_slice::<ilm_node::intake::ContactInput>(data) {
        let _ = c.validate();
    }
    if let Ok(c) = serde_json::from_slice::<ilm_node::intake::OpenCaseInput>(data) {
        let _ = c.validate();
    }
}

/// The recovery key fuzzed backups are sealed to.
fn recovery_key() -> ilm_node::backup::RecoveryKey {
    ilm_node::backup::RecoveryKey::from_bytes([3; 32])
}

/// A backup file as `ilm restore` reads it: the clear header, then the sealed chunks opened
/// with a fixed recovery key, then the archive inside; and the archive decoder on its own.
pub fn backup(data: &[u8]) {
    use ilm_node::backup::{BackupSecret, archive::ArchiveReader, sealed};
    use std::io::Read;
    fn drain<R: Read>(r: R) {
        if let Ok(mut archive) = ArchiveReader::new(r) {
            while let Ok(Some(_)) = archive.next_item() {}
        }
    }
    drain(data);
    let mut r = data;
    let Ok((header, aad)) = sealed::read_header(&mut r) else {
        return;
    };
    let secret = BackupSecret::RecoveryKey(recovery_key());
    if let Ok(opened) =
        sealed::OpenReader::new(r, &header, aad, &secret, std::path::Path::new("fuzz"))
    {
        drain(opened);
    }
}

/// A small archive sealed to [`recovery_key`], and the archive alone.
fn backup_seeds() -> Vec<Vec<u8>> {
    use ilm_node::backup::archive::{ArchiveHeader, ArchiveWriter, FORMAT};
    use ilm_node::backup::{BackupSecret, sealed::SealWriter};
    use ilm_node::store::SnapshotItem;
    use std::io::Write;
    let header = ArchiveHeader {
        format: FORMAT,
        created_at: Timestamp(1_700_000_000),
        org_id: keys().org_id(),
        schema_version: Some(1),
    };
    let archive = (|| -> std::io::Result<Vec<u8>> {
        let mut w = ArchiveWriter::new(Vec::new(), &header)?;
        w.file("config.toml", b"[node]\n")?;
        w.snapshot_item(SnapshotItem::Tree(b"data"))?;
        w.snapshot_item(SnapshotItem::Record {
            key: b"k",
            value: b"{}",
        })?;
        Ok(w.finish()?.0)
    })();
    let Ok(archive) = archive else {
        return Vec::new();
    };
    let secret = BackupSecret::RecoveryKey(recovery_key());
    let sealed = SealWriter::new(
        Vec::new(),
        keys().org_id(),
        Timestamp(1_700_000_000),
        &secret,
        std::path::Path::new("fuzz"),
    )
    .ok()
    .and_then(|mut s| {
        s.write_all(&archive).ok()?;
        s.finish().ok()
    });
    sealed.into_iter().chain([archive]).collect()
}

/// Valid inputs for every target, made with the real encoders, so each target starts from
/// bytes the node accepts: (target, bytes).
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    let k = keys();
    let Some(net) = network() else {
        return out;
    };
    let cert = SignedRecord::sign(
        &MembershipCertificate {
            network_id: net.id(),
            org_id: k.org_id(),
            name: "Fuzz Steward".into(),
            role: ilm_protocol::Role::Steward,
            country: "TH".parse().expect("country"),
            encryption_key: k.encryption_key(),
            not_before: Timestamp(1_700_000_000),
            not_after: Timestamp(1_900_000_000),
            issuer: k.org_id(),
            issued_at: Timestamp(1_700_000_000),
            signing_key: None,
            earlier_keys: Vec::new(),
        },
        k,
    )
    .expect("sign");
    let cert_json = serde_json::to_vec(&cert).expect("json");
    out.push(("record", cert_json.clone()));
    out.push((
        "record",
        serde_json::to_vec(net.genesis_record()).expect("json"),
    ));
    out.push(("gossip", cert_json.clone()));
    let me = ilm_protocol::Recipient {
        org_id: k.org_id(),
        encryption_key: k.encryption_key(),
    };
    let env = Envelope::seal(
        k,
        net.id(),
        ilm_protocol::MessageKind::CaseEvent,
        &[me],
        Timestamp(1_700_000_100),
        &cert_json,
    )
    .expect("seal");
    let env_cbor = cbor4ii::serde::to_vec(Vec::new(), &env).expect("cbor");
    out.push(("envelope", env_cbor));
    out.push((
        "wire",
        cbor4ii::serde::to_vec(Vec::new(), &Request::Deliver(env)).expect("cbor"),
    ));
    out.push((
        "wire",
        cbor4ii::serde::to_vec(
            Vec::new(),
            &Request::Hello(ilm_node::net::proto::Hello {
                certificate: cert.clone(),
                revocations: Vec::new(),
                successions: Vec::new(),
            }),
        )
        .expect("cbor"),
    ));
    out.push((
        "wire",
        cbor4ii::serde::to_vec(Vec::new(), &Response::Directory(vec![cert])).expect("cbor"),
    ));
    out.push(("payload", b"{\"case_ref\":\"00\",\"workers\":[]}".to_vec()));
    let vectors = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../protocol/tests/vectors/bundle.json"
    );
    if let Ok(b) = std::fs::read(vectors) {
        out.push(("bundle", b.clone()));
        out.push(("payload", b));
    }
    let configs = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/cso.toml");
    if let Ok(c) = std::fs::read(configs) {
        out.push(("config", c));
    }
    out.push((
        "api_json",
        br#"{"channel":"line","language":"my","nationality":"MM","gender":"female","age_band":"25_34","sector":"seafood","origin":"MM","destination":"TH","identity":{"name":"Fuzz Worker","phone":"+66 81 000 0000"},"notes":"n"}"#.to_vec(),
    ));
    out.push((
        "api_json",
        br#"{"contacts":["00112233445566778899aabbccddeeff"],"workers":3,"issues":[{"category":"wages_and_benefits"}],"site":"Pier 4"}"#.to_vec(),
    ));
    out.extend(backup_seeds().into_iter().map(|b| ("backup", b)));
    out.push((
        "wire",
        cbor4ii::serde::to_vec(
            Vec::new(),
            &Request::Redeliver(ilm_node::net::proto::RedeliverRequest {
                since: Timestamp(1_700_000_000),
            }),
        )
        .expect("cbor"),
    ));
    out
}
