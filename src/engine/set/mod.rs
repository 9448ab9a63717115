//! One erasure set: n drives by position, the codecs for its geometries, per-key locks, and
//! what every operation on a key starts with: the key's state as its drives answer it
//! (`read_key`, decided by `resolve`), then changed by the commit protocol (`commit`).

pub mod commit;
pub mod resolve;

use super::drive::bounded::Bounded;
use super::drive::{Drive, DriveError, DriveResult};
use super::fanout::{self, Call, DriveWorker};
use super::geometry::Geometry;
use super::meta::{MetaFile, Version};
use super::{Config, EngineError};
use resolve::{Answer, Resolution};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;
use strata_codec::bitrot::BitrotAlgo;
use strata_codec::erasure::Codec;

const LOCK_STRIPES: usize = 1024;
/// How long a lock-free read waits for every drive before it settles for a decided quorum
/// (a drive that lags longer is not waited for; see `read_state`).
const READ_GRACE: Duration = Duration::from_millis(300);

/// A heal request: set, bucket, key, and whether to check every block (deep).
pub type HealJob = (usize, String, String, bool);

pub struct ErasureSet {
    pub index: usize,
    /// The drives themselves: called only on their workers.
    drives: Vec<RwLock<Option<Arc<dyn Drive>>>>,
    /// Per position: the threads its drive's calls run on.
    workers: Vec<Arc<DriveWorker>>,
    pub drive_ids: Vec<String>,
    pub cfg: Arc<Config>,
    pub bitrot: BitrotAlgo,
    pub codec_id: u8,
    codecs: Mutex<HashMap<(usize, usize), Arc<Codec>>>,
    locks: Vec<Mutex<()>>,
    heal_tx: Mutex<Option<mpsc::Sender<HealJob>>>,
}

/// A key as its set's drives hold it.
pub struct KeyState {
    /// Per position: the drive's versions, or why it could not say.
    pub answers: Vec<DriveResult<Option<MetaFile>>>,
    /// Per position: the drive is being rebuilt (what it lacks tells nothing).
    pub healing: Vec<bool>,
    pub resolution: Resolution,
}

impl KeyState {
    pub fn new(answers: Vec<DriveResult<Option<MetaFile>>>, healing: Vec<bool>) -> KeyState {
        let resolution = resolve::resolve(&answers_of(&answers, &healing));
        KeyState {
            answers,
            healing,
            resolution,
        }
    }

    /// Undecided only because of copies that are there but damaged (checksum, misplaced): no
    /// drive is silent or being rebuilt, so no answer will ever decide it. The key is lost
    /// until repaired by hand; unlike a drive that is away, waiting changes nothing.
    pub fn undecided_by_damage(&self) -> bool {
        matches!(self.resolution, Resolution::Undecided { .. })
            && !self.healing.iter().any(|h| *h)
            && self
                .answers
                .iter()
                .all(|a| matches!(a, Ok(_) | Err(DriveError::Corrupt(_))))
    }

    /// The current object version; `Ok(None)` when the key holds none (absent or deleted),
    /// a read-quorum error when that cannot be told.
    pub fn current(&self, what: impl FnOnce() -> String) -> Result<Option<&Version>, EngineError> {
        match &self.resolution {
            Resolution::Undecided { detail, .. } => Err(EngineError::ReadQuorum {
                what: what(),
                detail: detail.clone(),
            }),
            r => Ok(r.object()),
        }
    }

    /// The stamp a new version must exceed: the newest any drive lists.
    pub fn newest_stamp(&self) -> u64 {
        self.answers
            .iter()
            .flatten()
            .flatten()
            .flat_map(|f| f.versions.iter().map(|e| e.version.stamp))
            .max()
            .unwrap_or(0)
    }

    /// Versions skipped although an acknowledged one would have been lost with replaced drives
    /// (`resolve::lost`), for the logs.
    pub fn lost(&self) -> Vec<Version> {
        resolve::lost(&answers_of(&self.answers, &self.healing))
    }

    /// Drives listing `v`.
    pub fn holders(&self, v: &Version) -> usize {
        self.answers
            .iter()
            .filter(|a| matches!(a, Ok(Some(f)) if f.entry(v).is_some()))
            .count()
    }

    /// Every drive answered (none offline or failing; corrupt copies and missing buckets are
    /// answers too: what they hold is known to be nothing usable).
    pub fn all_answered(&self) -> bool {
        self.answers.iter().all(|a| {
            matches!(
                a,
                Ok(_) | Err(DriveError::Corrupt(_)) | Err(DriveError::NoBucket)
            )
        })
    }

    /// Nothing half-done shows: the state is held by its write quorum, or no drive lists
    /// anything (see `read_state`).
    pub fn settled(&self) -> bool {
        match &self.resolution {
            Resolution::Version(v) => self.holders(v) >= resolve::quorum(v, self.answers.len()),
            _ => !self.lists_anything(),
        }
    }

    /// Some drive lists a version of the key.
    pub fn lists_anything(&self) -> bool {
        self.answers
            .iter()
            .any(|a| matches!(a, Ok(Some(f)) if !f.versions.is_empty()))
    }

    /// Some drive that answered lacks the state or holds more than it; offline drives are not
    /// counted (they are rebuilt when they return).
    pub fn needs_heal(&self) -> bool {
        let want = match &self.resolution {
            Resolution::Version(v) => Some(v),
            Resolution::Absent => None,
            Resolution::Undecided { .. } => return false,
        };
        self.answers.iter().any(|a| match a {
            Ok(None) => want.is_some_and(|v| !v.is_deletion()),
            Ok(Some(f)) => {
                !want.is_some_and(|v| f.versions.len() == 1 && f.versions[0].version == **v)
            }
            // Silent, not damaged: rebuilt when it answers again.
            Err(DriveError::Offline | DriveError::Timeout) => false,
            Err(_) => true,
        })
    }
}

/// A drive and the workers its calls run on, for a fan-out.
#[derive(Clone)]
pub struct Handle {
    pub drive: Arc<dyn Drive>,
    pub worker: Arc<DriveWorker>,
    pub timeout: Duration,
}

fn answers_of<'a>(
    answers: &'a [DriveResult<Option<MetaFile>>],
    healing: &[bool],
) -> Vec<Answer<'a>> {
    answers
        .iter()
        .zip(healing)
        .map(|(a, h)| match a {
            Ok(f) => Answer::Known {
                file: f.as_ref(),
                healing: *h,
            },
            Err(_) => Answer::Silent,
        })
        .collect()
}

impl ErasureSet {
    pub fn new(
        index: usize,
        drives: Vec<(String, Option<Arc<dyn Drive>>)>,
        cfg: Arc<Config>,
        bitrot: BitrotAlgo,
        codec_id: u8,
    ) -> ErasureSet {
        let (drive_ids, drives): (Vec<String>, Vec<_>) = drives
            .into_iter()
            .map(|(id, d)| (id, RwLock::new(d)))
            .unzip();
        let workers = (0..drives.len())
            .map(|p| Arc::new(DriveWorker::new(format!("{index}.{p}"))))
            .collect();
        ErasureSet {
            index,
            drives,
            workers,
            drive_ids,
            cfg,
            bitrot,
            codec_id,
            codecs: Mutex::new(HashMap::new()),
            locks: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
            heal_tx: Mutex::new(None),
        }
    }

    pub fn drive_count(&self) -> usize {
        self.drives.len()
    }

    /// The drive at `position`, every call of it bounded by the deadline (`Bounded`).
    pub fn drive(&self, position: usize) -> Option<Arc<dyn Drive>> {
        let h = self.handle(position)?;
        Some(Arc::new(Bounded::new(h.drive, h.worker, h.timeout)))
    }

    /// The drive at `position` with its workers, for fan-outs (call it only on them).
    pub fn handle(&self, position: usize) -> Option<Handle> {
        let drive = self
            .drives
            .get(position)
            .and_then(|d| d.read().ok().and_then(|g| g.clone()))?;
        Some(Handle {
            drive,
            worker: self.workers[position].clone(),
            timeout: self.cfg.drive_timeout,
        })
    }

    pub fn handles(&self) -> Vec<Option<Handle>> {
        (0..self.drive_count()).map(|p| self.handle(p)).collect()
    }

    pub fn all_drives(&self) -> Vec<Option<Arc<dyn Drive>>> {
        (0..self.drive_count()).map(|p| self.drive(p)).collect()
    }

    /// The workers of `position`.
    pub fn worker(&self, position: usize) -> &Arc<DriveWorker> {
        &self.workers[position]
    }

    /// Per position: the drive is in service and answers (a drive that timed out does not).
    pub fn online(&self) -> Vec<bool> {
        self.on_drives(|_, d| d.check_present())
            .iter()
            .map(Result::is_ok)
            .collect()
    }

    /// Drives of the set out of service, not there or not answering (whatever they hold is
    /// unknown).
    pub fn drives_out(&self) -> usize {
        self.online().iter().filter(|o| !**o).count()
    }

    pub fn set_drive(&self, position: usize, drive: Option<Arc<dyn Drive>>) {
        if let Some(slot) = self.drives.get(position) {
            if let Ok(mut g) = slot.write() {
                if drive.is_some() {
                    // Another drive in the place: whatever made the last one time out is gone.
                    self.workers[position].restore();
                }
                *g = drive;
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

    pub fn default_parity(&self) -> usize {
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

    /// Serialises commits, deletes, heals and sweeps of one key within this process. (With
    /// nodes, this becomes a lock of the set's drives' owners.)
    pub fn lock_key(&self, bucket: &str, key: &str) -> MutexGuard<'_, ()> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (bucket, key).hash(&mut h);
        let stripe = (h.finish() as usize) % LOCK_STRIPES;
        self.locks[stripe].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on every drive at once, each on its workers, waiting for each at most the
    /// deadline; offline drives answer `Offline`, drives that did not answer in time `Timeout`.
    pub fn on_drives<T: Send + 'static>(
        &self,
        f: impl Fn(usize, &dyn Drive) -> DriveResult<T> + Send + Sync + 'static,
    ) -> Vec<DriveResult<T>> {
        run_parallel(&self.handles(), f)
    }

    /// Every drive's versions of the key, and the state they make. A drive whose metadata
    /// puts a shard index at a position other than its own holds another drive's copy (moved
    /// or restored to the wrong place): it counts as corrupt.
    pub fn read_key(&self, bucket: &str, key: &str) -> KeyState {
        self.read_key_with(bucket, key, false)
    }

    /// `read_key`; `early`: once `READ_GRACE` passed, done as soon as the answers so far make
    /// a version the state on its write quorum (a drive that lags is then not waited for: it
    /// could not change the outcome, see `decided`).
    fn read_key_with(&self, bucket: &str, key: &str, early: bool) -> KeyState {
        let n = self.drive_count();
        let healing = self.healing();
        let (b, k) = (bucket.to_string(), key.to_string());
        let read = move |p: usize, d: &dyn Drive| check_placement(d.read_meta(&b, &k)?, p, n);
        let calls = calls(&self.handles(), read, None);
        let timeout = self.cfg.drive_timeout;
        let answers = if early {
            let h = healing.clone();
            fanout::fan_out_after(calls, timeout, READ_GRACE, move |a| decided(a, &h))
        } else {
            fanout::fan_out_all(calls, timeout)
        };
        KeyState::new(answers, healing)
    }

    /// Per position: the drive is being rebuilt.
    pub fn healing(&self) -> Vec<bool> {
        self.all_drives()
            .iter()
            .map(|d| d.as_ref().is_some_and(|d| d.is_healing()))
            .collect()
    }

    /// `read_key` for a caller without the key's lock. Its drives are read one by one, so a
    /// commit running meanwhile can show some of them before and some after: then no version
    /// may reach its count (never a wrong one: a version newer than the one read on k drives
    /// would have been listed on them too). And a version can be the state on k drives while
    /// its commit has not reached its write quorum yet, or is about to be rolled back. In
    /// either case — no version decided though drives list some, or the state held by fewer
    /// drives than its write quorum — the key is read again under its lock, where no commit is
    /// half-done. (When every drive answers, a settled key is read lock-free.)
    /// A drive that lags past `READ_GRACE` is not waited for once the others decided.
    pub fn read_state(&self, bucket: &str, key: &str) -> KeyState {
        let state = self.read_key_with(bucket, key, true);
        if state.settled() {
            return state;
        }
        let _guard = self.lock_key(bucket, key);
        self.read_key(bucket, key)
    }

    /// Drops this set's end of the heal channel (the healer stops once every set did).
    pub fn clear_heal_sender(&self) {
        *self.heal_tx.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    pub fn set_heal_sender(&self, tx: mpsc::Sender<HealJob>) {
        *self.heal_tx.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
    }

    /// Asks the background healer to look at this object (`deep`: check every block).
    pub fn queue_heal(&self, bucket: &str, key: &str, deep: bool) {
        if let Some(tx) = self
            .heal_tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            let _ = tx.send((self.index, bucket.to_string(), key.to_string(), deep));
        }
    }

    pub fn describe_failures<T>(&self, results: &[DriveResult<T>]) -> String {
        describe_failures(results, &self.drive_ids)
    }

    /// The write-quorum error of a fan-out that reached `ok` of `needed` drives.
    pub fn write_quorum_error<T>(&self, results: &[DriveResult<T>], needed: usize) -> EngineError {
        write_quorum_error(results, &self.drive_ids, needed)
    }
}

/// `f` on every present drive at once, on its workers (`fanout`), each waited for at most the
/// deadline; absent ones are `Offline`. A call that panics answers an I/O error.
pub fn run_parallel<T: Send + 'static>(
    drives: &[Option<Handle>],
    f: impl Fn(usize, &dyn Drive) -> DriveResult<T> + Send + Sync + 'static,
) -> Vec<DriveResult<T>> {
    fanout::fan_out_all(calls(drives, f, None), timeout_of(drives))
}

/// `run_parallel` where what a call made is undone by `late` when it answers after the
/// deadline.
pub fn run_parallel_late<T: Send + 'static>(
    drives: &[Option<Handle>],
    f: impl Fn(usize, &dyn Drive) -> DriveResult<T> + Send + Sync + 'static,
    late: impl Fn(&dyn Drive, T) + Send + Sync + 'static,
) -> Vec<DriveResult<T>> {
    let late: Late<T> = Arc::new(late);
    fanout::fan_out_all(calls(drives, f, Some(late)), timeout_of(drives))
}

type Late<T> = Arc<dyn Fn(&dyn Drive, T) + Send + Sync>;

fn timeout_of(drives: &[Option<Handle>]) -> Duration {
    drives
        .iter()
        .flatten()
        .map(|h| h.timeout)
        .max()
        .unwrap_or(super::types::DEFAULT_DRIVE_TIMEOUT)
}

/// One call of `f` per drive, owning the drive and `f`.
fn calls<T: Send + 'static>(
    drives: &[Option<Handle>],
    f: impl Fn(usize, &dyn Drive) -> DriveResult<T> + Send + Sync + 'static,
    late: Option<Late<T>>,
) -> Vec<Option<Call<T>>> {
    let f = Arc::new(f);
    drives
        .iter()
        .enumerate()
        .map(|(p, h)| {
            let h = h.as_ref()?;
            let (f, d) = (f.clone(), h.drive.clone());
            let call = Call::new(h.worker.clone(), move || f(p, d.as_ref()));
            Some(match &late {
                Some(late) => {
                    let (late, d) = (late.clone(), h.drive.clone());
                    call.late(move |v| late(d.as_ref(), v))
                }
                None => call,
            })
        })
        .collect()
}

/// The answers so far make a version the key's state on its write quorum: with those drives
/// listing it, no answer of the others can make another version the state (two write quorums
/// share a drive, which would list the newer one).
fn decided(answers: &[Option<DriveResult<Option<MetaFile>>>], healing: &[bool]) -> bool {
    let view: Vec<Answer<'_>> = answers
        .iter()
        .zip(healing)
        .map(|(a, h)| match a {
            Some(Ok(f)) => Answer::Known {
                file: f.as_ref(),
                healing: *h,
            },
            _ => Answer::Silent,
        })
        .collect();
    let Resolution::Version(v) = resolve::resolve(&view) else {
        return false;
    };
    let holders = answers
        .iter()
        .filter(|a| matches!(a, Some(Ok(Some(f))) if f.entry(&v).is_some()))
        .count();
    holders >= resolve::quorum(&v, answers.len())
}

/// "drive <id>: <error>" for each drive that failed.
/// A fan-out's write-quorum error: `full` when the drives out of space are what kept the
/// quorum away (with them it would have been reached).
pub fn write_quorum_error<T>(
    results: &[DriveResult<T>],
    ids: &[String],
    needed: usize,
) -> EngineError {
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let full = results
        .iter()
        .filter(|r| matches!(r, Err(DriveError::Full)))
        .count();
    EngineError::WriteQuorum {
        ok,
        needed,
        failures: describe_failures(results, ids),
        full: full > 0 && ok + full >= needed,
    }
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

/// A drive's metadata of a key, refused as corrupt when it puts a shard index at a position
/// other than the drive's own `pos`: it holds another drive's copy (moved or restored to the
/// wrong place).
pub fn check_placement(
    file: Option<MetaFile>,
    pos: usize,
    n: usize,
) -> DriveResult<Option<MetaFile>> {
    let misplaced = file.iter().flat_map(|f| &f.versions).any(|e| {
        e.version.object.as_ref().is_some_and(|o| {
            o.erasure.distribution.len() != n || o.erasure.distribution[pos] != e.shard
        })
    });
    if misplaced {
        return Err(DriveError::Corrupt(
            "metadata names another drive's shard".into(),
        ));
    }
    Ok(file)
}
