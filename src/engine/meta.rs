//! Object metadata, one copy per drive (they differ only in the drive's shard index and inline
//! bytes). Compact MessagePack with named fields behind a magic and a format version, so fields
//! can be added without stranding old objects. Since format 2 a BLAKE3 hash of everything
//! before it ends the file: a copy with a flipped bit fails to decode (like an unreadable
//! drive) instead of passing its damage (a wrong size, ETag or shard index) to readers.

use crate::bitrot::BitrotAlgo;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const MAGIC: &[u8; 4] = b"SMT1";
/// 1: no checksum; 2: BLAKE3 checksum trailer.
pub const META_FORMAT: u16 = 2;
const CHECKSUM_LEN: usize = 32;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjectMeta {
    pub format: u16,
    /// Unique per write; drives agreeing on it agree on the object.
    pub version_id: String,
    /// Nanoseconds since the Unix epoch.
    pub mod_time_ns: u64,
    pub size: u64,
    pub etag: String,
    pub content_type: Option<String>,
    /// `x-amz-meta-*` and the standard headers (Content-Encoding, Cache-Control, …).
    pub user_meta: BTreeMap<String, String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Whole-object checksums by algorithm (`CRC32`, `SHA256`, …), base64 as S3 returns them.
    #[serde(default)]
    pub checksums: BTreeMap<String, String>,
    pub erasure: Erasure,
    /// Directory (inside the object's directory) holding the part files; none when inline.
    pub data_dir: Option<String>,
    pub parts: Vec<PartMeta>,
    /// This drive's shard file bytes for small objects, instead of a data directory.
    #[serde(with = "serde_bytes", default)]
    pub inline: Option<Vec<u8>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erasure {
    /// Codec matrix id (`erasure::MATRIX_ID`).
    pub codec: u8,
    pub bitrot: BitrotAlgo,
    pub data: u8,
    pub parity: u8,
    pub block_size: u32,
    /// Shard index (0-based) stored on this drive.
    pub index: u8,
    /// Shard index of every drive of the set, by the drive's position in the set.
    pub distribution: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartMeta {
    pub number: u32,
    pub size: u64,
    pub etag: String,
    #[serde(default)]
    pub checksums: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("not Strata object metadata (bad magic)")]
    Magic,
    #[error("object metadata format {0} is newer than this Strata understands")]
    Version(u16),
    #[error("corrupt object metadata: {0}")]
    Decode(String),
}

impl ObjectMeta {
    /// Always in the current format (with its checksum), whatever format the copy was read in.
    pub fn encode(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(256 + CHECKSUM_LEN + self.inline.as_ref().map_or(0, Vec::len));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&META_FORMAT.to_le_bytes());
        // Serialising plain data to a Vec cannot fail.
        rmp_serde::encode::write_named(&mut out, self).expect("encode object metadata");
        let checksum = blake3::hash(&out);
        out.extend_from_slice(checksum.as_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<ObjectMeta, MetaError> {
        if bytes.len() < 6 || &bytes[..4] != MAGIC {
            return Err(MetaError::Magic);
        }
        let format = u16::from_le_bytes([bytes[4], bytes[5]]);
        if format > META_FORMAT || format == 0 {
            return Err(MetaError::Version(format));
        }
        let body = if format >= 2 {
            let (signed, checksum) = bytes.split_at(bytes.len().saturating_sub(CHECKSUM_LEN));
            if signed.len() < 6 || blake3::hash(signed).as_bytes() != checksum {
                return Err(MetaError::Decode(
                    "checksum mismatch (damaged or truncated)".into(),
                ));
            }
            &signed[6..]
        } else {
            &bytes[6..]
        };
        rmp_serde::from_slice(body).map_err(|e| MetaError::Decode(e.to_string()))
    }

    /// The same object as another drive stores it.
    pub fn for_index(&self, index: u8, inline: Option<Vec<u8>>) -> ObjectMeta {
        let mut m = self.clone();
        m.erasure.index = index;
        m.inline = inline;
        m
    }

    /// Two copies describe the same write.
    pub fn same_version(&self, other: &ObjectMeta) -> bool {
        self.version_id == other.version_id && self.mod_time_ns == other.mod_time_ns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn sample() -> ObjectMeta {
        ObjectMeta {
            format: META_FORMAT,
            version_id: "v1".into(),
            mod_time_ns: 1_700_000_000_000_000_000,
            size: 5,
            etag: "abc".into(),
            content_type: Some("text/plain".into()),
            user_meta: [("x-amz-meta-a".to_string(), "b".to_string())].into(),
            tags: BTreeMap::new(),
            checksums: BTreeMap::new(),
            erasure: Erasure {
                codec: 1,
                bitrot: BitrotAlgo::DEFAULT,
                data: 2,
                parity: 2,
                block_size: 1 << 20,
                index: 3,
                distribution: vec![2, 3, 0, 1],
            },
            data_dir: None,
            parts: vec![PartMeta {
                number: 1,
                size: 5,
                etag: "abc".into(),
                checksums: BTreeMap::new(),
            }],
            inline: Some(vec![1, 2, 3]),
        }
    }

    #[test]
    fn round_trips_and_is_compact() {
        let m = sample();
        let bytes = m.encode();
        assert!(bytes.len() < 400, "{} bytes", bytes.len());
        assert_eq!(ObjectMeta::decode(&bytes).unwrap(), m);
    }

    #[test]
    fn a_flipped_bit_anywhere_fails_to_decode() {
        let bytes = sample().encode();
        for at in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= if at == 4 { 0x02 } else { 0x04 }; // format 2 → 0 is refused too
            assert!(
                ObjectMeta::decode(&bad).is_err(),
                "flip at {at} of {}",
                bytes.len()
            );
        }
    }

    #[test]
    fn format_1_without_checksum_still_decodes() {
        let m = sample();
        let mut v1 = MAGIC.to_vec();
        v1.extend_from_slice(&1u16.to_le_bytes());
        rmp_serde::encode::write_named(&mut v1, &m).unwrap();
        assert_eq!(ObjectMeta::decode(&v1).unwrap(), m);
    }

    #[test]
    fn rejects_garbage_truncation_and_future_formats() {
        let bytes = sample().encode();
        assert!(matches!(ObjectMeta::decode(b"nope"), Err(MetaError::Magic)));
        assert!(matches!(
            ObjectMeta::decode(&bytes[..bytes.len() / 2]),
            Err(MetaError::Decode(_))
        ));
        let mut future = bytes.clone();
        future[4] = 9;
        assert!(matches!(
            ObjectMeta::decode(&future),
            Err(MetaError::Version(9))
        ));
    }
}
