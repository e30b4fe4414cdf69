//! What a worker holds to come back to a report: a receipt code (which report) and a
//! passphrase (proof it is theirs), both made of digits so they can be written down and typed
//! on any phone keyboard, in any script's digits. The node keeps only hashes of them, keyed
//! with the vault (`Vault::keyed_hash`): a copy of the database alone cannot test guesses.

use crate::vault::{Vault, VaultError};
use std::fmt;

/// Digits in a receipt code (about 40 bits: it names a report, the passphrase guards it).
pub const RECEIPT_DIGITS: usize = 12;
/// Digits in a passphrase (about 53 bits; guessing is also limited per receipt).
pub const PASSPHRASE_DIGITS: usize = 16;

/// Why a typed code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// Something other than digits, spaces or dashes.
    #[error("only digits, spaces and dashes")]
    NotDigits,
    /// Too few or too many digits.
    #[error("{expected} digits are needed, {found} were given")]
    Length {
        /// Digits a code of this kind has.
        expected: usize,
        /// Digits typed.
        found: usize,
    },
    /// The system's random source failed.
    #[error("no randomness available: {0}")]
    Random(String),
    /// The vault could not hash.
    #[error("the vault could not hash: {0}")]
    Vault(String),
}

impl From<VaultError> for CodeError {
    fn from(e: VaultError) -> CodeError {
        CodeError::Vault(e.to_string())
    }
}

/// The value of a decimal digit in the scripts the portal is offered in (ASCII, Myanmar,
/// Thai, Lao, Khmer, Devanagari): a worker may type `၁၂၃` on a Burmese keyboard.
fn digit_value(c: char) -> Option<u8> {
    const ZEROS: [u32; 6] = [0x30, 0x1040, 0x0E50, 0x0ED0, 0x17E0, 0x0966];
    let c = u32::from(c);
    ZEROS
        .iter()
        .find(|z| (**z..**z + 10).contains(&c))
        .and_then(|z| u8::try_from(c - z).ok())
}

/// A typed number's ASCII digits (any offered script's digits; spaces and dashes dropped);
/// None when it holds anything else.
pub fn ascii_digits(typed: &str) -> Option<String> {
    let mut out = String::new();
    for c in typed.chars() {
        if c.is_whitespace() || c == '-' {
            continue;
        }
        out.push(char::from(b'0' + digit_value(c)?));
    }
    Some(out)
}

/// The ASCII digits of a typed code (separators dropped), checked for length.
fn parse_digits<const N: usize>(typed: &str) -> Result<[u8; N], CodeError> {
    let out = ascii_digits(typed)
        .ok_or(CodeError::NotDigits)?
        .into_bytes();
    let found = out.len();
    out.try_into()
        .map_err(|_| CodeError::Length { expected: N, found })
}

/// `N` random ASCII digits (uniform: bytes of 250 and above are drawn again).
fn random_digits<const N: usize>() -> Result<[u8; N], CodeError> {
    let mut out = [b'0'; N];
    let mut filled = 0;
    while filled < N {
        let bytes: [u8; 32] =
            ilm_protocol::identity::random_bytes().map_err(|e| CodeError::Random(e.to_string()))?;
        for b in bytes.into_iter().filter(|b| *b < 250) {
            if filled == N {
                break;
            }
            out[filled] = b'0' + b % 10;
            filled += 1;
        }
    }
    Ok(out)
}

/// Groups of four digits joined by dashes, as the worker is shown them.
fn grouped(digits: &[u8]) -> String {
    digits
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// A receipt code: names one report.
#[derive(Clone, PartialEq, Eq)]
pub struct Receipt([u8; RECEIPT_DIGITS]);

impl Receipt {
    /// A new random receipt code.
    pub fn random() -> Result<Receipt, CodeError> {
        random_digits().map(Receipt)
    }

    /// A typed receipt code (any script's digits, spaces and dashes allowed).
    pub fn parse(typed: &str) -> Result<Receipt, CodeError> {
        parse_digits(typed).map(Receipt)
    }

    /// The key the report is stored under: a keyed hash, so the database does not hold the
    /// code and a copy of it cannot be searched for one.
    pub fn id(&self, vault: &Vault) -> Result<[u8; 32], CodeError> {
        Ok(vault.keyed_hash("portal-receipt", &[&self.0])?)
    }
}

impl fmt::Display for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&grouped(&self.0))
    }
}

impl fmt::Debug for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Receipt(<hidden>)")
    }
}

/// A passphrase: proves the holder made the report.
#[derive(Clone, PartialEq, Eq)]
pub struct Passphrase([u8; PASSPHRASE_DIGITS]);

impl Passphrase {
    /// A new random passphrase.
    pub fn random() -> Result<Passphrase, CodeError> {
        random_digits().map(Passphrase)
    }

    /// A typed passphrase (any script's digits, spaces and dashes allowed).
    pub fn parse(typed: &str) -> Result<Passphrase, CodeError> {
        parse_digits(typed).map(Passphrase)
    }

    /// The salted, keyed hash the node keeps instead of the passphrase.
    pub fn hash(&self, vault: &Vault) -> Result<PassphraseHash, CodeError> {
        let salt: [u8; 16] =
            ilm_protocol::identity::random_bytes().map_err(|e| CodeError::Random(e.to_string()))?;
        Ok(PassphraseHash {
            salt: salt.to_vec(),
            hash: self.hashed_with(vault, &salt)?.to_vec(),
        })
    }

    fn hashed_with(&self, vault: &Vault, salt: &[u8]) -> Result<[u8; 32], CodeError> {
        Ok(vault.keyed_hash("portal-passphrase", &[salt, &self.0])?)
    }
}

impl fmt::Display for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&grouped(&self.0))
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<hidden>)")
    }
}

/// A passphrase's salted hash, as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PassphraseHash {
    /// Random salt (16 bytes).
    #[serde(with = "ilm_protocol::bytes::hex_bytes")]
    pub salt: Vec<u8>,
    /// The vault's keyed hash of the salt and the digits.
    #[serde(with = "ilm_protocol::bytes::hex_bytes")]
    pub hash: Vec<u8>,
}

impl PassphraseHash {
    /// Whether `p` is the passphrase this hash was made from (compared in constant time).
    pub fn matches(&self, vault: &Vault, p: &Passphrase) -> bool {
        let Ok(h) = p.hashed_with(vault, &self.salt) else {
            return false;
        };
        self.hash.len() == h.len()
            && h.iter()
                .zip(self.hash.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_in_any_offered_script_and_with_separators() {
        let r = Receipt::random().expect("random");
        let shown = r.to_string();
        assert_eq!(shown.len(), RECEIPT_DIGITS + RECEIPT_DIGITS / 4 - 1);
        assert_eq!(Receipt::parse(&shown).expect("parse"), r);
        assert_eq!(Receipt::parse(&shown.replace('-', " ")).expect("spaces"), r);
        // The same digits in Burmese, Thai, Lao, Khmer and Devanagari script.
        for zero in ['\u{1040}', '\u{0E50}', '\u{0ED0}', '\u{17E0}', '\u{0966}'] {
            let other: String = shown
                .chars()
                .map(|c| match c.to_digit(10) {
                    Some(d) => char::from_u32(u32::from(zero) + d).expect("digit"),
                    None => c,
                })
                .collect();
            assert_eq!(Receipt::parse(&other).expect("script digits"), r, "{other}");
        }
        assert_eq!(
            Receipt::parse("1234-5678"),
            Err(CodeError::Length {
                expected: RECEIPT_DIGITS,
                found: 8
            })
        );
        assert_eq!(Receipt::parse("1234-5678-90ab"), Err(CodeError::NotDigits));
    }

    #[test]
    fn a_passphrase_matches_only_its_own_hash_under_its_own_vault() {
        let dirs = [
            tempfile::tempdir().expect("dir"),
            tempfile::tempdir().expect("dir"),
        ];
        let [vault, other_vault] = dirs
            .each_ref()
            .map(|d| Vault::open(&crate::datadir::DataDir::new(d.path())).expect("vault"));
        let p = Passphrase::random().expect("random");
        let h = p.hash(&vault).expect("hash");
        assert!(h.matches(&vault, &p));
        let mut other = p.0;
        other[0] = if other[0] == b'9' { b'0' } else { other[0] + 1 };
        assert!(!h.matches(&vault, &Passphrase(other)));
        // Keyed: under another vault's key the right passphrase does not match.
        assert!(!h.matches(&other_vault, &p));
        let r = Receipt::random().expect("random");
        assert_ne!(r.id(&vault).expect("id"), r.id(&other_vault).expect("id"));
        // Salted: the same passphrase hashes differently twice.
        assert_ne!(p.hash(&vault).expect("hash").hash, h.hash);
        // Debug output never shows the digits.
        assert!(!format!("{p:?}").contains(&p.to_string()[..4]));
    }
}
