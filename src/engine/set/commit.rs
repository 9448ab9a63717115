//! The commit protocol: how a new version of a key (an object, or a deletion) becomes the
//! key's state on its set's n drives, such that a crash at any point, of any number of drive
//! writes, leaves a state that `resolve` reads right and heal completes.
//!
//! # Invariants
//! 1. A drive lists a version only once the version's data is durable on it (its shard files
//!    are moved in and synced before the metadata naming them is renamed into place).
//! 2. A writer holds the key's lock from reading the key's state to the end of its commit;
//!    so do heal and the sweep. Readers take it only to read again a state that is not
//!    settled (invariant 7) and while they lease a version's data (`open_reader`).
//! 3. A new version's stamp exceeds every stamp any drive lists for the key.
//! 4. A data version's write is acknowledged only once it is durable on its write quorum W
//!    (k, or k + 1 when k = m); a deletion's on a majority (n/2 + 1).
//! 5. Until then, the version it replaces stays listed on every drive that held it: phase one
//!    writes `[new, current]` (a deletion too: `[deletion, current]`), not `[new]`. Only after
//!    the quorum does phase two drop the replaced version and remove its data ("old data is
//!    removed only once the new version is durable on a write quorum"); a rollback restores the
//!    previous metadata before it removes the new data.
//! 6. A version that `resolve` once made the state stays the state until a newer one is:
//!    `resolve` skips a version only when no answer of the silent drives could make it the
//!    state, so silence makes the state unknown, never another; nothing removes a version from
//!    a drive but phase one of a new version (which keeps the state and drops only versions
//!    that are not it), phase two of a newer, acknowledged version, a rollback of a write that
//!    never reached its quorum, and heal acting on a resolution (it drops only versions older
//!    than the state, or ones no answer could make the state, and rolls back only when every
//!    drive answered). A drive being rebuilt cannot vouch for what it lacks (its "not there"
//!    is no vote for absence), and it stays marked until every key of its set was healed onto
//!    it with every drive of the set answering.
//! 7. A reader that finds the state held by fewer drives than its write quorum (a commit in
//!    flight, or one about to be rolled back) reads again under the key's lock, so no read
//!    returns a write that then fails.
//!
//! # Why it holds
//! - An acknowledged version v stays readable until a newer version is acknowledged. By 4 and
//!   5 it is listed on at least W ≥ k drives until then. A drive lost since counts as silent,
//!   so `resolve` finds v on k drives — or, with more than n − k drives gone, answers
//!   "unknown", never an older version: v is listed or silent on k drives at least, and
//!   `resolve` skips a version only when fewer than k drives list it or are silent. This
//!   holds while the drives that missed v and the drives replaced since (empty, being
//!   rebuilt) are at most m: past that, fewer than k of v's shards exist anywhere, its data is
//!   gone, and `resolve` skips it to the older version (`lost` names it in the logs). A newer
//!   version in front of it that was cut short is either the state (k drives list it: it
//!   became visible, which is allowed for a write that was never acknowledged, and heal
//!   completes it) or skipped, for good.
//! - Stability (6) makes convergence one-way: a version that was never acknowledged is either
//!   on k drives or more (the state: heal rolls it forward onto every drive) or on fewer
//!   (skipped: heal rolls it back once every drive answered). No key is left "neither present
//!   nor absent" by a crash; "unknown" lasts only while drives are silent.
//! - A crash in phase two leaves drives with `[new]` or `[new, current]`: new is listed on W
//!   drives either way. A deletion on every drive removes the key's metadata in phase two;
//!   cut short, drives hold `[deletion, current]` or nothing, so the deletion is listed
//!   wherever the deleted version still is: once it is below ceil(n/2) drives, so is the
//!   version, below its k — nothing older can come back.
//! - Power cuts: the barrier of phase one (a `syncfs` that started after the writes) makes the
//!   data, the key's directories and both metadata files durable before the rename, and the
//!   rename durable before the acknowledgement; phase two's rename and the removal of the
//!   replaced data need no barrier — lost, they leave `[new, current]` and a data directory
//!   the sweep removes.
//! - A drive that does not answer within the deadline (`fanout`) counts as failed: the write
//!   needs its quorum from the others or is rolled back. Its call may still land later, after
//!   the key's lock is released — as a crash cut short would have left it: phase one without
//!   phase two (`[new, current]`, heal completes it) or a version the rollback removed
//!   elsewhere (below its k, skipped, rolled back by heal; should the late drives alone reach k,
//!   a write that was never acknowledged becomes visible, which is allowed). Such a drive is
//!   taken offline, answers nothing until every late call ended, and comes back marked
//!   healing, so what it missed meanwhile is never read as absence.
//! - Leftovers of a crash (data directories no metadata names, metadata files being written)
//!   are recognised by what they are — unreferenced, looked at under the key's lock — not by
//!   their age, so any restart gap is safe (`Drive::sweep_key`).

use super::{ErasureSet, KeyState};
use crate::drive::{DataMove, DriveError, DriveResult, Prepared, Staging};
use crate::meta::{Entry, MetaFile, Version};
use crate::set::resolve::Resolution;
use crate::EngineError;

/// A new version, and what each drive gets of it.
pub struct Proposal {
    pub version: Version,
    /// Per position: the drive's entry (its shard index, its inline bytes), or why this
    /// drive gets nothing (its shards could not be staged).
    pub entries: Vec<DriveResult<Entry>>,
    /// Per position: the staged data directory to move in as the version's `data_dir`.
    pub data: Vec<Option<Staging>>,
    /// Drives that must commit for the write to be acknowledged.
    pub quorum: usize,
}

impl ErasureSet {
    /// Commits `p` against `state` (read under the key lock, which the caller still holds).
    /// Returns, per position, whether the drive committed; a write below its quorum is undone
    /// everywhere and fails, naming each drive's error.
    pub fn commit(
        &self,
        bucket: &str,
        key: &str,
        state: &KeyState,
        p: &Proposal,
    ) -> Result<Vec<bool>, EngineError> {
        let n = self.drive_count();
        let plans: Vec<Option<Plan>> = (0..n).map(|pos| self.plan(state, p, pos)).collect();
        // What each drive is asked, owned by its call (which may outlive this one).
        let data_dir = p.version.data_dir().map(str::to_string);
        let asks: Vec<DriveResult<Ask>> = (0..n)
            .map(|pos| {
                let Some(plan) = &plans[pos] else {
                    return Err(match (&state.answers[pos], &p.entries[pos]) {
                        (_, Err(e)) | (Err(e), _) => e.clone(),
                        (Ok(_), Ok(_)) => DriveError::Io("not written".into()),
                    });
                };
                let data = p.data[pos].clone().zip(data_dir.clone());
                Ok((plan.first.clone(), data, plan.next.clone()))
            })
            .collect();
        let asks = std::sync::Arc::new(asks);
        let (b, k) = (bucket.to_string(), key.to_string());
        let results = self.on_drives(move |pos, d| {
            let (first, data, next) = asks[pos].as_ref().map_err(Clone::clone)?;
            let data = data.as_ref().map(|(staging, data_dir)| DataMove {
                staging,
                data_dir: data_dir.as_str(),
            });
            d.commit_meta(&b, &k, first, data, next.as_ref())
        });
        let committed: Vec<bool> = results.iter().map(Result::is_ok).collect();
        let ok = committed.iter().filter(|c| **c).count();
        if ok < p.quorum {
            let err = self.write_quorum_error(&results, p.quorum);
            self.roll_back(bucket, key, &plans, &results, p);
            // Whatever the rollback could not undo (a drive that failed meanwhile) is left to
            // heal: undecided or skipped, never the state.
            self.queue_heal(bucket, key, false);
            return Err(err);
        }
        // Phase two: the new version is durable on a quorum; what it replaced can go.
        let cleanup_everywhere = p.version.is_deletion() && ok == n;
        let finishes: Vec<Option<(Prepared, Vec<String>)>> = results
            .iter()
            .zip(&plans)
            .map(|(r, plan)| {
                let (Ok(prepared), Some(plan)) = (r, plan) else {
                    return None;
                };
                let keep = p.version.data_dir();
                let dirs = plan.prior.data_dirs().filter(|x| Some(*x) != keep);
                Some((prepared.clone(), dirs.map(str::to_string).collect()))
            })
            .collect();
        let finishes = std::sync::Arc::new(finishes);
        let (b, k) = (bucket.to_string(), key.to_string());
        let phase_two = self.on_drives(move |pos, d| {
            let Some((prepared, dirs)) = &finishes[pos] else {
                return Ok(());
            };
            if cleanup_everywhere {
                // Every drive has the deletion: the key's metadata itself can go.
                d.finish_meta(&b, &k, prepared, false)?;
                d.remove_meta(&b, &k)?;
            } else {
                d.finish_meta(&b, &k, prepared, true)?;
            }
            for dir in dirs {
                d.remove_data(&b, &k, dir);
            }
            Ok(())
        });
        let unfinished = phase_two.iter().any(Result::is_err);
        if ok < n || (p.version.is_deletion() && !cleanup_everywhere) || unfinished {
            self.queue_heal(bucket, key, false);
        }
        Ok(committed)
    }

    /// What drive `pos` gets, or `None` when it gets nothing (it could not say what it held,
    /// or has no entry of the proposal).
    fn plan(&self, state: &KeyState, p: &Proposal, pos: usize) -> Option<Plan> {
        let entry = p.entries[pos].clone().ok()?;
        let prior = match &state.answers[pos] {
            Ok(f) => f.clone().unwrap_or_default(),
            // A drive that could not say what it holds is not written: writing only the new
            // version there could drop what it held, and the write could still fail.
            Err(_) => return None,
        };
        let kept: Vec<Entry> = match &state.resolution {
            // The version being replaced (or deleted) stays until the new one has its quorum.
            Resolution::Version(cur) => prior.entry(cur).cloned().into_iter().collect(),
            Resolution::Absent => Vec::new(),
            // The state is unknown: keep everything this drive holds.
            Resolution::Undecided { .. } => prior.versions.clone(),
        };
        let next = (!kept.is_empty()).then(|| MetaFile {
            versions: vec![entry.clone()],
        });
        let mut first = MetaFile {
            versions: vec![entry],
        };
        first.versions.extend(kept);
        Some(Plan { prior, first, next })
    }

    /// Undoes a commit that missed its quorum, on the drives that made it — and on those that
    /// failed late: a drive whose sync failed after the rename lists the new version although
    /// it answered an error, so every drive that was written gets its prior metadata back.
    fn roll_back(
        &self,
        bucket: &str,
        key: &str,
        plans: &[Option<Plan>],
        results: &[DriveResult<Prepared>],
        p: &Proposal,
    ) {
        for (pos, (r, plan)) in results.iter().zip(plans).enumerate() {
            let (Some(plan), Some(d)) = (plan, self.drive(pos)) else {
                continue;
            };
            match r {
                Ok(prepared) => {
                    let _ = d.finish_meta(bucket, key, prepared, false);
                }
                // Never reached, or refused before anything was written.
                Err(DriveError::Offline | DriveError::NoBucket) => continue,
                Err(_) => {}
            }
            // The metadata first: removing the new data before the new version is unlisted
            // would leave, if this stopped between the two, a version listed without its data.
            match d.write_meta(bucket, key, &plan.prior, None) {
                Ok(()) => {
                    if let Some(dir) = p.version.data_dir() {
                        if !plan.prior.data_dirs().any(|x| x == dir) {
                            d.remove_data(bucket, key, dir);
                        }
                    }
                }
                Err(e) => tracing::warn!(drive = %d.label(), %e, "rolling back a failed write"),
            }
        }
    }
}

/// What one drive is asked in phase one: the metadata, the data to move in, the next one.
type Ask = (MetaFile, Option<(Staging, String)>, Option<MetaFile>);

/// One drive's part in a commit.
struct Plan {
    /// What it held.
    prior: MetaFile,
    /// Phase one: the new version in front of what must be kept until the quorum.
    first: MetaFile,
    /// Phase two, when phase one kept anything: the new version alone.
    next: Option<MetaFile>,
}
