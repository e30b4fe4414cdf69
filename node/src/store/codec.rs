//! How a record's bytes are written: a marker byte, then CBOR (byte strings raw). The records
//! of a table declared compressed (`Table::compressed`) are CBOR compressed with zstd against
//! a fixed dictionary: a case record repeats the same field names in every copy, and a
//! dictionary that holds them lets each record refer to them instead. Records written as JSON
//! by earlier releases still read.

use std::cell::RefCell;
use std::sync::OnceLock;
use zstd::bulk::{Compressor, Decompressor};
use zstd::dict::{DecoderDictionary, EncoderDictionary};

/// The first byte of a binary record: CBOR's "break", which no CBOR item and no JSON text
/// starts with, so the JSON records of earlier releases still read.
pub(super) const BINARY: u8 = 0xff;

/// The first byte of a compressed record (reserved in CBOR; no JSON text starts with it),
/// then the length of the CBOR it holds (4 bytes, big-endian), then one zstd frame of that
/// CBOR with its checksum, compressed with [`DICTIONARY`].
const COMPRESSED: u8 = 0xfe;

/// The largest CBOR a compressed record may say it holds: a damaged length must not make
/// the reader allocate gigabytes.
const MAX_RECORD: usize = 16 << 20;

/// zstd's level: higher levels gain nothing measurable on records of a kilobyte.
const LEVEL: i32 = 3;

/// The dictionary: two case records (`records::CaseRecord`) as written when compression
/// began.
/// Frozen: records compressed with it read only with it, so a different dictionary needs
/// another marker byte, and this one stays for the records already written.
const DICTIONARY: &[u8] = include_bytes!("record_dictionary.cbor");

fn encoder_dictionary() -> &'static EncoderDictionary<'static> {
    static D: OnceLock<EncoderDictionary<'static>> = OnceLock::new();
    D.get_or_init(|| EncoderDictionary::copy(DICTIONARY, LEVEL))
}

fn decoder_dictionary() -> &'static DecoderDictionary<'static> {
    static D: OnceLock<DecoderDictionary<'static>> = OnceLock::new();
    D.get_or_init(|| DecoderDictionary::copy(DICTIONARY))
}

thread_local! {
    // One context per thread, kept: creating one per record costs more than the record's
    // compression (what made the engine's own compression slow).
    static COMPRESSOR: RefCell<Option<Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<Decompressor<'static>>> = const { RefCell::new(None) };
}

/// A record's bytes as the data tree stores them.
pub(super) fn encode<T: serde::Serialize>(value: &T, compressed: bool) -> Result<Vec<u8>, String> {
    if !compressed {
        return cbor4ii::serde::to_vec(vec![BINARY], value).map_err(|e| e.to_string());
    }
    let cbor = cbor4ii::serde::to_vec(Vec::new(), value).map_err(|e| e.to_string())?;
    let len = u32::try_from(cbor.len())
        .ok()
        .filter(|n| (*n as usize) <= MAX_RECORD)
        .ok_or_else(|| format!("a record of {} bytes is too large", cbor.len()))?;
    let frame = COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_none() {
            let mut fresh = Compressor::with_prepared_dictionary(encoder_dictionary())
                .map_err(|e| e.to_string())?;
            // Four bytes a record: damage is found when it is read, not decoded into
            // something else.
            fresh.include_checksum(true).map_err(|e| e.to_string())?;
            *c = Some(fresh);
        }
        match c.as_mut() {
            Some(c) => c.compress(&cbor).map_err(|e| e.to_string()),
            None => Err("no compressor".to_string()),
        }
    })?;
    let mut out = Vec::with_capacity(5 + frame.len());
    out.push(COMPRESSED);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&frame);
    Ok(out)
}

/// Reads a record in any of the encodings (compressed, binary, or the JSON of earlier
/// releases).
pub(super) fn decode_any<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    match bytes.split_first() {
        Some((&BINARY, cbor)) => cbor4ii::serde::from_slice(cbor).map_err(|e| e.to_string()),
        Some((&COMPRESSED, rest)) => {
            let cbor = decompress(rest)?;
            cbor4ii::serde::from_slice(&cbor).map_err(|e| e.to_string())
        }
        _ => serde_json::from_slice(bytes).map_err(|e| e.to_string()),
    }
}

fn decompress(rest: &[u8]) -> Result<Vec<u8>, String> {
    let (len, frame) = rest
        .split_first_chunk::<4>()
        .ok_or("a compressed record without its length")?;
    let len = u32::from_be_bytes(*len) as usize;
    if len > MAX_RECORD {
        return Err(format!("a compressed record says it holds {len} bytes"));
    }
    let cbor = DECOMPRESSOR.with(|d| {
        let mut d = d.borrow_mut();
        if d.is_none() {
            *d = Some(
                Decompressor::with_prepared_dictionary(decoder_dictionary())
                    .map_err(|e| e.to_string())?,
            );
        }
        match d.as_mut() {
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
        let plain = encode(&r, false).expect("encode");
        let packed = encode(&r, true).expect("encode");
        assert_eq!(plain.first(), Some(&BINARY));
        assert_eq!(packed.first(), Some(&COMPRESSED));
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
        assert_eq!(bytes.first(), Some(&COMPRESSED));
        assert_eq!(decode_any::<CaseRecord>(&bytes).expect("decode"), record());
    }

    /// The dictionary is the one the stored records were compressed with: a changed file
    /// would leave every compressed record unreadable (a new dictionary needs a new marker).
    #[test]
    fn the_dictionary_is_frozen() {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(DICTIONARY);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "3ddfe8a7cd76fab90e59fe457f9e44035879d4442b3f6dd343cd421d65d91739"
        );
    }

    /// A damaged compressed record is refused with a reason, never read as something else
    /// and never allowed to allocate what its length field claims.
    #[test]
    fn a_damaged_compressed_record_is_refused() {
        let packed = encode(&record(), true).expect("encode");
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
        assert!(decode_any::<CaseRecord>(&[COMPRESSED, 0, 0]).is_err());
        let mut flipped = packed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0xff;
        assert!(decode_any::<CaseRecord>(&flipped).is_err());
    }
}
