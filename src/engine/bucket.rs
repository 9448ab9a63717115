//! Buckets: a marker directory on every drive of the deployment, created and removed on a
//! majority of drives (undone where it landed when the majority is missed), known to exist
//! (or not) when half the drives agree.

use super::drive::Walk;
use super::drive::{Drive, DriveError};
use super::list::Item;
use super::set::{run_parallel, write_quorum_error, Handle};
use super::{BucketInfo, Engine, EngineError};
use std::collections::BTreeMap;
use std::sync::Arc;

impl Engine {
    /// Every drive's id, in the order of `all_drives`.
    fn all_drive_ids(&self) -> Vec<String> {
        self.sets()
            .iter()
            .flat_map(|s| s.drive_ids.clone())
            .collect()
    }

    /// Drives that must create a bucket (write quorum of bucket operations).
    fn majority(&self) -> usize {
        self.all_drives().len() / 2 + 1
    }

    pub fn make_bucket(&self, bucket: &str) -> Result<(), EngineError> {
        super::names::check_bucket(bucket)?;
        let _lock = self.bucket_exclusive(bucket);
        if self.bucket_exists(bucket)? {
            return Err(EngineError::BucketExists(bucket.to_string()));
        }
        let created = super::now_ns();
        let b = bucket.to_string();
        let results = run_parallel(&self.all_handles(), move |_, d| d.make_bucket(&b, created));
        let drives = self.all_drives();
        // Undo: markers left on the drives that answered would otherwise make the failed
        // bucket exist by read quorum (half the drives) later.
        self.quorum_or_undo(&drives, &results, |d| {
            let _ = d.delete_bucket(bucket);
        })
    }

    /// Whether a read quorum of drives holds the bucket. When too few drives answer either way
    /// this is a read-quorum error, not "no such bucket".
    pub fn bucket_exists(&self, bucket: &str) -> Result<bool, EngineError> {
        super::names::check_bucket(bucket)?;
        Ok(self.bucket_created(bucket)?.is_some())
    }

    /// When the bucket was created, if a read quorum of drives holds it.
    fn bucket_created(&self, bucket: &str) -> Result<Option<u64>, EngineError> {
        bucket_created(&self.all_handles(), bucket)
    }

    pub(crate) fn require_bucket(&self, bucket: &str) -> Result<(), EngineError> {
        if self.bucket_exists(bucket)? {
            Ok(())
        } else {
            Err(EngineError::NoSuchBucket(bucket.to_string()))
        }
    }

    pub fn list_buckets(&self) -> Result<Vec<BucketInfo>, EngineError> {
        Ok(list_buckets(&self.all_handles()))
    }

    fn bucket_exclusive(&self, bucket: &str) -> std::sync::RwLockWriteGuard<'_, ()> {
        self.shared
            .bucket_lock(bucket)
            .write()
            .unwrap_or_else(|p| p.into_inner())
    }

    pub fn delete_bucket(&self, bucket: &str) -> Result<(), EngineError> {
        super::names::check_bucket(bucket)?;
        let _lock = self.bucket_exclusive(bucket);
        let Some(created) = self.bucket_created(bucket)? else {
            return Err(EngineError::NoSuchBucket(bucket.to_string()));
        };
        // Not empty while any key holds an object, or may hold one: a key listed by no drive
        // that answers could be the state once the silent ones do (ceil(n/2) of them).
        for s in self.sets() {
            let silent = s.drives_out();
            if silent >= s.drive_count() - s.drive_count() / 2 {
                return Err(EngineError::ReadQuorum {
                    what: format!("bucket {bucket}"),
                    detail: format!(
                        "{silent} of {} drives of set {} are out: whether the bucket is empty \
                         cannot be told",
                        s.drive_count(),
                        s.index
                    ),
                });
            }
        }
        let walk = Walk {
            prefix: "",
            after: "",
            collapse: false,
            limit: 1,
            debris: false,
        };
        for s in self.sets() {
            match s.list_items(bucket, &walk).0.first() {
                Some(Item::Object(..)) => {
                    return Err(EngineError::BucketNotEmpty(bucket.to_string()))
                }
                Some(Item::Undecided(key, _)) => {
                    return Err(EngineError::ReadQuorum {
                        what: format!("{bucket}/{key}"),
                        detail: "too many drives are silent to tell whether the bucket is empty"
                            .into(),
                    })
                }
                _ => {}
            }
        }
        let b = bucket.to_string();
        let results = run_parallel(&self.all_handles(), move |_, d| d.delete_bucket(&b));
        let drives = self.all_drives();
        // Undo (as MinIO does): a delete that missed its write quorum must not leave the
        // bucket to come back by read quorum when the drives that missed it return.
        self.quorum_or_undo(&drives, &results, |d| {
            let _ = d.make_bucket(bucket, created);
        })
    }

    /// Counts `results`; below a majority, runs `undo` on the drives that succeeded and fails.
    fn quorum_or_undo(
        &self,
        drives: &[Option<Arc<dyn Drive>>],
        results: &[Result<(), DriveError>],
        undo: impl Fn(&dyn Drive),
    ) -> Result<(), EngineError> {
        let quorum = self.majority();
        let ok = results.iter().filter(|r| r.is_ok()).count();
        if ok >= quorum {
            return Ok(());
        }
        for (d, r) in drives.iter().zip(results) {
            if let (Some(d), Ok(())) = (d, r) {
                undo(d.as_ref());
            }
        }
        Err(write_quorum_error(results, &self.all_drive_ids(), quorum))
    }
}

/// When the bucket was created, if a read quorum of `drives` holds it; `None` when a read
/// quorum says it does not exist; an error when too few drives answer either way. The read
/// quorum is half the drives, like MinIO's: every set keeps at least half its drives when it
/// loses no more than its parity, so objects that can still be read never hide behind a bucket
/// that seems missing.
fn bucket_created(drives: &[Option<Handle>], bucket: &str) -> Result<Option<u64>, EngineError> {
    let b = bucket.to_string();
    let answers = run_parallel(drives, move |_, d| d.bucket_created(&b));
    let found: Vec<u64> = answers.iter().flatten().flatten().copied().collect();
    let absent = answers.iter().filter(|a| matches!(a, Ok(None))).count();
    let quorum = (drives.len() / 2).max(1);
    if found.len() >= quorum {
        Ok(found.iter().min().copied())
    } else if absent >= quorum {
        Ok(None)
    } else {
        Err(EngineError::ReadQuorum {
            what: format!("bucket {bucket}"),
            detail: format!(
                "{} of {} drives hold it, {absent} do not, {quorum} needed",
                found.len(),
                drives.len()
            ),
        })
    }
}

/// The buckets a read quorum (half) of these drives holds.
pub(crate) fn list_buckets(drives: &[Option<Handle>]) -> Vec<BucketInfo> {
    let mut seen: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    for list in run_parallel(drives, move |_, d| d.list_buckets())
        .into_iter()
        .flatten()
    {
        for (name, created) in list {
            let entry = seen.entry(name).or_insert((0, created));
            entry.0 += 1;
            entry.1 = entry.1.min(created);
        }
    }
    let quorum = (drives.len() / 2).max(1);
    seen.into_iter()
        .filter(|(_, (n, _))| *n >= quorum)
        .map(|(name, (_, created_ns))| BucketInfo { name, created_ns })
        .collect()
}

/// Makes sure every one of `drives` has every bucket of `buckets` that still exists (a drive
/// that missed a creation, or a replaced one); returns how many it made. Each bucket's
/// existence is checked again by quorum under its lock, so a bucket deleted since `buckets`
/// was listed is not brought back.
pub(crate) fn heal_buckets(
    shared: &super::Shared,
    drives: &[Option<Handle>],
    buckets: &[BucketInfo],
) -> usize {
    let everyone: Vec<Option<Handle>> = shared.sets.iter().flat_map(|s| s.handles()).collect();
    let mut made = 0;
    for b in buckets {
        let _lock = shared
            .bucket_lock(&b.name)
            .write()
            .unwrap_or_else(|p| p.into_inner());
        if !matches!(bucket_created(&everyone, &b.name), Ok(Some(_))) {
            continue;
        }
        let (name, created) = (b.name.clone(), b.created_ns);
        for r in run_parallel(drives, move |_, d| match d.bucket_created(&name) {
            Ok(None) => d.make_bucket(&name, created).map(|()| 1),
            Ok(Some(_)) => Ok(0),
            Err(e) => Err(e),
        }) {
            made += r.unwrap_or(0);
        }
    }
    made
}
