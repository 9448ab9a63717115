//! The background workers' work:
//! - the **healer** heals keys queued by reads that met damage and by commits that missed a
//!   drive;
//! - the **scanner** visits every key of every set at a cadence — a light pass at start-up
//!   (roll cut-short writes forward or back, remove leftovers of interrupted writes), then deep
//!   passes that read every shard of every object, parity included, and heal what is missing,
//!   stale or damaged — paced to a byte rate so that client traffic is never starved;
//! - the **drive monitor** takes drives that vanished out of service, and brings back drives
//!   that return, or puts an empty drive given in a missing drive's place to work; either is
//!   marked healing and **rebuilt** (every key of its set healed onto it), with its progress
//!   and time to full redundancy counted in `Stats`.
//!
//! Each reports its state and what it is on through its `Ctx` (see `background.rs`).

use super::background::{Ctx, Pace, Rebuild, Stats, Stop, WorkerState, Workers};
use super::bucket::{heal_buckets, list_buckets};
use super::drive::{Drive, DriveError, LocalDrive, Walk};
use super::layout::{self, DriveProblem, FormatRecord};
use super::list::Item;
use super::set::ErasureSet;
use super::{EngineError, Shared};
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Instant;

/// Keys walked per page.
const PAGE: usize = 1000;
/// What visiting a key costs on each drive, counted against the scan rate besides the shard
/// bytes read (a metadata file and its directory).
const KEY_COST: usize = 4096;

pub(crate) fn start(shared: &Arc<Shared>, workers: &Workers) {
    // Healer: queued keys, each once while pending.
    let (tx, rx) = mpsc::channel::<super::set::HealJob>();
    for s in &shared.sets {
        s.set_heal_sender(tx.clone());
    }
    drop(tx);
    let sh = shared.clone();
    workers.spawn("healer", move |ctx| heal_queue(&sh, &ctx, rx));

    // Rebuilds, one drive at a time.
    let (rtx, rrx) = mpsc::channel::<(usize, usize)>();
    if let Ok(mut t) = shared.rebuild_tx.lock() {
        *t = Some(rtx);
    }
    let sh = shared.clone();
    workers.spawn("rebuild", move |ctx| {
        for (set, position) in rrx.iter() {
            if ctx.is_stopped() {
                return;
            }
            if !rebuild_drive(&sh, &ctx, set, position).1 {
                // The drive stays healing; the monitor runs the rebuild again once every
                // drive of the set is there, backing off while keys keep failing.
                defer_rebuild(&sh, set, position);
            }
            ctx.set(|s| s.state = WorkerState::Idle);
        }
    });

    // Drive monitor: once now (so a replaced drive is healing from the start), then at the
    // configured interval. Drives still marked healing by an earlier run resume their rebuild.
    let resumed: Vec<(usize, usize)> = shared
        .sets
        .iter()
        .flat_map(|s| (0..s.drive_count()).map(move |p| (s.index, p)))
        .filter(|&(s, p)| shared.sets[s].drive(p).is_some_and(|d| d.is_healing()))
        .collect();
    for (set, position) in resumed {
        queue_rebuild(shared, set, position);
    }
    check_drives(shared);
    let sh = shared.clone();
    let every = shared.cfg.drive_check_interval;
    workers.spawn("drive-monitor", move |ctx| {
        while ctx.wait(every) {
            ctx.busy("checking drives".into());
            check_drives(&sh);
            let out: usize = sh.sets.iter().map(|s| s.drives_out()).sum();
            ctx.set(|s| {
                s.rounds += 1;
                s.doing = format!("last check: {out} drives out of service");
            });
        }
    });

    // Scanner: a light pass at start-up, then deep passes.
    let sh = shared.clone();
    let interval = shared.cfg.scan_interval;
    let rate = shared.cfg.scan_bytes_per_sec;
    workers.spawn("scanner", move |ctx| {
        let mut started = Instant::now();
        scan_pass(&sh, &ctx, false, rate);
        let Some(interval) = interval else { return };
        // Passes start `interval` apart (at once, when a pass took longer).
        while ctx.wait(interval.saturating_sub(started.elapsed())) {
            started = Instant::now();
            scan_pass(&sh, &ctx, true, rate);
        }
    });
}

/// The healer: keys in the order queued, each once while it waits (a deep request wins over a
/// light one for the same key). Stopping drops what still waits: the scanner finds it again.
fn heal_queue(shared: &Shared, ctx: &Ctx, rx: mpsc::Receiver<super::set::HealJob>) {
    let mut order: VecDeque<(usize, String, String)> = VecDeque::new();
    let mut waiting: HashMap<(usize, String, String), bool> = HashMap::new();
    let add = |(set, bucket, key, deep): super::set::HealJob,
               order: &mut VecDeque<_>,
               waiting: &mut HashMap<_, bool>| {
        let id = (set, bucket, key);
        match waiting.get_mut(&id) {
            Some(d) => *d |= deep,
            None => {
                waiting.insert(id.clone(), deep);
                order.push_back(id);
            }
        }
    };
    loop {
        if order.is_empty() {
            ctx.set(|s| {
                s.state = WorkerState::Idle;
                s.queue = Some(0);
            });
            match rx.recv() {
                Ok(job) => add(job, &mut order, &mut waiting),
                Err(_) => return, // every set dropped its sender: the engine is gone
            }
        }
        while let Ok(job) = rx.try_recv() {
            add(job, &mut order, &mut waiting);
        }
        if ctx.is_stopped() {
            return;
        }
        let Some(id) = order.pop_front() else {
            continue;
        };
        let deep = waiting.remove(&id).unwrap_or(false);
        let (set, bucket, key) = id;
        ctx.set(|s| {
            s.state = WorkerState::Busy;
            s.doing = format!("{bucket}/{key}");
            s.queue = Some(order.len() as u64);
        });
        if let Err(e) = shared.sets[set].heal_object(&bucket, &key, deep) {
            Stats::add(&shared.stats.heals_failed, 1);
            ctx.error(format!("{bucket}/{key}: {e}"));
            tracing::warn!(bucket, key, %e, "background heal failed");
        }
        Stats::add(&shared.stats.heals_done, 1);
        ctx.set(|s| s.done += 1);
    }
}

/// Visits every key of every set: heals it (deep: every block of every shard read) and removes
/// leftovers; returns the keys that needed healing.
pub(crate) fn scan_pass(shared: &Shared, ctx: &Ctx, deep: bool, rate: u64) -> u64 {
    let pass = format!(
        "pass {} ({})",
        ctx.status().rounds + 1,
        if deep { "deep" } else { "light" }
    );
    ctx.busy(pass.clone());
    let mut pace = Pace::new(rate);
    let mut healed = 0;
    let mut keys = 0u64;
    let buckets = list_buckets(&all_handles(shared));
    for set in &shared.sets {
        heal_buckets(shared, &set.handles(), &buckets);
        for b in &buckets {
            let done = each_key(set, &b.name, ctx.stop(), |key| {
                keys += 1;
                ctx.set(|s| s.doing = format!("{pass}, key {keys}: {}/{key}", b.name));
                let (bytes, fixed) = scan_key(shared, ctx, set, &b.name, key, deep);
                healed += u64::from(fixed);
                ctx.set(|s| s.done += 1);
                // Reading every drive's metadata of the key costs too, even in a light pass.
                let meta = (KEY_COST * set.drive_count()) as u64;
                ctx.rest(pace.took(bytes + meta))
            });
            if !done {
                return healed;
            }
        }
    }
    if deep {
        Stats::add(&shared.stats.scan_passes, 1);
    }
    ctx.set(|s| {
        s.rounds += 1;
        s.doing = format!("{pass} done: {keys} keys, {healed} healed");
    });
    healed
}

/// One key of a scanner pass: the shard bytes read, and whether it needed healing.
fn scan_key(
    shared: &Shared,
    ctx: &Ctx,
    set: &ErasureSet,
    bucket: &str,
    key: &str,
    deep: bool,
) -> (u64, bool) {
    Stats::add(&shared.stats.scanned, 1);
    match set.heal_object(bucket, key, deep) {
        Ok(r) => {
            Stats::add(&shared.stats.scan_bytes, r.read);
            let fixed = !r.healed.is_empty() || r.removed > 0;
            if fixed {
                Stats::add(&shared.stats.scan_healed, 1);
            }
            (r.read, fixed)
        }
        Err(e) => {
            Stats::add(&shared.stats.scan_failed, 1);
            ctx.error(format!("{bucket}/{key}: {e}"));
            tracing::warn!(bucket, key, %e, "scanner could not heal");
            (0, false)
        }
    }
}

/// A light pass now; returns the leftovers removed.
pub(crate) fn sweep(shared: &Shared, stop: &Stop) -> usize {
    let mut swept = 0;
    let buckets = list_buckets(&all_handles(shared));
    for set in &shared.sets {
        for b in &buckets {
            each_key(set, &b.name, stop, |key| {
                if let Ok(r) = set.heal_object(&b.name, key, false) {
                    swept += r.swept;
                }
                true
            });
        }
    }
    if swept > 0 {
        tracing::info!(swept, "removed leftovers of interrupted writes");
    }
    swept
}

/// Calls `f(key)` for every key of the bucket in the set (objects, and keys with only
/// leftovers or undecided versions); stops when `f` returns false. Returns false when stopped.
fn each_key(set: &ErasureSet, bucket: &str, stop: &Stop, mut f: impl FnMut(&str) -> bool) -> bool {
    let mut after = String::new();
    loop {
        let walk = Walk {
            prefix: "",
            after: &after,
            collapse: false,
            limit: PAGE,
            debris: true,
        };
        let (items, more) = set.list_items(bucket, &walk);
        for item in &items {
            if stop.is_stopped() {
                return false;
            }
            if !matches!(item, Item::Prefix(_)) && !f(item.name()) {
                return false;
            }
            after = item.name().to_string();
        }
        if !more || items.is_empty() {
            return true;
        }
    }
}

fn all_drives(shared: &Shared) -> Vec<Option<Arc<dyn Drive>>> {
    shared.sets.iter().flat_map(|s| s.all_drives()).collect()
}

fn all_handles(shared: &Shared) -> Vec<Option<super::set::Handle>> {
    shared.sets.iter().flat_map(|s| s.handles()).collect()
}

/// Heals every key of the set onto the drive at `position` (replaced, or back after an
/// absence), then clears its healing mark; returns the keys rewritten onto it, and whether
/// every key could be healed.
pub(crate) fn rebuild_drive(
    shared: &Shared,
    ctx: &Ctx,
    set: usize,
    position: usize,
) -> (u64, bool) {
    let Some(s) = shared.sets.get(set) else {
        return (0, true);
    };
    let Some(drive) = s.drive(position) else {
        return (0, true);
    };
    let started = Instant::now();
    if let Ok(mut r) = shared.stats.rebuilds.lock() {
        r.insert(
            (set, position),
            Rebuild {
                drive_id: s.drive_ids[position].clone(),
                started,
                checked: 0,
                healed: 0,
                failed: 0,
                finished: None,
            },
        );
    }
    tracing::warn!(set, position, drive = %drive.label(), "rebuilding drive");
    let what = format!("set {set} drive {position} ({})", s.drive_ids[position]);
    ctx.busy(what.clone());
    // Keys only silent drives list would not be walked: a rebuild counts only while every
    // drive of the set is there, from start to end.
    let everyone = || s.drives_out() == 0;
    let complete_walk = everyone();
    let buckets = list_buckets(&all_handles(shared));
    heal_buckets(shared, &[s.handle(position)], &buckets);
    let mut healed = 0;
    let mut failed = 0;
    let mut pace = Pace::new(shared.cfg.rebuild_bytes_per_sec);
    for b in &buckets {
        let done = each_key(s, &b.name, ctx.stop(), |key| {
            let mut bytes = 0;
            match s.heal_object(&b.name, key, false) {
                Ok(r) if r.incomplete.contains(&position) => {
                    bytes = r.read;
                    failed += 1;
                    ctx.error(format!("{}/{key}: not written onto {what}", b.name));
                    tracing::warn!(bucket = %b.name, key, "rebuild could not write a key");
                }
                Ok(r) => {
                    bytes = r.read;
                    healed += u64::from(r.healed.contains(&position));
                }
                Err(e) => {
                    failed += 1;
                    ctx.error(format!("{}/{key}: {e}", b.name));
                    tracing::warn!(bucket = %b.name, key, %e, "rebuild could not heal a key");
                }
            }
            let mut checked = 0;
            shared.stats.update_rebuild((set, position), |r| {
                r.checked += 1;
                r.healed = healed;
                r.failed = failed;
                checked = r.checked;
            });
            ctx.set(|s| {
                s.done += 1;
                s.doing = format!("{what}: {checked} keys checked, {healed} rebuilt");
            });
            ctx.rest(pace.took(bytes))
        });
        if !done {
            return (healed, false);
        }
    }
    if failed > 0 || !complete_walk || !everyone() {
        tracing::warn!(
            set,
            position,
            failed,
            complete_walk,
            "rebuild incomplete (keys not healed, or drives of the set out); retried later"
        );
        ctx.set(|s| s.doing = format!("{what}: incomplete, retried later"));
        return (healed, false);
    }
    if let Err(e) = drive.set_healing(false) {
        tracing::warn!(drive = %drive.label(), %e, "cannot clear the healing mark");
        ctx.error(format!("{what}: cannot clear the healing mark: {e}"));
        return (healed, false);
    }
    if let Ok(mut p) = shared.pending_rebuilds.lock() {
        p.remove(&(set, position));
    }
    let took = started.elapsed();
    shared
        .stats
        .update_rebuild((set, position), |r| r.finished = Some(took));
    tracing::warn!(set, position, drive = %drive.label(), healed, ?took,
        "drive rebuilt: full redundancy");
    ctx.set(|s| {
        s.rounds += 1;
        s.doing = format!("{what}: rebuilt in {took:.1?}, {healed} keys rewritten");
    });
    (healed, true)
}

/// Longest wait between two attempts of a rebuild that cannot finish.
const REBUILD_BACKOFF_MAX: std::time::Duration = std::time::Duration::from_secs(600);

fn defer_rebuild(shared: &Shared, set: usize, position: usize) {
    if let Ok(mut p) = shared.pending_rebuilds.lock() {
        let wait = p
            .get(&(set, position))
            .map_or(shared.cfg.drive_check_interval, |(_, w)| {
                (*w * 2).min(REBUILD_BACKOFF_MAX)
            });
        p.insert((set, position), (Instant::now() + wait, wait));
    }
}

/// Rebuilds whose wait is over and whose set has every drive: queued again.
fn retry_rebuilds(shared: &Shared) {
    let due: Vec<(usize, usize)> = match shared.pending_rebuilds.lock() {
        Ok(mut p) => {
            let now = Instant::now();
            let due: Vec<_> = p
                .iter()
                .filter(|(place, (at, _))| *at <= now && shared.sets[place.0].drives_out() == 0)
                .map(|(place, _)| *place)
                .collect();
            for place in &due {
                if let Some((at, _)) = p.get_mut(place) {
                    *at = now + REBUILD_BACKOFF_MAX; // until this attempt reports back
                }
            }
            due
        }
        Err(_) => Vec::new(),
    };
    for (set, position) in due {
        queue_rebuild(shared, set, position);
    }
}

fn queue_rebuild(shared: &Shared, set: usize, position: usize) {
    if let Some(tx) = shared.rebuild_tx.lock().ok().and_then(|t| t.clone()) {
        let _ = tx.send((set, position));
    }
}

/// One round of the drive monitor.
pub(crate) fn check_drives(shared: &Shared) {
    for s in &shared.sets {
        for p in 0..s.drive_count() {
            if s.worker(p).timed_out() {
                if answers_again(s, p) {
                    queue_rebuild(shared, s.index, p);
                }
                continue;
            }
            if let Some(d) = s.drive(p) {
                // Not answering in time is not gone: its calls time out and mark it.
                match d.check_present() {
                    Ok(()) | Err(DriveError::Timeout) => {}
                    Err(_) if s.worker(p).timed_out() => {}
                    Err(e) => {
                        tracing::warn!(set = s.index, position = p, drive = %d.label(), %e,
                            "drive went out of service");
                        if let (Some(path), Ok(mut last)) = (d.path(), shared.last_paths.lock()) {
                            last.insert((s.index, p), path.to_path_buf());
                        }
                        s.set_drive(p, None);
                    }
                }
            }
        }
    }
    for (set, position) in bring_back(shared) {
        queue_rebuild(shared, set, position);
    }
    for (set, position) in adopt_replacements(shared) {
        queue_rebuild(shared, set, position);
    }
    retry_rebuilds(shared);
}

/// A drive taken offline for not answering in time, probed: once every call it was given
/// up on has ended and it answers a write within the deadline, it is back in service, marked
/// healing (it missed the writes made meanwhile) — the caller rebuilds it.
fn answers_again(s: &ErasureSet, position: usize) -> bool {
    let Some(h) = s.handle(position) else {
        return false;
    };
    let d = h.drive.clone();
    let back = h.worker.probe(h.timeout, move || {
        d.check_present()?;
        let staging = d.new_staging()?;
        d.remove_staging(&staging);
        d.set_healing(true)
    });
    if back {
        h.worker.restore();
        tracing::warn!(set = s.index, position, drive = %h.drive.label(),
            "drive answers again; rebuilding it");
    }
    back
}

/// Offline places (not held offline on purpose) and the paths their drive may be at.
fn offline_places(shared: &Shared) -> Vec<(usize, usize)> {
    let held = shared
        .held_offline
        .lock()
        .map(|h| h.clone())
        .unwrap_or_default();
    shared
        .sets
        .iter()
        .flat_map(|s| (0..s.drive_count()).map(move |p| (s.index, p)))
        .filter(|&(s, p)| shared.sets[s].drive(p).is_none() && !held.contains(&(s, p)))
        .collect()
}

/// Paths given at start-up that no drive in service is at.
fn unused_paths(shared: &Shared) -> Vec<PathBuf> {
    let used: HashSet<PathBuf> = all_drives(shared)
        .iter()
        .flatten()
        .filter_map(|d| d.path().map(Path::to_path_buf))
        .collect();
    shared
        .planned
        .iter()
        .flatten()
        .filter(|p| !used.contains(*p))
        .cloned()
        .collect()
}

/// Drives of offline places found again (remounted, reattached): back in service, healing.
fn bring_back(shared: &Shared) -> Vec<(usize, usize)> {
    let mut back = Vec::new();
    let candidates = unused_paths(shared);
    for (set, position) in offline_places(shared) {
        let id = &shared.sets[set].drive_ids[position];
        let last = shared
            .last_paths
            .lock()
            .ok()
            .and_then(|l| l.get(&(set, position)).cloned());
        let found = last.into_iter().chain(candidates.clone()).find(|path| {
            FormatRecord::load(path).is_ok_and(|r| {
                r.is_some_and(|r| r.deployment_id == shared.deployment_id && &r.drive_id == id)
            })
        });
        let Some(path) = found else { continue };
        if let Err(e) = put_in_service(shared, set, position, &path) {
            tracing::warn!(path = %path.display(), %e, "drive is back but cannot be used");
            continue;
        }
        tracing::warn!(set, position, path = %path.display(), "drive is back; rebuilding it");
        back.push((set, position));
    }
    back
}

/// Empty, unformatted drives given in the place of a missing one: formatted into that place
/// (the place its path has in the drive list, or the one missing place when unambiguous),
/// marked healing and put in service. Returns the places filled.
pub(crate) fn adopt_replacements(shared: &Shared) -> Vec<(usize, usize)> {
    let missing = offline_places(shared);
    let mounted = all_drives(shared)
        .iter()
        .flatten()
        .filter_map(|d| d.path().map(is_mount_point))
        .any(|m| m);
    let fresh: Vec<PathBuf> = unused_paths(shared)
        .into_iter()
        .filter(|p| matches!(FormatRecord::load(p), Ok(None)) && is_empty_dir(p))
        .filter(|p| {
            // Drives that are mounted filesystems: an empty directory that is not one is the
            // bare mount point of a drive that is not mounted, never a replacement (formatting
            // it would put a drive on the filesystem below).
            let bare = mounted && !is_mount_point(p);
            if bare {
                tracing::warn!(path = %p.display(),
                    "empty directory where a mounted drive is expected (drive not mounted?): \
                     not used");
            }
            !bare
        })
        .collect();
    let mut placed = Vec::new();
    for path in &fresh {
        let own = shared
            .planned
            .iter()
            .enumerate()
            .find_map(|(s, set)| set.iter().position(|p| p == path).map(|pos| (s, pos)));
        let place = match own {
            Some(place) if missing.contains(&place) && !placed.contains(&place) => Some(place),
            // When the list was reordered as well, the path's place may be held by another
            // drive: the replacement then goes to the one missing place, but only when that
            // is unambiguous (one fresh drive, one missing place).
            _ if fresh.len() == 1 && missing.len() == 1 => Some(missing[0]),
            _ => None,
        };
        let Some((set, position)) = place else {
            tracing::warn!(path = %path.display(),
                "empty drive has no unambiguous missing place; use replace_drive");
            continue;
        };
        match replace(shared, set, position, path) {
            Ok(()) => placed.push((set, position)),
            Err(e) => tracing::warn!(path = %path.display(), %e, "cannot use replacement drive"),
        }
    }
    placed
}

/// Formats `path` (empty) into the missing place (set, position) and puts it in service,
/// healing (the caller rebuilds it).
pub(crate) fn replace(
    shared: &Shared,
    set: usize,
    position: usize,
    path: &Path,
) -> Result<(), EngineError> {
    let s = shared
        .sets
        .get(set)
        .ok_or_else(|| EngineError::Format(format!("no set {set}")))?;
    if s.drive(position).is_some_and(|d| d.check_present().is_ok()) {
        return Err(EngineError::Format(format!(
            "drive {set}/{position} is online; take it offline first"
        )));
    }
    let dep = layout::Deployment {
        id: shared.deployment_id.clone(),
        sets: shared
            .sets
            .iter()
            .map(|s| s.drive_ids.iter().map(|id| (id.clone(), None)).collect())
            .collect(),
        problems: Vec::new(),
        codec: shared.codec,
        bitrot: shared.bitrot,
    };
    layout::format_replacement(&dep, set, position, path)?;
    tracing::warn!(set, position, path = %path.display(), "formatted a replacement drive");
    put_in_service(shared, set, position, path)
}

/// A drive at `path` in its place, marked healing (what it holds may be behind).
fn put_in_service(
    shared: &Shared,
    set: usize,
    position: usize,
    path: &Path,
) -> Result<(), EngineError> {
    let d = LocalDrive::new(path);
    d.clean_tmp().map_err(|e| EngineError::drive(path, e))?;
    d.set_healing(true)
        .map_err(|e| EngineError::drive(path, std::io::Error::other(e)))?;
    shared.sets[set].set_drive(position, Some(Arc::new(d)));
    if let Ok(mut held) = shared.held_offline.lock() {
        held.remove(&(set, position));
    }
    if let Ok(mut p) = shared.problems.lock() {
        p.retain(|x| match x {
            DriveProblem::Missing {
                set: s,
                position: q,
                ..
            } => !(*s == set && *q == position),
            DriveProblem::Unformatted { path: u } | DriveProblem::Offline { path: u, .. } => {
                u != path
            }
            _ => true,
        });
    }
    Ok(())
}

/// A filesystem is mounted there (its device differs from its parent's).
fn is_mount_point(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let parent = path.parent().unwrap_or(Path::new("/"));
    match (std::fs::metadata(path), std::fs::metadata(parent)) {
        (Ok(a), Ok(b)) => a.dev() != b.dev() || a.ino() == b.ino(),
        _ => false,
    }
}

/// Nothing in it but what a fresh filesystem has.
fn is_empty_dir(path: &Path) -> bool {
    std::fs::read_dir(path).is_ok_and(|rd| {
        rd.flatten()
            .all(|e| e.file_name() == "lost+found" || e.file_name() == ".strata.sys")
    })
}
