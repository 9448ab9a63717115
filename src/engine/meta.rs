//! Object metadata: one file per key per drive (`%meta`) listing the versions of the key that
//! this drive holds, newest first. Normally there is one; a commit in progress (or one cut
//! short by a crash) leaves the new version in front of the one it replaces, which is kept
//! until the new one is durable on a write quorum (see `set::commit` for the protocol).
//!
//! Every copy of a version is the same on every drive but for the drive's own shard index and,
//! for small objects, its inline shard bytes: an `Entry` is a `Version` (compared whole by
//! readers: drives agree on a version only when every field of it is equal) plus those two.
//!
//! Encoding: magic `SMT1`, a little-endian u16 format, MessagePack with named fields, and a
//! BLAKE3 hash of everything before it. The hash is checked first, before the magic or the
//! format are looked at, so no byte it covers (the format field included) can switch it off.
//!
//! Fields added within a format are optional, absent from the encoding when unset, and read
//! as unset when missing: metadata written before them reads unchanged, and an object that
//! does not use one encodes byte for byte as before. Added so far: `ObjectMeta::acl`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use strata_codec::bitrot::BitrotAlgo;

const MAGIC: &[u8; 4] = b"SMT1";
/// 3: a list of versions per key (1 and 2, a single version per key, came from development
/// builds before the commit protocol and are refused).
pub const META_FORMAT: u16 = 3;
const CHECKSUM_LEN: usize = 32;
const HEADER_LEN: usize = 6;

/// What one drive holds for one key.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetaFile {
    /// As committed: the new version first, then the one it replaces while that stays
    /// (readers never rely on the order: `resolve` sorts by stamp, then id).
    pub versions: Vec<Entry>,
}

/// One version as this drive holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub version: Version,
    /// The shard index this drive stores (0 for deletions).
    pub shard: u8,
    /// This drive's shard bytes of a small object, kept here instead of a data directory.
    #[serde(with = "serde_bytes", default)]
    pub inline: Option<Vec<u8>>,
}

/// A version of a key, identical on every drive that holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// Unique per write.
    pub id: String,
    /// Orders the versions of a key: strictly greater than every version the writer saw
    /// (its clock in nanoseconds, or one more than the newest stamp when the clock is behind).
    pub stamp: u64,
    /// The object, or `None` for a deletion (a tombstone, kept until every drive has it).
    pub object: Option<ObjectMeta>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMeta {
    pub size: u64,
    pub etag: String,
    /// S3's Last-Modified, in nanoseconds since the Unix epoch.
    pub mod_time_ns: u64,
    pub content_type: Option<String>,
    /// `x-amz-meta-*` and the standard headers (Content-Encoding, Cache-Control, …).
    pub user_meta: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    /// Whole-object checksums by algorithm (`CRC32`, `SHA256`, …), base64 as S3 returns them.
    pub checksums: BTreeMap<String, String>,
    pub erasure: Erasure,
    /// Directory (inside the object's directory) holding the part files; none when inline.
    pub data_dir: Option<String>,
    pub parts: Vec<PartMeta>,
    /// The multipart upload this object completed (a retried completion answers with it).
    pub upload_id: Option<String>,
    /// Written as REDUCED_REDUNDANCY (its parity is the reduced one).
    pub reduced_redundancy: bool,
    /// Who else may read the object, as the S3 front records it (a canned ACL's name, opaque
    /// here); `None`: only those the policies allow (S3's `private`). Never user metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erasure {
    /// Codec matrix id (`erasure::MATRIX_ID`).
    pub codec: u8,
    pub bitrot: BitrotAlgo,
    pub data: u8,
    pub parity: u8,
    pub block_size: u32,
    /// Shard index of every drive of the set, by the drive's position in the set.
    pub distribution: Vec<u8>,
}

impl Erasure {
    pub fn geometry(&self) -> super::geometry::Geometry {
        super::geometry::Geometry {
            data: self.data as usize,
            parity: self.parity as usize,
            block_size: self.block_size as usize,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartMeta {
    pub number: u32,
    pub size: u64,
    pub etag: String,
    pub checksums: BTreeMap<String, String>,
    /// The identity the part's shard hashes are keyed by (see `shard`): fixed when the part
    /// was written, so that completing a multipart upload links its files unchanged.
    pub data_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    #[error("corrupt object metadata: checksum mismatch (damaged or truncated)")]
    Checksum,
    #[error("not Strata object metadata (bad magic)")]
    Magic,
    #[error(
        "object metadata format {0} is not readable by this Strata (it reads format {META_FORMAT})"
    )]
    Version(u16),
    #[error("corrupt object metadata: {0}")]
    Decode(String),
}

impl MetaFile {
    pub fn encode(&self) -> Vec<u8> {
        let inline: usize = self
            .versions
            .iter()
            .map(|e| e.inline.as_ref().map_or(0, Vec::len))
            .sum();
        let mut out = Vec::with_capacity(256 * self.versions.len() + inline + CHECKSUM_LEN);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&META_FORMAT.to_le_bytes());
        // Serialising plain data to a Vec cannot fail.
        rmp_serde::encode::write_named(&mut out, self).expect("encode object metadata");
        let checksum = blake3::hash(&out);
        out.extend_from_slice(checksum.as_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<MetaFile, MetaError> {
        if bytes.len() < HEADER_LEN + CHECKSUM_LEN {
            return Err(MetaError::Checksum);
        }
        let (signed, checksum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
        if blake3::hash(signed).as_bytes() != checksum {
            return Err(MetaError::Checksum);
        }
        if &signed[..4] != MAGIC {
            return Err(MetaError::Magic);
        }
        let format = u16::from_le_bytes([signed[4], signed[5]]);
        if format != META_FORMAT {
            return Err(MetaError::Version(format));
        }
        rmp_serde::from_slice(&signed[HEADER_LEN..]).map_err(|e| MetaError::Decode(e.to_string()))
    }

    /// The entry of this version, when the drive holds it.
    pub fn entry(&self, v: &Version) -> Option<&Entry> {
        self.versions.iter().find(|e| &e.version == v)
    }

    /// Data directories the entries refer to.
    pub fn data_dirs(&self) -> impl Iterator<Item = &str> {
        self.versions.iter().filter_map(|e| e.version.data_dir())
    }
}

impl Version {
    pub fn is_deletion(&self) -> bool {
        self.object.is_none()
    }

    pub fn data_dir(&self) -> Option<&str> {
        self.object.as_ref().and_then(|o| o.data_dir.as_deref())
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    pub fn sample_version(id: &str, stamp: u64) -> Version {
        Version {
            id: id.into(),
            stamp,
            object: Some(ObjectMeta {
                size: 5,
                etag: "abc".into(),
                mod_time_ns: 1_700_000_000_000_000_000,
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
                    distribution: vec![2, 3, 0, 1],
                },
                data_dir: None,
                parts: vec![PartMeta {
                    number: 1,
                    size: 5,
                    etag: "abc".into(),
                    checksums: BTreeMap::new(),
                    data_id: "d1".into(),
                }],
                upload_id: None,
                reduced_redundancy: false,
                acl: None,
            }),
        }
    }

    fn sample() -> MetaFile {
        MetaFile {
            versions: vec![
                Entry {
                    version: sample_version("v2", 2),
                    shard: 3,
                    inline: Some(vec![1, 2, 3]),
                },
                Entry {
                    version: Version {
                        id: "v1".into(),
                        stamp: 1,
                        object: None,
                    },
                    shard: 0,
                    inline: None,
                },
            ],
        }
    }

    #[test]
    fn round_trips_and_is_compact() {
        let m = sample();
        let bytes = m.encode();
        assert!(bytes.len() < 500, "{} bytes", bytes.len());
        assert_eq!(MetaFile::decode(&bytes).unwrap(), m);
    }

    #[test]
    fn the_acl_field_is_optional_both_ways() {
        // Metadata written before the field existed: the same map without its key.
        #[derive(Serialize)]
        struct Before<'a> {
            size: u64,
            etag: &'a str,
            mod_time_ns: u64,
            content_type: Option<&'a str>,
            user_meta: BTreeMap<String, String>,
            tags: BTreeMap<String, String>,
            checksums: BTreeMap<String, String>,
            erasure: &'a Erasure,
            data_dir: Option<&'a str>,
            parts: &'a [PartMeta],
            upload_id: Option<&'a str>,
            reduced_redundancy: bool,
        }
        let o = sample_version("v", 1).object.unwrap();
        let before = Before {
            size: o.size,
            etag: &o.etag,
            mod_time_ns: o.mod_time_ns,
            content_type: o.content_type.as_deref(),
            user_meta: o.user_meta.clone(),
            tags: o.tags.clone(),
            checksums: o.checksums.clone(),
            erasure: &o.erasure,
            data_dir: o.data_dir.as_deref(),
            parts: &o.parts,
            upload_id: o.upload_id.as_deref(),
            reduced_redundancy: o.reduced_redundancy,
        };
        let old = rmp_serde::to_vec_named(&before).unwrap();
        // Unset, it encodes as before; old bytes read as unset.
        assert_eq!(rmp_serde::to_vec_named(&o).unwrap(), old);
        let read: ObjectMeta = rmp_serde::from_slice(&old).unwrap();
        assert_eq!(read, o);
        // Set, it round-trips (and a reader that does not know it skips it).
        let mut public = o.clone();
        public.acl = Some("public-read".into());
        let bytes = rmp_serde::to_vec_named(&public).unwrap();
        assert_eq!(rmp_serde::from_slice::<ObjectMeta>(&bytes).unwrap(), public);
        #[derive(Deserialize)]
        struct OldReader {
            etag: String,
            reduced_redundancy: bool,
        }
        let older: OldReader = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(
            (older.etag.as_str(), older.reduced_redundancy),
            ("abc", false)
        );
    }

    #[test]
    fn a_flipped_bit_anywhere_fails_to_decode() {
        let bytes = sample().encode();
        for at in 0..bytes.len() {
            for bit in [0x01, 0x02, 0x80] {
                let mut bad = bytes.clone();
                bad[at] ^= bit;
                assert!(MetaFile::decode(&bad).is_err(), "flip {bit:#x} at {at}");
            }
        }
    }

    #[test]
    fn no_format_value_skips_the_checksum() {
        // The format field of an older, unchecked format does not turn the check off: a copy
        // whose format bytes were changed fails on its checksum whatever they now say.
        let bytes = sample().encode();
        for format in 0..=u16::MAX {
            let mut bad = bytes.clone();
            bad[4..6].copy_from_slice(&format.to_le_bytes());
            if format != META_FORMAT {
                assert!(matches!(MetaFile::decode(&bad), Err(MetaError::Checksum)));
            }
        }
    }

    #[test]
    fn other_formats_and_garbage_are_refused() {
        let m = sample();
        let mut v2 = MAGIC.to_vec();
        v2.extend_from_slice(&2u16.to_le_bytes());
        rmp_serde::encode::write_named(&mut v2, &m).unwrap();
        let h = blake3::hash(&v2);
        v2.extend_from_slice(h.as_bytes());
        assert!(matches!(MetaFile::decode(&v2), Err(MetaError::Version(2))));
        assert!(MetaFile::decode(b"nope").is_err());
        let bytes = m.encode();
        assert!(MetaFile::decode(&bytes[..bytes.len() / 2]).is_err());
    }

    #[test]
    fn versions_differ_in_any_field() {
        let a = sample_version("v", 1);
        let mut b = a.clone();
        b.object.as_mut().unwrap().size = 3 << 20;
        assert_ne!(
            a, b,
            "same id and stamp, another size: not the same version"
        );
        let mut c = a.clone();
        c.object.as_mut().unwrap().parts[0].data_id = "other".into();
        assert_ne!(a, c);
    }
}
