//! The engine's public types: configuration, what callers pass in, what they get back.

use super::meta::Version;
use super::EngineError;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// A healthy drive answers in milliseconds, a busy one (a durability barrier behind a large
/// write) in well under a second; a few seconds leaves room for a loaded machine while a hung
/// drive costs a request no more than that.
pub const DEFAULT_DRIVE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone, Debug)]
pub struct Config {
    /// Drives per erasure set; by default the largest size in 16..=2 dividing each group.
    pub set_size: Option<usize>,
    /// Parity shards per set; by default MinIO's (2 for 4–5 drives, 3 for 6–7, 4 for 8–16).
    pub parity: Option<usize>,
    /// Parity for the REDUCED_REDUNDANCY storage class (default 1).
    pub rrs_parity: Option<usize>,
    pub block_size: usize,
    /// Objects whose per-drive shard data is at most this many bytes live in the metadata.
    pub inline_limit: usize,
    /// Smallest size of every multipart part but the last.
    pub min_part_size: u64,
    /// Run the background workers: healer, scanner, drive monitor (tests may turn them off to
    /// observe damage).
    pub background_heal: bool,
    /// Time between the starts of two scanner passes (each reads every shard of every object,
    /// parity included, and heals what is missing, stale or damaged); `None`: no scanner.
    pub scan_interval: Option<Duration>,
    /// Bytes per second the scanner may read (it never starves client traffic).
    pub scan_bytes_per_sec: u64,
    /// Bytes per second a drive's rebuild may read (`u64::MAX`: as fast as the drives go).
    pub rebuild_bytes_per_sec: u64,
    /// How often offline drives are looked for (a drive that returns, or an empty one put in
    /// the place of a missing one, is brought back and rebuilt).
    pub drive_check_interval: Duration,
    /// Longest a request waits for one drive: a drive that has not answered by then is left
    /// out of the request and, when its call ran that long, taken offline until the drive
    /// monitor finds it answering again.
    pub drive_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            set_size: None,
            parity: None,
            rrs_parity: None,
            block_size: 1 << 20,
            inline_limit: 128 * 1024,
            min_part_size: 5 << 20,
            background_heal: true,
            scan_interval: Some(Duration::from_secs(24 * 3600)),
            scan_bytes_per_sec: 64 << 20,
            rebuild_bytes_per_sec: u64::MAX,
            drive_check_interval: Duration::from_secs(10),
            drive_timeout: DEFAULT_DRIVE_TIMEOUT,
        }
    }
}

/// Conditions a write or delete must meet against the key's state, checked under the key's
/// lock together with the change (so that of racing create-only writes exactly one wins).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Conditions {
    /// `*` (the key must exist) or an ETag the current object must have.
    pub if_match: Option<String>,
    /// `*` (the key must not exist) or an ETag the current object must not have.
    pub if_none_match: Option<String>,
    /// The current object's Last-Modified, to the second.
    pub if_match_last_modified_ns: Option<u64>,
    pub if_match_size: Option<u64>,
}

impl Conditions {
    pub fn is_empty(&self) -> bool {
        *self == Conditions::default()
    }

    /// Checks against the current object (`None`: the key holds none).
    pub fn check(
        &self,
        current: Option<&super::meta::ObjectMeta>,
        bucket: &str,
        key: &str,
    ) -> Result<(), EngineError> {
        let failed = |why: &str| Err(EngineError::PreconditionFailed(why.to_string()));
        let same = |etag: &str, o: &super::meta::ObjectMeta| {
            etag == "*" || etag.trim_matches('"') == o.etag
        };
        if let Some(t) = &self.if_none_match {
            if current.is_some_and(|o| same(t, o)) {
                return failed(if t == "*" {
                    "the object already exists"
                } else {
                    "If-None-Match: the ETag matches"
                });
            }
        }
        let needs_object = self.if_match.is_some()
            || self.if_match_last_modified_ns.is_some()
            || self.if_match_size.is_some();
        let Some(o) = current else {
            return if needs_object {
                Err(EngineError::no_such_key(bucket, key))
            } else {
                Ok(())
            };
        };
        if self.if_match.as_ref().is_some_and(|t| !same(t, o)) {
            return failed("If-Match: the ETag does not match");
        }
        if self
            .if_match_last_modified_ns
            .is_some_and(|t| t / 1_000_000_000 != o.mod_time_ns / 1_000_000_000)
        {
            return failed("the last-modified time does not match");
        }
        if self.if_match_size.is_some_and(|s| s != o.size) {
            return failed("the size does not match");
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Default)]
pub struct PutOptions {
    pub content_type: Option<String>,
    pub user_meta: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub checksums: BTreeMap<String, String>,
    /// Expected MD5 of the body (Content-MD5); a mismatch fails with BadDigest.
    pub content_md5: Option<[u8; 16]>,
    pub reduced_redundancy: bool,
    pub conditions: Conditions,
    /// CreateMultipartUpload: the algorithm (`CRC32`, …) every part is checked with, and how
    /// the parts' checksums make the object's (`COMPOSITE` or `FULL_OBJECT`).
    pub checksum_algorithm: Option<String>,
    pub checksum_type: Option<String>,
    /// Stored as `ObjectMeta::acl` (for a multipart upload, at its completion).
    pub acl: Option<String>,
}

/// What a client learns about an object.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectInfo {
    pub bucket: String,
    pub key: String,
    pub size: u64,
    pub etag: String,
    pub mod_time_ns: u64,
    pub version_id: String,
    pub content_type: Option<String>,
    pub user_meta: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub checksums: BTreeMap<String, String>,
    pub parts: usize,
    /// The parts in order (a plain PUT has one, number 1): what `partNumber` reads select.
    pub part_list: Vec<ObjectPart>,
    /// Made by CompleteMultipartUpload (S3 reports parts only of such objects).
    pub multipart: bool,
    pub reduced_redundancy: bool,
    /// `ObjectMeta::acl`.
    pub acl: Option<String>,
}

/// One part of an object, as clients see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectPart {
    pub number: u32,
    pub size: u64,
    /// The part's own checksums by algorithm (`CRC32`, …), base64.
    pub checksums: BTreeMap<String, String>,
}

impl ObjectInfo {
    /// The info of an object version (a deletion has none to give: an empty object).
    pub fn from_version(bucket: &str, key: &str, v: &Version) -> ObjectInfo {
        let mut info = ObjectInfo {
            bucket: bucket.to_string(),
            key: key.to_string(),
            size: 0,
            etag: String::new(),
            mod_time_ns: 0,
            version_id: v.id.clone(),
            content_type: None,
            user_meta: BTreeMap::new(),
            tags: BTreeMap::new(),
            checksums: BTreeMap::new(),
            parts: 0,
            part_list: Vec::new(),
            multipart: false,
            reduced_redundancy: false,
            acl: None,
        };
        if let Some(o) = &v.object {
            info.size = o.size;
            info.etag = o.etag.clone();
            info.mod_time_ns = o.mod_time_ns;
            info.content_type = o.content_type.clone();
            info.user_meta = o.user_meta.clone();
            info.tags = o.tags.clone();
            info.checksums = o.checksums.clone();
            info.parts = o.parts.len();
            info.part_list = o
                .parts
                .iter()
                .map(|p| ObjectPart {
                    number: p.number,
                    size: p.size,
                    checksums: p.checksums.clone(),
                })
                .collect();
            info.multipart = o.upload_id.is_some();
            info.reduced_redundancy = o.reduced_redundancy;
            info.acl = o.acl.clone();
        }
        info
    }
}

#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    pub prefix: String,
    pub delimiter: Option<String>,
    /// Only keys (and prefixes) strictly after this (marker, start-after, continuation).
    pub after: Option<String>,
    pub max_keys: usize,
}

#[derive(Clone, Debug, Default)]
pub struct ListPage {
    pub objects: Vec<ObjectInfo>,
    pub prefixes: Vec<String>,
    pub truncated: bool,
    /// The last key or prefix returned: where the next page starts.
    pub next_after: Option<String>,
}

#[derive(Clone, Debug)]
pub struct BucketInfo {
    pub name: String,
    pub created_ns: u64,
}

/// Health of one drive slot, for readiness and metrics.
#[derive(Clone, Debug)]
pub struct DriveState {
    pub set: usize,
    pub position: usize,
    pub drive_id: String,
    pub path: Option<PathBuf>,
    pub online: bool,
    /// Being rebuilt (replaced, or back after an absence).
    pub healing: bool,
    pub capacity: Option<super::drive::Capacity>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::tests::sample_version;

    fn object() -> crate::meta::ObjectMeta {
        sample_version("v", 1).object.unwrap()
    }

    #[test]
    fn conditions_follow_s3() {
        let o = object(); // etag "abc", size 5
        let c = |f: fn(&mut Conditions)| {
            let mut c = Conditions::default();
            f(&mut c);
            c
        };
        let ok = |c: &Conditions, cur| c.check(cur, "b", "k").is_ok();
        let failed = |c: &Conditions, cur| {
            matches!(
                c.check(cur, "b", "k"),
                Err(EngineError::PreconditionFailed(_))
            )
        };
        let missing = |c: &Conditions, cur| {
            matches!(c.check(cur, "b", "k"), Err(EngineError::NoSuchKey { .. }))
        };
        let create_only = c(|c| c.if_none_match = Some("*".into()));
        assert!(ok(&create_only, None) && failed(&create_only, Some(&o)));
        let if_match = c(|c| c.if_match = Some("\"abc\"".into()));
        assert!(ok(&if_match, Some(&o)) && missing(&if_match, None));
        let wrong = c(|c| c.if_match = Some("zzz".into()));
        assert!(failed(&wrong, Some(&o)));
        let size = c(|c| c.if_match_size = Some(6));
        assert!(failed(&size, Some(&o)) && missing(&size, None));
        let time = c(|c| c.if_match_last_modified_ns = Some(1_700_000_000_400_000_000));
        assert!(ok(&time, Some(&o)), "compared to the second");
        let later = c(|c| c.if_match_last_modified_ns = Some(1_700_000_001_000_000_000));
        assert!(failed(&later, Some(&o)));
        assert!(Conditions::default().is_empty() && !create_only.is_empty());
    }
}
