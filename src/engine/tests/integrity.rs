//! Nothing wrong: attacks on what a read trusts. Racing part uploads, shard files moved between
//! drives, a metadata copy whose format byte was changed (or that was forged whole), reads that
//! an overwrite or delete overtakes, racing create-only writes. Each test failed on the engine
//! before the commit protocol (`set::commit`) and the identity-keyed shard hashes (`shard`).

use crate::support::{cfg, data, find_file, get, put, Dirs};
use std::path::{Path, PathBuf};
use std::sync::Barrier;
use strata_engine::names::key_dir;
use strata_engine::{Config, Engine, EngineError, PutOptions};

fn object_dir(drive: &Path, bucket: &str, key: &str) -> PathBuf {
    drive.join(bucket).join(key_dir(key))
}

fn open(d: &Dirs, parity: usize) -> Engine {
    d.open(Config {
        parity: Some(parity),
        ..cfg()
    })
}

/// Two uploads of one part number racing (a client's retry and the original), then a
/// completion naming one of their ETags: the object is exactly the named body, never a mix of
/// both, whatever the geometry.
#[test]
fn racing_uploads_of_one_part_never_mix() {
    for (drives, parity) in [(4, 2), (6, 2)] {
        let d = Dirs::new(drives);
        let e = open(&d, parity);
        e.make_bucket("race").unwrap();
        for round in 0..30u64 {
            let id = e
                .new_multipart("race", "obj", &PutOptions::default())
                .unwrap();
            // Several blocks each (64 KiB blocks in tests), the same size: only the bytes differ.
            let a = data(300_000, round * 2 + 1);
            let b = data(300_000, round * 2 + 2);
            let start = Barrier::new(2);
            let up = |body: &[u8]| {
                start.wait();
                e.put_part("race", "obj", &id, 1, &mut &body[..], None)
                    .unwrap()
            };
            let (ta, tb) = std::thread::scope(|s| {
                let ha = s.spawn(|| up(&a));
                let hb = s.spawn(|| up(&b));
                (ha.join().unwrap(), hb.join().unwrap())
            });
            let last = data(1000, 999);
            let t2 = e
                .put_part("race", "obj", &id, 2, &mut &last[..], None)
                .unwrap();
            let listed = e.list_parts("race", "obj", &id).unwrap();
            assert_eq!(listed.len(), 2, "round {round}: {listed:?}");
            assert!(listed[0].etag == ta.etag || listed[0].etag == tb.etag);
            let (name, body) = if round % 2 == 0 { (&ta, &a) } else { (&tb, &b) };
            e.complete_multipart("race", "obj", &id, &[(1, name.etag.clone()), (2, t2.etag)])
                .unwrap();
            let got = get(&e, "race", "obj").unwrap();
            assert!(
                got == [&body[..], &last[..]].concat(),
                "{drives} drives, round {round}: the object is not the body its ETag names \
                 (a mix of two uploads?)"
            );
        }
    }
}

/// The shard index each drive (by position) holds for the key.
fn indices(d: &Dirs, bucket: &str, key: &str) -> Vec<u8> {
    d.paths
        .iter()
        .map(|p| {
            let b = std::fs::read(object_dir(p, bucket, key).join("%meta")).unwrap();
            strata_engine::meta::MetaFile::decode(&b).unwrap().versions[0].shard
        })
        .collect()
}

fn swap(a: &Path, b: &Path) {
    let tmp = a.with_extension("swap");
    std::fs::rename(a, &tmp).unwrap();
    std::fs::rename(b, a).unwrap();
    std::fs::rename(&tmp, b).unwrap();
}

/// Shard files of one object exchanged between two drives (each a valid shard file, of the
/// wrong index): never returned as the object's bytes, full or ranged, and healed back.
#[test]
fn shard_files_swapped_between_drives_are_refused_and_healed() {
    let d = Dirs::new(4);
    let e = open(&d, 2);
    e.make_bucket("swap").unwrap();
    let single = data(200_000, 1);
    put(&e, "swap", "single", &single);
    let id = e
        .new_multipart("swap", "multi", &PutOptions::default())
        .unwrap();
    let p1 = data(150_000, 2);
    let p2 = data(70_000, 3);
    let t1 = e
        .put_part("swap", "multi", &id, 1, &mut &p1[..], None)
        .unwrap();
    let t2 = e
        .put_part("swap", "multi", &id, 2, &mut &p2[..], None)
        .unwrap();
    e.complete_multipart("swap", "multi", &id, &[(1, t1.etag), (2, t2.etag)])
        .unwrap();
    let multi = [p1, p2].concat();
    let before = crate::support::snapshot(&d.paths[0]);
    for (key, body, part) in [("single", &single, "part.1"), ("multi", &multi, "part.2")] {
        // The drives holding data shards 0 and 1: the ones a read uses first.
        let idx = indices(&d, "swap", key);
        let p0 = idx.iter().position(|i| *i == 0).unwrap();
        let p1 = idx.iter().position(|i| *i == 1).unwrap();
        let f0 = find_file(&object_dir(&d.paths[p0], "swap", key), part).unwrap();
        let f1 = find_file(&object_dir(&d.paths[p1], "swap", key), part).unwrap();
        swap(&f0, &f1);
        assert_eq!(&get(&e, "swap", key).unwrap(), body, "{key}: full read");
        for (start, len) in [
            (0u64, 1000u64),
            (65_000, 70_000),
            (body.len() as u64 - 10, 10),
        ] {
            let mut r = e.get_object("swap", key, Some((start, len))).unwrap();
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut r, &mut out).unwrap();
            let s = start as usize;
            assert_eq!(out, body[s..s + len as usize], "{key}: range {start}+{len}");
        }
        let healed = e.heal_object("swap", key).unwrap().healed;
        let mut want = vec![p0, p1];
        want.sort();
        assert_eq!(healed, want, "{key}");
        assert_eq!(&get(&e, "swap", key).unwrap(), body);
    }
    assert_eq!(
        crate::support::snapshot(&d.paths[0]),
        before,
        "healed back as written"
    );
}

/// Replaces every msgpack `size: 3145728` (u32) with 1 MiB.
fn shrink_size(bytes: &mut [u8]) -> usize {
    let from: &[u8] = &[0xa4, b's', b'i', b'z', b'e', 0xce, 0x00, 0x30, 0x00, 0x00];
    let to: &[u8] = &[0xa4, b's', b'i', b'z', b'e', 0xce, 0x00, 0x10, 0x00, 0x00];
    let mut n = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            n += 1;
        }
        i += 1;
    }
    n
}

/// One drive's metadata copy with its format field set to the old unchecked format and its
/// sizes edited: refused (its checksum covers the format field), so the object is read whole
/// from the others, and heal rewrites the copy.
#[test]
fn a_metadata_copy_with_a_changed_format_byte_is_refused() {
    let d = Dirs::new(4);
    let e = open(&d, 2);
    e.make_bucket("meta").unwrap();
    let body = data(3 << 20, 9);
    put(&e, "meta", "big", &body);
    for victim in 0..4 {
        let file = object_dir(&d.paths[victim], "meta", "big").join("%meta");
        let mut bytes = std::fs::read(&file).unwrap();
        bytes[4] = 1;
        bytes[5] = 0;
        assert!(shrink_size(&mut bytes) > 0, "the size field was not found");
        std::fs::write(&file, &bytes).unwrap();
        assert_eq!(e.head_object("meta", "big").unwrap().size, 3 << 20);
        assert_eq!(
            get(&e, "meta", "big").unwrap(),
            body,
            "copy on drive {victim}"
        );
        assert_eq!(e.heal_object("meta", "big").unwrap().healed, vec![victim]);
    }
}

/// A copy forged whole (a valid file with a checksum, the same version id and stamp, another
/// size): versions are compared by all of their content, so the forged one is another version
/// that only one drive holds, and loses.
#[test]
fn a_forged_metadata_copy_is_another_version() {
    use strata_engine::meta::MetaFile;
    let d = Dirs::new(4);
    let e = open(&d, 2);
    e.make_bucket("meta").unwrap();
    let body = data(3 << 20, 10);
    put(&e, "meta", "big", &body);
    let file = object_dir(&d.paths[0], "meta", "big").join("%meta");
    let mut m = MetaFile::decode(&std::fs::read(&file).unwrap()).unwrap();
    let o = m.versions[0].version.object.as_mut().unwrap();
    o.size = 1 << 20;
    o.parts[0].size = 1 << 20;
    std::fs::write(&file, m.encode()).unwrap();
    assert_eq!(e.head_object("meta", "big").unwrap().size, 3 << 20);
    assert_eq!(get(&e, "meta", "big").unwrap(), body);
    assert_eq!(e.heal_object("meta", "big").unwrap().healed, vec![0]);
}

/// A GET that started reads the version it started on to the end, while the key is
/// overwritten or deleted under it: multipart (later parts opened when reached) and
/// multi-block objects, in 2+2 and 4+2.
#[test]
fn a_get_reads_one_version_through_an_overwrite_or_delete() {
    for (drives, parity) in [(4, 2), (6, 2)] {
        let d = Dirs::new(drives);
        let e = open(&d, parity);
        e.make_bucket("read").unwrap();
        for (round, then) in ["overwrite", "delete", "overwrite-multipart"]
            .iter()
            .enumerate()
        {
            let id = e
                .new_multipart("read", "obj", &PutOptions::default())
                .unwrap();
            let parts: Vec<Vec<u8>> = (0..3)
                .map(|i| {
                    data(
                        if i < 2 { 100 * 1024 } else { 50_000 },
                        round as u64 * 10 + i,
                    )
                })
                .collect();
            let mut etags = Vec::new();
            for (i, p) in parts.iter().enumerate() {
                let n = i as u32 + 1;
                etags.push((
                    n,
                    e.put_part("read", "obj", &id, n, &mut &p[..], None)
                        .unwrap()
                        .etag,
                ));
            }
            e.complete_multipart("read", "obj", &id, &etags).unwrap();
            let want = parts.concat();
            let mut r = e.get_object("read", "obj", None).unwrap();
            let mut got = r.next_chunk().unwrap().unwrap();
            match *then {
                "overwrite" => {
                    put(&e, "read", "obj", &data(400_000, 777));
                }
                "delete" => e.delete_object("read", "obj").unwrap(),
                _ => {
                    let id = e
                        .new_multipart("read", "obj", &PutOptions::default())
                        .unwrap();
                    let p = data(200_000, 778);
                    let t = e
                        .put_part("read", "obj", &id, 1, &mut &p[..], None)
                        .unwrap();
                    e.complete_multipart("read", "obj", &id, &[(1, t.etag)])
                        .unwrap();
                }
            }
            loop {
                match r.next_chunk() {
                    Ok(Some(c)) => got.extend(c),
                    Ok(None) => break,
                    Err(err) => panic!(
                        "{drives} drives, {then}: cut after {} bytes: {err}",
                        got.len()
                    ),
                }
            }
            assert!(
                got == want,
                "{drives} drives, {then}: not the version the read started on"
            );
            drop(r);
            // Once the reader is done, the replaced data is gone (nothing is kept for ever).
            for p in &d.paths {
                let dirs = std::fs::read_dir(object_dir(p, "read", "obj"))
                    .map(|rd| {
                        rd.flatten()
                            .filter(|x| x.file_name().to_string_lossy().starts_with("%d"))
                            .count()
                    })
                    .unwrap_or(0);
                assert!(
                    dirs <= 1,
                    "{then}: {dirs} data directories left on {}",
                    p.display()
                );
            }
        }
    }
}

/// Create-only writes (If-None-Match: *) of one key racing: exactly one wins, the others fail
/// with PreconditionFailed, and the key holds the winner's bytes.
#[test]
fn create_only_puts_race_to_exactly_one_winner() {
    let d = Dirs::new(6);
    let e = open(&d, 2);
    e.make_bucket("cond").unwrap();
    for round in 0..5u64 {
        let key = format!("k{round}");
        let start = Barrier::new(16);
        let results: Vec<(u64, Result<(), EngineError>)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..16u64)
                .map(|i| {
                    let (e, start, key) = (&e, &start, &key);
                    s.spawn(move || {
                        let body = data(5000, round * 100 + i);
                        let opts = PutOptions {
                            conditions: strata_engine::Conditions {
                                if_none_match: Some("*".into()),
                                ..Default::default()
                            },
                            ..Default::default()
                        };
                        start.wait();
                        (
                            i,
                            e.put_object("cond", key, &mut &body[..], &opts).map(drop),
                        )
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners: Vec<u64> = results
            .iter()
            .filter(|(_, r)| r.is_ok())
            .map(|(i, _)| *i)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        for (_, r) in &results {
            if let Err(err) = r {
                assert!(matches!(err, EngineError::PreconditionFailed(_)), "{err}");
            }
        }
        assert_eq!(
            get(&e, "cond", &key).unwrap(),
            data(5000, round * 100 + winners[0])
        );
    }
}
