//! The deployment's own documents: IAM state now, bucket configurations later.
//!
//! They are objects like any other — erasure-coded over a set chosen by placement, committed
//! with the same write quorum, read with the same read quorum and verified by their bitrot
//! hashes — in a bucket no S3 request can name: `.strata.sys`, the drives' system directory
//! (a bucket name starting with a dot is invalid in S3, and the engine's bucket checks refuse
//! it, so the public object calls cannot reach it). Every key lives under `config/`, away from
//! what the system directory holds besides (`format.json`, `tmp/`, `multipart/`, `healing`).
//! The bucket has no `%bucket` marker: it always exists and never appears in ListBuckets.
//!
//! Not yet: the scanner walks only the buckets ListBuckets names, so a system document is
//! healed when it is written again or read, not by the background scan.

use super::drive::SYS_DIR;
use super::{delete_in, names, Conditions, Engine, EngineError, ListQuery, PutOptions};
use std::collections::BTreeMap;
use std::io::Read;

/// The bucket of system documents (the drives' system directory).
pub const SYSTEM_BUCKET: &str = SYS_DIR;

/// Where every system key lives inside it.
const PREFIX: &str = "config/";

/// Largest system document read back: IAM documents are kilobytes; a larger one is damage.
pub const MAX_SYSTEM_DOCUMENT: u64 = 16 << 20;

/// `config/<key>`; segments are never empty, `.` or `..` (the engine would store those
/// safely, but a system key that looks like a path elsewhere is a caller's mistake).
fn system_key(key: &str) -> Result<String, EngineError> {
    if key
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(EngineError::InvalidObjectName(format!(
            "system key {key:?} has an empty, . or .. segment"
        )));
    }
    let full = format!("{PREFIX}{key}");
    names::check_key(&full)?;
    Ok(full)
}

impl Engine {
    /// Writes the system document `key` (replacing it), durable on a write quorum.
    pub fn put_system(&self, key: &str, bytes: &[u8]) -> Result<(), EngineError> {
        let key = system_key(key)?;
        let (set, h) = self.set_for(SYSTEM_BUCKET, &key);
        let mut body = bytes;
        set.put(
            SYSTEM_BUCKET,
            &key,
            &mut body,
            &PutOptions::default(),
            h,
            &mut || Ok(BTreeMap::new()),
        )
        .map(drop)
    }

    /// The system document `key`, `None` when there is none (read with quorum: a document
    /// too few drives answer for is an error, never "none").
    pub fn get_system(&self, key: &str) -> Result<Option<Vec<u8>>, EngineError> {
        let key = system_key(key)?;
        let (set, _) = self.set_for(SYSTEM_BUCKET, &key);
        let reader = match set.open_reader(SYSTEM_BUCKET, &key, None) {
            Ok(r) => r,
            Err(EngineError::NoSuchKey { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let size = reader.info().size;
        if size > MAX_SYSTEM_DOCUMENT {
            return Err(EngineError::SystemDocument {
                key,
                detail: format!("{size} bytes, more than {MAX_SYSTEM_DOCUMENT}"),
            });
        }
        let mut out = Vec::with_capacity(size as usize);
        reader
            .take(MAX_SYSTEM_DOCUMENT)
            .read_to_end(&mut out)
            .map_err(|e| EngineError::SystemDocument {
                key: key.clone(),
                detail: e.to_string(),
            })?;
        Ok(Some(out))
    }

    /// Deletes the system document `key`; deleting a missing one succeeds.
    pub fn delete_system(&self, key: &str) -> Result<(), EngineError> {
        let key = system_key(key)?;
        let (set, _) = self.set_for(SYSTEM_BUCKET, &key);
        delete_in(set, SYSTEM_BUCKET, &key, &Conditions::default())
    }

    /// The keys of the system documents whose key starts with `prefix`, in order.
    pub fn list_system(&self, prefix: &str) -> Result<Vec<String>, EngineError> {
        let mut keys = Vec::new();
        let mut q = ListQuery {
            prefix: format!("{PREFIX}{prefix}"),
            delimiter: None,
            after: None,
            max_keys: 1000,
        };
        loop {
            let page = self.list_in(SYSTEM_BUCKET, &q)?;
            keys.extend(
                page.objects
                    .iter()
                    .filter_map(|o| o.key.strip_prefix(PREFIX).map(str::to_string)),
            );
            if !page.truncated {
                return Ok(keys);
            }
            q.after = page.next_after;
        }
    }
}
