//! Byte strings in records: lowercase hex in JSON, raw bytes in binary encodings.
//!
//! Hex decoding is strict (lowercase only, even length) on purpose: a case-insensitive decoder
//! would let a one-bit flip (`a` -> `A`) decode to the same bytes, so a tampered file could
//! still verify.

use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;
use std::fmt;

/// Why a hex string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    /// The string has an odd number of characters.
    #[error("hex string has odd length {0}")]
    OddLength(usize),
    /// A character is not one of `0-9a-f` (uppercase is refused too).
    #[error("invalid hex character {0:?} at position {1} (only lowercase 0-9a-f)")]
    InvalidChar(char, usize),
    /// The decoded value has the wrong number of bytes.
    #[error("expected {expected} bytes, got {got}")]
    WrongLength {
        /// Bytes the type needs.
        expected: usize,
        /// Bytes the string held.
        got: usize,
    },
}

/// Encodes bytes as lowercase hex.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0x0f) as usize] as char);
    }
    out
}

/// Decodes lowercase hex; anything else is an error.
pub fn from_hex(s: &str) -> Result<Vec<u8>, HexError> {
    if !s.len().is_multiple_of(2) {
        return Err(HexError::OddLength(s.len()));
    }
    fn nibble(c: u8, pos: usize) -> Result<u8, HexError> {
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            _ => Err(HexError::InvalidChar(c as char, pos)),
        }
    }
    let raw = s.as_bytes();
    let mut out = Vec::with_capacity(raw.len() / 2);
    for (i, pair) in raw.chunks_exact(2).enumerate() {
        out.push((nibble(pair[0], 2 * i)? << 4) | nibble(pair[1], 2 * i + 1)?);
    }
    Ok(out)
}

/// Decodes lowercase hex into exactly `N` bytes.
pub fn from_hex_array<const N: usize>(s: &str) -> Result<[u8; N], HexError> {
    let v = from_hex(s)?;
    let got = v.len();
    v.try_into()
        .map_err(|_| HexError::WrongLength { expected: N, got })
}

/// Serialises bytes as lowercase hex (human-readable formats) or raw bytes.
pub fn serialize_bytes<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    if s.is_human_readable() {
        s.serialize_str(&to_hex(bytes))
    } else {
        s.serialize_bytes(bytes)
    }
}

struct BytesVisitor;

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = Vec<u8>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("lowercase hex string or byte string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
        from_hex(v).map_err(E::custom)
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }
    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(v)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
        while let Some(b) = seq.next_element::<u8>()? {
            out.push(b);
        }
        Ok(out)
    }
}

/// Deserialises bytes from strict lowercase hex or raw bytes.
pub fn deserialize_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    if d.is_human_readable() {
        d.deserialize_str(BytesVisitor)
    } else {
        d.deserialize_bytes(BytesVisitor)
    }
}

/// Serde adapter for `Vec<u8>` fields: `#[serde(with = "crate::bytes::hex_bytes")]`.
pub mod hex_bytes {
    pub use super::deserialize_bytes as deserialize;
    pub use super::serialize_bytes as serialize;
}

/// Defines a fixed-size byte newtype with strict hex text form and serde support.
macro_rules! byte_newtype {
    ($(#[$meta:meta])* $name:ident, $len:expr) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Length in bytes.
            pub const LEN: usize = $len;
            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
            /// Lowercase hex form.
            pub fn to_hex(&self) -> String {
                $crate::bytes::to_hex(&self.0)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::bytes::HexError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $crate::bytes::from_hex_array::<$len>(s).map($name)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                $crate::bytes::serialize_bytes(&self.0, s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = $crate::bytes::deserialize_bytes(d)?;
                let got = v.len();
                let arr: [u8; $len] = v.try_into().map_err(|_| {
                    <D::Error as serde::de::Error>::custom($crate::bytes::HexError::WrongLength {
                        expected: $len,
                        got,
                    })
                })?;
                Ok($name(arr))
            }
        }
    };
}
pub(crate) use byte_newtype;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_strictness() {
        assert_eq!(to_hex(&[0x00, 0xab, 0xff]), "00abff");
        assert_eq!(from_hex("00abff").ok(), Some(vec![0x00, 0xab, 0xff]));
        assert_eq!(from_hex("00ABff"), Err(HexError::InvalidChar('A', 2)));
        assert_eq!(from_hex("abc"), Err(HexError::OddLength(3)));
        assert_eq!(
            from_hex_array::<2>("aabbcc"),
            Err(HexError::WrongLength {
                expected: 2,
                got: 3
            })
        );
    }
}
