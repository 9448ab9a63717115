//! Concurrency: many threads writing, reading, listing and deleting at once.
//!
//! - One key, 8 writers × 10 writes of self-identifying contents (inline, one block, several
//!   blocks) and 4 readers looping: every read is one complete write (its bytes, size, ETag and
//!   metadata), never a mix and never an error other than NoSuchKey before the first write.
//! - Writers to different keys across sets, with shared key directories that other threads
//!   create and prune at the same time: every write succeeds and lands where it should.
//! - Deletes racing writes of one key, with readers and listers: reads see a complete object or
//!   NoSuchKey, untouched neighbours never vanish from listings, and the end state is
//!   consistent on disk.

use crate::support::{cfg, data, find_files, Dirs};
use md5::Digest;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use strata_engine::{Config, Engine, EngineError, ListQuery, ObjectInfo, PutOptions};

const B: usize = 64 * 1024;
/// Inline (≤ 4 KiB shard files with `cfg()`), one block in files, block boundaries, several
/// blocks.
const SIZES: [usize; 10] = [0, 1, 100, 3000, 9000, B - 1, B, B + 1, 150_000, 3 * B + 7];

/// What a write stored: contents derive from the seed, recorded in the object's metadata.
#[derive(Clone, Debug)]
struct Written {
    size: usize,
    etag: String,
}

fn seed_of(writer: usize, i: usize) -> u64 {
    (writer * 1000 + i + 1) as u64
}

fn size_of(writer: usize, i: usize) -> usize {
    SIZES[(writer * 3 + i) % SIZES.len()]
}

fn etag_of(body: &[u8]) -> String {
    md5::Md5::digest(body)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

fn put_seeded(e: &Engine, bucket: &str, key: &str, seed: u64, size: usize) -> ObjectInfo {
    let body = data(size, seed);
    let opts = PutOptions {
        user_meta: [("x-amz-meta-seed".to_string(), seed.to_string())].into(),
        ..Default::default()
    };
    e.put_object(bucket, key, &mut &body[..], &opts)
        .unwrap_or_else(|err| panic!("put {key} (seed {seed}, {size} bytes): {err}"))
}

fn seed_in(info: &ObjectInfo) -> u64 {
    info.user_meta
        .get("x-amz-meta-seed")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("object without its seed: {info:?}"))
}

/// Reads the whole object and checks it is exactly one complete write: the one its metadata
/// names, with that write's size and ETag. `Ok(None)` for NoSuchKey.
fn read_checked(
    e: &Engine,
    bucket: &str,
    key: &str,
    written: &HashMap<u64, Written>,
) -> Result<Option<u64>, EngineError> {
    let mut r = match e.get_object(bucket, key, None) {
        Err(EngineError::NoSuchKey { .. }) => return Ok(None),
        other => other?,
    };
    let info = r.info().clone();
    let seed = seed_in(&info);
    let w = written
        .get(&seed)
        .unwrap_or_else(|| panic!("{key}: seed {seed} was never written"));
    assert_eq!(info.size, w.size as u64, "{key}: size of seed {seed}");
    assert_eq!(info.etag, w.etag, "{key}: etag of seed {seed}");
    let mut out = Vec::with_capacity(w.size);
    while let Some(c) = r.next_chunk()? {
        out.extend(c);
    }
    assert!(
        out == data(w.size, seed),
        "{key}: {} bytes read are not seed {seed}'s {} bytes (a mix of writes?)",
        out.len(),
        w.size
    );
    Ok(Some(seed))
}

/// On every drive, the object directory of `key` holds at most one metadata file and only the
/// data directory it references; nothing is left in the temporary area.
fn assert_clean_on_disk(dirs: &Dirs, bucket: &str) {
    for p in &dirs.paths {
        let tmp: Vec<_> = std::fs::read_dir(p.join(".strata.sys/tmp"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(tmp.is_empty(), "leftovers in tmp: {tmp:?}");
        for meta_file in find_files(&p.join(bucket), "%meta") {
            let dir = meta_file.parent().unwrap();
            let meta =
                strata_engine::meta::MetaFile::decode(&std::fs::read(&meta_file).unwrap()).unwrap();
            assert_eq!(
                meta.versions.len(),
                1,
                "one version per key once every write is done, in {}",
                dir.display()
            );
            let data_dirs: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("%d"))
                .collect();
            let want: Vec<String> = meta.data_dirs().map(|d| format!("%d{d}")).collect();
            assert_eq!(data_dirs, want, "data directories in {}", dir.display());
        }
    }
}

fn one_key_many_writers_and_readers(drives: usize, parity: Option<usize>) {
    const WRITERS: usize = 8;
    const WRITES: usize = 10;
    const READERS: usize = 4;
    let dirs = Dirs::new(drives);
    let e = dirs.open(Config { parity, ..cfg() });
    e.make_bucket("conc").unwrap();
    let key = "hot/key";
    let mut written = HashMap::new();
    for w in 0..WRITERS {
        for i in 0..WRITES {
            let (seed, size) = (seed_of(w, i), size_of(w, i));
            let etag = etag_of(&data(size, seed));
            written.insert(seed, Written { size, etag });
        }
    }
    let first_done = AtomicBool::new(false);
    let writers_left = AtomicUsize::new(WRITERS);
    let reads = AtomicUsize::new(0);
    let seen = Mutex::new(BTreeSet::new());
    std::thread::scope(|s| {
        for w in 0..WRITERS {
            let (e, first_done, writers_left) = (&e, &first_done, &writers_left);
            s.spawn(move || {
                for i in 0..WRITES {
                    let info = put_seeded(e, "conc", key, seed_of(w, i), size_of(w, i));
                    assert_eq!(info.size, size_of(w, i) as u64);
                    first_done.store(true, Ordering::SeqCst);
                }
                writers_left.fetch_sub(1, Ordering::SeqCst);
            });
        }
        for r in 0..READERS {
            let (e, written, first_done, writers_left, reads, seen) =
                (&e, &written, &first_done, &writers_left, &reads, &seen);
            s.spawn(move || {
                while writers_left.load(Ordering::SeqCst) > 0 {
                    let existed = first_done.load(Ordering::SeqCst);
                    let got = if r % 2 == 0 {
                        read_checked(e, "conc", key, written)
                    } else {
                        // Some readers check HEAD against the table too.
                        match e.head_object("conc", key) {
                            Ok(info) => {
                                let w = &written[&seed_in(&info)];
                                assert_eq!((info.size, &info.etag), (w.size as u64, &w.etag));
                                read_checked(e, "conc", key, written)
                            }
                            Err(EngineError::NoSuchKey { .. }) => Ok(None),
                            Err(err) => Err(err),
                        }
                    };
                    match got {
                        Ok(Some(seed)) => {
                            seen.lock().unwrap().insert(seed);
                        }
                        Ok(None) => assert!(!existed, "NoSuchKey after a write was acknowledged"),
                        Err(err) => panic!("read failed while writers were running: {err}"),
                    }
                    reads.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    let reads = reads.into_inner();
    let seen = seen.into_inner().unwrap();
    // Readers ran alongside the writers (not starved behind them) and saw the key change.
    assert!(
        seen.len() >= 2,
        "{reads} reads saw only {seen:?} while {} writes went by",
        WRITERS * WRITES
    );
    // The final object is one of the writes, metadata and all, and stays so on a fresh open.
    let last = read_checked(&e, "conc", key, &written).unwrap().unwrap();
    drop(e);
    let e = dirs.open(Config { parity, ..cfg() });
    assert_eq!(read_checked(&e, "conc", key, &written).unwrap(), Some(last));
    assert_clean_on_disk(&dirs, "conc");
    eprintln!(
        "{drives} drives: {reads} reads saw {} distinct writes; final seed {last}",
        seen.len()
    );
}

#[test]
fn one_key_many_writers_and_readers_6_drives() {
    one_key_many_writers_and_readers(6, None);
}

/// 16 drives with default parity 4: data shards (12) are more than half the set, so a read
/// that meets a commit half-way sees neither version on a read quorum of drives by itself.
#[test]
fn one_key_many_writers_and_readers_16_drives() {
    one_key_many_writers_and_readers(16, None);
}

#[test]
fn writers_to_different_keys_across_sets() {
    const THREADS: usize = 8;
    const KEYS: usize = 12;
    let dirs = Dirs::new(12);
    let config = Config {
        set_size: Some(4),
        ..cfg()
    };
    let e = dirs.open(config.clone());
    assert_eq!(e.set_count(), 3);
    e.make_bucket("many").unwrap();
    // Per thread: keys in its own directory, in a directory every thread shares, and throwaway
    // keys in a shared directory that deletes prune while other threads create keys in it.
    let final_state: Mutex<BTreeMap<String, (u64, usize)>> = Mutex::new(BTreeMap::new());
    let mut written = HashMap::new();
    for t in 0..THREADS {
        for i in 0..KEYS * 3 {
            let (seed, size) = (seed_of(t, i), size_of(t, i));
            written.insert(
                seed,
                Written {
                    size,
                    etag: etag_of(&data(size, seed)),
                },
            );
        }
    }
    // Keys acknowledged and never deleted: every listing from then on must show them.
    let acked: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let running = AtomicUsize::new(THREADS);
    let lists = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let (lister, acked_ref, running_ref, lists_ref) = (&e, &acked, &running, &lists);
        s.spawn(move || {
            while running_ref.load(Ordering::SeqCst) > 0 {
                let before = acked_ref.lock().unwrap().clone();
                let page = lister
                    .list_objects(
                        "many",
                        &ListQuery {
                            max_keys: 1000,
                            ..Default::default()
                        },
                    )
                    .unwrap();
                let listed: BTreeSet<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
                for k in &before {
                    assert!(listed.contains(k.as_str()), "{k} missing from a listing");
                }
                lists_ref.fetch_add(1, Ordering::SeqCst);
            }
        });
        for t in 0..THREADS {
            let (e, final_state, acked, running) = (&e, &final_state, &acked, &running);
            s.spawn(move || {
                // Counted down even when this writer panics, so the lister stops.
                struct Done<'a>(&'a AtomicUsize);
                impl Drop for Done<'_> {
                    fn drop(&mut self) {
                        self.0.fetch_sub(1, Ordering::SeqCst);
                    }
                }
                let _done = Done(running);
                let mut mine = BTreeMap::new();
                for i in 0..KEYS * 3 {
                    let key = match i % 3 {
                        0 => format!("own{t}/k{}", i % KEYS),
                        1 => format!("shared/t{t}-k{}", i % KEYS),
                        _ => format!("churn/sub/t{t}-k{i}"),
                    };
                    let (seed, size) = (seed_of(t, i), size_of(t, i));
                    put_seeded(e, "many", &key, seed, size);
                    if i % 3 == 2 {
                        // Gone again at once: its directories are pruned under the others.
                        e.delete_object("many", &key).unwrap();
                    } else {
                        acked.lock().unwrap().insert(key.clone());
                        mine.insert(key, (seed, size));
                    }
                }
                final_state.lock().unwrap().extend(mine);
            });
        }
    });
    assert!(lists.into_inner() > 0);
    let want = final_state.into_inner().unwrap();
    for e in [e, dirs.open(config)] {
        let page = e
            .list_objects(
                "many",
                &ListQuery {
                    max_keys: 1000,
                    ..Default::default()
                },
            )
            .unwrap();
        let listed: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(listed, want.keys().map(String::as_str).collect::<Vec<_>>());
        for (key, (seed, _)) in &want {
            assert_eq!(
                read_checked(&e, "many", key, &written).unwrap(),
                Some(*seed),
                "{key}"
            );
        }
    }
    // Keys spread over every set: each set's first drive holds some of the metadata.
    for set in 0..3 {
        let metas = find_files(&dirs.paths[set * 4].join("many"), "%meta");
        assert!(!metas.is_empty(), "set {set} got no keys");
    }
    assert_clean_on_disk(&dirs, "many");
}

#[test]
fn deletes_race_writes_of_one_key() {
    const WRITERS: usize = 4;
    const WRITES: usize = 12;
    const DELETERS: usize = 2;
    const READERS: usize = 2;
    let dirs = Dirs::new(6);
    let config = cfg();
    let e = dirs.open(config.clone());
    e.make_bucket("race").unwrap();
    let key = "dir/sub/contested";
    // Neighbours that nobody touches: in the contested key's own directory, and beside it.
    let stable: Vec<String> = (0..6)
        .map(|i| match i % 3 {
            0 => format!("dir/sub/stable{i}"),
            1 => format!("dir/stable{i}"),
            _ => format!("dir/sub/contested/below{i}"),
        })
        .collect();
    let mut written = HashMap::new();
    for (i, k) in stable.iter().enumerate() {
        let seed = 90_000 + i as u64;
        put_seeded(&e, "race", k, seed, 500 * i);
        written.insert(
            seed,
            Written {
                size: 500 * i,
                etag: etag_of(&data(500 * i, seed)),
            },
        );
    }
    for w in 0..WRITERS {
        for i in 0..WRITES {
            let (seed, size) = (seed_of(w, i), size_of(w, i));
            written.insert(
                seed,
                Written {
                    size,
                    etag: etag_of(&data(size, seed)),
                },
            );
        }
    }
    let running = AtomicUsize::new(WRITERS + DELETERS);
    let (reads, lists) = (AtomicUsize::new(0), AtomicUsize::new(0));
    std::thread::scope(|s| {
        for w in 0..WRITERS {
            let (e, running) = (&e, &running);
            s.spawn(move || {
                for i in 0..WRITES {
                    put_seeded(e, "race", key, seed_of(w, i), size_of(w, i));
                }
                running.fetch_sub(1, Ordering::SeqCst);
            });
        }
        for _ in 0..DELETERS {
            let (e, running) = (&e, &running);
            s.spawn(move || {
                for _ in 0..WRITES * 2 {
                    e.delete_object("race", key).unwrap();
                    std::thread::yield_now();
                }
                running.fetch_sub(1, Ordering::SeqCst);
            });
        }
        for _ in 0..READERS {
            let (e, running, written, reads) = (&e, &running, &written, &reads);
            s.spawn(move || {
                while running.load(Ordering::SeqCst) > 0 {
                    if let Err(err) = read_checked(e, "race", key, written) {
                        panic!("read failed while writes and deletes ran: {err}");
                    }
                    reads.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
        let (e, running, stable, lists) = (&e, &running, &stable, &lists);
        s.spawn(move || {
            while running.load(Ordering::SeqCst) > 0 {
                let page = e
                    .list_objects(
                        "race",
                        &ListQuery {
                            max_keys: 1000,
                            ..Default::default()
                        },
                    )
                    .unwrap();
                let listed: BTreeSet<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
                for k in stable {
                    assert!(listed.contains(k.as_str()), "{k} vanished from {listed:?}");
                }
                lists.fetch_add(1, Ordering::SeqCst);
            }
        });
    });
    assert!(reads.into_inner() > 0 && lists.into_inner() > 0);
    // End state: HEAD, GET and the listing agree, on this engine and a fresh one.
    for e in [e, dirs.open(config)] {
        let end = read_checked(&e, "race", key, &written).unwrap();
        let head = e.head_object("race", key);
        let listed = e
            .list_objects(
                "race",
                &ListQuery {
                    prefix: key.to_string(),
                    max_keys: 1000,
                    ..Default::default()
                },
            )
            .unwrap()
            .objects
            .iter()
            .any(|o| o.key == key);
        match end {
            Some(seed) => {
                assert_eq!(seed_in(&head.unwrap()), seed);
                assert!(listed, "present but not listed");
            }
            None => {
                assert!(matches!(head, Err(EngineError::NoSuchKey { .. })));
                assert!(!listed, "absent but listed");
            }
        }
        for (i, k) in stable.iter().enumerate() {
            assert_eq!(
                read_checked(&e, "race", k, &written).unwrap(),
                Some(90_000 + i as u64)
            );
        }
    }
    assert_clean_on_disk(&dirs, "race");
}

/// CompleteMultipartUpload racing AbortMultipartUpload of the same upload: exactly one wins.
/// Either the object exists and the abort answers NoSuchUpload, or the abort succeeded and the
/// completion answers NoSuchUpload with no object — never both acknowledged (a client told
/// its upload was aborted while the object appeared).
#[test]
fn complete_and_abort_of_one_upload_have_one_winner() {
    let dirs = Dirs::new(4);
    let e = std::sync::Arc::new(Engine::open(std::slice::from_ref(&dirs.paths), cfg()).unwrap());
    e.make_bucket("race").unwrap();
    let (mut completed, mut aborted) = (0, 0);
    for i in 0..40 {
        let key = format!("k{i}");
        let id = e
            .new_multipart("race", &key, &PutOptions::default())
            .unwrap();
        let body = data(3 * B, i as u64);
        let part = e
            .put_part("race", &key, &id, 1, &mut &body[..], None)
            .unwrap();
        let start = std::sync::Arc::new(std::sync::Barrier::new(2));
        let (e2, k2, id2, s2) = (e.clone(), key.clone(), id.clone(), start.clone());
        let abort = std::thread::spawn(move || {
            s2.wait();
            e2.abort_multipart("race", &k2, &id2)
        });
        start.wait();
        let done = e.complete_multipart("race", &key, &id, &[(1, part.etag.clone())]);
        let abort = abort.join().unwrap();
        let exists = e.head_object("race", &key).is_ok();
        match (&done, &abort) {
            (Ok(_), Err(EngineError::NoSuchUpload(_))) => {
                assert!(exists, "{key}");
                completed += 1;
            }
            (Err(EngineError::NoSuchUpload(_)), Ok(())) => {
                assert!(!exists, "{key}");
                aborted += 1;
            }
            other => panic!("{key}: complete and abort gave {other:?} (object exists: {exists})"),
        }
    }
    eprintln!("{completed} completed, {aborted} aborted");
}
