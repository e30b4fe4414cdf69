//! Shamir shares of a recovery key, so that no one person holds it: any `threshold` of the
//! shares rebuild it, fewer reveal nothing. Each share names the key it belongs to (its
//! public id), so a rebuilt key is checked before it is used: a damaged share, or shares of
//! two different keys, give an error instead of a wrong key.

use super::sealed::RecoveryKey;
use blahaj::{Share, Sharks};
use ilm_protocol::bytes::{from_hex, to_hex};
use zeroize::Zeroizing;

const PREFIX: &str = "ilm-recovery-share-1:";

/// One share, as held by one trusted party.
#[derive(Clone)]
pub struct KeyShare {
    /// The recovery key it belongs to.
    pub key_id: String,
    /// How many shares rebuild the key.
    pub threshold: u8,
    /// How many shares were made.
    pub total: u8,
    /// This share's number (1-based).
    pub index: u8,
    bytes: Zeroizing<Vec<u8>>,
}

/// Why shares could not be made or used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShareError {
    /// Impossible threshold or count.
    #[error("choose 2 to 255 shares and a threshold from 2 to the number of shares")]
    BadCounts,
    /// Not a share file.
    #[error("not an ilm recovery key share: {0}")]
    Malformed(String),
    /// Shares of different keys or splits.
    #[error("the shares belong to different recovery keys or splits")]
    Mixed,
    /// Fewer shares than the threshold.
    #[error("{have} different shares given; {need} are needed")]
    TooFew {
        /// Distinct shares given.
        have: usize,
        /// The threshold.
        need: u8,
    },
    /// The rebuilt key is not the one the shares name.
    #[error(
        "the shares do not rebuild recovery key {0}: one of them is damaged or comes from another split of it"
    )]
    Damaged(String),
}

/// Splits a recovery key into `total` shares, any `threshold` of which rebuild it.
pub fn split(key: &RecoveryKey, threshold: u8, total: u8) -> Result<Vec<KeyShare>, ShareError> {
    if threshold < 2 || total < threshold {
        return Err(ShareError::BadCounts);
    }
    let key_id = key.key_id();
    Ok(Sharks(threshold)
        .dealer(key.bytes())
        .take(total as usize)
        .map(|s| {
            let bytes = Zeroizing::new(Vec::from(&s));
            KeyShare {
                key_id: key_id.clone(),
                threshold,
                total,
                index: bytes[0],
                bytes,
            }
        })
        .collect())
}

/// Rebuilds the recovery key from shares, and checks it is the one they name.
pub fn combine(shares: &[KeyShare]) -> Result<RecoveryKey, ShareError> {
    let first = shares
        .first()
        .ok_or(ShareError::TooFew { have: 0, need: 2 })?;
    if shares
        .iter()
        .any(|s| s.key_id != first.key_id || s.threshold != first.threshold)
    {
        return Err(ShareError::Mixed);
    }
    let mut distinct: Vec<&KeyShare> = Vec::new();
    for s in shares {
        if !distinct.iter().any(|d| d.index == s.index) {
            distinct.push(s);
        }
    }
    if distinct.len() < first.threshold as usize {
        return Err(ShareError::TooFew {
            have: distinct.len(),
            need: first.threshold,
        });
    }
    let parsed: Vec<Share> = distinct
        .iter()
        .map(|s| Share::try_from(s.bytes.as_slice()))
        .collect::<Result<_, _>>()
        .map_err(|e| ShareError::Malformed(e.to_string()))?;
    let secret = Zeroizing::new(
        Sharks(first.threshold)
            .recover(&parsed)
            .map_err(|e| ShareError::Malformed(e.to_string()))?,
    );
    let bytes: [u8; 32] = secret
        .as_slice()
        .try_into()
        .map_err(|_| ShareError::Damaged(first.key_id.clone()))?;
    let key = RecoveryKey::from_bytes(bytes);
    if key.key_id() != first.key_id {
        return Err(ShareError::Damaged(first.key_id.clone()));
    }
    Ok(key)
}

impl KeyShare {
    /// The share file's text: a comment for the person who keeps it, then the share.
    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "# ILM Network: share {} of {} of recovery key {}; any {} of the shares rebuild it\n# (`ilm recovery-key combine`). Keep it offline; never store two shares together.\n{PREFIX}{}:{}:{}:{}\n",
            self.index,
            self.total,
            self.key_id,
            self.threshold,
            self.key_id,
            self.threshold,
            self.total,
            to_hex(&self.bytes),
        ))
    }

    /// Reads a share file's text.
    pub fn parse(text: &str) -> Result<KeyShare, ShareError> {
        let bad = |why: &str| ShareError::Malformed(why.to_string());
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with(PREFIX))
            .ok_or_else(|| bad("no line starting with ilm-recovery-share-1:"))?;
        let mut parts = line[PREFIX.len()..].split(':');
        let (Some(key_id), Some(threshold), Some(total), Some(hex), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad("wrong number of fields"));
        };
        let threshold: u8 = threshold.parse().map_err(|_| bad("threshold"))?;
        let total: u8 = total.parse().map_err(|_| bad("share count"))?;
        let bytes = Zeroizing::new(from_hex(hex).map_err(|_| bad("share bytes are not hex"))?);
        if bytes.len() != 33 || bytes[0] == 0 || threshold < 2 || total < threshold {
            return Err(bad("share bytes or counts are out of range"));
        }
        if key_id.len() != 16 || from_hex(key_id).is_err() {
            return Err(bad("key id"));
        }
        Ok(KeyShare {
            key_id: key_id.to_string(),
            threshold,
            total,
            index: bytes[0],
            bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_threshold_of_the_shares_rebuild_the_key_and_fewer_do_not() {
        let key = RecoveryKey::generate().expect("key");
        let shares = split(&key, 3, 5).expect("split");
        assert_eq!(shares.len(), 5);
        for a in 0..5 {
            for b in a + 1..5 {
                for c in b + 1..5 {
                    let some: Vec<KeyShare> = [a, b, c]
                        .iter()
                        .map(|i| KeyShare::parse(&shares[*i].to_text()).expect("parse"))
                        .collect();
                    assert_eq!(combine(&some).expect("combine").bytes(), key.bytes());
                }
            }
        }
        // Two shares, or one share given twice, are not enough.
        let two = [shares[0].clone(), shares[3].clone(), shares[3].clone()];
        assert_eq!(
            combine(&two).err(),
            Some(ShareError::TooFew { have: 2, need: 3 })
        );
    }

    #[test]
    fn a_damaged_share_or_shares_of_two_keys_are_refused() {
        let key = RecoveryKey::generate().expect("key");
        let shares = split(&key, 2, 3).expect("split");
        let mut damaged = shares[1].clone();
        damaged.bytes[5] ^= 1;
        assert!(matches!(
            combine(&[shares[0].clone(), damaged]),
            Err(ShareError::Damaged(_))
        ));
        let other = split(&RecoveryKey::generate().expect("key"), 2, 3).expect("split");
        assert_eq!(
            combine(&[shares[0].clone(), other[1].clone()]).err(),
            Some(ShareError::Mixed)
        );
        assert!(KeyShare::parse("ilm-recovery-share-1:zz:2:3:00").is_err());
        assert!(split(&key, 1, 3).is_err());
        assert!(split(&key, 4, 3).is_err());
    }
}
