//! Fault tests on real directories and real loop devices: drives that vanish, that cannot be
//! read, that fill up, damage that healing must undo byte for byte, and replaced drives.
//!
//! The loop-device tests need root (as every test here does); their mounts and loop devices
//! are released by guards even when an assertion fails.

use strata_testkit as common;

use crate::support::{cfg, data, find_file, get, put, snapshot, Dirs};
use common::LoopDevice;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use strata_engine::drive::faulty::{FaultPlan, FaultyDrive};
use strata_engine::drive::Drive;
use strata_engine::meta::{Entry, MetaFile};
use strata_engine::names::key_dir;
use strata_engine::{Config, DriveProblem, Engine, EngineError, ListQuery, PutOptions};

type Snapshot = BTreeMap<PathBuf, Vec<u8>>;

// ---------------------------------------------------------------------------------------------
// helpers

fn snapshots(paths: &[PathBuf]) -> Vec<Snapshot> {
    paths.iter().map(|p| snapshot(p)).collect()
}

/// Asserts two snapshots hold the same files with the same bytes, naming the first difference.
fn assert_same(label: &str, want: &Snapshot, got: &Snapshot) {
    let missing: Vec<&PathBuf> = want.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<&PathBuf> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{label}: missing files {missing:?}, unexpected files {extra:?}"
    );
    for (path, bytes) in want {
        let other = &got[path];
        if bytes != other {
            let first = bytes.iter().zip(other).position(|(a, b)| a != b);
            panic!(
                "{label}: {} differs ({} vs {} bytes, first difference at {first:?})",
                path.display(),
                bytes.len(),
                other.len()
            );
        }
    }
}

/// Everything left in the drives' temporary areas (writes in progress, none between calls).
fn tmp_leftovers(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        if let Ok(rd) = fs::read_dir(p.join(".strata.sys/tmp")) {
            out.extend(rd.flatten().map(|e| e.path()));
        }
    }
    out
}

/// The drive id at each path, as the engine reports it.
fn drive_id(e: &Engine, path: &Path) -> String {
    e.drives()
        .into_iter()
        .find(|d| d.path.as_deref() == Some(path))
        .unwrap_or_else(|| panic!("no drive at {}", path.display()))
        .drive_id
}

fn position_of(e: &Engine, path: &Path) -> usize {
    e.drives()
        .into_iter()
        .find(|d| d.path.as_deref() == Some(path))
        .unwrap_or_else(|| panic!("no drive at {}", path.display()))
        .position
}

fn object_dir(drive: &Path, bucket: &str, key: &str) -> PathBuf {
    drive.join(bucket).join(key_dir(key))
}

/// The newest entry of the key's metadata on a drive.
fn read_meta(drive: &Path, bucket: &str, key: &str) -> Entry {
    let bytes = std::fs::read(object_dir(drive, bucket, key).join("%meta")).unwrap();
    MetaFile::decode(&bytes).unwrap().versions.remove(0)
}

fn flip_bit(path: &Path, offset: usize) {
    let mut bytes = fs::read(path).unwrap();
    bytes[offset] ^= 0x04;
    fs::write(path, bytes).unwrap();
}

fn keys(e: &Engine, bucket: &str) -> Vec<String> {
    e.list_objects(
        bucket,
        &ListQuery {
            max_keys: 1000,
            ..Default::default()
        },
    )
    .unwrap()
    .objects
    .into_iter()
    .map(|o| o.key)
    .collect()
}

fn put_err(e: &Engine, bucket: &str, key: &str, body: &[u8]) -> EngineError {
    match e.put_object(bucket, key, &mut &body[..], &PutOptions::default()) {
        Ok(info) => panic!("put {key} succeeded: {info:?}"),
        Err(err) => err,
    }
}

/// Asserts a write-quorum failure with these counts, naming exactly the `failed` drives.
fn assert_write_quorum(
    err: &EngineError,
    ok_want: usize,
    needed_want: usize,
    failed: &[&str],
    fine: &[&str],
) {
    let EngineError::WriteQuorum {
        ok,
        needed,
        failures,
        ..
    } = err
    else {
        panic!("expected a write-quorum error, got {err:?}");
    };
    assert_eq!((*ok, *needed), (ok_want, needed_want), "{failures}");
    for id in failed {
        assert!(
            failures.contains(&format!("drive {id}:")),
            "failed drive {id} not named in: {failures}"
        );
    }
    for id in fine {
        assert!(
            !failures.contains(id),
            "healthy drive {id} named in: {failures}"
        );
    }
}

/// A small ext4 filesystem on a loop device, mounted on a temporary directory: one drive.
/// Dropping it unmounts (lazily if busy) and then detaches the loop device.
struct Ext4Drive {
    path: PathBuf,
    _mnt: tempfile::TempDir,
    _dev: LoopDevice,
}

impl Ext4Drive {
    fn new(mib: u64) -> Ext4Drive {
        let dev = LoopDevice::new(mib * common::MIB);
        let mnt = tempfile::tempdir().unwrap();
        let path = mnt.path().join("drive");
        fs::create_dir(&path).unwrap();
        let drive = Ext4Drive {
            path,
            _mnt: mnt,
            _dev: dev,
        };
        // No reserved blocks (root could use them anyway), no lazy init writing behind us.
        sh(Command::new("mkfs.ext4")
            .args(["-q", "-F", "-m", "0", "-E", "lazy_itable_init=0,nodiscard"])
            .arg(&drive._dev.dev));
        sh(Command::new("mount").arg(&drive._dev.dev).arg(&drive.path));
        drive
    }

    /// Makes every later access to the filesystem fail with EIO, as a drive that died does
    /// (FS_IOC_SHUTDOWN, "no log flush"). Only unmounting remains possible.
    fn shut_down(&self) {
        const FS_IOC_SHUTDOWN: libc::c_ulong = 0x8004_587d; // _IOR('X', 125, __u32)
        const NOLOGFLUSH: u32 = 2;
        let dir = fs::File::open(&self.path).unwrap();
        let flags = NOLOGFLUSH;
        // SAFETY: the ioctl reads one u32 from a valid pointer; the fd is open.
        let rc = unsafe {
            libc::ioctl(
                std::os::fd::AsRawFd::as_raw_fd(&dir),
                FS_IOC_SHUTDOWN,
                &flags as *const u32,
            )
        };
        assert_eq!(rc, 0, "shutdown: {}", std::io::Error::last_os_error());
    }
}

impl Drop for Ext4Drive {
    fn drop(&mut self) {
        let clean = Command::new("umount")
            .arg(&self.path)
            .status()
            .is_ok_and(|s| s.success());
        if !clean {
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}

fn sh(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------------------------------------
// (a) drives deleted mid-life

/// 2+2 (k == m, write quorum k+1 = 3): one drive gone, everything works; two gone, reads
/// still work but writes fail, name the failed drives, and leave nothing behind.
#[test]
fn deleted_drives_2_plus_2_read_to_m_write_to_quorum() {
    let d = Dirs::new(4);
    let e = d.open(cfg());
    e.make_bucket("bkt").unwrap();
    e.make_bucket("spare").unwrap();
    let big = data(300_000, 1);
    let small = data(100, 2);
    put(&e, "bkt", "big", &big);
    put(&e, "bkt", "small", &small);
    let ids: Vec<String> = d.paths.iter().map(|p| drive_id(&e, p)).collect();

    fs::remove_dir_all(&d.paths[0]).unwrap();
    assert_eq!(get(&e, "bkt", "big").unwrap(), big);
    assert_eq!(get(&e, "bkt", "small").unwrap(), small);
    let after = data(200_000, 3);
    put(&e, "bkt", "after-one", &after);
    put(&e, "bkt", "after-one-small", &small);
    assert_eq!(get(&e, "bkt", "after-one").unwrap(), after);
    // Buckets and multipart uploads too work around it.
    e.make_bucket("late").unwrap();
    let id = e
        .new_multipart("late", "mpu", &PutOptions::default())
        .unwrap();
    let part = e
        .put_part("late", "mpu", &id, 1, &mut &after[..], None)
        .unwrap();
    e.complete_multipart("late", "mpu", &id, &[(1, part.etag)])
        .unwrap();
    assert_eq!(get(&e, "late", "mpu").unwrap(), after);
    assert!(
        !d.paths[0].exists(),
        "a write recreated the deleted drive directory (it would write into a bare mount point)"
    );
    assert_eq!(tmp_leftovers(&d.paths), Vec::<PathBuf>::new());
    assert!(e.write_quorum_ok());

    fs::remove_dir_all(&d.paths[1]).unwrap();
    assert!(!e.write_quorum_ok());
    for (k, want) in [
        ("big", &big),
        ("small", &small),
        ("after-one", &after),
        ("after-one-small", &small),
    ] {
        assert_eq!(
            &get(&e, "bkt", k).unwrap(),
            want,
            "{k} with m = 2 drives gone"
        );
    }
    assert_eq!(keys(&e, "bkt").len(), 4);

    let online = &d.paths[2..];
    let before = snapshots(online);
    for (key, body) in [("denied", &data(200_000, 4)), ("denied-small", &small)] {
        let err = put_err(&e, "bkt", key, body);
        assert_write_quorum(&err, 2, 3, &[&ids[0], &ids[1]], &[&ids[2], &ids[3]]);
        assert!(matches!(
            e.head_object("bkt", key),
            Err(EngineError::NoSuchKey { .. })
        ));
        assert!(matches!(
            get(&e, "bkt", key),
            Err(EngineError::NoSuchKey { .. })
        ));
    }
    // Buckets follow the same write quorum (a majority of drives): neither created nor
    // deleted, and nothing changed on the drives that did answer.
    let err = e.make_bucket("never").unwrap_err();
    assert_write_quorum(&err, 2, 3, &[], &[&ids[2], &ids[3]]);
    assert!(!e.bucket_exists("never").unwrap());
    // Deleting one is refused before anything is written: with half the drives out, keys only
    // they list could exist, so the bucket's emptiness cannot be told.
    let err = e.delete_bucket("spare").unwrap_err();
    assert!(matches!(err, EngineError::ReadQuorum { .. }), "{err}");
    assert!(e.bucket_exists("spare").unwrap());
    // An overwrite that fails keeps the old object.
    let err = put_err(&e, "bkt", "big", &data(70_000, 5));
    assert_write_quorum(&err, 2, 3, &[&ids[0], &ids[1]], &[&ids[2], &ids[3]]);
    assert_eq!(get(&e, "bkt", "big").unwrap(), big);
    assert_eq!(
        keys(&e, "bkt"),
        vec!["after-one", "after-one-small", "big", "small"]
    );
    for (i, (b, a)) in before.iter().zip(snapshots(online)).enumerate() {
        assert_same(&format!("drive {} after failed writes", i + 2), b, &a);
    }
    assert_eq!(tmp_leftovers(&d.paths), Vec::<PathBuf>::new());
    assert!(!d.paths[0].exists() && !d.paths[1].exists());
}

/// 4+2 (k > m, write quorum k = 4): two drives gone, writes still succeed; a third gone,
/// writes fail and reads fail with a read-quorum error, never wrong data.
#[test]
fn deleted_drives_4_plus_2_write_with_m_gone() {
    let d = Dirs::new(6);
    // (Six drives default to 3+3; ask for 4+2.)
    let e = d.open(Config {
        parity: Some(2),
        ..cfg()
    });
    e.make_bucket("bkt").unwrap();
    let body = data(500_000, 6);
    put(&e, "bkt", "before", &body);
    let ids: Vec<String> = d.paths.iter().map(|p| drive_id(&e, p)).collect();
    fs::remove_dir_all(&d.paths[2]).unwrap();
    fs::remove_dir_all(&d.paths[5]).unwrap();
    let later = data(333_333, 7);
    put(&e, "bkt", "later", &later);
    put(&e, "bkt", "inline", b"tiny");
    assert_eq!(get(&e, "bkt", "before").unwrap(), body);
    assert_eq!(get(&e, "bkt", "later").unwrap(), later);
    assert_eq!(get(&e, "bkt", "inline").unwrap(), b"tiny");
    assert_eq!(tmp_leftovers(&d.paths), Vec::<PathBuf>::new());

    fs::remove_dir_all(&d.paths[0]).unwrap();
    let online: Vec<PathBuf> = [1, 3, 4].map(|i| d.paths[i].clone()).to_vec();
    let before = snapshots(&online);
    let err = put_err(&e, "bkt", "denied", &data(100_000, 8));
    assert_write_quorum(
        &err,
        3,
        4,
        &[&ids[0], &ids[2], &ids[5]],
        &[&ids[1], &ids[3], &ids[4]],
    );
    for key in ["before", "later", "inline"] {
        match get(&e, "bkt", key) {
            Err(EngineError::ReadQuorum { .. }) => {}
            other => panic!("{key} with 3 of 6 drives: {:?}", other.map(|v| v.len())),
        }
    }
    // Never written anywhere: 3 silent drives cannot hide a version, every write quorum of a
    // 6-drive set is at least 4, so the 3 that answer can tell the key is absent.
    assert!(matches!(
        get(&e, "bkt", "denied"),
        Err(EngineError::NoSuchKey { .. })
    ));
    for (b, a) in before.iter().zip(snapshots(&online)) {
        assert_same("after the failed write", b, &a);
    }
    assert_eq!(tmp_leftovers(&d.paths), Vec::<PathBuf>::new());
}

/// Every geometry, k = m and k > n/2: with m drives gone, every object reads and writes go on
/// (k > m) or fail cleanly (k = m: the write quorum is k + 1); with m + 1 gone, objects cannot
/// be read (an error, never a wrong or missing answer), writes fail without changing a file,
/// and a key never written is known absent exactly when the drives left could not miss a
/// write quorum.
#[test]
fn losing_drives_in_every_geometry() {
    for (n, parity) in [(4usize, 2usize), (6, 2), (8, 4), (16, 4)] {
        let k = n - parity;
        let d = Dirs::new(n);
        let e = d.open(Config {
            parity: Some(parity),
            ..cfg()
        });
        e.make_bucket("geo").unwrap();
        let objects: Vec<(String, Vec<u8>)> = [("inline", 500), ("blocks", 260_000)]
            .iter()
            .enumerate()
            .map(|(i, (k, len))| (k.to_string(), data(*len, i as u64 + 40)))
            .collect();
        for (key, body) in &objects {
            put(&e, "geo", key, body);
        }
        let what = format!("{k}+{parity}");
        for p in &d.paths[..parity] {
            fs::remove_dir_all(p).unwrap();
        }
        for (key, body) in &objects {
            assert_eq!(&get(&e, "geo", key).unwrap(), body, "{what}: {key}, m gone");
        }
        let later = data(70_000, 49);
        let wrote = e.put_object("geo", "later", &mut &later[..], &PutOptions::default());
        if k > parity {
            wrote.unwrap();
            assert_eq!(get(&e, "geo", "later").unwrap(), later, "{what}");
        } else {
            assert!(
                matches!(wrote, Err(EngineError::WriteQuorum { .. })),
                "{what}"
            );
        }
        fs::remove_dir_all(&d.paths[parity]).unwrap();
        let left = d.paths[parity + 1..].to_vec();
        let before = snapshots(&left);
        for (key, _) in &objects {
            assert!(
                matches!(get(&e, "geo", key), Err(EngineError::ReadQuorum { .. })),
                "{what}: {key} with m + 1 gone"
            );
        }
        // A write quorum is missing (with too few drives for the bucket itself, its
        // existence is unknown first: a read-quorum error). Both are 503 to a client.
        let denied = put_err(&e, "geo", "denied", &data(10_000, 50));
        assert!(
            matches!(
                denied,
                EngineError::WriteQuorum { .. } | EngineError::ReadQuorum { .. }
            ),
            "{what}: {denied}"
        );
        for (b, a) in before.iter().zip(snapshots(&left)) {
            assert_same(&format!("{what}: after a refused write"), b, &a);
        }
        let never = get(&e, "geo", "never-written");
        if parity + 1 < n / 2 + 1 {
            assert!(
                matches!(never, Err(EngineError::NoSuchKey { .. })),
                "{what}: {never:?}"
            );
        } else {
            assert!(
                matches!(never, Err(EngineError::ReadQuorum { .. })),
                "{what}: {never:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// (b) drives that cannot be read (root ignores permissions, so the files themselves are bad)

/// The drive directory is replaced by a regular file (ENOTDIR everywhere below it).
#[test]
fn drive_replaced_by_a_file_is_read_around_and_left_alone() {
    let d = Dirs::new(4);
    let e = d.open(cfg());
    e.make_bucket("bkt").unwrap();
    let big = data(300_000, 10);
    put(&e, "bkt", "big", &big);
    put(&e, "bkt", "small", b"hello");
    fs::remove_dir_all(&d.paths[3]).unwrap();
    fs::write(&d.paths[3], b"not a drive").unwrap();

    assert_eq!(get(&e, "bkt", "big").unwrap(), big);
    assert_eq!(get(&e, "bkt", "small").unwrap(), b"hello");
    assert_eq!(e.head_object("bkt", "big").unwrap().size, 300_000);
    let new = data(100_000, 11);
    put(&e, "bkt", "new", &new);
    assert_eq!(get(&e, "bkt", "new").unwrap(), new);
    assert_eq!(keys(&e, "bkt"), vec!["big", "new", "small"]);
    // Heal cannot write to it: it must neither fail the others nor claim it healed it.
    let r = e.heal_object("bkt", "new").unwrap();
    assert!(!r.healed.contains(&3), "{r:?}");
    assert_eq!(fs::read(&d.paths[3]).unwrap(), b"not a drive");
    assert!(!e.drives()[position_of(&e, &d.paths[3])].online);
    assert_eq!(tmp_leftovers(&d.paths[..3]), Vec::<PathBuf>::new());
}

/// One object's directory on one drive is a file, another object's part file a directory
/// (opening works, reading fails with EISDIR).
#[test]
fn unreadable_object_dir_and_part_file() {
    let d = Dirs::new(4);
    let e = d.open(cfg());
    e.make_bucket("bkt").unwrap();
    let one = data(300_000, 12);
    let two = data(300_000, 13);
    put(&e, "bkt", "one", &one);
    put(&e, "bkt", "two", &two);
    let snap = snapshots(&d.paths);

    // "one": object directory on drive 1 becomes a file.
    let dir = object_dir(&d.paths[1], "bkt", "one");
    fs::remove_dir_all(&dir).unwrap();
    fs::write(&dir, b"junk").unwrap();
    // "two": the part file on every drive holding a data shard becomes a directory, so that
    // a read must fail on both and rebuild from parity.
    let mut broken = Vec::new();
    for (p, path) in d.paths.iter().enumerate() {
        if read_meta(path, "bkt", "two").shard < 2 {
            let part = find_file(&object_dir(path, "bkt", "two"), "part.1").unwrap();
            fs::remove_file(&part).unwrap();
            fs::create_dir(&part).unwrap();
            broken.push(p);
        }
    }
    assert_eq!(broken.len(), 2);
    assert_eq!(get(&e, "bkt", "one").unwrap(), one);
    assert_eq!(get(&e, "bkt", "two").unwrap(), two);
    let mut r = e.get_object("bkt", "two", Some((70_000, 1000))).unwrap();
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut r, &mut out).unwrap();
    assert_eq!(out, two[70_000..71_000]);

    // Heal repairs the part files; the object directory that is a file it cannot replace,
    // and it says so by not listing that drive.
    assert_eq!(e.heal_object("bkt", "two").unwrap().healed, broken);
    let r = e.heal_object("bkt", "one").unwrap();
    assert!(r.healed.is_empty(), "{r:?}");
    assert_eq!(fs::read(&dir).unwrap(), b"junk");
    assert_eq!(tmp_leftovers(&d.paths), Vec::<PathBuf>::new());
    // Put the directory back empty: now heal rebuilds everything as it was.
    fs::remove_file(&dir).unwrap();
    assert_eq!(e.heal_object("bkt", "one").unwrap().healed, vec![1]);
    for (i, (want, got)) in snap.iter().zip(snapshots(&d.paths)).enumerate() {
        assert_same(&format!("drive {i}"), want, &got);
    }
}

/// A real dead drive: an ext4 loop device whose filesystem is shut down, so every read and
/// write on it fails with EIO. Reads, writes and heals go on with the other drives.
#[test]
fn dead_filesystem_fails_with_eio_and_is_worked_around() {
    let d = Dirs::new(3);
    let dead = Ext4Drive::new(16);
    let paths = vec![
        d.paths[0].clone(),
        dead.path.clone(),
        d.paths[1].clone(),
        d.paths[2].clone(),
    ];
    let e = Engine::open(std::slice::from_ref(&paths), cfg()).unwrap();
    e.make_bucket("bkt").unwrap();
    let big = data(400_000, 20);
    put(&e, "bkt", "big", &big);
    put(&e, "bkt", "small", b"small object");
    let dead_id = drive_id(&e, &dead.path);
    dead.shut_down();
    assert!(
        fs::read(dead.path.join(".strata.sys/format.json")).is_err(),
        "the shut-down filesystem still answers"
    );

    assert_eq!(get(&e, "bkt", "big").unwrap(), big);
    assert_eq!(get(&e, "bkt", "small").unwrap(), b"small object");
    let later = data(250_000, 21);
    put(&e, "bkt", "later", &later);
    assert_eq!(get(&e, "bkt", "later").unwrap(), later);
    assert_eq!(keys(&e, "bkt"), vec!["big", "later", "small"]);
    let r = e.heal_object("bkt", "big").unwrap();
    assert!(!r.healed.contains(&1), "{r:?}");
    e.delete_object("bkt", "later").unwrap();
    assert!(matches!(
        e.head_object("bkt", "later"),
        Err(EngineError::NoSuchKey { .. })
    ));
    // With a second drive gone (deleted), writes fail naming both.
    fs::remove_dir_all(&paths[3]).unwrap();
    let err = put_err(&e, "bkt", "denied", &data(100_000, 22));
    let gone_id = drive_id(&e, &paths[3]);
    assert_write_quorum(&err, 2, 3, &[&dead_id, &gone_id], &[]);
    assert_eq!(get(&e, "bkt", "big").unwrap(), big);
    assert_eq!(
        tmp_leftovers(&[paths[0].clone(), paths[2].clone()]),
        Vec::<PathBuf>::new()
    );
}

// ---------------------------------------------------------------------------------------------
// (c) drives that fill up

/// Two small ext4 loop drives and two folders form a 2+2 set. Writing 1 MiB objects fills
/// the smaller drive first: writes go on by quorum; when the second is full, writes fail with
/// the write-quorum error and leave nothing visible; every acknowledged object reads back.
#[test]
fn full_drives_writes_go_on_by_quorum_then_fail_cleanly() {
    let d = Dirs::new(2);
    let small = Ext4Drive::new(16);
    let larger = Ext4Drive::new(24);
    let paths = vec![
        d.paths[0].clone(),
        small.path.clone(),
        d.paths[1].clone(),
        larger.path.clone(),
    ];
    let e = Engine::open(std::slice::from_ref(&paths), cfg()).unwrap();
    e.make_bucket("fill").unwrap();
    let (small_id, larger_id) = (drive_id(&e, &small.path), drive_id(&e, &larger.path));
    let folder_ids = [drive_id(&e, &paths[0]), drive_id(&e, &paths[2])];

    let on = |drive: &Path, key: &str| object_dir(drive, "fill", key).join("%meta").is_file();
    let mut acked: Vec<(String, u64)> = Vec::new();
    let mut failure = None;
    for i in 0..200u64 {
        let key = format!("obj-{i:03}");
        let body = data(1 << 20, 100 + i);
        match e.put_object("fill", &key, &mut &body[..], &PutOptions::default()) {
            Ok(info) => {
                assert_eq!(info.size, 1 << 20);
                acked.push((key, 100 + i));
            }
            Err(err) => {
                failure = Some((key, err));
                break;
            }
        }
    }
    let (failed_key, err) = failure.expect("the drives never filled up");
    let on_small = acked.iter().filter(|(k, _)| on(&small.path, k)).count();
    let on_larger = acked.iter().filter(|(k, _)| on(&larger.path, k)).count();
    assert!(
        on_small > 5 && on_small < acked.len(),
        "writes must go on after the small drive is full: {on_small} of {} on it",
        acked.len()
    );
    assert!(on_larger > on_small, "{on_larger} vs {on_small}");
    assert_write_quorum(
        &err,
        2,
        3,
        &[&small_id, &larger_id],
        &folder_ids.each_ref().map(|s| s.as_str()),
    );
    let EngineError::WriteQuorum { failures, full, .. } = &err else {
        unreachable!()
    };
    assert!(failures.contains("No space left on device"), "{failures}");
    assert!(*full, "the full drives kept the quorum away: {failures}");

    // Nothing of the failed write is visible or left behind.
    assert!(matches!(
        e.head_object("fill", &failed_key),
        Err(EngineError::NoSuchKey { .. })
    ));
    for p in &paths {
        assert!(
            !object_dir(p, "fill", &failed_key).exists(),
            "{}",
            p.display()
        );
    }
    assert_eq!(tmp_leftovers(&paths), Vec::<PathBuf>::new());
    let listed = keys(&e, "fill");
    assert_eq!(
        listed,
        acked.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>()
    );
    // Another failed write changes no file on any drive.
    let before = snapshots(&paths);
    let err = put_err(&e, "fill", "again", &data(1 << 20, 1));
    assert!(
        matches!(err, EngineError::WriteQuorum { ok: 2, .. }),
        "{err}"
    );
    for (b, a) in before.iter().zip(snapshots(&paths)) {
        assert_same("after another failed write", b, &a);
    }
    // Every acknowledged object reads back, the ones missing from full drives included.
    for (k, seed) in &acked {
        assert_eq!(get(&e, "fill", k).unwrap(), data(1 << 20, *seed), "{k}");
    }
    // Deleting frees space: writes succeed again.
    for (k, _) in acked.iter().take(4) {
        e.delete_object("fill", k).unwrap();
    }
    let body = data(1 << 20, 2);
    put(&e, "fill", "after-delete", &body);
    assert_eq!(get(&e, "fill", "after-delete").unwrap(), body);
    assert!(on(&small.path, "after-delete") && on(&larger.path, "after-delete"));
    drop(e);
}

// ---------------------------------------------------------------------------------------------
// (d) healing restores every byte

/// Damage of every kind on up to m drives per object; `heal_object` rewrites exactly the
/// damaged drives, and every file of every drive is byte-identical to the fresh write.
#[test]
fn heal_object_restores_every_byte_of_a_fresh_write() {
    let d = Dirs::new(4);
    let e = d.open(cfg());
    e.make_bucket("heal").unwrap();
    let long_key = format!("dir/{}/leaf", "ü".repeat(120));
    put(&e, "heal", "inline", &data(1000, 30));
    put(&e, "heal", "multi", &data(300_000, 31));
    put(&e, "heal", &long_key, &data(70_000, 32));
    put(&e, "heal", "stale", &data(200_000, 33));
    // Keep drive 2's copy of the first version of "stale", then overwrite it.
    let old_copy = tempfile::tempdir().unwrap();
    copy_tree(&object_dir(&d.paths[2], "heal", "stale"), old_copy.path());
    put(&e, "heal", "stale", &data(150_000, 34));
    let id = e
        .new_multipart("heal", "mpu", &PutOptions::default())
        .unwrap();
    let mut etags = Vec::new();
    for (n, len) in [(1u32, 150_000usize), (2, 120_000), (3, 5000)] {
        let body = data(len, 40 + n as u64);
        let part = e
            .put_part("heal", "mpu", &id, n, &mut &body[..], None)
            .unwrap();
        etags.push((n, part.etag));
    }
    e.complete_multipart("heal", "mpu", &id, &etags).unwrap();
    let snap = snapshots(&d.paths);

    let part_of = |p: usize, key: &str, n: u32| {
        find_file(&object_dir(&d.paths[p], "heal", key), &format!("part.{n}")).unwrap()
    };
    let meta_of = |p: usize, key: &str| object_dir(&d.paths[p], "heal", key).join("%meta");
    // multi: part file deleted on 0, a bit flipped in the last block on 1.
    fs::remove_file(part_of(0, "multi", 1)).unwrap();
    let p1 = part_of(1, "multi", 1);
    let len = fs::metadata(&p1).unwrap().len() as usize;
    flip_bit(&p1, len - 10);
    // inline: metadata deleted on 2, a bit of the inline shard flipped on 3 (the inline bytes
    // are the last field of the metadata).
    fs::remove_file(meta_of(2, "inline")).unwrap();
    let m3 = meta_of(3, "inline");
    let len = fs::metadata(&m3).unwrap().len() as usize;
    flip_bit(&m3, len - 3);
    // long key: the whole object directory gone on 1, the hash of block 0 flipped on 3.
    fs::remove_dir_all(object_dir(&d.paths[1], "heal", &long_key)).unwrap();
    flip_bit(&part_of(3, &long_key, 1), 5);
    // stale: drive 2 holds the older version (its metadata and its data directory).
    let dir = object_dir(&d.paths[2], "heal", "stale");
    fs::remove_dir_all(&dir).unwrap();
    copy_tree(old_copy.path(), &dir);
    // mpu: metadata deleted on 0, part 2 deleted and part 3 truncated on 3.
    fs::remove_file(meta_of(0, "mpu")).unwrap();
    fs::remove_file(part_of(3, "mpu", 2)).unwrap();
    let p3 = part_of(3, "mpu", 3);
    let bytes = fs::read(&p3).unwrap();
    fs::write(&p3, &bytes[..bytes.len() - 1]).unwrap();

    let expected: [(&str, Vec<usize>); 5] = [
        ("multi", vec![0, 1]),
        ("inline", vec![2, 3]),
        (&long_key, vec![1, 3]),
        ("stale", vec![2]),
        ("mpu", vec![0, 3]),
    ];
    for (key, drives) in &expected {
        let r = e.heal_object("heal", key).unwrap();
        assert_eq!(&r.healed, drives, "{key}");
    }
    for (i, (want, got)) in snap.iter().zip(snapshots(&d.paths)).enumerate() {
        assert_same(&format!("drive {i} after heal"), want, &got);
    }
    for (key, _) in &expected {
        assert_eq!(
            e.heal_object("heal", key).unwrap().healed,
            Vec::<usize>::new()
        );
    }
    assert_eq!(tmp_leftovers(&d.paths), Vec::<PathBuf>::new());
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// The background healer fixes what a GET ran into: a flipped bit in a data shard and a
/// missing metadata copy, byte-identical to the fresh write.
#[test]
fn background_healer_fixes_damage_found_by_a_get() {
    let d = Dirs::new(4);
    let e = d.open(Config {
        background_heal: true,
        ..cfg()
    });
    e.make_bucket("bgheal").unwrap();
    let body = data(300_000, 50);
    put(&e, "bgheal", "obj", &body);
    put(&e, "bgheal", "clean", &data(1000, 51));
    let snap = snapshots(&d.paths);
    let done = e.heals_done();

    let index = |p: usize| read_meta(&d.paths[p], "bgheal", "obj").shard;
    let data0 = (0..4).find(|&p| index(p) == 0).unwrap();
    let parity = (0..4).find(|&p| index(p) >= 2).unwrap();
    let part = find_file(&object_dir(&d.paths[data0], "bgheal", "obj"), "part.1").unwrap();
    flip_bit(&part, 40); // inside the first block's shard
    fs::remove_file(object_dir(&d.paths[parity], "bgheal", "obj").join("%meta")).unwrap();

    assert_eq!(get(&e, "bgheal", "clean").unwrap(), data(1000, 51));
    assert_eq!(get(&e, "bgheal", "obj").unwrap(), body);
    assert!(
        e.wait_heals(done + 1, Duration::from_secs(20)),
        "no background heal finished"
    );
    for (i, (want, got)) in snap.iter().zip(snapshots(&d.paths)).enumerate() {
        assert_same(&format!("drive {i} after background heal"), want, &got);
    }
    // The heal's own commit must not queue the object again (nor anything else be healed).
    assert!(
        !e.wait_heals(done + 2, Duration::from_millis(500)),
        "a second heal ran"
    );
}

// ---------------------------------------------------------------------------------------------
// (e) replaced drives

/// Fills a deployment with every kind of thing a drive holds: buckets (one empty), inline,
/// multi-block, multipart and long-keyed objects.
fn populate(e: &Engine) -> Vec<(String, String, Vec<u8>)> {
    e.make_bucket("alpha").unwrap();
    e.make_bucket("empty").unwrap();
    e.make_bucket("zeta").unwrap();
    let long_key = format!("deep/{}/x", "z".repeat(230));
    let mut objects = vec![
        ("alpha".to_string(), "inline".to_string(), data(700, 60)),
        ("alpha".to_string(), "multi".to_string(), data(260_000, 61)),
        ("alpha".to_string(), "a/b/c".to_string(), data(0, 62)),
        ("zeta".to_string(), long_key, data(90_000, 63)),
    ];
    for (b, k, body) in &objects {
        put(e, b, k, body);
    }
    let id = e
        .new_multipart("zeta", "mpu", &PutOptions::default())
        .unwrap();
    let p1 = data(110_000, 64);
    let p2 = data(3000, 65);
    let t1 = e
        .put_part("zeta", "mpu", &id, 1, &mut &p1[..], None)
        .unwrap();
    let t2 = e
        .put_part("zeta", "mpu", &id, 2, &mut &p2[..], None)
        .unwrap();
    e.complete_multipart("zeta", "mpu", &id, &[(1, t1.etag), (2, t2.etag)])
        .unwrap();
    objects.push(("zeta".into(), "mpu".into(), [p1, p2].concat()));
    objects
}

fn empty_dir(path: &Path) {
    for e in fs::read_dir(path).unwrap().flatten() {
        if e.path().is_dir() {
            fs::remove_dir_all(e.path()).unwrap();
        } else {
            fs::remove_file(e.path()).unwrap();
        }
    }
}

/// An emptied drive comes back unformatted; the whole-drive heal rebuilds it byte for byte:
/// format record, bucket markers, metadata and shard files.
#[test]
fn replaced_drive_is_rebuilt_byte_for_byte() {
    let d = Dirs::new(4);
    let e = d.open(cfg());
    let objects = populate(&e);
    drop(e);
    let snap = snapshots(&d.paths);

    empty_dir(&d.paths[1]);
    let e = d.open(cfg());
    let problems = e.problems();
    assert!(
        problems.contains(&DriveProblem::Unformatted {
            path: d.paths[1].clone()
        }),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| matches!(
            p,
            DriveProblem::Missing {
                set: 0,
                position: 1,
                ..
            }
        )),
        "{problems:?}"
    );
    for (b, k, body) in &objects {
        assert_eq!(&get(&e, b, k).unwrap(), body, "{b}/{k} while degraded");
    }
    assert_eq!(e.heal_replaced_drives().unwrap(), objects.len());
    assert!(e.problems().is_empty(), "{:?}", e.problems());
    for (i, (want, got)) in snap.iter().zip(snapshots(&d.paths)).enumerate() {
        assert_same(&format!("drive {i} after rebuild"), want, &got);
    }
    drop(e);

    // Given in another order, the rebuilt drive takes its place and alone with one other
    // drive serves every object.
    let shuffled = vec![
        d.paths[2].clone(),
        d.paths[1].clone(),
        d.paths[3].clone(),
        d.paths[0].clone(),
    ];
    let e = Engine::open(&[shuffled], cfg()).unwrap();
    assert!(e.problems().is_empty(), "{:?}", e.problems());
    for p in [&d.paths[0], &d.paths[3]] {
        e.take_offline(0, position_of(&e, p));
    }
    for (b, k, body) in &objects {
        assert_eq!(
            &get(&e, b, k).unwrap(),
            body,
            "{b}/{k} from the rebuilt drive"
        );
    }
}

/// A replacement drive given at another place in the list than the drive it replaces (the
/// list was reordered too): it is rebuilt into the one missing place.
#[test]
fn replacement_given_in_another_order_is_rebuilt() {
    let d = Dirs::new(4);
    let e = d.open(cfg());
    let objects = populate(&e);
    drop(e);
    let snap = snapshots(&d.paths);

    empty_dir(&d.paths[0]);
    // Drive 0 (now empty) is listed second, drive 1 first.
    let order = vec![
        d.paths[1].clone(),
        d.paths[0].clone(),
        d.paths[2].clone(),
        d.paths[3].clone(),
    ];
    let e = Engine::open(std::slice::from_ref(&order), cfg()).unwrap();
    assert!(e.problems().contains(&DriveProblem::Unformatted {
        path: d.paths[0].clone()
    }));
    assert_eq!(e.heal_replaced_drives().unwrap(), objects.len());
    assert!(e.problems().is_empty(), "{:?}", e.problems());
    for (i, (want, got)) in snap.iter().zip(snapshots(&d.paths)).enumerate() {
        assert_same(&format!("drive {i} after rebuild"), want, &got);
    }
    drop(e);
    let e = Engine::open(&[order], cfg()).unwrap();
    assert!(e.problems().is_empty(), "{:?}", e.problems());
    for (b, k, body) in &objects {
        assert_eq!(&get(&e, b, k).unwrap(), body);
    }
}

/// `replace_drive` puts an empty folder at another path into a missing place.
#[test]
fn replace_drive_with_a_new_path() {
    let d = Dirs::new(4);
    let e = d.open(cfg());
    let objects = populate(&e);
    let snap = snapshot(&d.paths[2]);
    let pos = position_of(&e, &d.paths[2]);
    drop(e);
    fs::remove_dir_all(&d.paths[2]).unwrap();
    let new = d.tmp.path().join("new-drive");
    fs::create_dir(&new).unwrap();
    let e = d.open(cfg());
    assert!(e
        .problems()
        .iter()
        .any(|p| matches!(p, DriveProblem::Offline { path, .. } if *path == d.paths[2])));
    assert!(matches!(
        e.replace_drive(0, (pos + 1) % 4, &new),
        Err(EngineError::Format(_))
    ));
    assert_eq!(e.replace_drive(0, pos, &new).unwrap(), objects.len());
    assert_same("new drive", &snap, &snapshot(&new));
    let mut paths = d.paths.clone();
    paths[2] = new;
    drop(e);
    let e = Engine::open(&[paths], cfg()).unwrap();
    assert!(e.problems().is_empty(), "{:?}", e.problems());
}

/// A process killed between a commit's data rename and its metadata rename leaves a data
/// directory nothing references (and half-written metadata files): the sweep removes them by
/// what they are — unreferenced, looked at under the key's lock — whatever their age, so a
/// restart a moment after the crash cleans up as well as one an hour later.
#[test]
fn orphaned_data_directories_are_swept_whatever_their_age() {
    let d = Dirs::new(4);
    let body = data(300_000, 77);
    {
        let e = d.open(cfg());
        e.make_bucket("sweep").unwrap();
        put(&e, "sweep", "dir/obj", &body);
    }
    let mut orphans = Vec::new();
    for drive in &d.paths {
        let obj = drive.join("sweep/dir/obj");
        let live = std::fs::read_dir(&obj)
            .unwrap()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().starts_with("%d"))
            .unwrap()
            .path();
        let orphan = obj.join(format!("%d{}", uuid_like(orphans.len())));
        std::fs::create_dir(&orphan).unwrap();
        for f in std::fs::read_dir(&live).unwrap().flatten() {
            std::fs::copy(f.path(), orphan.join(f.file_name())).unwrap();
        }
        if orphans.len() % 2 == 0 {
            let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
            std::fs::File::open(&orphan)
                .unwrap()
                .set_modified(an_hour_ago)
                .unwrap();
        }
        orphans.push(orphan);
    }
    // A metadata file being written when the process died, made just now.
    let half = d.paths[1].join("sweep/dir/obj/%meta.tmp-0123");
    std::fs::write(&half, b"half a metadata file").unwrap();

    let e = d.open(cfg());
    assert_eq!(e.sweep_orphans(), orphans.len() + 1);
    for o in &orphans {
        assert!(!o.exists(), "{} was not swept", o.display());
    }
    assert!(!half.exists());
    assert_eq!(get(&e, "sweep", "dir/obj").unwrap(), body);
    assert_eq!(e.sweep_orphans(), 0);
}

/// The sweep never touches a write in progress: writers and sweeps racing on one key, every
/// acknowledged write reads back whole.
#[test]
fn sweeps_racing_writers_never_remove_their_data() {
    let d = Dirs::new(4);
    let e = d.open(cfg());
    e.make_bucket("race").unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                e.sweep_orphans();
            }
        });
        for i in 0..40u64 {
            let body = data(100_000 + i as usize * 1000, i);
            put(&e, "race", "k", &body);
            assert_eq!(get(&e, "race", "k").unwrap(), body, "write {i}");
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
}

fn uuid_like(i: usize) -> String {
    format!("00000000-0000-0000-0000-{i:012}")
}

// ---------------------------------------------------------------------------------------------
// a drive that hangs

/// A wrapper for `Engine::open_with` that puts the drive at `victim` under `plan` (to hang it
/// later) and every other drive under a healthy plan of its own.
fn hang_one(victim: PathBuf, plan: &Arc<FaultPlan>) -> impl Fn(Arc<dyn Drive>) -> Arc<dyn Drive> {
    let (healthy, hung) = (FaultPlan::new(), plan.clone());
    move |d: Arc<dyn Drive>| {
        let plan = if d.path() == Some(victim.as_path()) {
            hung.clone()
        } else {
            healthy.clone()
        };
        Arc::new(FaultyDrive::new(d, plan)) as Arc<dyn Drive>
    }
}

/// Releases a hung plan when dropped, so that a failing test never leaves calls blocked.
struct Unhang(Arc<FaultPlan>);

impl Drop for Unhang {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// Runs `op` on a thread of its own and returns its result and how long it took; panics when it
/// takes longer than `limit` (a hang fails the test instead of hanging it).
#[track_caller]
fn within<T: Send + 'static>(
    what: &str,
    limit: Duration,
    op: impl FnOnce() -> T + Send + 'static,
) -> (T, Duration) {
    let (tx, rx) = std::sync::mpsc::channel();
    let start = Instant::now();
    std::thread::spawn(move || {
        let _ = tx.send(op());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => (v, start.elapsed()),
        Err(_) => panic!("{what}: no answer within {limit:?}"),
    }
}

/// One drive of a 4+2 set hangs (every call blocks, as on a dying disk or a frozen filesystem):
/// PUT (inline and streamed), GET, HEAD, LIST, multipart and bucket calls each answer within the
/// deadline plus slack, the drive is reported offline, and once released the drive monitor
/// brings it back by itself. Without deadlines the first call that reaches the drive blocks
/// its request for good (and with it the key's lock).
#[test]
fn a_hung_drive_costs_each_request_at_most_the_deadline() {
    const DEADLINE: Duration = Duration::from_secs(2);
    // Generous for a loaded 2-core machine; a request that waits on the hung drive for good
    // fails the test after it.
    const LIMIT: Duration = Duration::from_secs(5);
    let dirs = Dirs::new(6);
    let hung = FaultPlan::new();
    let victim = dirs.paths[2].clone();
    let config = Config {
        parity: Some(2),
        drive_timeout: DEADLINE,
        background_heal: true,
        scan_interval: None,
        drive_check_interval: Duration::from_millis(200),
        ..cfg()
    };
    let wrap = hang_one(victim, &hung);
    let e = Arc::new(Engine::open_with(std::slice::from_ref(&dirs.paths), config, &wrap).unwrap());
    let _unhang = Unhang(hung.clone());
    e.make_bucket("hung").unwrap();
    let big = data(300 * 1024, 1); // streamed: several 64 KiB blocks
    let small = data(1000, 2); // inline
    put(&e, "hung", "big-before", &big);
    put(&e, "hung", "small-before", &small);
    let online = |e: &Engine| -> Vec<bool> { e.drives().iter().map(|d| d.online).collect() };
    assert_eq!(online(&e), vec![true; 6]);

    hung.hang();
    let mut took = Vec::new();
    let mut run = |what: &str, op: Box<dyn FnOnce(&Engine) + Send>| {
        let e = e.clone();
        let ((), t) = within(what, LIMIT, move || op(&e));
        took.push((what.to_string(), t));
    };
    let (b2, s2) = (big.clone(), small.clone());
    run(
        "streamed PUT",
        Box::new(move |e| {
            put(e, "hung", "big-during", &b2);
        }),
    );
    run(
        "inline PUT",
        Box::new(move |e| {
            put(e, "hung", "small-during", &s2);
        }),
    );
    assert!(hung.hanging() > 0, "no call reached the hung drive");
    let (b2, s2) = (big.clone(), small.clone());
    run(
        "GET",
        Box::new(move |e| {
            assert_eq!(get(e, "hung", "big-before").unwrap(), b2);
            assert_eq!(get(e, "hung", "big-during").unwrap(), b2);
            assert_eq!(get(e, "hung", "small-during").unwrap(), s2);
        }),
    );
    run(
        "HEAD",
        Box::new(|e| {
            assert_eq!(e.head_object("hung", "small-before").unwrap().size, 1000);
        }),
    );
    run(
        "LIST",
        Box::new(|e| {
            let page = e
                .list_objects(
                    "hung",
                    &ListQuery {
                        max_keys: 1000,
                        ..Default::default()
                    },
                )
                .unwrap();
            let keys: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
            assert_eq!(
                keys,
                ["big-before", "big-during", "small-before", "small-during"]
            );
        }),
    );
    let part = data(150 * 1024, 3);
    let p2 = part.clone();
    run(
        "multipart",
        Box::new(move |e| {
            let id = e
                .new_multipart("hung", "mpu", &PutOptions::default())
                .unwrap();
            let one = e
                .put_part("hung", "mpu", &id, 1, &mut &p2[..], None)
                .unwrap();
            let two = e
                .put_part("hung", "mpu", &id, 2, &mut &b"end"[..], None)
                .unwrap();
            e.complete_multipart("hung", "mpu", &id, &[(1, one.etag), (2, two.etag)])
                .unwrap();
        }),
    );
    run(
        "bucket calls",
        Box::new(|e| {
            e.make_bucket("other").unwrap();
            assert_eq!(e.list_buckets().unwrap().len(), 2);
            e.delete_bucket("other").unwrap();
        }),
    );
    run(
        "DELETE",
        Box::new(|e| e.delete_object("hung", "small-before").unwrap()),
    );
    let (states, _) = within("drive states", LIMIT, {
        let e = e.clone();
        move || online(&e)
    });
    assert_eq!(states, [true, true, false, true, true, true], "{took:?}");
    eprintln!("while hung: {took:?}");

    // Released: the monitor finds it answering and brings it back (healing, then rebuilt).
    hung.release();
    let start = Instant::now();
    while online(&e) != vec![true; 6] {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the drive never came back: {:?}",
            online(&e)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut whole = part.clone();
    whole.extend_from_slice(b"end");
    assert_eq!(get(&e, "hung", "mpu").unwrap(), whole);
    assert_eq!(get(&e, "hung", "big-during").unwrap(), big);
    assert!(matches!(
        e.head_object("hung", "small-before"),
        Err(EngineError::NoSuchKey { .. })
    ));
}

/// The other side of leaving a damaged key out of listings (`ops`): when a drive that might
/// decide the key is away rather than damaged (here hung past its deadline), the key may hold
/// an acknowledged version the drive will vouch for when it answers, so the listing refuses
/// (503) instead of leaving the key out.
#[test]
fn a_listing_waits_for_a_key_a_drive_that_is_away_could_decide() {
    let dirs = Dirs::new(4);
    let hung = FaultPlan::new();
    let victim = dirs.paths[3].clone();
    let config = Config {
        parity: Some(2),
        drive_timeout: Duration::from_secs(2),
        ..cfg()
    };
    let wrap = hang_one(victim, &hung);
    let e = Engine::open_with(std::slice::from_ref(&dirs.paths), config, &wrap).unwrap();
    let _unhang = Unhang(hung.clone());
    e.make_bucket("bkt").unwrap();
    for i in 0..5 {
        put(&e, "bkt", &format!("k{i}"), &data(1000, i));
    }
    // k2's metadata damaged on three drives; the fourth, which holds a good copy, hangs.
    for drive in dirs.paths.iter().take(3) {
        let meta = drive.join("bkt").join("k2").join("%meta");
        let mut bytes = fs::read(&meta).unwrap();
        let at = bytes.len() / 2;
        bytes[at] ^= 1;
        fs::write(&meta, bytes).unwrap();
    }
    hung.hang();
    let q = ListQuery {
        max_keys: 1000,
        ..Default::default()
    };
    let listed = e.list_objects("bkt", &q);
    assert!(
        matches!(listed, Err(EngineError::ReadQuorum { .. })),
        "{listed:?}"
    );
    hung.release();
}
