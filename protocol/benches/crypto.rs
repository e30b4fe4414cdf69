//! Cost of the protocol's per-message cryptography against the raw primitives it is built on.
//!
//! One realistic escalation (a `CaseEvent` whose serialized `SignedRecord` is 2 KiB by
//! default, see [`DEFAULT_RECORD_LEN`]) is measured two ways in the same run:
//!
//! * with criterion, in two groups: `seal-side` (ours: sign + serialize + seal; raw ed25519
//!   sign; raw ChaCha20-Poly1305 encrypt) and `open-side` (ours: open + parse + verify; raw
//!   ed25519 verify; raw ChaCha20-Poly1305 decrypt), all over the same record bytes;
//! * with a plain interleaved in-process loop, which also times the parts of our pipeline, so
//!   the ratios ours / (raw signature + raw AEAD) can be printed at the end.
//!
//! Run with `cargo bench -p ilm-protocol --bench crypto`; results are discussed in
//! BENCHMARKS.md. Nothing here asserts on time.

use chacha20poly1305::ChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, KeyInit};
use criterion::{Criterion, Throughput};
use ed25519_dalek::{Signer, SigningKey};
use hpke::{Deserializable, OpModeR, OpModeS};
use ilm_protocol::event::Escalation;
use ilm_protocol::{
    CaseEvent, CaseNonce, CaseRef, Envelope, EventPayload, IssueCategory, MessageKind, Money,
    NetworkId, OrgKeys, Recipient, SignedRecord, Timestamp,
};
use std::hint::black_box;
use std::time::{Duration, Instant};

type HpkeKem = hpke::kem::X25519HkdfSha256;
type HpkeKdf = hpke::kdf::HkdfSha256;
type HpkeAead = hpke::aead::ChaCha20Poly1305;

/// Default size the serialized `SignedRecord` (the envelope's plaintext) is padded to.
///
/// 1 KiB is not reachable: the record carries its body as hex, so the fixed fields alone
/// (network, case, author and recipient ids, signer and signature, fee, deadlines) already make
/// a record of about 1.5 KiB with an empty description. 2 KiB leaves room for a realistic description of ~260
/// characters. Override with the `ILM_BENCH_RECORD_BYTES` environment variable.
const DEFAULT_RECORD_LEN: usize = 2048;

/// Redacted issue description; repeated and cut to reach the target record size.
const DESCRIPTION: &str = "Workers on the night shift of the peeling line report that the \
    sending agency charged each of them 45,000 THB in placement and medical fees before \
    departure, financed by a lender in the home province at 5% a month. Passports were \
    collected on arrival for 'visa processing' and have not been returned after eight months. \
    Deductions for housing and equipment leave less than the minimum wage. ";

/// Everything the measured operations need, built once.
struct Fixture {
    cso: OrgKeys,
    supplier: OrgKeys,
    recipient: Recipient,
    network_id: NetworkId,
    event: CaseEvent,
    /// Size of the record with an empty description (the smallest this event can be).
    floor_len: usize,
    /// The serialized signed record: the payload every operation works on.
    record_bytes: Vec<u8>,
    /// A sealed envelope of `record_bytes`, for the open side.
    envelope: Envelope,
    /// Raw-baseline ed25519 key (same seed as `cso`) and its signature over `record_bytes`.
    raw_signing: SigningKey,
    raw_signature: ed25519_dalek::Signature,
    /// Raw-baseline AEAD with a fixed key, and `record_bytes` encrypted under the fixed nonce.
    raw_cipher: ChaCha20Poly1305,
    raw_nonce: chacha20poly1305::Nonce,
    raw_ciphertext: Vec<u8>,
}

const CSO_SEED: [u8; 32] = [0x11; 32];

fn escalation_event(
    network_id: NetworkId,
    cso: &OrgKeys,
    supplier: &OrgKeys,
    description: String,
) -> CaseEvent {
    CaseEvent {
        network_id,
        case_ref: CaseRef::derive(&cso.org_id(), &CaseNonce([0x5a; 16])),
        case_nonce: Some(CaseNonce([0x5a; 16])),
        parents: Vec::new(),
        author: cso.org_id(),
        authored_at: Timestamp(1_767_225_600),
        payload: EventPayload::Escalation(Escalation {
            to: supplier.org_id(),
            categories: vec![
                IssueCategory::RecruitmentFees,
                IssueCategory::RetentionOfIdentityDocuments,
            ],
            workers_affected: 140,
            site: "Seafood processing, Samut Sakhon".to_string(),
            requested_remedy: "Repay fees; return passports".to_string(),
            description,
            recruitment_fees: Some(Money {
                minor_units: 4_500_000,
                currency: "THB".parse().expect("THB is a valid currency code"),
            }),
            acknowledge_by: Timestamp(1_767_225_600).plus_days(7),
            remediate_by: Timestamp(1_767_225_600).plus_days(90),
        }),
    }
}

fn record_len(event: &CaseEvent, keys: &OrgKeys) -> usize {
    let record = SignedRecord::sign(event, keys).expect("sign the fixture event");
    serde_json::to_vec(&record)
        .expect("encode the fixture record")
        .len()
}

impl Fixture {
    fn new() -> Fixture {
        let cso = OrgKeys::from_secret_bytes(CSO_SEED, [0x22; 32]);
        let supplier = OrgKeys::from_secret_bytes([0x33; 32], [0x44; 32]);
        let network_id = NetworkId([0x0e; 16]);

        // The body is hex in the record, so each description byte adds two record bytes.
        let base = record_len(
            &escalation_event(network_id, &cso, &supplier, String::new()),
            &cso,
        );
        let target = std::env::var("ILM_BENCH_RECORD_BYTES")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(DEFAULT_RECORD_LEN);
        let want = target.saturating_sub(base) / 2;
        let description: String = DESCRIPTION
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .cycle()
            .take(want)
            .collect();
        let event = escalation_event(network_id, &cso, &supplier, description);

        let record = SignedRecord::sign(&event, &cso).expect("sign the fixture event");
        let record_bytes = serde_json::to_vec(&record).expect("encode the fixture record");
        let recipient = Recipient {
            org_id: supplier.org_id(),
            encryption_key: supplier.encryption_key(),
        };
        let envelope = Envelope::seal(
            &cso,
            network_id,
            MessageKind::CaseEvent,
            &[recipient],
            Timestamp(1_767_225_600),
            &record_bytes,
        )
        .expect("seal the fixture record");

        let raw_signing = SigningKey::from_bytes(&CSO_SEED);
        let raw_signature = raw_signing.sign(&record_bytes);
        let raw_cipher = ChaCha20Poly1305::new(&[0x42; 32].into());
        let raw_nonce: chacha20poly1305::Nonce = [0x07; 12].into();
        let raw_ciphertext = raw_cipher
            .encrypt(&raw_nonce, record_bytes.as_slice())
            .expect("encrypt the fixture bytes");

        Fixture {
            cso,
            supplier,
            recipient,
            network_id,
            event,
            floor_len: base,
            record_bytes,
            envelope,
            raw_signing,
            raw_signature,
            raw_cipher,
            raw_nonce,
            raw_ciphertext,
        }
    }

    // --- ours ---

    /// Sign the event, encode the record, seal it to one recipient.
    fn sign_seal(&self) -> Envelope {
        let record = SignedRecord::sign(&self.event, &self.cso).expect("sign the event");
        let bytes = serde_json::to_vec(&record).expect("encode the record");
        self.seal(&bytes)
    }

    /// Open the envelope, parse the record, verify it as a case event.
    fn open_verify(&self) -> ilm_protocol::Verified<CaseEvent> {
        let opened = self
            .envelope
            .open(&self.supplier)
            .expect("open the envelope");
        self.parse_verify(&opened.payload)
    }

    // --- parts of ours, for the breakdown ---

    fn seal(&self, payload: &[u8]) -> Envelope {
        Envelope::seal(
            &self.cso,
            self.network_id,
            MessageKind::CaseEvent,
            &[self.recipient],
            Timestamp(1_767_225_600),
            payload,
        )
        .expect("seal the record")
    }

    fn parse_verify(&self, payload: &[u8]) -> ilm_protocol::Verified<CaseEvent> {
        let record: SignedRecord = serde_json::from_slice(payload).expect("parse the record");
        record.verify::<CaseEvent>().expect("verify the record")
    }

    fn hpke_seal_key(&self) -> Vec<u8> {
        let pk = <HpkeKem as hpke::Kem>::PublicKey::from_bytes(&self.recipient.encryption_key.0)
            .expect("recipient key is a valid X25519 key");
        let (_enc, sealed) = hpke::single_shot_seal::<HpkeAead, HpkeKdf, HpkeKem>(
            &OpModeS::Base,
            &pk,
            ilm_protocol::envelope::HPKE_INFO,
            &[0x42; 32],
            &self.envelope.header,
        )
        .expect("hpke seal");
        sealed
    }

    fn hpke_open_key(&self) -> Vec<u8> {
        let wrap = &self.envelope.wraps[0];
        let sk = <HpkeKem as hpke::Kem>::PrivateKey::from_bytes(&self.supplier.encryption_secret())
            .expect("recipient secret is a valid X25519 key");
        let enc = <HpkeKem as hpke::Kem>::EncappedKey::from_bytes(&wrap.enc.0)
            .expect("enc is a valid X25519 key");
        hpke::single_shot_open::<HpkeAead, HpkeKdf, HpkeKem>(
            &OpModeR::Base,
            &sk,
            &enc,
            ilm_protocol::envelope::HPKE_INFO,
            &wrap.sealed_key,
            &self.envelope.header,
        )
        .expect("hpke open")
    }

    // --- raw baselines, over the same bytes ---

    fn raw_sign(&self) -> ed25519_dalek::Signature {
        self.raw_signing.sign(&self.record_bytes)
    }

    fn raw_verify(&self) -> bool {
        self.raw_signing
            .verifying_key()
            .verify_strict(&self.record_bytes, &self.raw_signature)
            .is_ok()
    }

    fn raw_encrypt(&self) -> Vec<u8> {
        self.raw_cipher
            .encrypt(&self.raw_nonce, self.record_bytes.as_slice())
            .expect("raw encrypt")
    }

    fn raw_decrypt(&self) -> Vec<u8> {
        self.raw_cipher
            .decrypt(&self.raw_nonce, self.raw_ciphertext.as_slice())
            .expect("raw decrypt")
    }
}

fn criterion_groups(c: &mut Criterion, fx: &Fixture) {
    let bytes = fx.record_bytes.len() as u64;

    let mut g = c.benchmark_group("seal-side");
    g.throughput(Throughput::Bytes(bytes))
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50);
    g.bench_function("ours sign+seal", |b| b.iter(|| fx.sign_seal()));
    g.bench_function("raw ed25519 sign", |b| b.iter(|| fx.raw_sign()));
    g.bench_function("raw chacha20poly1305 encrypt", |b| {
        b.iter(|| fx.raw_encrypt())
    });
    g.finish();

    let mut g = c.benchmark_group("open-side");
    g.throughput(Throughput::Bytes(bytes))
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50);
    g.bench_function("ours open+verify", |b| b.iter(|| fx.open_verify()));
    g.bench_function("raw ed25519 verify", |b| b.iter(|| fx.raw_verify()));
    g.bench_function("raw chacha20poly1305 decrypt", |b| {
        b.iter(|| fx.raw_decrypt())
    });
    g.finish();
}

/// One operation of the in-process loop.
struct Op<'a> {
    name: &'static str,
    run: Box<dyn Fn() + 'a>,
    /// Median of the per-round timings, in nanoseconds per operation.
    ns: f64,
}

impl<'a> Op<'a> {
    fn new<T>(name: &'static str, f: impl Fn() -> T + 'a) -> Op<'a> {
        Op {
            name,
            run: Box::new(move || {
                black_box(f());
            }),
            ns: f64::NAN,
        }
    }
}

/// Runs `op` in batches until `budget` has passed; returns nanoseconds per call.
fn time_for(op: &Op<'_>, budget: Duration) -> f64 {
    let start = Instant::now();
    let mut calls: u64 = 0;
    loop {
        for _ in 0..8 {
            (op.run)();
        }
        calls += 8;
        let elapsed = start.elapsed();
        if elapsed >= budget {
            return elapsed.as_nanos() as f64 / calls as f64;
        }
    }
}

const ROUNDS: usize = 5;
const ROUND_BUDGET: Duration = Duration::from_millis(200);
const WARM_UP: Duration = Duration::from_millis(200);

/// Warms every op up, then times them in `ROUNDS` interleaved rounds and keeps the median, so
/// a burst of load from elsewhere on the machine hits all of them alike.
fn measure(ops: &mut [Op<'_>]) {
    for op in ops.iter() {
        time_for(op, WARM_UP);
    }
    let mut samples = vec![Vec::with_capacity(ROUNDS); ops.len()];
    for _ in 0..ROUNDS {
        for (op, s) in ops.iter().zip(samples.iter_mut()) {
            s.push(time_for(op, ROUND_BUDGET));
        }
    }
    for (op, mut s) in ops.iter_mut().zip(samples) {
        s.sort_by(f64::total_cmp);
        op.ns = s[s.len() / 2];
    }
}

fn ns_of(ops: &[Op<'_>], name: &str) -> f64 {
    ops.iter()
        .find(|o| o.name == name)
        .map(|o| o.ns)
        .expect("op is in the table")
}

fn print_table(fx: &Fixture, ops: &[Op<'_>]) {
    println!();
    println!(
        "In-process loop: median of {ROUNDS} interleaved rounds of {} ms each, after {} ms warm-up.",
        ROUND_BUDGET.as_millis(),
        WARM_UP.as_millis()
    );
    println!(
        "Payload: serialized SignedRecord of {} bytes (CaseEvent body {} bytes, description {} \
         chars; {} bytes with an empty description), one recipient.",
        fx.record_bytes.len(),
        serde_json::to_vec(&fx.event)
            .expect("encode the fixture event")
            .len(),
        match &fx.event.payload {
            EventPayload::Escalation(e) => e.description.len(),
            _ => 0,
        },
        fx.floor_len
    );
    println!();
    println!(
        "| {:<46} | {:>12} | {:>10} |",
        "operation", "µs/op", "ops/s"
    );
    println!("|{:-<48}|{:->14}|{:->12}|", "", "", "");
    for op in ops {
        println!(
            "| {:<46} | {:>12.1} | {:>10.0} |",
            op.name,
            op.ns / 1_000.0,
            1e9 / op.ns
        );
    }
    let seal = ns_of(ops, OURS_SEAL) / (ns_of(ops, RAW_SIGN) + ns_of(ops, RAW_ENCRYPT));
    let open = ns_of(ops, OURS_OPEN) / (ns_of(ops, RAW_VERIFY) + ns_of(ops, RAW_DECRYPT));
    println!();
    println!(
        "ratio ours sign+seal / (raw ed25519 sign + raw chacha20poly1305 encrypt) = {seal:.2}x"
    );
    println!(
        "ratio ours open+verify / (raw ed25519 verify + raw chacha20poly1305 decrypt) = {open:.2}x"
    );
}

const OURS_SEAL: &str = "ours sign+seal";
const OURS_OPEN: &str = "ours open+verify";
const RAW_SIGN: &str = "raw ed25519 sign";
const RAW_VERIFY: &str = "raw ed25519 verify (strict)";
const RAW_ENCRYPT: &str = "raw chacha20poly1305 encrypt";
const RAW_DECRYPT: &str = "raw chacha20poly1305 decrypt";

fn main() {
    let fx = Fixture::new();
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    // Same rule criterion uses: only `--bench` without `--test` means "measure"; `cargo test
    // --benches` runs every operation once as a smoke test.
    let measuring = has("--bench") && !has("--test") && !has("--list");

    let mut criterion = Criterion::default().configure_from_args();
    criterion_groups(&mut criterion, &fx);
    criterion.final_summary();

    let record = SignedRecord::sign(&fx.event, &fx.cso).expect("sign the event");
    let sealed_record = fx.seal(&fx.record_bytes);
    // HPKE's KEM does two X25519 operations per recipient on each side: a fixed-base one
    // (ephemeral key when sealing, own public key when opening) and one Diffie-Hellman.
    let x_secret = x25519_dalek::StaticSecret::from(fx.supplier.encryption_secret());
    let x_peer = x25519_dalek::PublicKey::from(fx.cso.encryption_key().0);
    let mut ops = vec![
        Op::new(OURS_SEAL, || fx.sign_seal()),
        Op::new(RAW_SIGN, || fx.raw_sign()),
        Op::new(RAW_ENCRYPT, || fx.raw_encrypt()),
        Op::new(OURS_OPEN, || fx.open_verify()),
        Op::new(RAW_VERIFY, || fx.raw_verify()),
        Op::new(RAW_DECRYPT, || fx.raw_decrypt()),
        Op::new("  part: SignedRecord::sign (JSON body + sign)", || {
            SignedRecord::sign(&fx.event, &fx.cso).expect("sign the event")
        }),
        Op::new("  part: serde_json::to_vec(record)", || {
            serde_json::to_vec(&record).expect("encode the record")
        }),
        Op::new("  part: Envelope::seal (1 recipient)", || {
            fx.seal(&fx.record_bytes)
        }),
        Op::new("  part: HPKE seal of content key", || fx.hpke_seal_key()),
        Op::new("  part: X25519 public key (fixed base)", || {
            x25519_dalek::PublicKey::from(&x_secret)
        }),
        Op::new("  part: X25519 Diffie-Hellman", || {
            x_secret.diffie_hellman(&x_peer)
        }),
        Op::new("  part: Envelope::open", || {
            sealed_record.open(&fx.supplier).expect("open the envelope")
        }),
        Op::new("  part: Envelope::verify (signature only)", || {
            sealed_record.verify().expect("verify the envelope")
        }),
        Op::new("  part: HPKE open of content key", || fx.hpke_open_key()),
        Op::new("  part: parse SignedRecord + verify", || {
            fx.parse_verify(&fx.record_bytes)
        }),
    ];

    if !measuring {
        // Smoke test: every operation runs and the fixture round-trips.
        for op in &ops {
            (op.run)();
        }
        let opened = fx
            .sign_seal()
            .open(&fx.supplier)
            .expect("open a fresh seal");
        let verified = fx.parse_verify(&opened.payload);
        println!(
            "crypto bench smoke test ok: record {} bytes, event round-trips: {}",
            fx.record_bytes.len(),
            verified.body() == &fx.event
        );
        return;
    }

    measure(&mut ops);
    print_table(&fx, &ops);
}
