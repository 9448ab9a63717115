//! Engine operations on plain folders: buckets, objects, listing, multipart, layout.

use crate::support::{cfg, data, find_file, get, put, Dirs};
use std::io::Read;
use strata_engine::{Config, DriveProblem, Engine, EngineError, ListQuery, PutOptions};

#[test]
fn objects_round_trip_in_every_size_class() {
    let d = Dirs::new(4);
    let e = d.open(cfg());
    e.make_bucket("photos").unwrap();
    for (i, len) in [0usize, 1, 100, 4096, 4097, 65535, 65536, 65537, 300_000]
        .into_iter()
        .enumerate()
    {
        let body = data(len, i as u64);
        let info = put(&e, "photos", &format!("k{len}"), &body);
        assert_eq!(info.size, len as u64);
        assert_eq!(info.etag, format!("{:x}", md5_of(&body)));
        assert_eq!(
            get(&e, "photos", &format!("k{len}")).unwrap(),
            body,
            "len {len}"
        );
    }
}

fn md5_of(b: &[u8]) -> u128 {
    use md5::Digest;
    u128::from_be_bytes(md5::Md5::digest(b).into())
}

#[test]
fn ranges_touch_only_what_they_need_and_bad_ranges_fail() {
    let d = Dirs::new(6);
    let e = d.open(cfg());
    e.make_bucket("b12").unwrap();
    let body = data(200_000, 7);
    put(&e, "b12", "obj", &body);
    for (start, len) in [
        (0u64, 1u64),
        (65535, 2),
        (65536, 65536),
        (199_999, 10),
        (10, 1_000_000),
    ] {
        let mut r = e.get_object("b12", "obj", Some((start, len))).unwrap();
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        let end = (start + len).min(200_000) as usize;
        assert_eq!(out, body[start as usize..end], "range {start}+{len}");
    }
    assert!(matches!(
        e.get_object("b12", "obj", Some((200_000, 1))),
        Err(EngineError::InvalidRange { .. })
    ));
}

#[test]
fn buckets_have_s3_rules() {
    let d = Dirs::new(4);
    let e = d.open(cfg());
    assert!(matches!(
        e.make_bucket("Bad_Name"),
        Err(EngineError::InvalidBucketName(_))
    ));
    e.make_bucket("alpha").unwrap();
    e.make_bucket("beta").unwrap();
    assert!(matches!(
        e.make_bucket("alpha"),
        Err(EngineError::BucketExists(_))
    ));
    let names: Vec<String> = e
        .list_buckets()
        .unwrap()
        .into_iter()
        .map(|b| b.name)
        .collect();
    assert_eq!(names, vec!["alpha", "beta"]);
    put(&e, "alpha", "x", b"1");
    assert!(matches!(
        e.delete_bucket("alpha"),
        Err(EngineError::BucketNotEmpty(_))
    ));
    assert!(matches!(
        e.put_object("nobucket", "x", &mut &b""[..], &PutOptions::default()),
        Err(EngineError::NoSuchBucket(_))
    ));
    e.delete_object("alpha", "x").unwrap();
    e.delete_object("alpha", "x").unwrap(); // idempotent
    assert!(matches!(
        e.head_object("alpha", "x"),
        Err(EngineError::NoSuchKey { .. })
    ));
    e.delete_bucket("alpha").unwrap();
    assert!(!e.bucket_exists("alpha").unwrap());
}

#[test]
fn awkward_keys_stay_inside_their_bucket() {
    let d = Dirs::new(4);
    let e = d.open(cfg());
    e.make_bucket("keys").unwrap();
    let long = "ü".repeat(500);
    let keys = [
        "../../escape",
        "a//b",
        "/lead",
        "trail/",
        ".",
        "..",
        "%meta",
        "dir/%d00",
        "日本語/ファイル",
        long.as_str(),
        "a",
        "a/b",
    ];
    for (i, k) in keys.iter().enumerate() {
        put(&e, "keys", k, &data(10 + i, i as u64));
    }
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(get(&e, "keys", k).unwrap(), data(10 + i, i as u64), "{k:?}");
    }
    // Nothing was written outside the bucket directories.
    for p in &d.paths {
        let mut top: Vec<String> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        top.sort();
        assert_eq!(top, vec![".strata.sys", "keys"]);
    }
    let page = e
        .list_objects(
            "keys",
            &ListQuery {
                max_keys: 1000,
                ..Default::default()
            },
        )
        .unwrap();
    let mut listed: Vec<String> = page.objects.iter().map(|o| o.key.clone()).collect();
    let mut want: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    want.sort();
    assert_eq!(listed, want, "listing is in key order");
    listed.dedup();
    assert_eq!(listed.len(), keys.len());
    assert!(matches!(
        e.put_object(
            "keys",
            &"k".repeat(1025),
            &mut &b""[..],
            &PutOptions::default()
        ),
        Err(EngineError::KeyTooLong {
            len: 1025,
            max: 1024
        })
    ));
    for k in keys {
        e.delete_object("keys", k).unwrap();
    }
    e.delete_bucket("keys").unwrap();
}

#[test]
fn listing_with_prefix_delimiter_and_pages_across_sets() {
    let d = Dirs::new(8);
    let e = d.open(Config {
        set_size: Some(4),
        ..cfg()
    });
    assert_eq!(e.set_count(), 2);
    e.make_bucket("list").unwrap();
    let mut keys = Vec::new();
    for dir in ["a", "a-b", "b", "c/d"] {
        for i in 0..7 {
            keys.push(format!("{dir}/{i:02}"));
        }
    }
    keys.extend(["a", "top1", "top2"].map(String::from));
    for k in &keys {
        put(&e, "list", k, k.as_bytes());
    }
    keys.sort();
    // Pages of 5 cover everything exactly once, in order.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = e
            .list_objects(
                "list",
                &ListQuery {
                    max_keys: 5,
                    after: after.clone(),
                    ..Default::default()
                },
            )
            .unwrap();
        seen.extend(page.objects.iter().map(|o| o.key.clone()));
        if !page.truncated {
            break;
        }
        after = page.next_after.clone();
    }
    assert_eq!(seen, keys);
    // Delimiter: common prefixes in order, objects at the top level.
    let page = e
        .list_objects(
            "list",
            &ListQuery {
                delimiter: Some("/".into()),
                max_keys: 1000,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(page.prefixes, vec!["a-b/", "a/", "b/", "c/"]);
    let top: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(top, vec!["a", "top1", "top2"]);
    // Prefix and a non-slash delimiter.
    let page = e
        .list_objects(
            "list",
            &ListQuery {
                prefix: "c/".into(),
                max_keys: 3,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(page.objects.len(), 3);
    assert!(page.truncated);
    let page = e
        .list_objects(
            "list",
            &ListQuery {
                prefix: "a".into(),
                delimiter: Some("-".into()),
                max_keys: 1000,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(page.prefixes, vec!["a-"]);
    assert_eq!(page.objects.len(), 8);
    // Paging through prefixes with a delimiter.
    let first = e
        .list_objects(
            "list",
            &ListQuery {
                delimiter: Some("/".into()),
                max_keys: 2,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        first
            .objects
            .iter()
            .map(|o| o.key.as_str())
            .collect::<Vec<_>>(),
        vec!["a"]
    );
    assert_eq!(first.prefixes, vec!["a-b/"]);
    assert!(first.truncated);
    let next = e
        .list_objects(
            "list",
            &ListQuery {
                delimiter: Some("/".into()),
                max_keys: 10,
                after: first.next_after.clone(),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(next.prefixes, vec!["a/", "b/", "c/"]);
    assert_eq!(next.objects.len(), 2);
    assert!(!next.truncated);
}

#[test]
fn multipart_upload_completes_without_copying_and_checks_parts() {
    let d = Dirs::new(4);
    let e = d.open(cfg());
    e.make_bucket("mpu").unwrap();
    let id = e
        .new_multipart(
            "mpu",
            "big",
            &PutOptions {
                content_type: Some("video/mp4".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let parts: Vec<Vec<u8>> = (0..3)
        .map(|i| data(if i < 2 { 150_000 } else { 1000 }, i))
        .collect();
    let mut etags = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        etags.push((
            i as u32 + 1,
            e.put_part("mpu", "big", &id, i as u32 + 1, &mut &p[..], None)
                .unwrap()
                .etag,
        ));
    }
    // Re-uploading a part replaces it.
    let p2 = e
        .put_part("mpu", "big", &id, 2, &mut &parts[1][..], None)
        .unwrap();
    assert_eq!(p2.etag, etags[1].1);
    let listed = e.list_parts("mpu", "big", &id).unwrap();
    assert_eq!(
        listed.iter().map(|p| p.number).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(e.list_multipart("mpu", "").unwrap().len(), 1);
    // Bad completions change nothing.
    assert!(matches!(
        e.complete_multipart(
            "mpu",
            "big",
            &id,
            &[(2, etags[1].1.clone()), (1, etags[0].1.clone())]
        ),
        Err(EngineError::InvalidPartOrder)
    ));
    assert!(matches!(
        e.complete_multipart("mpu", "big", &id, &[(1, "nope".into())]),
        Err(EngineError::InvalidPart(_))
    ));
    let small = e
        .new_multipart("mpu", "small", &PutOptions::default())
        .unwrap();
    let t1 = e
        .put_part("mpu", "small", &small, 1, &mut &b"tiny"[..], None)
        .unwrap();
    let t2 = e
        .put_part("mpu", "small", &small, 2, &mut &b"end"[..], None)
        .unwrap();
    assert!(matches!(
        e.complete_multipart("mpu", "small", &small, &[(1, t1.etag), (2, t2.etag)]),
        Err(EngineError::EntityTooSmall { part: 1, .. })
    ));
    e.abort_multipart("mpu", "small", &small).unwrap();
    assert!(matches!(
        e.list_parts("mpu", "small", &small),
        Err(EngineError::NoSuchUpload(_))
    ));
    assert!(matches!(
        e.put_part("mpu", "big", "../../x", 1, &mut &b""[..], None),
        Err(EngineError::NoSuchUpload(_))
    ));

    let info = e.complete_multipart("mpu", "big", &id, &etags).unwrap();
    assert!(info.etag.ends_with("-3"), "{}", info.etag);
    assert_eq!(info.size, 301_000);
    let whole: Vec<u8> = parts.concat();
    assert_eq!(get(&e, "mpu", "big").unwrap(), whole);
    let mut r = e.get_object("mpu", "big", Some((149_990, 20))).unwrap();
    let mut out = Vec::new();
    r.read_to_end(&mut out).unwrap();
    assert_eq!(out, whole[149_990..150_010]);
    assert_eq!(
        e.head_object("mpu", "big").unwrap().content_type.as_deref(),
        Some("video/mp4")
    );
    assert!(e.list_multipart("mpu", "").unwrap().is_empty());
}

#[test]
fn drives_in_another_order_or_path_find_their_places() {
    let d = Dirs::new(4);
    let e = d.open(cfg());
    let id = e.deployment_id().to_string();
    e.make_bucket("order").unwrap();
    put(&e, "order", "k", &data(100_000, 3));
    drop(e);
    // Move one drive elsewhere and shuffle the list.
    let moved = d.paths[0].with_file_name("moved");
    std::fs::rename(&d.paths[0], &moved).unwrap();
    let shuffled = vec![
        d.paths[3].clone(),
        moved,
        d.paths[1].clone(),
        d.paths[2].clone(),
    ];
    let e = Engine::open(&[shuffled], cfg()).unwrap();
    assert_eq!(e.deployment_id(), id);
    assert!(e.problems().is_empty(), "{:?}", e.problems());
    assert_eq!(get(&e, "order", "k").unwrap(), data(100_000, 3));
}

#[test]
fn foreign_and_unformatted_drives_are_reported_not_used() {
    let a = Dirs::new(4);
    let b = Dirs::new(4);
    a.open(cfg()).make_bucket("mine").unwrap();
    b.open(cfg());
    let fresh = a.paths[0].with_file_name("fresh");
    std::fs::create_dir_all(&fresh).unwrap();
    // Drive 0 of A is replaced by a drive of B, drive 1 by an empty folder.
    let mixed = vec![
        b.paths[0].clone(),
        fresh.clone(),
        a.paths[2].clone(),
        a.paths[3].clone(),
    ];
    let e = Engine::open(&[mixed], cfg()).unwrap();
    let problems = e.problems();
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, DriveProblem::Foreign { path, .. } if *path == b.paths[0])),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, DriveProblem::Unformatted { path } if *path == fresh)),
        "{problems:?}"
    );
    assert_eq!(
        problems
            .iter()
            .filter(|p| matches!(p, DriveProblem::Missing { .. }))
            .count(),
        2
    );
    // The foreign drive was not touched.
    assert!(!b.paths[0].join("mine").exists());
    assert!(
        !fresh.join(".strata.sys").exists(),
        "unformatted drive must not be formatted silently"
    );
}

#[test]
fn single_drive_deployment_keeps_bitrot_protection() {
    let d = Dirs::new(1);
    let e = d.open(cfg());
    e.make_bucket("one").unwrap();
    let body = data(150_000, 9);
    put(&e, "one", "k", &body);
    assert_eq!(get(&e, "one", "k").unwrap(), body);
    // Flip a bit in the shard file: the read fails instead of returning wrong data.
    let part = find_file(&d.paths[0].join("one"), "part.1").unwrap();
    let mut bytes = std::fs::read(&part).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&part, bytes).unwrap();
    assert!(matches!(
        get(&e, "one", "k"),
        Err(EngineError::ReadQuorum { .. })
    ));
}

/// The background healer ends with its engine: opening and dropping engines leaves no threads.
#[test]
fn healer_thread_ends_with_the_engine() {
    fn healers() -> usize {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .flatten()
            .filter(|t| {
                std::fs::read_to_string(t.path().join("comm"))
                    .is_ok_and(|c| c.trim() == "strata-healer")
            })
            .count()
    }
    /// Waits (up to 5 s: threads name themselves once running) until `want` healers run.
    fn settle(want: usize) -> usize {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while healers() != want && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        healers()
    }
    let d = Dirs::new(4);
    let before = healers();
    for _ in 0..3 {
        let e = d.open(Config {
            background_heal: true,
            ..cfg()
        });
        assert_eq!(settle(before + 1), before + 1, "one healer per open engine");
        drop(e);
        assert_eq!(settle(before), before, "the healer outlived its engine");
    }
}

/// A key whose `%meta` is damaged on more drives than parity (one flipped bit on a one-drive
/// deployment) cannot be read, and no answer will ever decide it: listings go on without it
/// instead of failing for the whole bucket, while its reads still fail (never wrong bytes).
/// Drives that are away, not damaged, still make a listing wait (tested in `faults`).
#[test]
fn a_key_with_metadata_damaged_beyond_parity_is_left_out_of_listings() {
    for (n, damaged) in [(1, 1), (4, 3)] {
        let d = Dirs::new(n);
        let e = d.open(Config {
            parity: Some(n / 2),
            ..cfg()
        });
        e.make_bucket("bkt").unwrap();
        for i in 0..5 {
            put(&e, "bkt", &format!("k{i}"), &data(1000, i));
        }
        for drive in d.paths.iter().take(damaged) {
            let meta = drive.join("bkt").join("k2").join("%meta");
            let mut bytes = std::fs::read(&meta).unwrap();
            let at = bytes.len() / 2;
            bytes[at] ^= 1;
            std::fs::write(&meta, bytes).unwrap();
        }
        let q = ListQuery {
            max_keys: 1000,
            ..Default::default()
        };
        let page = e.list_objects("bkt", &q).unwrap();
        let keys: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["k0", "k1", "k3", "k4"], "{n} drive(s)");
        assert!(
            matches!(get(&e, "bkt", "k2"), Err(EngineError::ReadQuorum { .. })),
            "{n} drive(s)"
        );
        assert_eq!(get(&e, "bkt", "k3").unwrap(), data(1000, 3));
    }
}
