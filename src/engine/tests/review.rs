//! Adversarial review of the commit protocol (`src/engine/set/commit.rs`, `resolve.rs`) and
//! what is built on it. Each test is one finding of the review and fails on the code it was
//! written against, for the reason its doc comment gives.
//!
//! Crash states are made by hand, exactly as the code would leave them when killed at the
//! step named (a drive's `%meta` is the list of versions phase one / rollback / heal write),
//! from metadata entries that real writes produced. Small objects are inline (their shards
//! live in the metadata), so most states are metadata files only.

use crate::support::{cfg, data, get, put, Dirs};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use strata_engine::meta::{Entry, MetaFile, Version};
use strata_engine::names::key_dir;
use strata_engine::{Config, Engine, EngineError, ListQuery, PutOptions};

const B: &str = "review";

// ---------------------------------------------------------------------------------------------
// helpers

fn object_dir(drive: &Path, key: &str) -> PathBuf {
    drive.join(B).join(key_dir(key))
}

fn meta_in(dir: &Path) -> MetaFile {
    MetaFile::decode(&fs::read(dir.join("%meta")).unwrap()).unwrap()
}

/// The (only) entry of the key on a drive.
fn entry(drive: &Path, key: &str) -> Entry {
    meta_in(&object_dir(drive, key)).versions.remove(0)
}

fn set_meta(drive: &Path, key: &str, versions: Vec<Entry>) {
    let dir = object_dir(drive, key);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("%meta"), MetaFile { versions }.encode()).unwrap();
}

/// A deletion of `after` as phase one writes it.
fn deletion(after: &Version, id: &str) -> Entry {
    Entry {
        version: Version {
            id: id.into(),
            stamp: after.stamp + 1,
            object: None,
        },
        shard: 0,
        inline: None,
    }
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            fs::copy(e.path(), &target).unwrap();
        }
    }
}

fn away(p: &Path) -> PathBuf {
    p.with_file_name(format!("{}.away", p.file_name().unwrap().to_string_lossy()))
}

/// The drive is gone (unplugged, dead) until `restore`.
fn hide(p: &Path) {
    fs::rename(p, away(p)).unwrap();
}

fn restore(p: &Path) {
    fs::rename(away(p), p).unwrap();
}

fn position_of(e: &Engine, path: &Path) -> (usize, usize) {
    let d = e
        .drives()
        .into_iter()
        .find(|d| d.path.as_deref() == Some(path))
        .unwrap_or_else(|| panic!("no drive at {}", path.display()));
    (d.set, d.position)
}

fn open(paths: &[PathBuf], c: Config) -> Engine {
    Engine::open(&[paths.to_vec()], c).unwrap()
}

fn show(r: &Result<Vec<u8>, EngineError>, names: &[(&str, &[u8])]) -> String {
    match r {
        Ok(b) => names
            .iter()
            .find(|(_, v)| *v == &b[..])
            .map(|(n, _)| format!("bytes of {n}"))
            .unwrap_or_else(|| format!("{} unknown bytes", b.len())),
        Err(e) => format!("error: {e}"),
    }
}

/// Two 2+2 sets: an object "k" written to its set's four drives, then removed from the fourth
/// (as if it had been offline for the write). Returns the body and the four drives, the one
/// that missed the write last.
fn on_three_of_four(d: &Dirs, c: &Config) -> (Vec<u8>, Vec<PathBuf>) {
    let body = data(100, 1);
    let e = open(&d.paths, c.clone());
    e.make_bucket(B).unwrap();
    put(&e, B, "k", &body);
    drop(e);
    let holders: Vec<PathBuf> = d
        .paths
        .iter()
        .filter(|p| object_dir(p, "k").join("%meta").exists())
        .cloned()
        .collect();
    assert_eq!(holders.len(), 4);
    fs::remove_dir_all(object_dir(&holders[3], "k")).unwrap();
    (body, holders)
}

fn all_keys(e: &Engine) -> Result<Vec<String>, EngineError> {
    Ok(e.list_objects(
        B,
        &ListQuery {
            max_keys: 1000,
            ..Default::default()
        },
    )?
    .objects
    .into_iter()
    .map(|o| o.key)
    .collect())
}

// ---------------------------------------------------------------------------------------------
// 1. rollback order

/// `commit::roll_back` used to remove the new version's data directory *before* it rewrote
/// the drive's metadata; a process killed between the two left a drive listing the new version
/// without its data (503 for ever, v0 never read again). It now restores the metadata first and
/// removes the data only once that succeeded: killed between the two, a drive holds `[v0]` and
/// an unreferenced data directory (a leftover for the sweep).
///
/// 2+2, a PUT of v1 over v0 reached drives 0 and 1 only, so it rolls back; the process dies on
/// drive 0 after its metadata was restored, before v1's data went, and before drive 1 was
/// reached at all. The key reads (v0: v1 is listed on one drive only), heal settles it.
#[test]
fn a_rollback_killed_after_removing_the_new_data_leaves_the_key_unreadable_for_ever() {
    let d = Dirs::new(4);
    let v0 = data(100_000, 1);
    let v1 = data(100_000, 2);
    let e = d.open(cfg());
    e.make_bucket(B).unwrap();
    put(&e, B, "k", &v0);
    drop(e);
    let save = |tag: &str| -> Vec<PathBuf> {
        d.paths
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let to = d.tmp.path().join(format!("{tag}{i}"));
                copy_tree(&object_dir(p, "k"), &to);
                to
            })
            .collect()
    };
    let before = save("before");
    let e = d.open(cfg());
    put(&e, B, "k", &v1);
    drop(e);
    let after = save("after");

    for (i, p) in d.paths.iter().enumerate() {
        let dir = object_dir(p, "k");
        fs::remove_dir_all(&dir).unwrap();
        copy_tree(&before[i], &dir); // [v0] and v0's data
        if i < 2 {
            let new = meta_in(&after[i]).versions.remove(0);
            let old = meta_in(&before[i]).versions.remove(0);
            let new_dir = format!("%d{}", new.version.data_dir().unwrap());
            // v1's data is still on both: drive 1 was not reached by the rollback yet, drive
            // 0 died after restoring its metadata.
            copy_tree(&after[i].join(&new_dir), &dir.join(&new_dir));
            let versions = if i == 1 { vec![new, old] } else { vec![old] };
            fs::write(dir.join("%meta"), MetaFile { versions }.encode()).unwrap();
        }
    }

    let e = d.open(cfg());
    let names: [(&str, &[u8]); 2] = [("v0", &v0), ("v1", &v1)];
    let first = get(&e, B, "k");
    let heal = e.heal_object(B, "k");
    let second = get(&e, B, "k");
    let fine = |r: &Result<Vec<u8>, EngineError>| matches!(r, Ok(b) if *b == v0 || *b == v1);
    assert!(
        fine(&first) && heal.is_ok() && fine(&second),
        "GET: {}; heal: {:?}; GET after heal: {}",
        show(&first, &names),
        heal.map(|r| r.healed),
        show(&second, &names)
    );
}

// ---------------------------------------------------------------------------------------------
// 2. a deletion's phase one in k > m + 1 geometries

/// A deletion's phase one used to write `[deletion]` alone, dropping the object at once: in
/// 12+4 a deletion cut short on 5 to 7 drives left it below its 8 and the object below its 12
/// (the object gone with all drives up; 503 for ever after one drive loss). Phase one now writes
/// `[deletion, current]` as a data write does, so the object stays listed everywhere until
/// the deletion has its quorum.
///
/// 12+4, a DELETE killed after phase one on 5 drives (as the protocol writes it now), then one
/// of those 5 drives is dead at restart, then replaced by an empty drive and rebuilt: the key
/// reads as the object throughout, and the rebuild finishes. The old state (`[deletion]` alone
/// on 5 drives, the replaced drive among them) settles too once the drive is replaced.
#[test]
fn a_deletion_cut_short_in_12_plus_4_is_unreadable_for_ever_after_one_drive_loss() {
    let d = Dirs::new(16);
    let v0 = data(100, 1);
    let e = d.open(cfg());
    e.make_bucket(B).unwrap();
    put(&e, B, "k", &v0);
    drop(e);
    let current = entry(&d.paths[0], "k");
    let del = deletion(&current.version, "cut-short-delete");
    for p in &d.paths[..5] {
        let current = entry(p, "k");
        set_meta(p, "k", vec![del.clone(), current]);
    }
    let names: [(&str, &[u8]); 1] = [("v0", &v0)];

    let e = d.open(cfg());
    let all_answer = get(&e, B, "k");
    drop(e);

    hide(&d.paths[0]);
    let e = d.open(cfg());
    let one_lost = get(&e, B, "k");
    drop(e);

    // The dead drive is replaced by an empty one and rebuilt.
    fs::create_dir(&d.paths[0]).unwrap();
    let e = d.open(cfg());
    e.heal_replaced_drives().unwrap();
    let rebuilt = get(&e, B, "k");
    let healing = e.drives().iter().filter(|s| s.healing).count();

    let settled = |r: &Result<Vec<u8>, EngineError>| {
        matches!(r, Ok(b) if *b == v0) || matches!(r, Err(EngineError::NoSuchKey { .. }))
    };
    drop(e);
    // The state the old protocol left: `[deletion]` alone on 5 drives, the dead one among them.
    for p in &d.paths[1..5] {
        set_meta(p, "k", vec![del.clone()]);
    }
    fs::remove_dir_all(&d.paths[0]).unwrap();
    fs::create_dir(&d.paths[0]).unwrap();
    let e = d.open(cfg());
    e.heal_replaced_drives().unwrap();
    let old_state = get(&e, B, "k");
    let old_healing = e.drives().iter().filter(|s| s.healing).count();
    assert!(
        settled(&old_state) && old_healing == 0,
        "old state after a replacement: {} with {old_healing} drive(s) still healing",
        show(&old_state, &names)
    );
    assert!(
        settled(&all_answer) && settled(&one_lost) && settled(&rebuilt) && healing == 0,
        "all 16 drives: {}; one of the deletion's drives lost: {}; after replacing and \
         rebuilding it: {} with {healing} drive(s) still healing",
        show(&all_answer, &names),
        show(&one_lost, &names),
        show(&rebuilt, &names)
    );
}

/// The same "for ever" with a plain PUT in 4+2: a PUT killed after phase one on 3 drives
/// (W − 1) leaves `[v1, v0]` on 3 drives and `[v0]` on 3. If one of the `[v0]` drives is dead at
/// restart, v1 is "on 3 drives and 1 did not answer" and the key is Undecided — right while
/// the drive may come back. But once it is replaced, v1 can never be read whatever the dead
/// drive held (3 shards of 4), and v0 is intact on 5 drives; still the replacement counts as
/// silent, so the key stays 503, the rebuild fails on it every time (`rebuild_drive` re-walks
/// and re-heals the whole set every `drive_check_interval`, for ever), and the replaced drive
/// stays healing — its "not there" is discounted for every key of the set from then on.
#[test]
fn a_put_cut_short_on_w_minus_1_drives_and_a_replaced_drive_never_converge() {
    let d = Dirs::new(6);
    let c = Config {
        parity: Some(2),
        ..cfg()
    };
    let (v0, v1) = (data(100, 1), data(100, 2));
    let e = d.open(c.clone());
    e.make_bucket(B).unwrap();
    put(&e, B, "k", &v0);
    drop(e);
    let old: Vec<Entry> = d.paths.iter().map(|p| entry(p, "k")).collect();
    let e = d.open(c.clone());
    put(&e, B, "k", &v1);
    drop(e);
    let new: Vec<Entry> = d.paths.iter().map(|p| entry(p, "k")).collect();
    for i in 0..6 {
        let mut vs = if i < 3 { vec![new[i].clone()] } else { vec![] };
        vs.push(old[i].clone());
        set_meta(&d.paths[i], "k", vs);
    }
    let names: [(&str, &[u8]); 2] = [("v0", &v0), ("v1", &v1)];
    let e = d.open(c.clone());
    let all = get(&e, B, "k");
    drop(e);
    hide(&d.paths[5]);
    fs::create_dir(&d.paths[5]).unwrap(); // dead at restart, replaced by an empty drive
    let e = d.open(c.clone());
    e.heal_replaced_drives().unwrap();
    let rebuilt = get(&e, B, "k");
    let healing = e.drives().iter().filter(|s| s.healing).count();
    assert!(
        matches!(&rebuilt, Ok(b) if *b == v0) && healing == 0,
        "all drives: {}; one [v0] drive replaced and rebuilt: {} with {healing} drive(s) \
         still healing",
        show(&all, &names),
        show(&rebuilt, &names)
    );
}

// ---------------------------------------------------------------------------------------------
// 3. decided at k, skipped below W

/// `resolve` makes a version the state once k drives list it (`decide`), but skips it as
/// "never acknowledged" when fewer than W drives list it or are silent (`quorum`). When
/// k < W — every k = m geometry (2+2, 3+3, 4+4) and every deletion of an even-sized set — a
/// version cut short on exactly k drives is readable while every drive answers, and skipped
/// as soon as one of them is silent; heal then acts on the older state and erases it.
///
/// 2+2, two keys, each with a write killed after phase one on drives 0 and 1:
/// - "put": `[v1, v0]` on drives 0, 1 and `[v0]` on 2, 3. GET returns v1.
/// - "del": `[deletion]` on drives 0, 1 and `[v0]` on 2, 3. GET returns NoSuchKey.
///
/// Then drive 0 is offline for a while and the (scanner's, here explicit) heal runs: "put"
/// reads as v0 again and heal drops v1 from drive 1; "del" reads as v0 again and heal rebuilds
/// v0 onto drive 1. When drive 0 returns, v1 is gone for good and the deleted object is back:
/// a version that was made visible later disappears ("either becomes fully visible or
/// disappears"; invariant 6).
#[test]
fn a_version_visible_on_k_drives_disappears_when_one_of_them_is_offline() {
    let d = Dirs::new(4);
    let (v0, v1) = (data(100, 1), data(100, 2));
    let e = d.open(cfg());
    e.make_bucket(B).unwrap();
    put(&e, B, "put", &v0);
    put(&e, B, "del", &v0);
    drop(e);
    let old: Vec<Entry> = d.paths.iter().map(|p| entry(p, "put")).collect();
    let e = d.open(cfg());
    put(&e, B, "put", &v1);
    drop(e);
    let new: Vec<Entry> = d.paths.iter().map(|p| entry(p, "put")).collect();
    let del = deletion(&entry(&d.paths[0], "del").version, "cut-short-delete");
    for i in 0..4 {
        if i < 2 {
            set_meta(&d.paths[i], "put", vec![new[i].clone(), old[i].clone()]);
            set_meta(&d.paths[i], "del", vec![del.clone()]);
        } else {
            set_meta(&d.paths[i], "put", vec![old[i].clone()]);
        }
    }
    let names: [(&str, &[u8]); 2] = [("v0", &v0), ("v1", &v1)];
    let mut seen = Vec::new();
    let mut look = |e: &Engine, when: &str| {
        seen.push(format!(
            "{when}: put → {}, del → {}",
            show(&get(e, B, "put"), &names),
            show(&get(e, B, "del"), &names)
        ));
    };

    let e = d.open(cfg());
    look(&e, "all drives");
    drop(e);
    hide(&d.paths[0]);
    let e = d.open(cfg());
    look(&e, "drive 0 offline");
    let heals = (
        e.heal_object(B, "put").is_ok(),
        e.heal_object(B, "del").is_ok(),
    );
    drop(e);
    restore(&d.paths[0]);
    let e = d.open(cfg());
    look(&e, &format!("heals {heals:?}, drive 0 back"));
    let put_now = get(&e, B, "put");
    let del_now = get(&e, B, "del");
    assert!(
        matches!(&put_now, Ok(b) if *b == v1)
            && matches!(del_now, Err(EngineError::NoSuchKey { .. })),
        "{}",
        seen.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// 4. dirty reads of writes that fail

/// The same gap between `decide` and `quorum`, without a crash: a write that misses its
/// quorum is on k drives in its phase-one form from its rename until `roll_back` undoes it,
/// and a lock-free reader (`read_state` returns at once when a version is decided) reads it.
///
/// 2+2 with drives 2 and 3 offline (W = 3 cannot be met): every PUT and DELETE of the key
/// fails with a write-quorum error and changes nothing, yet concurrent GETs return the bytes
/// of the failed PUTs, or NoSuchKey for the failed DELETEs, and then v0 again. (4+2 has the
/// same window for deletions, which decide at 3 and need 4.)
#[test]
fn reads_see_writes_that_fail_and_are_rolled_back() {
    let d = Dirs::new(4);
    let v0 = data(100, 1);
    let e = d.open(cfg());
    e.make_bucket(B).unwrap();
    put(&e, B, "k", &v0);
    for p in &d.paths[2..] {
        let (s, pos) = position_of(&e, p);
        e.take_offline(s, pos);
    }
    assert_eq!(get(&e, B, "k").unwrap(), v0, "readable with m drives gone");
    let stop = AtomicBool::new(false);
    let dirty = Mutex::new(Vec::<String>::new());
    let mut failed_writes = 0;
    std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(Ordering::SeqCst) {
                match get(&e, B, "k") {
                    Ok(b) if b == v0 => {}
                    Ok(b) => dirty
                        .lock()
                        .unwrap()
                        .push(format!("{} bytes of a failed PUT", b.len())),
                    Err(err) => dirty.lock().unwrap().push(format!("{err}")),
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut i = 0;
        while Instant::now() < deadline && dirty.lock().unwrap().len() < 3 {
            i += 1;
            let body = data(100, 1000 + i);
            let r = e.put_object(B, "k", &mut &body[..], &PutOptions::default());
            assert!(matches!(r, Err(EngineError::WriteQuorum { .. })), "{r:?}");
            let r = e.delete_object(B, "k");
            assert!(matches!(r, Err(EngineError::WriteQuorum { .. })), "{r:?}");
            failed_writes += 2;
        }
        stop.store(true, Ordering::SeqCst);
    });
    assert_eq!(get(&e, B, "k").unwrap(), v0);
    let dirty = dirty.into_inner().unwrap();
    assert!(
        dirty.is_empty(),
        "{failed_writes} writes failed and changed nothing, yet reads returned: {dirty:?}"
    );
}

/// The same window seen by a listing: `list_items` used to re-read a key under its lock only
/// when no version was decided, so a version on k drives but below its write quorum (a failing
/// PUT before its rollback) was listed with the failed PUT's size, and a failing DELETE's
/// `[deletion, current]` on k drives hid the key. It now re-reads every key that is not
/// settled, as `read_state` does.
///
/// Same set-up: 2+2 with drives 2 and 3 offline; every PUT (of another size) and DELETE fails,
/// while a lister checks that the key is listed, always with v0's size.
#[test]
fn listings_see_writes_that_fail_and_are_rolled_back() {
    let d = Dirs::new(4);
    let v0 = data(100, 1);
    let e = d.open(cfg());
    e.make_bucket(B).unwrap();
    put(&e, B, "k", &v0);
    for p in &d.paths[2..] {
        let (s, pos) = position_of(&e, p);
        e.take_offline(s, pos);
    }
    let query = ListQuery {
        max_keys: 1000,
        ..Default::default()
    };
    let stop = AtomicBool::new(false);
    let dirty = Mutex::new(Vec::<String>::new());
    let mut failed_writes = 0;
    std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(Ordering::SeqCst) {
                match e.list_objects(B, &query) {
                    Ok(page) => match &page.objects[..] {
                        [o] if o.key == "k" && o.size == 100 => {}
                        other => dirty.lock().unwrap().push(format!(
                            "listed {:?}",
                            other.iter().map(|o| (&o.key, o.size)).collect::<Vec<_>>()
                        )),
                    },
                    Err(err) => dirty.lock().unwrap().push(format!("{err}")),
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut i = 0;
        while Instant::now() < deadline && dirty.lock().unwrap().len() < 3 {
            i += 1;
            let body = data(300, 1000 + i);
            let r = e.put_object(B, "k", &mut &body[..], &PutOptions::default());
            assert!(matches!(r, Err(EngineError::WriteQuorum { .. })), "{r:?}");
            let r = e.delete_object(B, "k");
            assert!(matches!(r, Err(EngineError::WriteQuorum { .. })), "{r:?}");
            failed_writes += 2;
        }
        stop.store(true, Ordering::SeqCst);
    });
    let dirty = dirty.into_inner().unwrap();
    assert!(
        dirty.is_empty(),
        "{failed_writes} writes failed and changed nothing, yet listings returned: {dirty:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 5. delete_bucket and silent drives

/// `delete_bucket` calls the bucket empty when no set's listing yields an object; a listing
/// only sees keys some answering drive lists, so an object held only by silent drives is not
/// seen (listing never applies `resolve`'s "the silent drives could hold a whole write quorum"
/// rule). The bucket is removed from a majority of all drives, the object is lost with it, and
/// when the bucket name is created again and the drives return, the old object reappears in
/// the new bucket.
///
/// Two 2+2 sets. An object on drives A, B, C of its set (D was offline when it was written);
/// A, B, C are offline: 5 of 8 drives answer, enough for the bucket delete's majority.
#[test]
fn delete_bucket_succeeds_while_silent_drives_hold_an_object() {
    let d = Dirs::new(8);
    let c = Config {
        set_size: Some(4),
        parity: Some(2),
        ..cfg()
    };
    let (v0, holders) = on_three_of_four(&d, &c); // D missed the write
    for p in &holders[..3] {
        hide(p);
    }
    let e = open(&d.paths, c.clone());
    let deleted = e.delete_bucket(B);
    drop(e);
    for p in &holders[..3] {
        restore(p);
    }
    let e = open(&d.paths, c.clone());
    let exists = e.bucket_exists(B);
    let read = get(&e, B, "k");
    let recreated = e.make_bucket(B);
    let zombie = get(&e, B, "k");
    assert!(
        deleted.is_err(),
        "delete_bucket with an object on the silent drives: {deleted:?}; once they are back: \
         bucket exists {exists:?}, GET {}; make_bucket {recreated:?}, then GET {}",
        show(&read, &[("the object", &v0)]),
        show(&zombie, &[("the old object", &v0)])
    );
}

// ---------------------------------------------------------------------------------------------
// 6. a rebuild that cannot see every key clears the healing mark

/// `rebuild_drive` heals the keys its set's listing yields and clears the drive's healing
/// mark when none failed. Keys that only silent drives hold are not listed, so they are not
/// counted as failures: the mark goes while the rebuilt drive still lacks them, and from then
/// on its "not there" is a vote for absence (`answers_of`). (A rebuild whose write onto the
/// drive fails — full, EIO — is not counted as a failure either: `heal_version` leaves such a
/// target out and returns `Ok`, and `rebuild_drive` only counts `Err`.) Heal then takes an
/// acknowledged object for a write that was never acknowledged and removes it.
///
/// Two 2+2 sets. An object on A, B, C of its set (D was offline when it was written). A dies
/// and is replaced by an empty drive while B and C are offline (a node restarting): the
/// rebuild sees no key and clears A's mark. C comes back: the object is on C, B is silent,
/// A and D say "not there", so `resolve` calls it Absent (1 + 1 < W = 3) and the scanner rolls
/// it back — removing C's copy. When B comes back its lone copy is below k: an acknowledged
/// object whose shards were on two live drives (k = 2) is gone, after failures within parity.
#[test]
fn a_rebuild_blind_to_silent_drives_lets_the_scanner_delete_an_acknowledged_object() {
    let d = Dirs::new(8);
    let c = Config {
        set_size: Some(4),
        parity: Some(2),
        ..cfg()
    };
    let (body, holders) = on_three_of_four(&d, &c);
    let (a, b, c_) = (&holders[0], &holders[1], &holders[2]);
    let names: [(&str, &[u8]); 1] = [("the object", &body)];
    let mut steps = Vec::new();

    hide(a);
    fs::create_dir(a).unwrap(); // A replaced by an empty drive
    hide(b);
    hide(c_);
    let e = open(&d.paths, c.clone());
    e.heal_replaced_drives().unwrap();
    let healing = e
        .drives()
        .iter()
        .find(|s| s.path.as_deref() == Some(a.as_path()))
        .map(|s| s.healing);
    steps.push(format!(
        "A rebuilt while B, C offline: A healing {healing:?}, GET {}",
        show(&get(&e, B, "k"), &names)
    ));
    drop(e);

    restore(c_);
    let e = open(&d.paths, c.clone());
    steps.push(format!("C back: GET {}", show(&get(&e, B, "k"), &names)));
    e.scan_now();
    steps.push(format!(
        "after a scanner pass: C holds the key: {}",
        object_dir(c_, "k").join("%meta").exists()
    ));
    drop(e);

    restore(b);
    let e = open(&d.paths, c.clone());
    let last = get(&e, B, "k");
    steps.push(format!("B back: GET {}", show(&last, &names)));
    assert!(matches!(&last, Ok(x) if *x == body), "{}", steps.join("\n"));
}

/// `resolve` called a key Absent when the drives that answered listed nothing and fewer than
/// a write quorum were silent — counting a drive being rebuilt as a vote for absence, though
/// what it lacks may have been on the drive it replaced. GET answered NoSuchKey, and a DELETE
/// answered success, wrote nothing, and the object came back with its drives.
///
/// The set-up of the test above: an object on A, B, C (D missed it), A replaced by an empty
/// drive while B and C are offline. The key must be unknown (an error), not absent; once B and
/// C return, it reads back.
#[test]
fn a_drive_being_rebuilt_is_no_vote_for_absence() {
    let d = Dirs::new(8);
    let c = Config {
        set_size: Some(4),
        parity: Some(2),
        ..cfg()
    };
    let (body, holders) = on_three_of_four(&d, &c);
    let (a, b, c_) = (&holders[0], &holders[1], &holders[2]);
    hide(a);
    fs::create_dir(a).unwrap(); // A replaced by an empty drive
    hide(b);
    hide(c_);
    let e = open(&d.paths, c.clone());
    e.heal_replaced_drives().unwrap(); // A formatted and marked healing; B, C keep it so
    let read = get(&e, B, "k");
    let deleted = e.delete_object(B, "k");
    drop(e);
    restore(b);
    restore(c_);
    let e = open(&d.paths, c.clone());
    let back = get(&e, B, "k");
    assert!(
        matches!(read, Err(EngineError::ReadQuorum { .. }))
            && deleted.is_err()
            && matches!(&back, Ok(x) if *x == body),
        "with A being rebuilt and B, C offline: GET {}, DELETE {deleted:?}; B and C back: GET {}",
        show(&read, &[("the object", &body)]),
        show(&back, &[("the object", &body)])
    );
}

// ---------------------------------------------------------------------------------------------
// 7. long key segments

/// A key segment longer than 200 bytes is a digest directory with a `%name` file holding the
/// real segment. `create_object_dir` writes `%name` only when it creates the directory: one
/// left without it — a process killed between `create_dir` and the write, or `prune_empty`
/// (which removes `%name` first, then the directory) racing a commit that found the
/// directory already there — never gets it, and `walk` skips a digest directory without
/// `%name`. Every later write of the key succeeds and reads back, but the key never appears in
/// a listing, and the scanner (which walks listings) never checks or heals it.
#[test]
fn a_long_key_whose_directory_lost_its_name_file_is_never_listed() {
    let d = Dirs::new(4);
    let key = format!("dir/{}", "x".repeat(250));
    let e = d.open(cfg());
    e.make_bucket(B).unwrap();
    drop(e);
    // The first write of the key was killed just after making its directory.
    for p in &d.paths {
        fs::create_dir_all(object_dir(p, &key)).unwrap();
    }
    let e = d.open(cfg());
    let body = data(100, 1);
    put(&e, B, &key, &body);
    assert_eq!(get(&e, B, &key).unwrap(), body);
    let _ = e.heal_object(B, &key);
    let listed = all_keys(&e).unwrap();
    assert!(
        listed.contains(&key),
        "written and readable, but the listing is {listed:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 8. tombstones and common prefixes

/// A deletion acknowledged while a drive is offline stays as a tombstone (`%meta` holding the
/// deletion) until every drive has it. `has_object`, which decides whether a directory is a
/// common prefix, counts any `%meta`, tombstones included: a "folder" whose every object was
/// deleted keeps showing up in delimiter listings (as `aws s3 ls` shows `PRE dir/`), while
/// listing inside it shows nothing.
#[test]
fn deleted_objects_leave_a_common_prefix_while_a_drive_is_offline() {
    let d = Dirs::new(4);
    let e = d.open(cfg());
    e.make_bucket(B).unwrap();
    put(&e, B, "dir/a", &data(100, 1));
    let (s, pos) = position_of(&e, &d.paths[3]);
    e.take_offline(s, pos);
    e.delete_object(B, "dir/a").unwrap();
    let _ = e.heal_object(B, "dir/a");
    let page = e
        .list_objects(
            B,
            &ListQuery {
                delimiter: Some("/".into()),
                max_keys: 1000,
                ..Default::default()
            },
        )
        .unwrap();
    let inside = e
        .list_objects(
            B,
            &ListQuery {
                prefix: "dir/".into(),
                delimiter: Some("/".into()),
                max_keys: 1000,
                ..Default::default()
            },
        )
        .unwrap();
    assert!(
        page.prefixes.is_empty(),
        "bucket holds no object, yet the listing has prefixes {:?} (inside: {} objects)",
        page.prefixes,
        inside.objects.len()
    );
}

// ---------------------------------------------------------------------------------------------
// 9. listings and undecided keys

/// `list_objects` drops `Item::Undecided` keys silently: a listing taken while too many drives
/// are silent answers 200 with the keys it cannot decide missing, where a GET of each of them
/// answers 503. A client syncing or mirroring the bucket takes the missing keys as deleted.
///
/// 4+2 with 3 drives offline: both objects are undecided; the listing is empty and no error.
#[test]
fn a_listing_leaves_out_undecided_keys_without_an_error() {
    let d = Dirs::new(6);
    let c = Config {
        parity: Some(2),
        ..cfg()
    };
    let e = d.open(c);
    e.make_bucket(B).unwrap();
    put(&e, B, "a", &data(100, 1));
    put(&e, B, "b", &data(100, 2));
    for p in &d.paths[3..] {
        let (s, pos) = position_of(&e, p);
        e.take_offline(s, pos);
    }
    let read = get(&e, B, "a");
    let listed = all_keys(&e);
    assert!(
        listed.is_err(),
        "GET a: {}; listing: {listed:?}",
        show(&read, &[])
    );
}

// ---------------------------------------------------------------------------------------------
// 10. multipart: the newest attempt of a part wins even when too few drives hold it

/// Completion takes, for each part, the newest attempt with the named ETag among attempts k
/// drives hold (`complete_attempts`). In k = m geometries an attempt on k drives is below the
/// write quorum W = k + 1, so the completion, which links that attempt on the drives holding
/// it, fails its quorum — every time, although an older attempt with the same ETag is on all
/// drives. A part re-upload killed after reaching k drives (a client's retry of a part that
/// had succeeded) makes the upload impossible to complete: 503 for ever.
#[test]
fn a_part_retry_cut_short_on_k_drives_makes_the_upload_fail_for_ever() {
    let d = Dirs::new(4);
    let e = d.open(cfg());
    e.make_bucket(B).unwrap();
    let id = e.new_multipart(B, "mp", &PutOptions::default()).unwrap();
    let body = data(10_000, 1);
    let first = e.put_part(B, "mp", &id, 1, &mut &body[..], None).unwrap();
    let retry = e.put_part(B, "mp", &id, 1, &mut &body[..], None).unwrap();
    assert_eq!(first.etag, retry.etag);
    // The retry was killed after its rename on drives 0 and 1.
    for p in &d.paths[2..] {
        let dir = p
            .join(".strata.sys/multipart")
            .join(B)
            .join(&id)
            .join(format!("{:05}.{}", 1, retry.attempt));
        fs::remove_dir_all(&dir).unwrap();
    }
    drop(e);
    let e = d.open(cfg());
    let parts = [(1, first.etag.clone())];
    let tries: Vec<String> = (0..3)
        .map(|_| match e.complete_multipart(B, "mp", &id, &parts) {
            Ok(info) => format!("ok {}", info.etag),
            Err(err) => format!("{err}"),
        })
        .collect();
    assert!(
        tries.iter().all(|t| t.starts_with("ok")),
        "completions: {tries:?}"
    );
    assert_eq!(get(&e, B, "mp").unwrap(), body);
}

// ---------------------------------------------------------------------------------------------
// 11. the scanner and bucket deletion

/// `scan_pass` lists the buckets once, then for each set in turn runs `heal_buckets` (which
/// makes every listed bucket on every drive of the set that lacks it) and scans the set's keys.
/// A bucket deleted while the pass scans an earlier set is made again, on every drive of each
/// later set — enough for the bucket read quorum (half the drives) with two sets: a deleted
/// bucket comes back by itself.
#[test]
fn a_scanner_pass_recreates_a_bucket_deleted_while_it_runs() {
    let d = Dirs::new(8);
    let c = Config {
        set_size: Some(4),
        parity: Some(2),
        ..cfg()
    };
    let e = open(&d.paths, c);
    e.make_bucket("big").unwrap();
    e.make_bucket("gone").unwrap();
    for i in 0..300u64 {
        let body = data(70_000, i);
        e.put_object(
            "big",
            &format!("k{i}"),
            &mut &body[..],
            &PutOptions::default(),
        )
        .unwrap();
    }
    let (mut at_delete, mut just_after) = (0, None);
    std::thread::scope(|s| {
        let scan = s.spawn(|| e.scan_now());
        while e.stats().scanned.load(Ordering::Relaxed) < 5 {
            std::thread::sleep(Duration::from_millis(1));
        }
        e.delete_bucket("gone").unwrap();
        at_delete = e.stats().scanned.load(Ordering::Relaxed);
        just_after = Some(e.bucket_exists("gone").unwrap());
        scan.join().unwrap();
    });
    let now = e.bucket_exists("gone").unwrap();
    let listed: Vec<String> = e
        .list_buckets()
        .unwrap()
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert!(
        !now,
        "deleted while the scanner had checked {at_delete} of 300 keys (exists just after: \
         {just_after:?}); after the pass: exists {now}, buckets {listed:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 12. deferred removal and the key's directory

/// A data directory held by a reader is removed by the last reader (`Leases::release` →
/// `remove_now`), which does not prune the key's now-empty directories; the scanner never
/// visits a directory with neither metadata nor leftovers, so every key deleted (or whose
/// directory was otherwise emptied) during a GET leaves its directory chain for ever.
#[test]
fn a_key_deleted_while_it_is_read_leaves_its_directories_for_ever() {
    let d = Dirs::new(4);
    let e = d.open(cfg());
    e.make_bucket(B).unwrap();
    put(&e, B, "a/b", &data(100_000, 1));
    let reader = e.get_object(B, "a/b", None).unwrap();
    e.delete_object(B, "a/b").unwrap();
    drop(reader);
    e.scan_now();
    e.sweep_orphans();
    let left: Vec<PathBuf> = d
        .paths
        .iter()
        .map(|p| p.join(B).join("a"))
        .filter(|p| p.exists())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
