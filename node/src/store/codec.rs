//! How a record's bytes are written: a marker byte, then CBOR (byte strings raw). The records
//! of a table declared compressed (`Table::compressed`) are CBOR compressed with zstd against
//! a fixed dictionary of sample records of that table: every case record and every signed
//! event body repeats the same field names, and a dictionary that holds them lets each record
//! refer to them instead. Records written as JSON by earlier releases still read.

use std::cell::RefCell;
use std::sync::OnceLock;
use zstd::bulk::{Compressor, Decompressor};
use zstd::dict::{DecoderDictionary, EncoderDictionary};

/// The first byte of a binary record: CBOR's "break", which no CBOR item and no JSON text
/// starts with, so the JSON records of earlier releases still read.
pub(super) const BINARY: u8 = 0xff;

/// The largest CBOR a compressed record may say it holds: a damaged length must not make
/// the reader allocate gigabytes.
const MAX_RECORD: usize = 16 << 20;

/// zstd's level: higher levels gain nothing measurable on records of a kilobyte.
const LEVEL: i32 = 3;

/// The first bytes of a zstd frame.
const FRAME_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// The dictionary a compressed table's records are written against. Each is frozen: records
/// compressed with one read only with it, so a different dictionary needs another marker
/// byte, and the old one stays for the records already written.
///
/// A compressed record is its dictionary's marker byte (reserved in CBOR; no JSON text starts
/// with it), then the length of the CBOR it holds (4 bytes, big-endian), then one zstd frame
/// of that CBOR with its checksum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dictionary {
    /// Two case records (`records::CaseRecord`) as written when compression began.
    CaseRecords,
    /// The signed events (`SignedRecord`) of four sample cases.
    CaseEvents,
}

/// Every dictionary, each at its index.
const DICTIONARIES: [Dictionary; KINDS] = [Dictionary::CaseRecords, Dictionary::CaseEvents];

/// How many dictionaries there are (the length of every per-dictionary array).
const KINDS: usize = 2;

impl Dictionary {
    fn marker(self) -> u8 {
        match self {
            Dictionary::CaseRecords => 0xfe,
            Dictionary::CaseEvents => 0xfd,
        }
    }

    fn bytes(self) -> &'static [u8] {
        match self {
            Dictionary::CaseRecords => include_bytes!("record_dictionary.cbor"),
            Dictionary::CaseEvents => include_bytes!("event_dictionary.cbor"),
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    fn of_marker(marker: u8) -> Option<Dictionary> {
        DICTIONARIES.into_iter().find(|d| d.marker() == marker)
    }

    fn encoder(self) -> &'static EncoderDictionary<'static> {
        static D: [OnceLock<EncoderDictionary<'static>>; KINDS] =
            [const { OnceLock::new() }; KINDS];
        D[self.index()].get_or_init(|| EncoderDictionary::copy(self.bytes(), LEVEL))
    }

    fn decoder(self) -> &'static DecoderDictionary<'static> {
        static D: [OnceLock<DecoderDictionary<'static>>; KINDS] =
            [const { OnceLock::new() }; KINDS];
        D[self.index()].get_or_init(|| DecoderDictionary::copy(self.bytes()))
    }
}

thread_local! {
    // One context per thread and dictionary, kept: creating one per record costs more than
    // the record's compression (what made the engine's own compression slow).
    static COMPRESSORS: RefCell<[Option<Compressor<'static>>; KINDS]> =
        const { RefCell::new([const { None }; KINDS]) };
    static DECOMPRESSORS: RefCell<[Option<Decompressor<'static>>; KINDS]> =
        const { RefCell::new([const { None }; KINDS]) };
}

/// A record's bytes as the data tree stores them: compressed against `dictionary` when the
/// table has one.
pub(super) fn encode<T: serde::Serialize>(
    value: &T,
    dictionary: Option<Dictionary>,
) -> Result<Vec<u8>, String> {
    let Some(dictionary) = dictionary else {
        return cbor4ii::serde::to_vec(vec![BINARY], value).map_err(|e| e.to_string());
    };
    let cbor = cbor4ii::serde::to_vec(Vec::new(), value).map_err(|e| e.to_string())?;
    let len = u32::try_from(cbor.len())
        .ok()
        .filter(|n| (*n as usize) <= MAX_RECORD)
        .ok_or_else(|| format!("a record of {} bytes is too large", cbor.len()))?;
    let frame = COMPRESSORS.with(|c| {
        let slot = &mut c.borrow_mut()[dictionary.index()];
        if slot.is_none() {
            let mut fresh = Compressor::with_prepared_dictionary(dictionary.encoder())
                .map_err(|e| e.to_string())?;
            // Four bytes a record: damage is found when it is read, not decoded into
            // something else.
            fresh.include_checksum(true).map_err(|e| e.to_string())?;
            *slot = Some(fresh);
        }
        match slot.as_mut() {
            Some(c) => c.compress(&cbor).map_err(|e| e.to_string()),
            None => Err("no compressor".to_string()),
        }
    })?;
    let mut out = Vec::with_capacity(5 + frame.len());
    out.push(dictionary.marker());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&frame);
    Ok(out)
}

/// Whether `bytes` are already written as a table with `dictionary` writes its records (a
/// migration that compresses a table leaves these alone).
pub(super) fn is_encoded_as(bytes: &[u8], dictionary: Option<Dictionary>) -> bool {
    let marker = dictionary.map_or(BINARY, Dictionary::marker);
    bytes.first() == Some(&marker)
}

/// Reads a record in any of the encodings (compressed, binary, or the JSON of earlier
/// releases).
pub(super) fn decode_any<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    match bytes.split_first() {
        Some((&BINARY, cbor)) => cbor4ii::serde::from_slice(cbor).map_err(|e| e.to_string()),
        Some((&m, rest)) if Dictionary::of_marker(m).is_some() => {
            let cbor = decompress(m, rest)?;
            cbor4ii::serde::from_slice(&cbor).map_err(|e| e.to_string())
        }
        _ => serde_json::from_slice(bytes).map_err(|e| e.to_string()),
    }
}

/// The CBOR of a compressed record: `marker` is its first byte, `rest` what follows it.
fn decompress(marker: u8, rest: &[u8]) -> Result<Vec<u8>, String> {
    let dictionary = Dictionary::of_marker(marker).ok_or("not a compressed record")?;
    let (len, frame) = rest
        .split_first_chunk::<4>()
        .ok_or("a compressed record without its length")?;
    let len = u32::from_be_bytes(*len) as usize;
    if len > MAX_RECORD {
        return Err(format!("a compressed record says it holds {len} bytes"));
    }
    let cbor = DECOMPRESSORS.with(|d| {
        let slot = &mut d.borrow_mut()[dictionary.index()];
        if slot.is_none() {
            *slot = Some(
                Decompressor::with_prepared_dictionary(dictionary.decoder())
                    .map_err(|e| e.to_string())?,
            );
        }
        match slot.as_mut() {
            Some(d) => d.decompress(frame, len).map_err(|e| e.to_string()),
            None => Err("no decompressor".to_string()),
        }
    })?;
    if cbor.len() != len {
        return Err(format!(
            "a compressed record holds {} bytes where it says {len}",
            cbor.len()
        ));
    }
    Ok(cbor)
}

/// The CBOR of every compressed record found anywhere in `raw` (the bytes of a database
/// file, live or not), decoded. Compression hides a record's text from a byte search, and
/// the privacy checks (that an intruder's message, or a worker's identity, is nowhere on a
/// node's disk) search the files for text: they search these too.
pub fn records_in(raw: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (at, window) in raw.windows(9).enumerate() {
        if window[5..] != FRAME_MAGIC || Dictionary::of_marker(window[0]).is_none() {
            continue;
        }
        let frame = &raw[at + 5..];
        let Ok(size) = zstd::zstd_safe::find_frame_compressed_size(frame) else {
            continue;
        };
        let record = &raw[at..at + 5 + size.min(frame.len())];
        if let Ok(cbor) = decompress(window[0], &record[1..]) {
            out.push(cbor);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::CaseRecord;
    use ilm_protocol::{CaseRef, Digest, OrgId};

    /// A case record unlike the dictionary's sample in every id, text and date.
    fn record() -> CaseRecord {
        let mut state = crate::aggregates::tests::states_of_one_case(3)
            .pop()
            .expect("state");
        state.case_ref = CaseRef([7; 16]);
        state.owner = OrgId([9; 32]);
        state.opened_at = state.opened_at.plus_days(400);
        for p in &mut state.parties {
            p.party = OrgId([11; 32]);
            p.escalation.site = "Rayong fish processing plant 12".into();
            p.escalation.description = "Wages unpaid since March; passports held".into();
        }
        CaseRecord {
            state,
            heads: vec![Digest([13; 32]), Digest([14; 32])],
        }
    }

    /// A compressed record reads back as written, at most half the size of the binary one.
    #[test]
    fn a_case_record_compressed_reads_back_at_half_the_size() {
        let r = record();
        let plain = encode(&r, None).expect("encode");
        let packed = encode(&r, Some(Dictionary::CaseRecords)).expect("encode");
        assert_eq!(plain.first(), Some(&BINARY));
        assert_eq!(packed.first(), Some(&Dictionary::CaseRecords.marker()));
        assert_eq!(decode_any::<CaseRecord>(&packed).expect("decode"), r);
        assert_eq!(decode_any::<CaseRecord>(&plain).expect("decode"), r);
        assert!(
            packed.len() * 2 <= plain.len(),
            "{} bytes compressed, {} plain",
            packed.len(),
            plain.len()
        );
    }

    /// A record this release wrote compressed (the bytes kept here) reads in every later
    /// one: the stored records depend on it.
    #[test]
    fn a_record_compressed_by_this_release_still_reads() {
        let hex = [
        "fe0000041d28b52ffd641d03850400a40507096b7b7a0b6b6e67781f5261796f6e6720666973682070726f63",
        "657373696e6720706c616e742031327828576167657320756e706169642073696e6365204d617263683b2070",
        "617373732068656c64037bf48258200d58200e1300a019b846408600e18a7f4119d4e6590d20e729c824d817",
        "bcf3f8069a054550180c866b18480e0cc3350c1ac3757cd966b6023f271549",
        ]
        .concat();
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
            .collect();
        assert_eq!(bytes.first(), Some(&Dictionary::CaseRecords.marker()));
        assert_eq!(decode_any::<CaseRecord>(&bytes).expect("decode"), record());
    }

    /// The dictionaries are the ones the stored records were compressed with: a changed file
    /// would leave every record compressed with it unreadable (a new one needs a new marker).
    #[test]
    fn the_dictionaries_are_frozen() {
        use sha2::Digest as _;
        let hex = |d: Dictionary| -> String {
            sha2::Sha256::digest(d.bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        assert_eq!(
            hex(Dictionary::CaseRecords),
            "3ddfe8a7cd76fab90e59fe457f9e44035879d4442b3f6dd343cd421d65d91739"
        );
        assert_eq!(
            hex(Dictionary::CaseEvents),
            "0ea362b7d9bebe0e11cf06244fae153ddf247f0b253b122aabd40f1c49aafeae"
        );
        let markers: Vec<u8> = DICTIONARIES.iter().map(|d| d.marker()).collect();
        assert!(!markers.contains(&BINARY) && markers[0] != markers[1]);
        assert!(DICTIONARIES.iter().enumerate().all(|(i, d)| d.index() == i));
    }

    /// A signed event with its own ids and signature, not the dictionary's.
    fn signed_event() -> ilm_protocol::SignedRecord {
        use ilm_protocol::event::{CaseEvent, Escalation, EventPayload};
        use ilm_protocol::{IssueCategory, NetworkId, OrgKeys, SignedRecord, Timestamp};
        let keys = OrgKeys::from_secret_bytes([42; 32], [43; 32]);
        let at = Timestamp(1_900_000_000);
        let event = CaseEvent {
            network_id: NetworkId([5; 16]),
            case_ref: CaseRef([6; 16]),
            case_nonce: Some(ilm_protocol::CaseNonce([8; 16])),
            parents: vec![],
            author: keys.org_id(),
            authored_at: at,
            payload: EventPayload::Escalation(Escalation {
                to: OrgId([12; 32]),
                categories: vec![IssueCategory::WithholdingOfWages],
                workers_affected: 14,
                site: "Mahachai pier 4".into(),
                requested_remedy: "Pay the wages owed since May".into(),
                description: "Wages unpaid for two months".into(),
                recruitment_fees: None,
                acknowledge_by: at.plus_days(7),
                remediate_by: at.plus_days(45),
            }),
        };
        SignedRecord::sign(&event, &keys).expect("sign")
    }

    /// A signed event compressed reads back with the very bytes that were signed, in at most
    /// two thirds of its binary size.
    #[test]
    fn an_event_compressed_keeps_its_signed_bytes() {
        use ilm_protocol::SignedRecord;
        use ilm_protocol::event::CaseEvent;
        let rec = signed_event();
        let plain = encode(&rec, None).expect("encode");
        let packed = encode(&rec, Some(Dictionary::CaseEvents)).expect("encode");
        assert_eq!(packed.first(), Some(&Dictionary::CaseEvents.marker()));
        let back: SignedRecord = decode_any(&packed).expect("decode");
        assert_eq!(back.body, rec.body);
        assert!(back.verify::<CaseEvent>().is_ok(), "the signature holds");
        assert!(
            packed.len() * 3 <= plain.len() * 2,
            "{} bytes compressed, {} plain",
            packed.len(),
            plain.len()
        );
        // Each marker names its dictionary: read against the other one, it is refused.
        let mut swapped = packed.clone();
        swapped[0] = Dictionary::CaseRecords.marker();
        assert!(decode_any::<SignedRecord>(&swapped).is_err());
    }

    /// The search of a file's bytes finds a compressed record's text once decoded, wherever
    /// the record lies among other bytes. A byte search of the file alone is not enough: text
    /// the dictionary holds is replaced by a reference to it (new text may stay in clear).
    #[test]
    fn records_in_raw_bytes_are_found_and_decoded() {
        let holds = |b: &[u8], needle: &[u8]| b.windows(needle.len()).any(|w| w == needle);
        let in_dictionary = br#""requested_remedy":"Pay"#;
        assert!(holds(Dictionary::CaseEvents.bytes(), in_dictionary));
        let event = encode(&signed_event(), Some(Dictionary::CaseEvents)).expect("encode");
        let state = encode(&record(), Some(Dictionary::CaseRecords)).expect("encode");
        // A record's header and the start of a frame, then bytes that are not one.
        let mut raw = vec![0xfd, 0, 0, 0, 9];
        raw.extend_from_slice(&FRAME_MAGIC);
        raw.extend_from_slice(b"not a frame");
        raw.extend_from_slice(&event);
        raw.extend_from_slice(b"\x00other bytes");
        raw.extend_from_slice(&state);
        raw.extend_from_slice(&event[..event.len() - 2]);
        assert!(!holds(&raw, in_dictionary), "hidden from a byte search");
        let found = records_in(&raw);
        assert_eq!(found.len(), 2, "the two whole records, not the cut one");
        assert!(holds(&found[0], in_dictionary), "the event's text, decoded");
        assert!(holds(&found[0], b"Mahachai pier 4"));
        assert!(
            holds(&found[1], b"Rayong "),
            "the case record's text, decoded"
        );
        assert!(records_in(&[]).is_empty() && records_in(&event[..8]).is_empty());
    }

    /// A damaged compressed record is refused with a reason, never read as something else
    /// and never allowed to allocate what its length field claims.
    #[test]
    fn a_damaged_compressed_record_is_refused() {
        let packed = encode(&record(), Some(Dictionary::CaseRecords)).expect("encode");
        assert!(decode_any::<CaseRecord>(&packed).is_ok(), "control: intact");
        let truncated = &packed[..packed.len() - 3];
        assert!(decode_any::<CaseRecord>(truncated).is_err());
        let mut huge = packed.clone();
        huge[1..5].copy_from_slice(&u32::MAX.to_be_bytes());
        let e = decode_any::<CaseRecord>(&huge).expect_err("refused");
        assert!(e.contains("says it holds"), "{e}");
        let mut short = packed.clone();
        let len = u32::from_be_bytes([short[1], short[2], short[3], short[4]]);
        short[1..5].copy_from_slice(&(len - 1).to_be_bytes());
        assert!(decode_any::<CaseRecord>(&short).is_err());
        assert!(decode_any::<CaseRecord>(&[Dictionary::CaseRecords.marker(), 0, 0]).is_err());
        let mut flipped = packed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0xff;
        assert!(decode_any::<CaseRecord>(&flipped).is_err());
    }
}
