//! Symlinks planted inside a drive: a bucket or key directory, `%meta`, a data directory or a
//! shard file, `.strata.sys/tmp` or `multipart`, `.strata.sys` itself, symlink loops. Each
//! points at a trap outside the drives (files like `/etc`'s, or the drive's own copy moved
//! there). PUT, GET, HEAD, LIST, DELETE, multipart and heal must never touch the trap (inotify
//! and `stat` watch it), reads return the right bytes from the other drives, and heal replaces
//! the link with a real file or directory. Every test failed before drive access went through
//! `engine::drive::beneath`.

use strata_testkit as common;

use crate::support::{cfg, data, get, put, Dirs};
use common::trap::Trap;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use strata_engine::meta::MetaFile;
use strata_engine::{Config, DriveProblem, Engine, EngineError, ListQuery, PutOptions};

const BUCKET: &str = "bkt";

/// Four drives, 2+2: any one drive can be damaged and everything still reads and writes.
fn open(d: &Dirs) -> Engine {
    d.open(Config {
        parity: Some(2),
        ..cfg()
    })
}

fn setup() -> (Dirs, Engine) {
    let d = Dirs::new(4);
    let e = open(&d);
    e.make_bucket(BUCKET).unwrap();
    (d, e)
}

/// The trap's directory, beside the drives (outside all of them).
fn outside(d: &Dirs) -> PathBuf {
    d.tmp.path().join("outside")
}

/// Replaces `at` with a symlink to `target`; what was at `at` moves to `target` first when
/// `target` does not exist (the drive's own copy, now outside it).
fn plant(at: &Path, target: &Path) {
    if fs::symlink_metadata(target).is_err() {
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::rename(at, target).unwrap();
    } else if fs::symlink_metadata(at).is_ok_and(|m| m.is_dir()) {
        fs::remove_dir_all(at).unwrap();
    } else if fs::symlink_metadata(at).is_ok() {
        fs::remove_file(at).unwrap();
    }
    symlink(target, at).unwrap();
}

fn is_link(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
}

#[track_caller]
fn assert_real_dir(p: &Path) {
    let m = fs::symlink_metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    assert!(m.is_dir(), "{} is not a real directory: {m:?}", p.display());
}

#[track_caller]
fn assert_real_file(p: &Path) {
    let m = fs::symlink_metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    assert!(m.is_file(), "{} is not a real file: {m:?}", p.display());
}

#[track_caller]
fn assert_reads(e: &Engine, key: &str, want: &[u8]) {
    let got = get(e, BUCKET, key).unwrap_or_else(|err| panic!("GET {key}: {err}"));
    assert!(got == want, "GET {key}: wrong bytes");
    assert_eq!(e.head_object(BUCKET, key).unwrap().size, want.len() as u64);
}

fn keys(e: &Engine, prefix: &str) -> Vec<String> {
    let q = ListQuery {
        prefix: prefix.into(),
        max_keys: 1000,
        ..Default::default()
    };
    let page = e.list_objects(BUCKET, &q).unwrap();
    page.objects.into_iter().map(|o| o.key).collect()
}

/// The data directories (`%d…`) of a key on a drive.
fn data_dirs(drive: &Path, key: &str) -> Vec<PathBuf> {
    fs::read_dir(drive.join(BUCKET).join(key))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("%d"))
        .map(|e| e.path())
        .collect()
}

fn multipart(e: &Engine, key: &str) -> Vec<u8> {
    let id = e
        .new_multipart(BUCKET, key, &PutOptions::default())
        .unwrap();
    let (a, b) = (data(150_000, 41), data(1000, 42));
    let pa = e.put_part(BUCKET, key, &id, 1, &mut &a[..], None).unwrap();
    let pb = e.put_part(BUCKET, key, &id, 2, &mut &b[..], None).unwrap();
    assert_eq!(e.list_parts(BUCKET, key, &id).unwrap().len(), 2);
    assert_eq!(e.list_multipart(BUCKET, "").unwrap().len(), 1);
    e.complete_multipart(BUCKET, key, &id, &[(1, pa.etag), (2, pb.etag)])
        .unwrap();
    [a, b].concat()
}

/// A drive's bucket directory is a symlink to a directory like `/etc`: nothing is written
/// there, a listing does not walk it, and heal makes the bucket a real directory again.
#[test]
fn a_bucket_directory_symlinked_out_of_the_drive() {
    let (d, e) = setup();
    let (small, big) = (data(1000, 1), data(300_000, 2));
    put(&e, BUCKET, "a", &small);
    put(&e, BUCKET, "b", &big);
    let trap_dir = outside(&d);
    fs::create_dir_all(&trap_dir).unwrap();
    plant(&d.paths[0].join(BUCKET), &trap_dir);
    let mut trap = Trap::new(&trap_dir);

    let (passwd, new) = (data(500, 3), data(200_000, 4));
    put(&e, BUCKET, "passwd", &passwd);
    put(&e, BUCKET, "new", &new);
    put(&e, BUCKET, "sub/keep", &small);
    let mp = multipart(&e, "mp");
    for (k, want) in [
        ("a", &small),
        ("b", &big),
        ("passwd", &passwd),
        ("new", &new),
    ] {
        assert_reads(&e, k, want);
    }
    assert_reads(&e, "mp", &mp);
    assert_eq!(keys(&e, ""), ["a", "b", "mp", "new", "passwd", "sub/keep"]);
    e.delete_object(BUCKET, "a").unwrap();
    assert!(matches!(
        get(&e, BUCKET, "a"),
        Err(EngineError::NoSuchKey { .. })
    ));
    trap.assert_untouched("PUT, GET, HEAD, LIST, DELETE and multipart");

    e.scan_now();
    trap.assert_untouched("heal");
    let bucket = d.paths[0].join(BUCKET);
    assert_real_dir(&bucket);
    for k in ["b", "passwd", "new", "mp", "sub/keep"] {
        assert_real_file(&bucket.join(k).join("%meta"));
    }
    assert_reads(&e, "new", &new);
}

/// A drive's bucket directory is a symlink to another drive's: the two drives would write
/// their shards into one place. Each drive's copies stay its own, and heal separates them.
#[test]
fn a_bucket_directory_symlinked_to_another_drives() {
    let (d, e) = setup();
    plant(&d.paths[0].join(BUCKET), &d.paths[1].join(BUCKET));
    let bodies: Vec<Vec<u8>> = (0..8)
        .map(|i| data(100_000 + i * 7, 10 + i as u64))
        .collect();
    for (i, b) in bodies.iter().enumerate() {
        put(&e, BUCKET, &format!("k{i}"), b);
    }
    // Drive 1's copies are drive 1's: each names drive 1's shard index.
    let own = |drive: usize, key: &str| {
        let b = fs::read(d.paths[drive].join(BUCKET).join(key).join("%meta")).unwrap();
        let m = MetaFile::decode(&b).unwrap();
        let v = &m.versions[0];
        v.shard == v.version.object.as_ref().unwrap().erasure.distribution[drive]
    };
    for (i, b) in bodies.iter().enumerate() {
        let key = format!("k{i}");
        assert!(
            own(1, &key),
            "drive 1's copy of {key} was written by drive 0"
        );
        assert_reads(&e, &key, b);
    }
    e.scan_now();
    assert!(!is_link(&d.paths[0].join(BUCKET)), "heal left the symlink");
    for (i, b) in bodies.iter().enumerate() {
        let key = format!("k{i}");
        for drive in 0..4 {
            assert!(
                own(drive, &key),
                "drive {drive}'s copy of {key} is not its own"
            );
        }
        assert_reads(&e, &key, b);
    }
}

/// A key directory ("dir/") moved out of the drive and replaced by a symlink to it: the copy
/// outside is never read, written or deleted; heal brings the keys back as real directories.
#[test]
fn a_key_directory_symlinked_out_of_the_drive() {
    let (d, e) = setup();
    let (x, y) = (data(300_000, 5), data(2000, 6));
    put(&e, BUCKET, "dir/x", &x);
    let trap_dir = outside(&d);
    plant(&d.paths[0].join(BUCKET).join("dir"), &trap_dir.join("dir"));
    let mut trap = Trap::new(&trap_dir);

    assert_reads(&e, "dir/x", &x);
    put(&e, BUCKET, "dir/y", &y);
    assert_reads(&e, "dir/y", &y);
    assert_eq!(keys(&e, "dir/"), ["dir/x", "dir/y"]);
    let q = ListQuery {
        delimiter: Some("/".into()),
        max_keys: 1000,
        ..Default::default()
    };
    assert_eq!(e.list_objects(BUCKET, &q).unwrap().prefixes, ["dir/"]);
    e.delete_object(BUCKET, "dir/x").unwrap();
    assert!(matches!(
        get(&e, BUCKET, "dir/x"),
        Err(EngineError::NoSuchKey { .. })
    ));
    assert_eq!(keys(&e, "dir/"), ["dir/y"]);
    trap.assert_untouched("PUT, GET, HEAD, LIST and DELETE under the key directory");

    e.scan_now();
    trap.assert_untouched("heal");
    let dir = d.paths[0].join(BUCKET).join("dir");
    assert_real_dir(&dir);
    assert_real_file(&dir.join("y").join("%meta"));
    assert!(
        !dir.join("x").exists(),
        "the deleted key came back on drive 0"
    );
    assert_reads(&e, "dir/y", &y);
}

/// `%meta`, a shard file and a data directory moved out of the drive and replaced by symlinks:
/// reads come from the other drives without opening them, and heal rewrites real ones.
#[test]
fn metadata_shard_files_and_data_directories_symlinked_out_of_the_drive() {
    let (d, e) = setup();
    let (m, s, t, u) = (
        data(1000, 7),
        data(300_000, 8),
        data(300_000, 9),
        data(200_000, 10),
    );
    for (k, b) in [("m", &m), ("s", &s), ("t", &t), ("u", &u)] {
        put(&e, BUCKET, k, b);
    }
    let drive = &d.paths[0];
    let trap_dir = outside(&d);
    plant(
        &drive.join(BUCKET).join("m").join("%meta"),
        &trap_dir.join("meta-of-m"),
    );
    let s_data = data_dirs(drive, "s").remove(0);
    plant(&s_data.join("part.1"), &trap_dir.join("shard-of-s"));
    let t_data = data_dirs(drive, "t").remove(0);
    plant(&t_data, &trap_dir.join("data-of-t"));
    let u_data = data_dirs(drive, "u").remove(0);
    plant(&u_data, &trap_dir.join("data-of-u"));
    let mut trap = Trap::new(&trap_dir);

    for (k, b) in [("m", &m), ("s", &s), ("t", &t), ("u", &u)] {
        assert_reads(&e, k, b);
    }
    assert_eq!(keys(&e, ""), ["m", "s", "t", "u"]);
    e.delete_object(BUCKET, "u").unwrap();
    trap.assert_untouched("GET, HEAD, LIST and DELETE");

    e.scan_now();
    trap.assert_untouched("heal");
    assert_real_file(&drive.join(BUCKET).join("m").join("%meta"));
    assert_real_file(&s_data.join("part.1"));
    assert_real_dir(&t_data);
    assert_real_file(&t_data.join("part.1"));
    assert!(!drive.join(BUCKET).join("u").exists());
    for (k, b) in [("m", &m), ("s", &s), ("t", &t)] {
        assert_reads(&e, k, b);
    }
    // Drive 0's copies now serve on their own: the others' shards go.
    for other in &d.paths[1..3] {
        for dir in data_dirs(other, "s")
            .into_iter()
            .chain(data_dirs(other, "t"))
        {
            fs::remove_dir_all(dir).unwrap();
        }
    }
    for (k, b) in [("s", &s), ("t", &t)] {
        assert_reads(&e, k, b);
    }
}

/// `.strata.sys/tmp` and `.strata.sys/multipart` are symlinks out of the drive: writes and
/// uploads never stage there; the drive's own areas are made real again and used.
#[test]
fn the_temporary_and_multipart_areas_symlinked_out_of_the_drive() {
    let (d, e) = setup();
    let drive = &d.paths[0];
    let trap_dir = outside(&d);
    fs::create_dir_all(trap_dir.join("tmp")).unwrap();
    fs::create_dir_all(trap_dir.join("multipart")).unwrap();
    plant(&drive.join(".strata.sys/tmp"), &trap_dir.join("tmp"));
    plant(
        &drive.join(".strata.sys/multipart"),
        &trap_dir.join("multipart"),
    );
    let mut trap = Trap::new(&trap_dir);

    let p = data(300_000, 11);
    put(&e, BUCKET, "p", &p);
    let mp = multipart(&e, "mp");
    assert_reads(&e, "p", &p);
    assert_reads(&e, "mp", &mp);
    trap.assert_untouched("PUT and multipart");
    assert_real_dir(&drive.join(".strata.sys/tmp"));
    assert_real_dir(&drive.join(".strata.sys/multipart"));
    // The writes landed on drive 0 too, staged in its own area.
    assert_real_file(&drive.join(BUCKET).join("p").join("%meta"));
    assert_real_file(&drive.join(BUCKET).join("mp").join("%meta"));
}

/// An upload's directory on one drive is a symlink to that upload's directory moved out of
/// the drive: parts are never committed or linked there, the upload completes from the others.
#[test]
fn an_upload_directory_symlinked_out_of_the_drive() {
    let (d, e) = setup();
    let id = e
        .new_multipart(BUCKET, "mp", &PutOptions::default())
        .unwrap();
    let upload = d.paths[0]
        .join(".strata.sys/multipart")
        .join(BUCKET)
        .join(&id);
    let trap_dir = outside(&d);
    plant(&upload, &trap_dir.join("upload"));
    let mut trap = Trap::new(&trap_dir);

    let (a, b) = (data(150_000, 12), data(1000, 13));
    let pa = e.put_part(BUCKET, "mp", &id, 1, &mut &a[..], None).unwrap();
    let pb = e.put_part(BUCKET, "mp", &id, 2, &mut &b[..], None).unwrap();
    assert_eq!(e.list_parts(BUCKET, "mp", &id).unwrap().len(), 2);
    e.complete_multipart(BUCKET, "mp", &id, &[(1, pa.etag), (2, pb.etag)])
        .unwrap();
    assert_reads(&e, "mp", &[a, b].concat());
    trap.assert_untouched("parts, listing and completion");
}

/// Symlink loops where key directories belong: no write, read or listing loops or fails, and
/// heal replaces them with real directories holding the drive's copies.
#[test]
fn symlink_loops_inside_a_drive() {
    let (d, e) = setup();
    let bucket = d.paths[0].join(BUCKET);
    symlink("loop", bucket.join("loop")).unwrap();
    symlink("b", bucket.join("a")).unwrap();
    symlink("a", bucket.join("b")).unwrap();
    let (x, y) = (data(300_000, 14), data(100, 15));
    put(&e, BUCKET, "loop/x", &x);
    put(&e, BUCKET, "a/y", &y);
    assert_reads(&e, "loop/x", &x);
    assert_reads(&e, "a/y", &y);
    assert_eq!(keys(&e, ""), ["a/y", "loop/x"]);
    let q = ListQuery {
        delimiter: Some("/".into()),
        max_keys: 1000,
        ..Default::default()
    };
    assert_eq!(
        e.list_objects(BUCKET, &q).unwrap().prefixes,
        ["a/", "loop/"]
    );

    e.scan_now();
    assert_real_file(&bucket.join("loop/x/%meta"));
    assert_real_file(&bucket.join("a/y/%meta"));
    assert!(
        is_link(&bucket.join("b")),
        "a loop nobody wrote under is left alone"
    );
}

/// `.strata.sys` of a drive is a symlink (to the drive's own, moved out): its format record is
/// not taken from there, so the drive is not used, and nothing is written there.
#[test]
fn a_system_directory_symlinked_out_of_the_drive() {
    let d = Dirs::new(4);
    let body = data(300_000, 16);
    {
        let e = open(&d);
        e.make_bucket(BUCKET).unwrap();
        put(&e, BUCKET, "k", &body);
    }
    let trap_dir = outside(&d);
    plant(&d.paths[0].join(".strata.sys"), &trap_dir.join("sys"));
    let mut trap = Trap::new(&trap_dir);
    let e = open(&d);
    let refused = e.problems().into_iter().any(|p| {
        matches!(&p, DriveProblem::Offline { path, reason }
            if *path == d.paths[0] && reason.contains("symlink"))
    });
    assert!(refused, "drive 0 was used: {:?}", e.problems());
    assert_reads(&e, "k", &body);
    put(&e, BUCKET, "k2", &body);
    trap.assert_untouched("opening the deployment and writing");
}
