//! The S3 API with real clients against a real `strata server` (4 drive folders, parity 2):
//! the AWS CLI v2 (with curl for presigned URLs), boto3, s3cmd and rclone.

use crate::s3_support;

use s3_support::{curl_status, data, same_file, write_big_file, write_file, Server, MIB};
use std::fs;

#[test]
fn aws_cli_round_trip() {
    let s = Server::start();
    let w = s.work();

    // Buckets.
    s.aws_ok(&["s3", "mb", "s3://cli-one"]);
    s.aws_ok(&["s3", "mb", "s3://cli-two"]);
    let ls = s.aws_ok(&["s3", "ls"]);
    assert!(ls.contains(" cli-one") && ls.contains(" cli-two"), "{ls}");

    // A small file, a 10 MiB random file (multipart: above the CLI's 8 MiB threshold) and a
    // 100 MiB file (13 parts of 8 MiB, sent concurrently).
    write_file(&w.join("small.txt"), b"hello from the AWS CLI\n");
    write_file(&w.join("ten.bin"), &data(10 * MIB, 10));
    write_big_file(&w.join("big.bin"), 100);
    for (local, key) in [
        ("small.txt", "s3://cli-one/docs/small.txt"),
        ("ten.bin", "s3://cli-one/data/ten.bin"),
        ("big.bin", "s3://cli-one/data/big.bin"),
    ] {
        s.aws_ok(&["s3", "cp", "--only-show-errors", local, key]);
    }
    let head = s.aws_ok(&[
        "s3api",
        "head-object",
        "--bucket",
        "cli-one",
        "--key",
        "data/big.bin",
    ]);
    let head: serde_json::Value = serde_json::from_str(&head).unwrap();
    assert_eq!(head["ContentLength"], 100 * MIB as u64, "{head}");
    assert!(
        head["ETag"].as_str().unwrap().ends_with("-13\""),
        "100 MiB should be a 13-part multipart upload: {head}"
    );

    let listing = s.aws_ok(&["s3", "ls", "--recursive", "s3://cli-one"]);
    let mut lines: Vec<(String, u64)> = listing
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[3].to_string(), f[2].parse().unwrap())
        })
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        vec![
            ("data/big.bin".to_string(), 100 * MIB as u64),
            ("data/ten.bin".to_string(), 10 * MIB as u64),
            ("docs/small.txt".to_string(), 23),
        ]
    );

    // Downloads match byte for byte (the CLI also downloads big objects in ranged parts).
    fs::create_dir_all(w.join("down")).unwrap();
    for (key, local) in [
        ("docs/small.txt", "small.txt"),
        ("data/ten.bin", "ten.bin"),
        ("data/big.bin", "big.bin"),
    ] {
        let dest = format!("down/{local}");
        s.aws_ok(&[
            "s3",
            "cp",
            "--only-show-errors",
            &format!("s3://cli-one/{key}"),
            &dest,
        ]);
        assert!(same_file(&w.join(local), &w.join(&dest)), "{key} differs");
    }

    // Presigned GET (made by the CLI) with curl.
    let url = s.aws_ok(&[
        "s3",
        "presign",
        "s3://cli-one/docs/small.txt",
        "--expires-in",
        "300",
    ]);
    let (status, body) = curl_status(url.trim(), &[]);
    assert_eq!((status, body.as_str()), (200, "hello from the AWS CLI\n"));
    // A tampered presigned URL is refused.
    let tampered = url.trim().replace("small.txt", "small.txx");
    assert_eq!(curl_status(&tampered, &[]).0, 403);

    // Presigned PUT (made by boto3) with curl, then read back with the CLI.
    let put_url = s.py_ok("presign.py", &["put", "cli-one", "docs/by-curl.bin"]);
    write_file(&w.join("by-curl.bin"), &data(3 * MIB + 1, 11));
    let file = w.join("by-curl.bin");
    let (status, body) = curl_status(put_url.trim(), &["-T", file.to_str().unwrap()]);
    assert_eq!(status, 200, "presigned PUT: {body}");
    s.aws_ok(&[
        "s3",
        "cp",
        "--only-show-errors",
        "s3://cli-one/docs/by-curl.bin",
        "down/by-curl.bin",
    ]);
    assert!(same_file(
        &w.join("by-curl.bin"),
        &w.join("down/by-curl.bin")
    ));

    // Server-side copies: a small one (CopyObject) and the 10 MiB one (the CLI copies objects
    // above 8 MiB with UploadPartCopy).
    s.aws_ok(&[
        "s3",
        "cp",
        "--only-show-errors",
        "s3://cli-one/docs/small.txt",
        "s3://cli-two/small-copy.txt",
    ]);
    s.aws_ok(&[
        "s3",
        "cp",
        "--only-show-errors",
        "s3://cli-one/data/ten.bin",
        "s3://cli-two/ten-copy.bin",
    ]);
    s.aws_ok(&[
        "s3",
        "cp",
        "--only-show-errors",
        "s3://cli-two/ten-copy.bin",
        "down/ten-copy.bin",
    ]);
    assert!(same_file(&w.join("ten.bin"), &w.join("down/ten-copy.bin")));
    let (status, body) = curl_status(
        s.aws_ok(&["s3", "presign", "s3://cli-two/small-copy.txt"])
            .trim(),
        &[],
    );
    assert_eq!((status, body.as_str()), (200, "hello from the AWS CLI\n"));

    // Sync a small tree up and down.
    write_file(&w.join("tree/a.txt"), b"a");
    write_file(&w.join("tree/sub/b.bin"), &data(70_000, 12));
    s.aws_ok(&[
        "s3",
        "sync",
        "--only-show-errors",
        "tree",
        "s3://cli-two/tree",
    ]);
    s.aws_ok(&[
        "s3",
        "sync",
        "--only-show-errors",
        "s3://cli-two/tree",
        "tree-back",
    ]);
    assert!(same_file(&w.join("tree/a.txt"), &w.join("tree-back/a.txt")));
    assert!(same_file(
        &w.join("tree/sub/b.bin"),
        &w.join("tree-back/sub/b.bin")
    ));

    // Delete one, then several at once.
    s.aws_ok(&["s3", "rm", "s3://cli-one/docs/small.txt"]);
    let out = s.aws_ok(&[
        "s3api",
        "delete-objects",
        "--bucket",
        "cli-one",
        "--delete",
        r#"{"Objects":[{"Key":"data/ten.bin"},{"Key":"data/big.bin"},{"Key":"docs/by-curl.bin"}]}"#,
    ]);
    let out: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut deleted: Vec<&str> = out["Deleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["Key"].as_str().unwrap())
        .collect();
    deleted.sort();
    assert_eq!(
        deleted,
        ["data/big.bin", "data/ten.bin", "docs/by-curl.bin"]
    );
    assert!(out.get("Errors").is_none(), "{out}");
    assert_eq!(s.aws_ok(&["s3", "ls", "--recursive", "s3://cli-one"]), "");
    let gone = s.aws(&[
        "s3api",
        "head-object",
        "--bucket",
        "cli-one",
        "--key",
        "data/ten.bin",
    ]);
    assert!(!gone.status.success());
    assert!(String::from_utf8_lossy(&gone.stderr).contains("404"));

    // Remove the buckets (one empty, one with --force).
    s.aws_ok(&["s3", "rb", "s3://cli-one"]);
    s.aws_ok(&["s3", "rb", "--force", "s3://cli-two"]);
    assert_eq!(s.aws_ok(&["s3", "ls"]).trim(), "");
}

#[test]
fn boto3_round_trip() {
    let s = Server::start();
    let summary = s.py_json("boto3_roundtrip.py", &["boto-bucket"]);
    for step in [
        "crc32_header",
        "sha256",
        "multipart",
        "copy_replace",
        "tagging",
        "conditional",
        "range",
    ] {
        assert_eq!(summary[step], true, "step {step}: {summary}");
    }
    assert_eq!(
        summary["crc32_trailer"],
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    );
    assert_eq!(summary["list_pages"], 3);
    // The script removed everything it made.
    assert_eq!(s.aws_ok(&["s3", "ls"]).trim(), "");
}

#[test]
fn s3cmd_round_trip() {
    let s = Server::start();
    let w = s.work();
    write_file(&w.join("note.txt"), b"s3cmd was here\n");
    write_file(&w.join("twelve.bin"), &data(12 * MIB, 21));

    s.s3cmd_ok(&["mb", "s3://s3cmd-bucket"]);
    assert!(s.s3cmd_ok(&["ls"]).contains("s3://s3cmd-bucket"));
    s.s3cmd_ok(&["put", "note.txt", "s3://s3cmd-bucket/notes/note.txt"]);
    // Multipart with 5 MiB chunks: three parts.
    s.s3cmd_ok(&[
        "put",
        "--multipart-chunk-size-mb=5",
        "twelve.bin",
        "s3://s3cmd-bucket/twelve.bin",
    ]);
    let ls = s.s3cmd_ok(&["ls", "--recursive", "s3://s3cmd-bucket"]);
    assert!(ls.contains("s3://s3cmd-bucket/notes/note.txt"), "{ls}");
    assert!(ls.contains("s3://s3cmd-bucket/twelve.bin"), "{ls}");
    assert!(ls.contains(&format!("{}", 12 * MIB)), "{ls}");

    s.s3cmd_ok(&["get", "s3://s3cmd-bucket/notes/note.txt", "note.back"]);
    s.s3cmd_ok(&["get", "s3://s3cmd-bucket/twelve.bin", "twelve.back"]);
    assert!(same_file(&w.join("note.txt"), &w.join("note.back")));
    assert!(same_file(&w.join("twelve.bin"), &w.join("twelve.back")));

    // rb refuses a bucket that still holds objects.
    assert!(!s.s3cmd(&["rb", "s3://s3cmd-bucket"]).status.success());
    s.s3cmd_ok(&["del", "s3://s3cmd-bucket/notes/note.txt"]);
    s.s3cmd_ok(&["del", "s3://s3cmd-bucket/twelve.bin"]);
    assert_eq!(
        s.s3cmd_ok(&["ls", "--recursive", "s3://s3cmd-bucket"])
            .trim(),
        ""
    );
    s.s3cmd_ok(&["rb", "s3://s3cmd-bucket"]);
    assert!(!s.s3cmd_ok(&["ls"]).contains("s3cmd-bucket"));
}

#[test]
fn rclone_round_trip() {
    let s = Server::start();
    let w = s.work();
    write_file(&w.join("tree/a.txt"), b"alpha\n");
    write_file(&w.join("tree/with space.txt"), b"spaced out\n");
    write_file(&w.join("tree/sub/b.bin"), &data(3 * MIB + 7, 31));
    write_file(
        &w.join("tree/sub/deeper/ünïcødé.txt"),
        "ünïcødé\n".as_bytes(),
    );
    write_file(&w.join("tree/sub/deeper/empty"), b"");

    s.rclone_ok(&["mkdir", "strata:rclone-bucket"]);
    s.rclone_ok(&["copy", "tree", "strata:rclone-bucket/tree"]);
    // `rclone check` compares sizes and MD5 hashes (the ETags) of every file.
    s.rclone_ok(&["check", "tree", "strata:rclone-bucket/tree"]);
    let mut listed: Vec<String> = s
        .rclone_ok(&["lsf", "-R", "--files-only", "strata:rclone-bucket/tree"])
        .lines()
        .map(str::to_string)
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            "a.txt",
            "sub/b.bin",
            "sub/deeper/empty",
            "sub/deeper/ünïcødé.txt",
            "with space.txt"
        ]
    );
    s.rclone_ok(&["copy", "strata:rclone-bucket/tree", "back"]);
    for f in [
        "a.txt",
        "with space.txt",
        "sub/b.bin",
        "sub/deeper/ünïcødé.txt",
        "sub/deeper/empty",
    ] {
        assert!(
            same_file(&w.join("tree").join(f), &w.join("back").join(f)),
            "{f} differs"
        );
    }
    // check notices a difference (so the check above means something).
    write_file(&w.join("tree/a.txt"), b"ALPHA\n");
    assert!(!s
        .rclone(&["check", "tree", "strata:rclone-bucket/tree"])
        .status
        .success());
    s.rclone_ok(&["purge", "strata:rclone-bucket"]);
    assert!(!s.rclone_ok(&["lsd", "strata:"]).contains("rclone-bucket"));
}
