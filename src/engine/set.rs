//! One erasure set: n drives by position, the codecs for its geometries, per-key commit
//! locks, and the operations every path shares (parallel per-drive calls, metadata quorum,
//! committing a version).

use super::disk::Disk;
use super::geometry::Geometry;
use super::meta::ObjectMeta;
use super::{Config, EngineError};
use crate::bitrot::BitrotAlgo;
use crate::erasure::Codec;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::io;
use std::path::PathBuf;
use std::sync::{mpsc, Arc, Mutex, MutexGuard, RwLock};

const LOCK_STRIPES: usize = 1024;

/// What one drive answered.
pub type DriveResult<T> = Result<T, String>;

/// A version to commit on one drive: its metadata copy and staged data directory.
pub type Version = Option<(ObjectMeta, Option<PathBuf>)>;

pub struct ErasureSet {
    pub index: usize,
    disks: Vec<RwLock<Option<Disk>>>,
    pub drive_ids: Vec<String>,
    pub cfg: Arc<Config>,
    pub bitrot: BitrotAlgo,
    pub codec_id: u8,
    codecs: Mutex<HashMap<(usize, usize), Arc<Codec>>>,
    locks: Vec<Mutex<()>>,
    heal_tx: Mutex<Option<mpsc::Sender<(usize, String, String)>>>,
}

/// The version a read quorum agrees on, and what every drive said.
pub struct Quorum {
    pub meta: ObjectMeta,
    /// Per position: this drive holds the agreed version.
    pub agree: Vec<bool>,
    pub metas: Vec<DriveResult<Option<ObjectMeta>>>,
}

impl Quorum {
    /// Some online drive lacks the agreed version (missing, stale or unreadable).
    pub fn degraded(&self) -> bool {
        self.agree.iter().any(|a| !a)
    }
}

impl ErasureSet {
    pub fn new(
        index: usize,
        drives: Vec<(String, Option<Disk>)>,
        cfg: Arc<Config>,
        bitrot: BitrotAlgo,
        codec_id: u8,
    ) -> ErasureSet {
        let (drive_ids, disks) = drives
            .into_iter()
            .map(|(id, d)| (id, RwLock::new(d)))
            .unzip();
        ErasureSet {
            index,
            disks,
            drive_ids,
            cfg,
            bitrot,
            codec_id,
            codecs: Mutex::new(HashMap::new()),
            locks: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
            heal_tx: Mutex::new(None),
        }
    }

    /// The header of shard files this set writes.
    pub fn header(&self) -> [u8; super::geometry::SHARD_HEADER_LEN] {
        super::geometry::shard_header(self.codec_id, self.bitrot as u8)
    }

    pub fn drive_count(&self) -> usize {
        self.disks.len()
    }

    pub fn disk(&self, position: usize) -> Option<Disk> {
        self.disks
            .get(position)
            .and_then(|d| d.read().ok().and_then(|g| g.clone()))
    }

    pub fn set_disk(&self, position: usize, disk: Option<Disk>) {
        if let Some(slot) = self.disks.get(position) {
            if let Ok(mut g) = slot.write() {
                *g = disk;
            }
        }
    }

    /// The geometry for new objects: default parity, or the reduced-redundancy one.
    pub fn geometry(&self, reduced_redundancy: bool) -> Geometry {
        let n = self.drive_count();
        let parity = if reduced_redundancy {
            self.cfg.rrs_parity.unwrap_or(1).min(self.default_parity())
        } else {
            self.default_parity()
        };
        Geometry {
            data: n - parity,
            parity,
            block_size: self.cfg.block_size,
        }
    }

    fn default_parity(&self) -> usize {
        let n = self.drive_count();
        self.cfg
            .parity
            .unwrap_or_else(|| super::layout::default_parity(n))
            .min(n / 2)
    }

    pub fn codec(&self, geo: &Geometry) -> Result<Arc<Codec>, EngineError> {
        let mut cache = self.codecs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cache.get(&(geo.data, geo.parity)) {
            return Ok(c.clone());
        }
        let c = Arc::new(
            Codec::new(geo.data, geo.parity).map_err(|e| EngineError::Codec(e.to_string()))?,
        );
        cache.insert((geo.data, geo.parity), c.clone());
        Ok(c)
    }

    /// Serialises commits, deletes and heals of one key within this process (and reads that
    /// met one of them half-way: see `open_reader`).
    pub fn lock_key(&self, bucket: &str, key: &str) -> MutexGuard<'_, ()> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (bucket, key).hash(&mut h);
        let stripe = (h.finish() as usize) % LOCK_STRIPES;
        self.locks[stripe].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on every drive in parallel; offline drives answer an error.
    pub fn on_drives<T: Send>(
        &self,
        f: impl Fn(usize, &Disk) -> io::Result<T> + Sync,
    ) -> Vec<DriveResult<T>> {
        let disks: Vec<Option<Disk>> = (0..self.drive_count()).map(|p| self.disk(p)).collect();
        run_parallel(&disks, |p, d| f(p, d))
    }

    /// Reads every drive's copy of the metadata and picks the version a read quorum agrees
    /// on. `Ok(None)` when a quorum says there is no such object.
    pub fn quorum_meta(&self, bucket: &str, key: &str) -> Result<Option<Quorum>, EngineError> {
        let metas = self.on_drives(|_, d| d.read_meta(bucket, key));
        let default_k = self.geometry(false).read_quorum();
        match pick_version(&metas, default_k) {
            Pick::Found(meta, agree) => Ok(Some(Quorum {
                meta: *meta,
                agree,
                metas,
            })),
            Pick::NotFound => Ok(None),
            Pick::NoQuorum(detail) => Err(EngineError::ReadQuorum {
                what: format!("{bucket}/{key}"),
                detail,
            }),
        }
    }

    /// Makes `versions` (per position: metadata and its staged data directory) visible on
    /// their drives, under the key lock. Rolled back everywhere unless `quorum` drives commit.
    pub fn commit(
        &self,
        bucket: &str,
        key: &str,
        versions: &[Version],
        quorum: usize,
    ) -> Result<(), EngineError> {
        let _guard = self.lock_key(bucket, key);
        self.commit_locked(bucket, key, versions, quorum)
    }

    /// `commit` for a caller already holding the key lock. A drive left without the version
    /// is queued for the background healer.
    pub fn commit_locked(
        &self,
        bucket: &str,
        key: &str,
        versions: &[Version],
        quorum: usize,
    ) -> Result<(), EngineError> {
        let committed = self.commit_versions(bucket, key, versions, quorum)?;
        if committed.iter().any(|c| !c) {
            self.queue_heal(bucket, key);
        }
        Ok(())
    }

    /// Commits `versions` (key lock held) and says, per position, which drives committed. Heal
    /// calls this directly: its own commit never queues another heal, so a drive that keeps
    /// failing cannot keep the background healer busy forever.
    pub fn commit_versions(
        &self,
        bucket: &str,
        key: &str,
        versions: &[Version],
        quorum: usize,
    ) -> Result<Vec<bool>, EngineError> {
        let results = self.on_drives(|p, d| match &versions[p] {
            Some((meta, data)) => d.commit(bucket, key, meta, data.as_deref()).map(Some),
            None => Ok(None),
        });
        let ok = results
            .iter()
            .zip(versions)
            .filter(|(r, v)| v.is_some() && r.is_ok())
            .count();
        if ok < quorum {
            for (p, r) in results.iter().enumerate() {
                if let (Ok(Some(prev)), Some(disk), Some((meta, _))) =
                    (r, self.disk(p), &versions[p])
                {
                    disk.rollback(bucket, key, meta, prev.as_ref());
                }
            }
            return Err(EngineError::WriteQuorum {
                ok,
                needed: quorum,
                failures: describe_failures(&results, &self.drive_ids),
            });
        }
        for (p, r) in results.iter().enumerate() {
            if let (Ok(Some(_)), Some(disk), Some((meta, _))) = (r, self.disk(p), &versions[p]) {
                disk.remove_stale_data(bucket, key, meta.data_dir.as_deref());
            }
        }
        Ok(results
            .iter()
            .zip(versions)
            .map(|(r, v)| v.is_some() && r.is_ok())
            .collect())
    }

    /// Rewrites the metadata of the agreed version on the drives that hold it.
    pub fn update_metadata(
        &self,
        bucket: &str,
        key: &str,
        change: &(dyn Fn(&mut ObjectMeta) + Sync),
    ) -> Result<super::ObjectInfo, EngineError> {
        let _guard = self.lock_key(bucket, key);
        let q = self
            .quorum_meta(bucket, key)?
            .ok_or_else(|| EngineError::no_such_key(bucket, key))?;
        let version_id = uuid::Uuid::new_v4().to_string();
        let versions: Vec<Version> = q
            .metas
            .iter()
            .zip(&q.agree)
            .map(|(m, agree)| match (m, agree) {
                (Ok(Some(copy)), true) => {
                    let mut copy = copy.clone();
                    change(&mut copy);
                    copy.version_id = version_id.clone();
                    Some((copy, None))
                }
                _ => None,
            })
            .collect();
        let quorum = super::geometry::Geometry {
            data: q.meta.erasure.data as usize,
            parity: q.meta.erasure.parity as usize,
            block_size: q.meta.erasure.block_size as usize,
        }
        .write_quorum();
        self.commit_locked(bucket, key, &versions, quorum)?;
        let mut meta = q.meta;
        change(&mut meta);
        meta.version_id = version_id;
        Ok(super::ObjectInfo::from_meta(bucket, key, &meta))
    }

    /// Drops this set's end of the heal channel (the healer stops once every set did).
    pub fn clear_heal_sender(&self) {
        *self.heal_tx.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    pub fn set_heal_sender(&self, tx: mpsc::Sender<(usize, String, String)>) {
        *self.heal_tx.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
    }

    /// Asks the background healer to look at this object.
    pub fn queue_heal(&self, bucket: &str, key: &str) {
        if let Some(tx) = self
            .heal_tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            let _ = tx.send((self.index, bucket.to_string(), key.to_string()));
        }
    }
}

/// `f` on every present disk in parallel threads (one per drive); absent ones are errors.
pub fn run_parallel<T: Send>(
    disks: &[Option<Disk>],
    f: impl Fn(usize, &Disk) -> io::Result<T> + Sync,
) -> Vec<DriveResult<T>> {
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = disks
            .iter()
            .enumerate()
            .map(|(p, d)| {
                d.as_ref().map(|d| {
                    s.spawn(move || f(p, d).map_err(|e| format!("{}: {e}", d.root().display())))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h {
                None => Err("drive offline".to_string()),
                Some(h) => h
                    .join()
                    .unwrap_or_else(|_| Err("drive task panicked".into())),
            })
            .collect()
    })
}

pub fn describe_failures<T>(results: &[DriveResult<T>], ids: &[String]) -> String {
    let failed: Vec<String> = results
        .iter()
        .zip(ids)
        .filter_map(|(r, id)| r.as_ref().err().map(|e| format!("drive {id}: {e}")))
        .collect();
    if failed.is_empty() {
        "no drive reported an error".into()
    } else {
        failed.join("; ")
    }
}

pub enum Pick {
    Found(Box<ObjectMeta>, Vec<bool>),
    NotFound,
    NoQuorum(String),
}

/// Groups the drives' answers by version; the most common version wins when at least its
/// data-shard count of drives hold it (ties go to the newest). Otherwise the object is absent
/// when `k` drives say so, and unknowable when too many drives failed to answer.
pub fn pick_version(metas: &[DriveResult<Option<ObjectMeta>>], default_k: usize) -> Pick {
    let mut groups: Vec<(&ObjectMeta, usize)> = Vec::new();
    let mut absent = 0;
    for m in metas {
        match m {
            Ok(Some(meta)) => match groups.iter_mut().find(|(g, _)| g.same_version(meta)) {
                Some((_, n)) => *n += 1,
                None => groups.push((meta, 1)),
            },
            Ok(None) => absent += 1,
            Err(_) => {}
        }
    }
    groups.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.mod_time_ns.cmp(&a.0.mod_time_ns)));
    if let Some((meta, count)) = groups.first() {
        if *count >= (meta.erasure.data as usize).max(1) {
            let agree = metas
                .iter()
                .map(|m| matches!(m, Ok(Some(x)) if x.same_version(meta)))
                .collect();
            return Pick::Found(Box::new((*meta).clone()), agree);
        }
    }
    if absent >= default_k.max(1) {
        return Pick::NotFound;
    }
    let errors: Vec<&String> = metas.iter().filter_map(|m| m.as_ref().err()).collect();
    Pick::NoQuorum(format!(
        "{} drive(s) hold no agreeing version, {absent} say absent, {} failed: {}",
        groups.iter().map(|g| g.1).sum::<usize>(),
        errors.len(),
        errors
            .iter()
            .map(|e| e.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    ))
}
