//! The erasure-coded storage engine: buckets and objects over erasure sets of drives, with no
//! HTTP in it. `Engine` routes each key to its set (a keyed hash of bucket and key, fixed for
//! the life of the deployment) and runs the background workers.
//!
//! Data path, top to bottom: `put.rs` (stream → blocks → shards → drives), `get.rs` (the key's
//! state → held, checked shards → reconstruct), `heal.rs`, `list.rs`, `multipart.rs`; beneath
//! them `set/` (the key's state from its drives: `resolve`; changing it: `commit`, whose module
//! docs state the commit protocol's invariants), `shard.rs` (the one owner of the shard
//! format), `meta.rs` (the metadata format), `drive/` (the `Drive` trait, the only way to
//! storage), `layout.rs` (deployments); around them `bucket.rs`, `scanner.rs` (background
//! checks, drive monitor, rebuilds) and `background.rs` (workers and their counters).

mod background;
mod bucket;
pub mod drive;
mod error;
mod fanout;
pub mod geometry;
mod get;
mod heal;
pub mod layout;
mod list;
pub mod meta;
mod multipart;
pub mod names;
mod put;
mod scanner;
mod set;
pub mod shard;
mod system;
mod types;

pub use background::{Rebuild, Stats, WorkerState, WorkerStatus};
pub use error::EngineError;
pub use get::ObjectReader;
pub use heal::HealResult;
pub use layout::DriveProblem;
pub use multipart::{PartInfo, PartUpload, PartsCheck, UploadInfo};
pub use put::{now_ns, BlockSink, BodyCheck, ObjectUpload};
pub use system::{MAX_SYSTEM_DOCUMENT, SYSTEM_BUCKET};
pub use types::*;

use drive::Drive;
use list::Item;
use meta::ObjectMeta;
use set::commit::Proposal;
use set::ErasureSet;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use strata_codec::bitrot::BitrotAlgo;

/// What the engine and its workers share.
pub(crate) struct Shared {
    pub deployment_id: String,
    pub sets: Vec<Arc<ErasureSet>>,
    /// The drive paths as given, cut into sets (where a replacement for a place is looked for).
    pub planned: Vec<Vec<PathBuf>>,
    pub problems: Mutex<Vec<DriveProblem>>,
    pub cfg: Arc<Config>,
    pub stats: Stats,
    pub codec: u8,
    pub bitrot: u8,
    /// Where each offline place's drive was last seen.
    pub last_paths: Mutex<HashMap<(usize, usize), PathBuf>>,
    /// Places taken out of service on purpose (never brought back by the monitor).
    pub held_offline: Mutex<HashSet<(usize, usize)>>,
    /// Rebuilds to run: (set, position).
    pub rebuild_tx: Mutex<Option<std::sync::mpsc::Sender<(usize, usize)>>>,
    /// Rebuilds that could not finish, with when to try again and the wait after that.
    pub pending_rebuilds: Mutex<HashMap<(usize, usize), (std::time::Instant, Duration)>>,
    /// Per bucket (striped): writes of its objects hold it shared, creating or deleting the
    /// bucket (and the scanner re-creating it on a drive that missed it) exclusively, so that
    /// no write is acknowledged into a bucket being deleted and no deleted bucket comes back.
    bucket_locks: Vec<std::sync::RwLock<()>>,
}

impl Shared {
    pub fn bucket_lock(&self, bucket: &str) -> &std::sync::RwLock<()> {
        let h = blake3::hash(bucket.as_bytes());
        let i = u64::from_le_bytes(h.as_bytes()[..8].try_into().unwrap_or([0; 8]));
        &self.bucket_locks[(i % self.bucket_locks.len() as u64) as usize]
    }
}

/// Bucket lock stripes.
const BUCKET_LOCKS: usize = 64;

pub struct Engine {
    shared: Arc<Shared>,
    placement_key: [u8; 32],
    workers: background::Workers,
}

impl Engine {
    /// Opens the deployment on these drive groups (each ellipsis group forms its own sets),
    /// formatting it when every drive is new. Start-up also clears interrupted writes, puts
    /// empty drives given in the place of missing ones to work, and starts the workers.
    pub fn open(groups: &[Vec<PathBuf>], cfg: Config) -> Result<Engine, EngineError> {
        Engine::open_with(groups, cfg, &|d| d)
    }

    /// `open` with every drive passed through `wrap` (tests put `drive::faulty` around them).
    pub fn open_with(
        groups: &[Vec<PathBuf>],
        cfg: Config,
        wrap: &dyn Fn(Arc<dyn Drive>) -> Arc<dyn Drive>,
    ) -> Result<Engine, EngineError> {
        let dep = layout::open(
            groups,
            cfg.set_size,
            strata_codec::erasure::MATRIX_ID,
            BitrotAlgo::DEFAULT as u8,
        )?;
        let bitrot = BitrotAlgo::try_from(dep.bitrot).map_err(EngineError::Format)?;
        let cfg = Arc::new(cfg);
        let mut problems = dep.problems;
        let mut last_paths = HashMap::new();
        let sets: Vec<Arc<ErasureSet>> = dep
            .sets
            .into_iter()
            .enumerate()
            .map(|(i, drives)| {
                let drives = drives
                    .into_iter()
                    .enumerate()
                    .map(|(p, (id, d))| {
                        let d = d.and_then(|d| match d.clean_tmp() {
                            Ok(()) => Some(wrap(Arc::new(d))),
                            Err(e) => {
                                last_paths.insert((i, p), d.root().to_path_buf());
                                problems.push(DriveProblem::Offline {
                                    path: d.root().to_path_buf(),
                                    reason: e.to_string(),
                                });
                                None
                            }
                        });
                        (id, d)
                    })
                    .collect();
                Arc::new(ErasureSet::new(i, drives, cfg.clone(), bitrot, dep.codec))
            })
            .collect();
        let placement_key = *blake3::hash(dep.id.as_bytes()).as_bytes();
        let engine = Engine {
            shared: Arc::new(Shared {
                deployment_id: dep.id,
                sets,
                planned: layout::plan_sets(groups, cfg.set_size)?,
                problems: Mutex::new(problems),
                cfg,
                stats: Stats::default(),
                codec: dep.codec,
                bitrot: dep.bitrot,
                last_paths: Mutex::new(last_paths),
                held_offline: Mutex::new(HashSet::new()),
                rebuild_tx: Mutex::new(None),
                pending_rebuilds: Mutex::new(HashMap::new()),
                bucket_locks: (0..BUCKET_LOCKS).map(|_| Default::default()).collect(),
            }),
            placement_key,
            workers: background::Workers::default(),
        };
        if engine.shared.cfg.background_heal {
            scanner::start(&engine.shared, &engine.workers);
        }
        Ok(engine)
    }

    /// Removes leftovers of interrupted writes on every drive now (data no metadata refers
    /// to, half-written metadata), and rolls cut-short writes forward or back; the scanner
    /// does this in the background. Returns how many leftovers were removed.
    pub fn sweep_orphans(&self) -> usize {
        scanner::sweep(&self.shared, &self.workers.stop)
    }

    /// Runs one scanner pass now (every object, every shard read and checked); returns the
    /// objects healed.
    pub fn scan_now(&self) -> u64 {
        scanner::scan_pass(&self.shared, &self.workers.ctx("scan"), true, u64::MAX)
    }

    pub fn stats(&self) -> &Stats {
        &self.shared.stats
    }

    /// Every background worker's status, in the order they were started (none when
    /// `background_heal` is off).
    pub fn workers(&self) -> Vec<WorkerStatus> {
        self.workers.list()
    }

    /// Stops the background workers and waits for them (each finishes the key it is on);
    /// they stay listed, stopped. Dropping the engine does this too.
    pub fn stop_workers(&self) {
        // The healer and the rebuild wait on their queues: closing those ends them.
        for s in self.sets() {
            s.clear_heal_sender();
        }
        if let Ok(mut tx) = self.shared.rebuild_tx.lock() {
            *tx = None;
        }
        self.workers.stop_all();
    }

    pub fn deployment_id(&self) -> &str {
        &self.shared.deployment_id
    }

    pub fn problems(&self) -> Vec<DriveProblem> {
        self.shared
            .problems
            .lock()
            .map(|p| p.clone())
            .unwrap_or_default()
    }

    /// Bytes of object data per erasure-coded block.
    pub fn block_size(&self) -> usize {
        self.shared.cfg.block_size
    }

    pub fn set_count(&self) -> usize {
        self.shared.sets.len()
    }

    fn sets(&self) -> &[Arc<ErasureSet>] {
        &self.shared.sets
    }

    /// Each set's data and parity shards (for `REDUCED_REDUNDANCY`, or standard), by index.
    pub fn set_geometries(&self, reduced_redundancy: bool) -> Vec<geometry::Geometry> {
        self.sets()
            .iter()
            .map(|s| s.geometry(reduced_redundancy))
            .collect()
    }

    pub fn drives(&self) -> Vec<DriveState> {
        let mut out = Vec::new();
        for s in self.sets() {
            // Every drive at once, under the deadline: a drive that does not answer is offline.
            let answers = s.on_drives(|_, d| Ok((d.check_present().is_ok(), d.capacity().ok())));
            for (p, answer) in answers.into_iter().enumerate() {
                let d = s.handle(p).map(|h| h.drive);
                let (online, capacity) = answer.unwrap_or((false, None));
                out.push(DriveState {
                    set: s.index,
                    position: p,
                    drive_id: s.drive_ids[p].clone(),
                    online,
                    healing: d.as_ref().is_some_and(|d| d.is_healing()),
                    capacity,
                    path: d.and_then(|d| d.path().map(PathBuf::from)),
                });
            }
        }
        out
    }

    /// Whether every set has enough drives online to accept writes.
    pub fn write_quorum_ok(&self) -> bool {
        let states = self.drives();
        self.sets().iter().all(|s| {
            let online = states
                .iter()
                .filter(|d| d.set == s.index && d.online)
                .count();
            online >= s.geometry(false).write_quorum()
        })
    }

    /// Takes a drive out of service (tests, and a drive an operator pulled); the monitor
    /// leaves it out until `replace_drive`.
    pub fn take_offline(&self, set: usize, position: usize) {
        if let Some(s) = self.sets().get(set) {
            if let Ok(mut held) = self.shared.held_offline.lock() {
                held.insert((set, position));
            }
            s.set_drive(position, None);
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
        (&self.sets()[(h % self.sets().len() as u64) as usize], h)
    }

    /// What every object operation starts with: a valid key, an existing bucket, its set.
    fn locate(&self, bucket: &str, key: &str) -> Result<(&Arc<ErasureSet>, u64), EngineError> {
        names::check_key(key)?;
        self.require_bucket(bucket)?;
        Ok(self.set_for(bucket, key))
    }

    /// The bucket's lock, shared (object writes).
    fn bucket_shared(&self, bucket: &str) -> std::sync::RwLockReadGuard<'_, ()> {
        self.shared
            .bucket_lock(bucket)
            .read()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn all_drives(&self) -> Vec<Option<Arc<dyn Drive>>> {
        self.sets().iter().flat_map(|s| s.all_drives()).collect()
    }

    /// Every drive with its workers, in the order of `all_drives`.
    fn all_handles(&self) -> Vec<Option<set::Handle>> {
        self.sets().iter().flat_map(|s| s.handles()).collect()
    }

    // ---- objects ----

    pub fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: &mut (dyn Read + Send),
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
        body: &mut (dyn Read + Send),
        opts: &PutOptions,
        check: BodyCheck<'_>,
    ) -> Result<ObjectInfo, EngineError> {
        let _bucket = self.bucket_shared(bucket);
        let (set, h) = self.locate(bucket, key)?;
        set.put(bucket, key, body, opts, h, check)
    }

    /// A PutObject whose body the caller hands in block by block (`BlockSink`) as it arrives,
    /// holding no lock or thread in between: the key and the bucket are checked now, and again
    /// by `finish_put`, under the bucket's lock (it may be deleted meanwhile).
    pub fn begin_put(
        &self,
        bucket: &str,
        key: &str,
        opts: PutOptions,
    ) -> Result<ObjectUpload, EngineError> {
        let (set, h) = self.locate(bucket, key)?;
        set.begin_put(bucket, key, opts, h)
    }

    /// Stages the last block (shorter than a whole one, possibly empty), runs `check` and
    /// commits the object.
    pub fn finish_put(
        &self,
        upload: ObjectUpload,
        tail: &[u8],
        check: BodyCheck<'_>,
    ) -> Result<ObjectInfo, EngineError> {
        let bucket = upload.bucket().to_string();
        let _bucket = self.bucket_shared(&bucket);
        self.require_bucket(&bucket)?;
        upload.set().finish_put(upload, tail, check)
    }

    /// Changes an object's metadata (tags, user metadata, content headers) without rewriting
    /// its data: a new version sharing the data of the current one.
    pub fn update_metadata(
        &self,
        bucket: &str,
        key: &str,
        change: &(dyn Fn(&mut ObjectMeta) + Sync),
    ) -> Result<ObjectInfo, EngineError> {
        let _bucket = self.bucket_shared(bucket);
        let set = self.locate(bucket, key)?.0;
        let _guard = set.lock_key(bucket, key);
        let state = set.read_key(bucket, key);
        let current = state
            .current(|| format!("{bucket}/{key}"))?
            .ok_or_else(|| EngineError::no_such_key(bucket, key))?
            .clone();
        let Some(mut object) = current.object.clone() else {
            return Err(EngineError::no_such_key(bucket, key));
        };
        change(&mut object);
        let quorum = object.erasure.geometry().write_quorum();
        let version = put::new_version(&state, Some(object));
        // Every drive holding the current version gets the new one with its own shard index
        // and inline bytes; the data directory is shared, so nothing is moved.
        let entries = state
            .answers
            .iter()
            .map(|a| {
                let e = match a {
                    Ok(Some(f)) => f.entry(&current).ok_or(drive::DriveError::NotFound)?,
                    Ok(None) => return Err(drive::DriveError::NotFound),
                    Err(e) => return Err(e.clone()),
                };
                Ok(meta::Entry {
                    version: version.clone(),
                    shard: e.shard,
                    inline: e.inline.clone(),
                })
            })
            .collect();
        let proposal = Proposal {
            entries,
            data: vec![None; set.drive_count()],
            quorum,
            version,
        };
        set.commit(bucket, key, &state, &proposal)?;
        Ok(ObjectInfo::from_version(bucket, key, &proposal.version))
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
        self.locate(bucket, key)?.0.head(bucket, key)
    }

    /// Deletes an object; deleting a missing object succeeds (S3 semantics).
    pub fn delete_object(&self, bucket: &str, key: &str) -> Result<(), EngineError> {
        self.delete_object_if(bucket, key, &Conditions::default())
    }

    /// Deletes an object if `conditions` hold (checked under the key's lock).
    pub fn delete_object_if(
        &self,
        bucket: &str,
        key: &str,
        conditions: &Conditions,
    ) -> Result<(), EngineError> {
        let _bucket = self.bucket_shared(bucket);
        let set = self.locate(bucket, key)?.0;
        delete_in(set, bucket, key, conditions)
    }

    pub fn list_objects(&self, bucket: &str, q: &ListQuery) -> Result<ListPage, EngineError> {
        self.require_bucket(bucket)?;
        self.list_in(bucket, q)
    }

    /// `list_objects` of a bucket known to exist (or of the system area).
    fn list_in(&self, bucket: &str, q: &ListQuery) -> Result<ListPage, EngineError> {
        // A set whose silent drives alone could hold a write quorum may hide acknowledged
        // objects no answering drive lists: a listing would be silently incomplete.
        for s in self.sets() {
            let silent = s.drives_out();
            if silent > s.drive_count() / 2 {
                return Err(EngineError::ReadQuorum {
                    what: format!("listing of {bucket}"),
                    detail: format!(
                        "{silent} of {} drives of set {} are out",
                        s.drive_count(),
                        s.index
                    ),
                });
            }
        }
        let max = q.max_keys.min(1000);
        let mut page = ListPage::default();
        if max == 0 {
            return Ok(page);
        }
        let slash = q.delimiter.as_deref() == Some("/");
        let mut after = q.after.clone().unwrap_or_default();
        loop {
            let walk = drive::Walk {
                prefix: &q.prefix,
                after: &after,
                collapse: slash,
                limit: max + 1,
                debris: false,
            };
            let mut items: Vec<Item> = Vec::new();
            let mut more = false;
            for s in self.sets() {
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
                    (Item::Object(v, key), Some(delim)) if !slash && !delim.is_empty() => {
                        match key[q.prefix.len()..].find(delim) {
                            Some(i) => push_prefix(
                                &mut page,
                                key[..q.prefix.len() + i + delim.len()].to_string(),
                                q.after.as_deref(),
                            ),
                            None => push_object(&mut page, bucket, &key, &v),
                        }
                    }
                    (Item::Object(v, key), _) => push_object(&mut page, bucket, &key, &v),
                    // A key that may hold an acknowledged version cannot be left out.
                    (Item::Undecided(key, true), _) => {
                        return Err(EngineError::ReadQuorum {
                            what: format!("{bucket}/{key}"),
                            detail: "too many drives are silent to tell its state".into(),
                        })
                    }
                    (Item::Undecided(_, false) | Item::Other(_), _) => {}
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
        let _bucket = self.bucket_shared(bucket);
        let (set, h) = self.locate(bucket, key)?;
        set.new_upload(bucket, key, opts, h)
    }

    pub fn put_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part: u32,
        body: &mut (dyn Read + Send),
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
        body: &mut (dyn Read + Send),
        content_md5: Option<[u8; 16]>,
        check: BodyCheck<'_>,
    ) -> Result<PartInfo, EngineError> {
        let _bucket = self.bucket_shared(bucket);
        let (set, h) = self.locate(bucket, key)?;
        set.put_part(bucket, key, upload_id, part, body, content_md5, h, check)
    }

    /// An UploadPart whose body the caller hands in block by block, as `begin_put`.
    pub fn begin_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part: u32,
    ) -> Result<PartUpload, EngineError> {
        let (set, h) = self.locate(bucket, key)?;
        set.begin_part(bucket, key, upload_id, part, h)
    }

    /// Stages the part's last block, checks the body and records the part.
    pub fn finish_part(
        &self,
        upload: PartUpload,
        tail: &[u8],
        content_md5: Option<[u8; 16]>,
        check: BodyCheck<'_>,
    ) -> Result<PartInfo, EngineError> {
        let bucket = upload.bucket().to_string();
        let _bucket = self.bucket_shared(&bucket);
        self.require_bucket(&bucket)?;
        upload.set().finish_part(upload, tail, content_md5, check)
    }

    pub fn list_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<Vec<PartInfo>, EngineError> {
        Ok(self.upload_parts(bucket, key, upload_id)?.1)
    }

    /// The upload's record (storage class, checksum algorithm, …) and its parts.
    pub fn upload_parts(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<(UploadInfo, Vec<PartInfo>), EngineError> {
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
        self.complete_multipart_if(bucket, key, upload_id, parts, &Conditions::default())
    }

    /// Completes an upload if `conditions` hold for the key (checked under its lock).
    pub fn complete_multipart_if(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
        conditions: &Conditions,
    ) -> Result<ObjectInfo, EngineError> {
        self.complete_multipart_checked(bucket, key, upload_id, parts, conditions, &|_, _| {
            Ok(BTreeMap::new())
        })
    }

    /// Completes an upload if `conditions` hold; `check` makes the object's checksums from
    /// the parts chosen (or refuses them) before anything is committed.
    pub fn complete_multipart_checked(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[(u32, String)],
        conditions: &Conditions,
        check: PartsCheck<'_>,
    ) -> Result<ObjectInfo, EngineError> {
        let _bucket = self.bucket_shared(bucket);
        self.locate(bucket, key)?.0.complete_upload(
            bucket,
            key,
            upload_id,
            parts,
            self.shared.cfg.min_part_size,
            conditions,
            check,
        )
    }

    /// The record of an upload in progress (its storage class, checksum algorithm, …).
    pub fn upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
    ) -> Result<UploadInfo, EngineError> {
        self.locate(bucket, key)?
            .0
            .upload_info(bucket, key, upload_id)
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
            .sets()
            .iter()
            .flat_map(|s| s.list_uploads(bucket, prefix))
            .collect();
        all.sort_by(|a, b| {
            (&a.key, a.initiated_ns, &a.upload_id).cmp(&(&b.key, b.initiated_ns, &b.upload_id))
        });
        Ok(all)
    }

    // ---- healing ----

    /// Heals one key now (deep: every block of every shard is read and checked).
    pub fn heal_object(&self, bucket: &str, key: &str) -> Result<HealResult, EngineError> {
        names::check_key(key)?;
        self.set_for(bucket, key).0.heal_object(bucket, key, true)
    }

    /// Rebuilds a replaced drive: `path` (empty) takes the place of the missing drive at
    /// (set, position), then every bucket and object of the set is healed onto it. Returns
    /// the objects rewritten.
    pub fn replace_drive(
        &self,
        set: usize,
        position: usize,
        path: &std::path::Path,
    ) -> Result<usize, EngineError> {
        scanner::replace(&self.shared, set, position, path)?;
        let ctx = self.workers.ctx("rebuild");
        Ok(scanner::rebuild_drive(&self.shared, &ctx, set, position).0 as usize)
    }

    /// Unformatted drives given at start-up in the place of a missing drive are formatted
    /// into that place and rebuilt (the place is the one the drive's path has in the list).
    /// The drive monitor does this by itself; this runs it now. Returns objects rewritten.
    pub fn heal_replaced_drives(&self) -> Result<usize, EngineError> {
        let placed = scanner::adopt_replacements(&self.shared);
        let ctx = self.workers.ctx("rebuild");
        let mut healed = 0;
        for (set, position) in placed {
            healed += scanner::rebuild_drive(&self.shared, &ctx, set, position).0;
        }
        Ok(healed as usize)
    }

    /// Number of background heals finished so far.
    pub fn heals_done(&self) -> usize {
        Stats::get(&self.shared.stats.heals_done) as usize
    }

    /// Waits until at least `count` background heals have finished (tests, tools).
    pub fn wait_heals(&self, count: usize, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        while self.heals_done() < count {
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }
}

impl Drop for Engine {
    /// Stops the workers before the drives go.
    fn drop(&mut self) {
        self.stop_workers();
    }
}

fn push_object(page: &mut ListPage, bucket: &str, key: &str, v: &meta::Version) {
    page.objects.push(ObjectInfo::from_version(bucket, key, v));
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

/// Deletes `bucket/key` from its set if `conditions` hold (the caller checked the bucket).
fn delete_in(
    set: &ErasureSet,
    bucket: &str,
    key: &str,
    conditions: &Conditions,
) -> Result<(), EngineError> {
    let _guard = set.lock_key(bucket, key);
    let state = set.read_key(bucket, key);
    set.check_conditions(&state, bucket, key, conditions)?;
    match &state.resolution {
        set::resolve::Resolution::Absent => return Ok(()),
        set::resolve::Resolution::Version(v) if v.is_deletion() => return Ok(()),
        _ => {}
    }
    let n = set.drive_count();
    let version = put::new_version(&state, None);
    let proposal = Proposal {
        entries: (0..n)
            .map(|_| {
                Ok(meta::Entry {
                    version: version.clone(),
                    shard: 0,
                    inline: None,
                })
            })
            .collect(),
        data: vec![None; n],
        quorum: set::resolve::deletion_quorum(n),
        version,
    };
    set.commit(bucket, key, &state, &proposal).map(drop)
}
