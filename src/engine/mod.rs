//! The erasure-coded storage engine: buckets and objects over erasure sets of drives, with no
//! HTTP in it. `Engine` routes each key to its set (a keyed hash of bucket and key, fixed for
//! the life of the deployment) and owns the background healer.
//!
//! Data path, top to bottom: `put.rs` (stream → blocks → shards → drives), `get.rs` (quorum
//! metadata → verified shards → reconstruct), `heal.rs`, `list.rs`, `multipart.rs`; beneath
//! them `set.rs` (quorums, commits), `disk.rs` (one drive's files), `layout.rs` (deployments).

mod barrier;
mod disk;
mod error;
pub mod geometry;
mod get;
mod heal;
pub mod layout;
mod list;
pub mod meta;
mod multipart;
pub mod names;
mod put;
mod set;

pub use error::EngineError;
pub use get::ObjectReader;
pub use heal::HealResult;
pub use layout::DriveProblem;
pub use multipart::{PartInfo, UploadInfo};
pub use put::{now_ns, BodyCheck};

use crate::bitrot::BitrotAlgo;
use disk::Disk;
use list::{Item, Walk};
use meta::ObjectMeta;
use set::ErasureSet;
use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::Duration;

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
    /// Run the background healer (tests may turn it off to observe damage).
    pub background_heal: bool,
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
        }
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
    pub reduced_redundancy: bool,
}

impl ObjectInfo {
    pub fn from_meta(bucket: &str, key: &str, m: &ObjectMeta) -> ObjectInfo {
        ObjectInfo {
            bucket: bucket.to_string(),
            key: key.to_string(),
            size: m.size,
            etag: m.etag.clone(),
            mod_time_ns: m.mod_time_ns,
            version_id: m.version_id.clone(),
            content_type: m.content_type.clone(),
            user_meta: m.user_meta.clone(),
            tags: m.tags.clone(),
            checksums: m.checksums.clone(),
            parts: m.parts.len(),
            reduced_redundancy: (m.erasure.parity as usize)
                < layout::default_parity(m.erasure.distribution.len()),
        }
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
}

const BUCKET_FILE: &str = "%bucket";

pub struct Engine {
    deployment_id: String,
    placement_key: [u8; 32],
    sets: Vec<Arc<ErasureSet>>,
    planned: Vec<Vec<PathBuf>>,
    problems: Mutex<Vec<DriveProblem>>,
    cfg: Arc<Config>,
    healer: Arc<Healer>,
    /// When this engine opened the drives (the start-up sweep only removes older leftovers).
    started: std::time::SystemTime,
}

/// Background heal bookkeeping: pending keys (deduplicated) and a counter of finished heals.
#[derive(Default)]
struct Healer {
    pending: Mutex<HashSet<(usize, String, String)>>,
    idle: Condvar,
    done: AtomicUsize,
}

impl Engine {
    /// Opens the deployment on these drive groups (each ellipsis group forms its own sets),
    /// formatting it when every drive is new. Start-up also clears interrupted writes.
    pub fn open(groups: &[Vec<PathBuf>], cfg: Config) -> Result<Engine, EngineError> {
        let dep = layout::open(
            groups,
            cfg.set_size,
            crate::erasure::MATRIX_ID,
            BitrotAlgo::DEFAULT as u8,
        )?;
        let bitrot = BitrotAlgo::try_from(dep.bitrot).map_err(EngineError::Format)?;
        let cfg = Arc::new(cfg);
        let mut problems = dep.problems;
        let sets: Vec<Arc<ErasureSet>> = dep
            .sets
            .into_iter()
            .enumerate()
            .map(|(i, drives)| {
                let drives = drives
                    .into_iter()
                    .map(|(id, disk)| {
                        let disk = disk.and_then(|d| match d.clean_tmp() {
                            Ok(()) => Some(d),
                            Err(e) => {
                                problems.push(DriveProblem::Offline {
                                    path: d.root().to_path_buf(),
                                    reason: e.to_string(),
                                });
                                None
                            }
                        });
                        (id, disk)
                    })
                    .collect();
                Arc::new(ErasureSet::new(i, drives, cfg.clone(), bitrot, dep.codec))
            })
            .collect();
        let placement_key = *blake3::hash(dep.id.as_bytes()).as_bytes();
        let engine = Engine {
            deployment_id: dep.id,
            placement_key,
            sets,
            planned: layout::plan_sets(groups, cfg.set_size)?,
            problems: Mutex::new(problems),
            cfg,
            healer: Arc::new(Healer::default()),
            started: std::time::SystemTime::now(),
        };
        if engine.cfg.background_heal {
            engine.start_healer();
            let sets = engine.sets.clone();
            let before = engine.started - Duration::from_secs(2);
            let _ = std::thread::Builder::new()
                .name("strata-sweep".into())
                .spawn(move || sweep_sets(&sets, before));
        }
        Ok(engine)
    }

    /// Removes data directories orphaned by a process killed mid-commit (see
    /// `Disk::sweep_orphans`); runs in the background at start-up. Returns how many.
    pub fn sweep_orphans(&self) -> usize {
        sweep_sets(&self.sets, self.started - Duration::from_secs(2))
    }

    pub fn deployment_id(&self) -> &str {
        &self.deployment_id
    }

    pub fn problems(&self) -> Vec<DriveProblem> {
        self.problems.lock().map(|p| p.clone()).unwrap_or_default()
    }

    pub fn set_count(&self) -> usize {
        self.sets.len()
    }

    pub fn drives(&self) -> Vec<DriveState> {
        let mut out = Vec::new();
        for s in &self.sets {
            for p in 0..s.drive_count() {
                let disk = s.disk(p);
                out.push(DriveState {
                    set: s.index,
                    position: p,
                    drive_id: s.drive_ids[p].clone(),
                    online: disk.as_ref().is_some_and(|d| d.sys().is_dir()),
                    path: disk.map(|d| d.root().to_path_buf()),
                });
            }
        }
        out
    }

    /// Whether every set has enough drives online to accept writes.
    pub fn write_quorum_ok(&self) -> bool {
        let states = self.drives();
        self.sets.iter().all(|s| {
            let online = states
                .iter()
                .filter(|d| d.set == s.index && d.online)
                .count();
            online >= s.geometry(false).write_quorum()
        })
    }

    /// Takes a drive out of service (tests, and a drive an operator pulled).
    pub fn take_offline(&self, set: usize, position: usize) {
        if let Some(s) = self.sets.get(set) {
            s.set_disk(position, None);
        }
    }

    /// A keyed hash of bucket and key: picks the set, and rotates shards over its drives.
    fn placement(&self, bucket: &str, key: &str) -> u64 {
        let mut h = blake3::Hasher::new_keyed(&self.placement_key);
        h.update(bucket.as_bytes());
        h.update(b"/");
        h.update(key.as_bytes());
        let out = h.finalize();
        u64::from_le_bytes(out.as_bytes()[..8].try_into().unwrap_or([0; 8]))
    }

    fn set_for(&self, bucket: &str, key: &str) -> (&Arc<ErasureSet>, u64) {
        let h = self.placement(bucket, key);
        (&self.sets[(h % self.sets.len() as u64) as usize], h)
    }

    /// What every object operation starts with: a valid key, an existing bucket, its set.
    fn locate(&self, bucket: &str, key: &str) -> Result<(&Arc<ErasureSet>, u64), EngineError> {
        names::check_key(key)?;
        self.require_bucket(bucket)?;
        Ok(self.set_for(bucket, key))
    }

    fn all_disks(&self) -> Vec<Option<Disk>> {
        self.sets
            .iter()
            .flat_map(|s| (0..s.drive_count()).map(|p| s.disk(p)))
            .collect()
    }

    /// Drives that must create a bucket (write quorum of bucket operations).
    fn majority(&self) -> usize {
        self.all_disks().len() / 2 + 1
    }

    /// Drives that must agree for a bucket to be known to exist, or known not to. Half the
    /// drives, like MinIO's bucket read quorum: every set keeps at least half its drives when
    /// it loses no more than its parity, so objects that can still be read never hide behind
    /// a bucket that seems missing.
    fn bucket_read_quorum(&self) -> usize {
        (self.all_disks().len() / 2).max(1)
    }

    // ---- buckets ----

    pub fn make_bucket(&self, bucket: &str) -> Result<(), EngineError> {
        names::check_bucket(bucket)?;
        if self.bucket_exists(bucket)? {
            return Err(EngineError::BucketExists(bucket.to_string()));
        }
        let created = put::now_ns().to_le_bytes();
        let disks = self.all_disks();
        let results = set::run_parallel(&disks, |_, d| {
            d.check_present()?; // never recreate a vanished drive directory
            let dir = d.bucket(bucket);
            std::fs::create_dir_all(&dir)?;
            disk::write_synced(&dir.join(BUCKET_FILE), &created)?;
            crate::fsutil::fsync_dir(d.root())
        });
        let ok = results.iter().filter(|r| r.is_ok()).count();
        if ok < self.majority() {
            // Undo: the markers left on the drives that answered would otherwise make the
            // failed bucket exist by read quorum (half the drives) later.
            for (d, r) in disks.iter().zip(&results) {
                if let (Some(d), Ok(())) = (d, r) {
                    let _ = std::fs::remove_file(d.bucket(bucket).join(BUCKET_FILE));
                    let _ = std::fs::remove_dir(d.bucket(bucket));
                }
            }
            return Err(EngineError::WriteQuorum {
                ok,
                needed: self.majority(),
                failures: results
                    .iter()
                    .filter_map(|r| r.as_ref().err().cloned())
                    .collect::<Vec<_>>()
                    .join("; "),
            });
        }
        Ok(())
    }

    /// Whether a read quorum of drives holds the bucket. When too few drives answer either way
    /// this is a read-quorum error, not "no such bucket".
    pub fn bucket_exists(&self, bucket: &str) -> Result<bool, EngineError> {
        names::check_bucket(bucket)?;
        let disks = self.all_disks();
        let (mut found, mut absent) = (0, 0);
        for d in disks.iter().flatten() {
            match std::fs::metadata(d.bucket(bucket).join(BUCKET_FILE)) {
                Ok(m) if m.is_file() => found += 1,
                // "Absent" only from a drive that is there (a vanished drive knows nothing).
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && d.sys().is_dir() => {
                    absent += 1
                }
                _ => {}
            }
        }
        let quorum = self.bucket_read_quorum();
        if found >= quorum {
            Ok(true)
        } else if absent >= quorum {
            Ok(false)
        } else {
            Err(EngineError::ReadQuorum {
                what: format!("bucket {bucket}"),
                detail: format!(
                    "{found} of {} drives hold it, {absent} do not, {quorum} needed",
                    disks.len()
                ),
            })
        }
    }

    fn require_bucket(&self, bucket: &str) -> Result<(), EngineError> {
        if self.bucket_exists(bucket)? {
            Ok(())
        } else {
            Err(EngineError::NoSuchBucket(bucket.to_string()))
        }
    }

    pub fn list_buckets(&self) -> Result<Vec<BucketInfo>, EngineError> {
        let mut seen: BTreeMap<String, (usize, u64)> = BTreeMap::new();
        for d in self.all_disks().iter().flatten() {
            let Ok(rd) = std::fs::read_dir(d.root()) else {
                continue;
            };
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if let Ok(bytes) = std::fs::read(e.path().join(BUCKET_FILE)) {
                    let created = u64::from_le_bytes(
                        bytes
                            .get(..8)
                            .and_then(|b| b.try_into().ok())
                            .unwrap_or([0; 8]),
                    );
                    let entry = seen.entry(name).or_insert((0, created));
                    entry.0 += 1;
                    entry.1 = entry.1.min(created);
                }
            }
        }
        let quorum = self.bucket_read_quorum();
        Ok(seen
            .into_iter()
            .filter(|(_, (n, _))| *n >= quorum)
            .map(|(name, (_, created_ns))| BucketInfo { name, created_ns })
            .collect())
    }

    pub fn delete_bucket(&self, bucket: &str) -> Result<(), EngineError> {
        self.require_bucket(bucket)?;
        let page = self.list_objects(
            bucket,
            &ListQuery {
                max_keys: 1,
                ..Default::default()
            },
        )?;
        if !page.objects.is_empty() {
            return Err(EngineError::BucketNotEmpty(bucket.to_string()));
        }
        let disks = self.all_disks();
        let marker = disks
            .iter()
            .flatten()
            .find_map(|d| std::fs::read(d.bucket(bucket).join(BUCKET_FILE)).ok());
        let results = set::run_parallel(&disks, |_, d| {
            let _ = std::fs::remove_dir_all(d.multipart(bucket));
            match std::fs::remove_dir_all(d.bucket(bucket)) {
                // A drive that is there but never had the bucket agrees it is gone.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => d.check_present()?,
                r => r?,
            }
            crate::fsutil::fsync_dir(d.root())
        });
        let ok = results.iter().filter(|r| r.is_ok()).count();
        if ok < self.majority() {
            // Undo (as MinIO does): a delete that missed its write quorum must not leave the
            // bucket to come back by read quorum when the drives that missed it return.
            for (d, r) in disks.iter().zip(&results) {
                if let (Some(d), Ok(()), Some(marker)) = (d, r, &marker) {
                    let dir = d.bucket(bucket);
                    let _ = std::fs::create_dir_all(&dir)
                        .and_then(|()| disk::write_synced(&dir.join(BUCKET_FILE), marker));
                }
            }
            return Err(EngineError::WriteQuorum {
                ok,
                needed: self.majority(),
                failures: results
                    .iter()
                    .filter_map(|r| r.as_ref().err().cloned())
                    .collect::<Vec<_>>()
                    .join("; "),
            });
        }
        Ok(())
    }

    // ---- objects ----

    pub fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: &mut dyn Read,
        opts: &PutOptions,
    ) -> Result<ObjectInfo, EngineError> {
        self.put_object_checked(bucket, key, body, opts, &mut || Ok(BTreeMap::new()))
    }

    /// `put_object` with a check run after the body was read and before the object becomes
    /// visible (checksums, trailers); a failed check leaves nothing behind.
    pub fn put_object_checked(
        &self,
        bucket: &str,
        key: &str,
        body: &mut dyn Read,
        opts: &PutOptions,
        check: BodyCheck<'_>,
    ) -> Result<ObjectInfo, EngineError> {
        let (set, h) = self.locate(bucket, key)?;
        set.put(bucket, key, body, opts, h, check)
    }

    /// Changes an object's metadata (tags, user metadata, content headers) without rewriting
    /// its data; every copy gets the same new version id.
    pub fn update_metadata(
        &self,
        bucket: &str,
        key: &str,
        change: &(dyn Fn(&mut ObjectMeta) + Sync),
    ) -> Result<ObjectInfo, EngineError> {
        self.locate(bucket, key)?
            .0
            .update_metadata(bucket, key, change)
    }

    /// Opens an object for streaming; `range` is (start, length).
    pub fn get_object(
        &self,
        bucket: &str,
        key: &str,
        range: Option<(u64, u64)>,
    ) -> Result<ObjectReader, EngineError> {
        self.locate(bucket, key)?.0.open_reader(bucket, key, range)
    }

    pub fn head_object(&self, bucket: &str, key: &str) -> Result<ObjectInfo, EngineError> {
        let set = self.locate(bucket, key)?.0;
        // A commit or delete met half-way can leave no version on a read quorum: once more
        // under the key lock then (see `open_reader`).
        let q = match set.quorum_meta(bucket, key) {
            Err(EngineError::ReadQuorum { .. }) => {
                let _guard = set.lock_key(bucket, key);
                set.quorum_meta(bucket, key)?
            }
            other => other?,
        }
        .ok_or_else(|| EngineError::no_such_key(bucket, key))?;
        Ok(ObjectInfo::from_meta(bucket, key, &q.meta))
    }

    /// Deletes an object; deleting a missing object succeeds (S3 semantics).
    pub fn delete_object(&self, bucket: &str, key: &str) -> Result<(), EngineError> {
        let set = self.locate(bucket, key)?.0;
        let _guard = set.lock_key(bucket, key);
        let results = set.on_drives(|_, d| d.delete_object(bucket, key));
        let ok = results.iter().filter(|r| r.is_ok()).count();
        let quorum = set.drive_count() / 2 + 1;
        if ok < quorum {
            return Err(EngineError::WriteQuorum {
                ok,
                needed: quorum,
                failures: set::describe_failures(&results, &set.drive_ids),
            });
        }
        Ok(())
    }

    pub fn list_objects(&self, bucket: &str, q: &ListQuery) -> Result<ListPage, EngineError> {
        self.require_bucket(bucket)?;
        let max = q.max_keys.min(1000);
        let mut page = ListPage::default();
        if max == 0 {
            return Ok(page);
        }
        let slash = q.delimiter.as_deref() == Some("/");
        let mut after = q.after.clone().unwrap_or_default();
        loop {
            let walk = Walk {
                prefix: &q.prefix,
                after: &after,
                collapse: slash,
                limit: max + 1,
            };
            let mut items: Vec<Item> = Vec::new();
            let mut more = false;
            for s in &self.sets {
                let (found, m) = s.list_items(bucket, &walk);
                more |= m;
                items.extend(found);
            }
            items.sort_by(|a, b| a.name().cmp(b.name()));
            items.dedup_by(|a, b| a.name() == b.name());
            let exhausted = !more && items.len() <= max;
            for item in items {
                let name = item.name().to_string();
                if page.objects.len() + page.prefixes.len() >= max {
                    page.truncated = true;
                    return Ok(page);
                }
                after = name.clone();
                match (item, q.delimiter.as_deref()) {
                    (Item::Prefix(p), _) => push_prefix(&mut page, p, q.after.as_deref()),
                    (Item::Object(m, key), Some(delim)) if !slash && !delim.is_empty() => {
                        match key[q.prefix.len()..].find(delim) {
                            Some(i) => push_prefix(
                                &mut page,
                                key[..q.prefix.len() + i + delim.len()].to_string(),
                                q.after.as_deref(),
                            ),
                            None => push_object(&mut page, bucket, &key, &m),
                        }
                    }
                    (Item::Object(m, key), _) => push_object(&mut page, bucket, &key, &m),
                }
            }
            if exhausted {
                return Ok(page);
            }
        }
    }

    // ---- multipart ----

    pub fn new_multipart(
        &self,
        bucket: &str,
        key: &str,
        opts: &PutOptions,
    ) -> Result<String, EngineError> {
        let (set, h) = self.locate(bucket, key)?;
        set.new_upload(bucket, key, opts, h)
    }

    pub fn put_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part: u32,
        body: &mut dyn Read,
        content_md5: Option<[u8; 16]>,
    ) -> Result<PartInfo, EngineError> {
        self.put_part_checked(bucket, key, upload_id, part, body, content_md5, &mut || {
            Ok(BTreeMap::new())
        })
    }

    #[allow(clippy::too_many_arguments)] // one UploadPart request's worth of parameters
    pub fn put_part_checked(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part: u32,
        body: &mut dyn Read,
        content_md5: Option<[u8; 16]>,
        check: BodyCheck<'_>,
    ) -> Result<PartInfo, EngineError> {
        let (set, h) = self.locate(bucket, key)?;
        set.put_part(bucket, key, upload_id, part, body, content_md5, h, check)
    }

    pub fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<PartInfo>, EngineError> {
        self.locate(bucket, key)?
            .0
            .list_parts(bucket, key, upload_id)
    }

    pub fn complete_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
    ) -> Result<ObjectInfo, EngineError> {
        self.locate(bucket, key)?.0.complete_upload(
            bucket,
            key,
            upload_id,
            parts,
            self.cfg.min_part_size,
        )
    }

    pub fn abort_multipart(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(), EngineError> {
        self.locate(bucket, key)?
            .0
            .abort_upload(bucket, key, upload_id)
    }

    /// Uploads in progress under `prefix`, by key then initiation time.
    pub fn list_multipart(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<UploadInfo>, EngineError> {
        self.require_bucket(bucket)?;
        let mut all: Vec<UploadInfo> = self
            .sets
            .iter()
            .flat_map(|s| s.list_uploads(bucket, prefix))
            .collect();
        all.sort_by(|a, b| {
            (&a.key, a.initiated_ns, &a.upload_id).cmp(&(&b.key, b.initiated_ns, &b.upload_id))
        });
        Ok(all)
    }

    // ---- healing ----

    pub fn heal_object(&self, bucket: &str, key: &str) -> Result<HealResult, EngineError> {
        names::check_key(key)?;
        self.set_for(bucket, key).0.heal_object(bucket, key)
    }

    /// Rebuilds a replaced drive: `path` (empty) takes the place of the missing drive at
    /// (set, position), then every bucket and object of the set is healed onto it.
    pub fn replace_drive(
        &self,
        set: usize,
        position: usize,
        path: &std::path::Path,
    ) -> Result<usize, EngineError> {
        let s = self
            .sets
            .get(set)
            .ok_or_else(|| EngineError::Format(format!("no set {set}")))?;
        if s.disk(position)
            .is_some_and(|d| d.sys().join(layout::FORMAT_FILE).is_file())
        {
            return Err(EngineError::Format(format!(
                "drive {set}/{position} is online; take it offline first"
            )));
        }
        let dep = layout::Deployment {
            id: self.deployment_id.clone(),
            sets: self
                .sets
                .iter()
                .map(|s| s.drive_ids.iter().map(|id| (id.clone(), None)).collect())
                .collect(),
            problems: Vec::new(),
            codec: s.codec_id,
            bitrot: s.bitrot as u8,
        };
        let disk = layout::format_replacement(&dep, set, position, path)?;
        disk.clean_tmp().map_err(|e| EngineError::drive(path, e))?;
        s.set_disk(position, Some(disk));
        if let Ok(mut p) = self.problems.lock() {
            p.retain(|x| !matches!(x, DriveProblem::Missing { set: ms, position: mp, .. } if *ms == set && *mp == position));
            p.retain(|x| !matches!(x, DriveProblem::Unformatted { path: up } if up == path));
        }
        self.heal_set(set)
    }

    /// Unformatted drives given at start-up in the place of a missing drive are formatted
    /// into that place and rebuilt (the place is the one the drive's path has in the list).
    pub fn heal_replaced_drives(&self) -> Result<usize, EngineError> {
        let unformatted: Vec<PathBuf> = self
            .problems()
            .into_iter()
            .filter_map(|p| match p {
                DriveProblem::Unformatted { path } => Some(path),
                _ => None,
            })
            .collect();
        let mut healed = 0;
        for path in &unformatted {
            let place = self
                .planned
                .iter()
                .enumerate()
                .find_map(|(s, set)| set.iter().position(|p| p == path).map(|pos| (s, pos)));
            // When the list was reordered as well, the path's place may be held by another
            // drive: the replacement then goes to the one missing place, but only when that
            // is unambiguous (one unformatted drive, one missing place).
            let place = match place {
                Some((s, pos)) if self.sets[s].disk(pos).is_none() => Some((s, pos)),
                _ if unformatted.len() == 1 => {
                    let missing: Vec<(usize, usize)> = self
                        .sets
                        .iter()
                        .flat_map(|s| (0..s.drive_count()).map(move |p| (s.index, p)))
                        .filter(|&(s, p)| self.sets[s].disk(p).is_none())
                        .collect();
                    (missing.len() == 1).then(|| missing[0])
                }
                _ => None,
            };
            match place {
                Some((s, pos)) => healed += self.replace_drive(s, pos, path)?,
                None => tracing::warn!(
                    path = %path.display(),
                    "unformatted drive has no unambiguous missing place; use replace_drive"
                ),
            }
        }
        Ok(healed)
    }

    /// Heals every object of a set (after a drive replacement); returns objects rewritten.
    pub fn heal_set(&self, set: usize) -> Result<usize, EngineError> {
        let s = &self.sets[set];
        let mut healed = 0;
        for b in self.list_buckets()? {
            set::run_parallel(
                &(0..s.drive_count()).map(|p| s.disk(p)).collect::<Vec<_>>(),
                |_, d| {
                    let dir = d.bucket(&b.name);
                    if !dir.join(BUCKET_FILE).exists() {
                        d.check_present()?; // never recreate a vanished drive directory
                        std::fs::create_dir_all(&dir)?;
                        disk::write_synced(&dir.join(BUCKET_FILE), &b.created_ns.to_le_bytes())?;
                    }
                    Ok(())
                },
            );
            let mut after = String::new();
            loop {
                let walk = Walk {
                    prefix: "",
                    after: &after,
                    collapse: false,
                    limit: 1000,
                };
                let (items, more) = s.list_items(&b.name, &walk);
                for item in &items {
                    if let Item::Object(_, key) = item {
                        if !s.heal_object(&b.name, key)?.healed.is_empty() {
                            healed += 1;
                        }
                    }
                    after = item.name().to_string();
                }
                if !more || items.is_empty() {
                    break;
                }
            }
        }
        Ok(healed)
    }

    fn start_healer(&self) {
        let (tx, rx) = mpsc::channel::<(usize, String, String)>();
        for s in &self.sets {
            s.set_heal_sender(tx.clone());
        }
        let sets = self.sets.clone();
        let healer = self.healer.clone();
        let spawned = std::thread::Builder::new()
            .name("strata-healer".into())
            .spawn(move || {
                for job in rx.iter() {
                    let fresh = healer
                        .pending
                        .lock()
                        .map(|mut p| p.insert(job.clone()))
                        .unwrap_or(false);
                    if !fresh {
                        continue;
                    }
                    let (set, bucket, key) = &job;
                    if let Err(e) = sets[*set].heal_object(bucket, key) {
                        tracing::warn!(bucket, key, %e, "background heal failed");
                    }
                    healer.done.fetch_add(1, Ordering::SeqCst);
                    if let Ok(mut p) = healer.pending.lock() {
                        p.remove(&job);
                    }
                    healer.idle.notify_all();
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(%e, "cannot start the background healer");
        }
    }

    /// Number of background heals finished so far.
    pub fn heals_done(&self) -> usize {
        self.healer.done.load(Ordering::SeqCst)
    }

    /// Waits until at least `count` background heals have finished (tests, tools).
    pub fn wait_heals(&self, count: usize, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        let mut guard = match self.healer.pending.lock() {
            Ok(g) => g,
            Err(_) => return false,
        };
        while self.heals_done() < count {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return false;
            }
            guard = match self
                .healer
                .idle
                .wait_timeout(guard, left.min(Duration::from_millis(50)))
            {
                Ok((g, _)) => g,
                Err(_) => return false,
            };
        }
        true
    }
}

impl Drop for Engine {
    /// Closes the heal channel so the background healer thread ends with its engine.
    fn drop(&mut self) {
        for s in &self.sets {
            s.clear_heal_sender();
        }
    }
}

fn sweep_sets(sets: &[Arc<ErasureSet>], before: std::time::SystemTime) -> usize {
    let mut removed = 0;
    for s in sets {
        for p in 0..s.drive_count() {
            if let Some(d) = s.disk(p) {
                removed += d.sweep_orphans(before);
            }
        }
    }
    if removed > 0 {
        tracing::info!(removed, "removed data left by an interrupted write");
    }
    removed
}

fn push_object(page: &mut ListPage, bucket: &str, key: &str, m: &ObjectMeta) {
    page.objects.push(ObjectInfo::from_meta(bucket, key, m));
    page.next_after = Some(key.to_string());
}

/// Adds a common prefix once, and never one the caller's marker already covered.
fn push_prefix(page: &mut ListPage, p: String, marker: Option<&str>) {
    if marker.is_some_and(|m| p.as_str() <= m || m.starts_with(&p))
        || page.prefixes.last() == Some(&p)
    {
        return;
    }
    page.next_after = Some(p.clone());
    page.prefixes.push(p);
}
