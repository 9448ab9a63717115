//! The background workers on their own, with no client read to set them off: the scanner
//! heals damage nobody reads (parity shards, metadata copies), an emptied drive given at
//! start-up is rebuilt, a drive that goes away and comes back is brought back and rebuilt, each
//! byte-identical to what the writes stored, with progress counted.

use strata_testkit as common;

use crate::support::{cfg, data, find_file, get, put, snapshot, Dirs};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use strata_engine::names::key_dir;
use strata_engine::{Config, Engine, PutOptions, Stats, WorkerState, WorkerStatus};

fn object_dir(drive: &Path, bucket: &str, key: &str) -> PathBuf {
    drive.join(bucket).join(key_dir(key))
}

fn background(parity: usize) -> Config {
    Config {
        parity: Some(parity),
        background_heal: true,
        scan_interval: Some(Duration::from_millis(300)),
        scan_bytes_per_sec: 1 << 30,
        drive_check_interval: Duration::from_millis(100),
        ..cfg()
    }
}

/// Every file on the drive but the temporary area and the healing mark.
fn files(drive: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut s = snapshot(drive);
    s.retain(|p, _| !p.starts_with(".strata.sys/healing"));
    s
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Objects of every kind: inline, multi-block, multipart, in a nested key.
fn populate(e: &Engine) -> Vec<(String, Vec<u8>)> {
    e.make_bucket("bgw").unwrap();
    let mut out = Vec::new();
    for (key, body) in [
        ("inline", data(900, 1)),
        ("blocks", data(300_000, 2)),
        ("a/b/nested", data(70_000, 3)),
    ] {
        put(e, "bgw", key, &body);
        out.push((key.to_string(), body));
    }
    let id = e
        .new_multipart("bgw", "mpu", &PutOptions::default())
        .unwrap();
    let p1 = data(110_000, 4);
    let p2 = data(5000, 5);
    let t1 = e
        .put_part("bgw", "mpu", &id, 1, &mut &p1[..], None)
        .unwrap();
    let t2 = e
        .put_part("bgw", "mpu", &id, 2, &mut &p2[..], None)
        .unwrap();
    e.complete_multipart("bgw", "mpu", &id, &[(1, t1.etag), (2, t2.etag)])
        .unwrap();
    out.push(("mpu".into(), [p1, p2].concat()));
    out
}

/// The positions holding parity shards (index ≥ k) of a key.
fn parity_drives(d: &Dirs, key: &str, k: u8) -> Vec<usize> {
    (0..d.paths.len())
        .filter(|&p| {
            let b = std::fs::read(object_dir(&d.paths[p], "bgw", key).join("%meta")).unwrap();
            strata_engine::meta::MetaFile::decode(&b).unwrap().versions[0].shard >= k
        })
        .collect()
}

fn flip(path: &Path, at: usize) {
    let mut b = std::fs::read(path).unwrap();
    b[at] ^= 0x20;
    std::fs::write(path, b).unwrap();
}

/// Damage only parity shards and metadata copies hold — never met by a read, which takes data
/// shards — is healed by the scanner alone, byte-identical, in 2+2 and 4+2.
#[test]
fn the_scanner_heals_damage_no_read_meets() {
    for (drives, parity) in [(4usize, 2usize), (6, 2)] {
        let k = (drives - parity) as u8;
        let d = Dirs::new(drives);
        let e = d.open(Config {
            scan_interval: None,
            ..background(parity)
        });
        populate(&e);
        drop(e);
        let before: Vec<_> = d.paths.iter().map(|p| files(p)).collect();
        // A flipped bit in a parity shard, a parity shard file gone, a truncated one, a
        // metadata copy gone, and an inline object's copy with a flipped bit.
        let pb = parity_drives(&d, "blocks", k);
        flip(
            &find_file(&object_dir(&d.paths[pb[0]], "bgw", "blocks"), "part.1").unwrap(),
            5000,
        );
        let pm = parity_drives(&d, "mpu", k);
        std::fs::remove_file(
            find_file(&object_dir(&d.paths[pm[0]], "bgw", "mpu"), "part.2").unwrap(),
        )
        .unwrap();
        let f = find_file(&object_dir(&d.paths[pm[1]], "bgw", "mpu"), "part.1").unwrap();
        let len = std::fs::metadata(&f).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&f)
            .unwrap()
            .set_len(len - 7)
            .unwrap();
        let pn = parity_drives(&d, "a/b/nested", k);
        std::fs::remove_file(object_dir(&d.paths[pn[0]], "bgw", "a/b/nested").join("%meta"))
            .unwrap();
        let pi = parity_drives(&d, "inline", k);
        flip(
            &object_dir(&d.paths[pi[0]], "bgw", "inline").join("%meta"),
            60,
        );

        let e = d.open(Config {
            scan_interval: Some(Duration::from_millis(200)),
            ..background(parity)
        });
        wait_for(
            "the scanner to heal four keys",
            Duration::from_secs(30),
            || Stats::get(&e.stats().scan_healed) >= 4,
        );
        let s = e.stats();
        assert!(Stats::get(&s.scanned) >= 4);
        assert!(Stats::get(&s.scan_bytes) > 0);
        assert_eq!(
            Stats::get(&s.heals_done),
            0,
            "no read queued a heal: there was none"
        );
        drop(e);
        for (i, (want, p)) in before.iter().zip(&d.paths).enumerate() {
            assert_eq!(
                &files(p),
                want,
                "{drives} drives: drive {i} after the scanner"
            );
        }
    }
}

/// An emptied drive given at start-up in its old place is formatted into it, marked healing,
/// rebuilt by the engine itself, and ends byte-identical, with the rebuild's progress and time
/// to full redundancy counted. Meanwhile every object reads back.
#[test]
fn an_emptied_drive_is_rebuilt_by_itself() {
    let d = Dirs::new(6);
    let e = d.open(Config {
        scan_interval: None,
        ..background(2)
    });
    let objects = populate(&e);
    drop(e);
    let before = files(&d.paths[3]);
    std::fs::remove_dir_all(&d.paths[3]).unwrap();
    std::fs::create_dir(&d.paths[3]).unwrap();
    let e = d.open(Config {
        scan_interval: None,
        ..background(2)
    });
    for (key, body) in &objects {
        assert_eq!(
            &get(&e, "bgw", key).unwrap(),
            body,
            "{key} while rebuilding"
        );
    }
    wait_for("the rebuild", Duration::from_secs(30), || {
        e.stats()
            .rebuilds()
            .iter()
            .any(|(place, r)| place.1 == 3 && r.finished.is_some())
    });
    // Reads meanwhile queue heals of what they find missing: the healer and the rebuild
    // share the work; the rebuild looked at every key.
    let (_, r) = e
        .stats()
        .rebuilds()
        .into_iter()
        .find(|(p, _)| p.1 == 3)
        .unwrap();
    assert!(r.checked >= objects.len() as u64 && r.failed == 0, "{r:?}");
    assert!(!e.drives()[3].healing);
    assert!(e.problems().is_empty(), "{:?}", e.problems());
    drop(e);
    let mut after = files(&d.paths[3]);
    // The format record is rewritten (same deployment, same drive id); compare the rest.
    let fmt = PathBuf::from(".strata.sys/format.json");
    let (a, b) = (after.remove(&fmt), before.clone().remove(&fmt));
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&a.unwrap()).unwrap(),
        serde_json::from_slice::<serde_json::Value>(&b.unwrap()).unwrap()
    );
    let mut before = before;
    before.remove(&fmt);
    assert_eq!(after, before, "the rebuilt drive holds what it held");
}

/// A drive that goes away (unmounted, its directory moved) is taken out of service; writes,
/// overwrites and deletes go on without it; when it comes back it is put back, healing, and
/// rebuilt: afterwards every object reads back with parity-many other drives gone.
#[test]
fn a_drive_that_returns_is_brought_back_and_rebuilt() {
    let d = Dirs::new(6);
    let e = d.open(Config {
        scan_interval: None,
        ..background(2)
    });
    let mut objects: BTreeMap<String, Vec<u8>> = populate(&e).into_iter().collect();
    let away = d.paths[1].with_extension("away");
    std::fs::rename(&d.paths[1], &away).unwrap();
    // Taken out of service by the drive monitor (not only failing a check): the writes below
    // must happen while the engine knows it is gone.
    wait_for(
        "the drive to go out of service",
        Duration::from_secs(10),
        || e.drives()[1].path.is_none(),
    );
    for (key, body) in [("new", data(200_000, 9)), ("blocks", data(150_000, 10))] {
        put(&e, "bgw", key, &body);
        objects.insert(key.to_string(), body);
    }
    e.delete_object("bgw", "inline").unwrap();
    objects.remove("inline");
    std::fs::rename(&away, &d.paths[1]).unwrap();
    wait_for("the drive to be rebuilt", Duration::from_secs(30), || {
        e.stats()
            .rebuilds()
            .iter()
            .any(|(place, r)| place.1 == 1 && r.finished.is_some())
    });
    assert!(e.drives()[1].online && !e.drives()[1].healing);
    assert!(matches!(
        e.head_object("bgw", "inline"),
        Err(strata_engine::EngineError::NoSuchKey { .. })
    ));
    // With two other drives out, drive 1's shards are needed for every object.
    e.take_offline(0, 4);
    e.take_offline(0, 5);
    for (key, body) in &objects {
        assert_eq!(&get(&e, "bgw", key).unwrap(), body, "{key}");
    }
}

/// Real XFS drives: one is unmounted while the engine runs. Its bare mount point — an empty,
/// unformatted directory at a drive's path — is never taken for a replacement (formatting it
/// would put a drive on the filesystem below); mounted again, the drive is brought back,
/// rebuilt with what was written meanwhile, and every object reads with two others gone.
#[test]
fn an_unmounted_drive_is_not_mistaken_for_a_replacement() {
    let xfs: Vec<common::XfsDrive> = (0..6).map(|_| common::XfsDrive::new(320)).collect();
    let paths: Vec<PathBuf> = xfs.iter().map(|x| x.path.clone()).collect();
    let e = Engine::open(
        std::slice::from_ref(&paths),
        Config {
            scan_interval: None,
            ..background(2)
        },
    )
    .unwrap();
    let mut objects: BTreeMap<String, Vec<u8>> = populate(&e).into_iter().collect();
    xfs[2].unmount();
    wait_for(
        "the drive to go out of service",
        Duration::from_secs(10),
        || e.drives()[2].path.is_none(),
    );
    for (key, body) in [("while-out", data(250_000, 21)), ("inline", data(300, 22))] {
        put(&e, "bgw", key, &body);
        objects.insert(key.to_string(), body);
    }
    // Several monitor rounds with the bare mount point there.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !paths[2].join(".strata.sys").exists(),
        "the bare mount point was formatted"
    );
    assert!(!e.drives()[2].online);
    xfs[2].mount();
    wait_for("the drive to be rebuilt", Duration::from_secs(30), || {
        e.stats()
            .rebuilds()
            .iter()
            .any(|(place, r)| place.1 == 2 && r.finished.is_some())
    });
    e.take_offline(0, 4);
    e.take_offline(0, 5);
    for (key, body) in &objects {
        assert_eq!(&get(&e, "bgw", key).unwrap(), body, "{key}");
    }
}

fn worker(e: &Engine, name: &str) -> WorkerStatus {
    e.workers()
        .into_iter()
        .find(|w| w.name == name)
        .unwrap_or_else(|| panic!("no worker {name} in {:?}", e.workers()))
}

/// The drive holding shard `index` of a key.
fn shard_drive(d: &Dirs, key: &str, index: u8) -> usize {
    (0..d.paths.len())
        .find(|&p| {
            let b = std::fs::read(object_dir(&d.paths[p], "bgw", key).join("%meta")).unwrap();
            strata_engine::meta::MetaFile::decode(&b).unwrap().versions[0].shard == index
        })
        .unwrap()
}

/// The four workers are listed from the start, none failed; stopped, each shows stopped and
/// stays listed. An engine without background work lists none.
#[test]
fn the_workers_are_listed_and_show_stopped_once_stopped() {
    let d = Dirs::new(4);
    let e = d.open(background(2));
    let mut names: Vec<String> = e.workers().into_iter().map(|w| w.name).collect();
    names.sort();
    assert_eq!(names, ["drive-monitor", "healer", "rebuild", "scanner"]);
    for w in e.workers() {
        assert_ne!(w.state, WorkerState::Failed, "{w:?}");
        assert_ne!(w.state, WorkerState::Stopped, "{w:?}");
    }
    e.stop_workers();
    let workers = e.workers();
    assert_eq!(workers.len(), 4);
    for w in workers {
        assert_eq!(w.state, WorkerState::Stopped, "{w:?}");
    }
    drop(e);
    let e = d.open(cfg());
    assert!(e.workers().is_empty(), "{:?}", e.workers());
}

/// The scanner's status follows its passes: in the middle of one (busy, or resting to keep to
/// its rate) on a named key, idle between them; passes and keys are counted.
#[test]
fn the_scanner_reports_its_passes() {
    let d = Dirs::new(4);
    let e = d.open(Config {
        scan_interval: None,
        ..background(2)
    });
    let keys = populate(&e).len() as u64;
    drop(e);
    // A deep pass reads about 1 MB: at 4 MiB/s it can be seen running, and it ends well
    // before the next is due.
    let e = d.open(Config {
        scan_interval: Some(Duration::from_millis(800)),
        scan_bytes_per_sec: 4 << 20,
        ..background(2)
    });
    // Seen: a key in the middle of a deep pass (busy, or resting to keep to the rate), then
    // idle with that pass done.
    let (mut on_key, mut done_after) = (false, false);
    let pass_done = format!(" (deep) done: {keys} keys, 0 healed");
    wait_for(
        "a deep pass seen running, then done",
        Duration::from_secs(30),
        || {
            let w = worker(&e, "scanner");
            match w.state {
                WorkerState::Busy | WorkerState::Throttled => {
                    on_key |= w.doing.contains(" (deep), key ") && w.doing.contains(": bgw/");
                }
                WorkerState::Idle => done_after |= on_key && w.doing.ends_with(&pass_done),
                other => panic!("scanner {other:?}: {w:?}"),
            }
            w.rounds >= 3 && done_after
        },
    );
    let w = worker(&e, "scanner");
    assert!(w.done >= 3 * keys, "{w:?}");
    assert_eq!((w.errors, w.last_error.is_none()), (0, true), "{w:?}");
    assert!(Stats::get(&e.stats().scan_passes) >= 2);
}

/// A read that meets a damaged data shard queues a heal: the healer counts it, names the key
/// and is idle again with an empty queue.
#[test]
fn the_healer_reports_the_keys_it_heals() {
    let d = Dirs::new(4);
    let e = d.open(Config {
        scan_interval: None,
        ..background(2)
    });
    let objects: BTreeMap<String, Vec<u8>> = populate(&e).into_iter().collect();
    // Without an interval the scanner ends after its light pass: no scanner heals below.
    wait_for("the light pass", Duration::from_secs(10), || {
        worker(&e, "scanner").state == WorkerState::Stopped
    });
    let before = worker(&e, "healer");
    assert_eq!((before.done, before.queue), (0, Some(0)), "{before:?}");
    assert_eq!(before.state, WorkerState::Idle);
    let at = shard_drive(&d, "blocks", 0);
    flip(
        &find_file(&object_dir(&d.paths[at], "bgw", "blocks"), "part.1").unwrap(),
        5000,
    );
    assert_eq!(&get(&e, "bgw", "blocks").unwrap(), &objects["blocks"]);
    wait_for("the healer", Duration::from_secs(20), || {
        let w = worker(&e, "healer");
        w.done >= 1 && w.state == WorkerState::Idle
    });
    let w = worker(&e, "healer");
    assert_eq!(w.done, 1, "{w:?}");
    assert_eq!(w.doing, "bgw/blocks");
    assert_eq!((w.errors, w.queue), (0, Some(0)), "{w:?}");
    assert!(w.active > before.active, "{w:?}");
    assert_eq!(e.heals_done(), 1);
}
