//! Symlinks planted inside a drive of a running server, seen through the S3 API with the AWS
//! CLI: a bucket directory pointing at a directory like `/etc`, a key directory pointing at its
//! own copy moved out of the drive, the temporary area pointing outside. Uploads (multipart
//! too), downloads, HEAD, listings and deletes never touch what the links point at (inotify
//! watches it), every object reads back whole, and the start-up scan replaces the links with
//! real directories. Fails without `engine::drive::beneath`.

use crate::common;
use crate::s3_support;

use common::trap::Trap;
use s3_support::{same_file, write_big_file, write_file, Server};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::{Duration, Instant};

fn is_real_dir(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok_and(|m| m.is_dir())
}

fn is_real_file(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok_and(|m| m.is_file())
}

#[track_caller]
fn download_same(s: &Server, url: &str, local: &str) {
    let dest = s.work().join("download");
    let _ = fs::remove_file(&dest);
    s.aws_ok(&[
        "s3",
        "cp",
        "--only-show-errors",
        url,
        dest.to_str().unwrap(),
    ]);
    assert!(
        same_file(&s.work().join(local), &dest),
        "{url} reads back wrong"
    );
}

#[test]
fn symlinks_inside_a_drive_are_never_followed_through_s3() {
    let mut s = Server::start();
    let work = s.work();
    write_file(&work.join("small"), b"root:x:0:0:root:/root:/bin/sh\n");
    write_big_file(&work.join("big"), 12); // the CLI uploads it in parts (8 MiB threshold)
    s.aws_ok(&["s3", "mb", "s3://bkt"]);
    s.aws_ok(&["s3", "mb", "s3://etc"]);
    s.aws_ok(&["s3", "cp", "--only-show-errors", "big", "s3://bkt/dir/x"]);

    // On the first drive: bucket "etc" is a symlink to a directory like /etc, the key
    // directory "dir/" of "bkt" a symlink to its own copy moved out, the temporary area too.
    let drive = s.drives[0].clone();
    let trap_dir = s.tmp.path().join("outside");
    fs::create_dir_all(trap_dir.join("tmp")).unwrap();
    fs::rename(drive.join("bkt/dir"), trap_dir.join("dir")).unwrap();
    symlink(trap_dir.join("dir"), drive.join("bkt/dir")).unwrap();
    fs::remove_dir_all(drive.join("etc")).unwrap();
    symlink(&trap_dir, drive.join("etc")).unwrap();
    fs::remove_dir_all(drive.join(".strata.sys/tmp")).unwrap();
    symlink(trap_dir.join("tmp"), drive.join(".strata.sys/tmp")).unwrap();
    let mut trap = Trap::new(&trap_dir);

    s.aws_ok(&["s3", "cp", "--only-show-errors", "small", "s3://etc/passwd"]);
    s.aws_ok(&[
        "s3",
        "cp",
        "--only-show-errors",
        "small",
        "s3://etc/sub/new",
    ]);
    s.aws_ok(&["s3", "cp", "--only-show-errors", "big", "s3://bkt/dir/y"]);
    download_same(&s, "s3://bkt/dir/x", "big");
    download_same(&s, "s3://bkt/dir/y", "big");
    download_same(&s, "s3://etc/passwd", "small");
    let head = s.aws_ok(&["s3api", "head-object", "--bucket", "bkt", "--key", "dir/x"]);
    assert!(head.contains("\"ContentLength\": 12582912"), "{head}");
    let listed = s.aws_ok(&["s3", "ls", "--recursive", "s3://etc/"]);
    let names: Vec<&str> = listed
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .collect();
    assert_eq!(names, ["passwd", "sub/new"], "{listed}");
    let listed = s.aws_ok(&["s3", "ls", "s3://bkt/dir/"]);
    assert!(
        listed.contains(" x\n") && listed.contains(" y\n"),
        "{listed}"
    );
    s.aws_ok(&["s3", "rm", "--only-show-errors", "s3://bkt/dir/x"]);
    let gone = s.aws(&["s3api", "head-object", "--bucket", "bkt", "--key", "dir/x"]);
    assert!(!gone.status.success(), "dir/x is still there");
    trap.assert_untouched("uploads, downloads, HEAD, listings and DELETE");

    // A restart's start-up scan heals the drive: real directories, the drive's own copies.
    s.kill();
    s.launch(&[]);
    let healed = || {
        is_real_dir(&drive.join("etc"))
            && is_real_file(&drive.join("etc/passwd/%meta"))
            && is_real_dir(&drive.join("bkt/dir"))
            && is_real_file(&drive.join("bkt/dir/y/%meta"))
            && is_real_dir(&drive.join(".strata.sys/tmp"))
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !healed() {
        assert!(
            Instant::now() < deadline,
            "the drive was not healed; log:\n{}",
            s.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    download_same(&s, "s3://bkt/dir/y", "big");
    trap.assert_untouched("restart and heal");
}
