//! Crash safety: a child process writing objects (single puts of every size class, overwrites,
//! multipart uploads, deletes; several threads) is killed with SIGKILL at random points, round
//! after round on the same drives, in three geometries: two 2+2 sets (k = m), one 4+2 set and
//! one 12+4 set (k > n/2: where a commit that each drive makes on its own can leave neither
//! the old nor the new version on k drives). After every kill, a fresh engine must find:
//! - nothing left in `.strata.sys/tmp` of any drive (cleared at start-up);
//! - every listed object complete and self-consistent (its bytes are what its seed and size
//!   say, its ETag matches them), and listing, HEAD and GET agree;
//! - every acknowledged write present, unless a later acknowledged write or delete of the same
//!   key superseded it; the only other possible state of a key is the outcome of the one
//!   operation on it that was in flight when the child died; no key is unreadable (503);
//! - after a sweep (heal every key, remove leftovers) the same state, every drive holding
//!   exactly one version of every key, and no leftover on any drive.
//!
//! The child is this test binary run again (`--exact crash_child --include-ignored`) with the
//! drives in an environment variable. It prints `START …` before and `ACK …` after each
//! operation; a line cut short by the kill is ignored.

use strata_testkit as common;

use crate::support::{cfg, data, find_files, Dirs};
use md5::Digest;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use strata_engine::meta::MetaFile;
use strata_engine::{Config, Engine, EngineError, ListQuery, ObjectInfo, PutOptions};

const DRIVES_ENV: &str = "STRATA_CRASH_CHILD_DRIVES";
const SEED_ENV: &str = "STRATA_CRASH_CHILD_SEED";
const GEOMETRY_ENV: &str = "STRATA_CRASH_CHILD_GEOMETRY";
const BUCKET: &str = "crash";
const THREADS: usize = 3;
const KEYS_PER_THREAD: usize = 5;
const ROUNDS: usize = 20;
const SIZES: [usize; 10] = [0, 1, 100, 3000, 5000, 65535, 65536, 65537, 200_000, 700_000];
/// Every multipart part but the last is this long (the configured minimum).
const PART: usize = 100 * 1024;

/// A set size and its parity.
#[derive(Clone, Copy)]
struct Geo {
    set_size: usize,
    parity: usize,
}

fn config(g: Geo) -> Config {
    Config {
        set_size: Some(g.set_size),
        parity: Some(g.parity),
        min_part_size: PART as u64,
        // As a server runs: partial commits queue heals, and heals can be killed too.
        background_heal: true,
        ..cfg()
    }
}

/// A small deterministic generator for the child's choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn md5_hex(b: &[u8]) -> String {
    md5::Md5::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// The parts a multipart object of `size` bytes is uploaded in.
fn parts_of(body: &[u8]) -> Vec<&[u8]> {
    body.chunks(PART).collect()
}

/// The ETag an object of (seed, size) must have: plain MD5, or S3's multipart form.
fn expected_etag(body: &[u8], parts: usize) -> String {
    if parts <= 1 {
        return md5_hex(body);
    }
    let mut all = Vec::new();
    for p in parts_of(body) {
        all.extend_from_slice(&md5::Md5::digest(p));
    }
    format!("{}-{parts}", md5_hex(&all))
}

fn seeded_opts(seed: u64) -> PutOptions {
    PutOptions {
        user_meta: [("x-amz-meta-seed".to_string(), seed.to_string())].into(),
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------------
// The child

/// Runs only as the child of `killed_writers_leave_only_complete_objects` (which sets the
/// drives); run by hand it does nothing.
#[test]
#[ignore = "child process of killed_writers_leave_only_complete_objects"]
fn crash_child() {
    let Ok(drives) = std::env::var(DRIVES_ENV) else {
        return;
    };
    let paths: Vec<PathBuf> = drives.split('\n').map(PathBuf::from).collect();
    let seed: u64 = std::env::var(SEED_ENV).unwrap().parse().unwrap();
    let geo: Vec<usize> = std::env::var(GEOMETRY_ENV)
        .unwrap()
        .split(',')
        .map(|x| x.parse().unwrap())
        .collect();
    let geo = Geo {
        set_size: geo[0],
        parity: geo[1],
    };
    let e = Engine::open(&[paths], config(geo)).unwrap();
    let started = Instant::now();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let e = &e;
            s.spawn(move || {
                let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ (t as u64 + 1) | 1);
                // Never outlive a parent that failed to kill us.
                while started.elapsed() < Duration::from_secs(30) {
                    let key = format!("t{t}/k{}", rng.below(KEYS_PER_THREAD));
                    let obj_seed = rng.next() >> 1;
                    match rng.below(10) {
                        0..=5 => {
                            let size = SIZES[rng.below(SIZES.len())];
                            println!("START {key} put {obj_seed} {size}");
                            let body = data(size, obj_seed);
                            e.put_object(BUCKET, &key, &mut &body[..], &seeded_opts(obj_seed))
                                .unwrap();
                            println!("ACK {key} put {obj_seed} {size}");
                        }
                        6..=7 => {
                            let size = PART + 1 + rng.below(2 * PART);
                            println!("START {key} put {obj_seed} {size}");
                            let body = data(size, obj_seed);
                            let id = e
                                .new_multipart(BUCKET, &key, &seeded_opts(obj_seed))
                                .unwrap();
                            let mut etags = Vec::new();
                            for (i, p) in parts_of(&body).into_iter().enumerate() {
                                let n = i as u32 + 1;
                                let info =
                                    e.put_part(BUCKET, &key, &id, n, &mut &p[..], None).unwrap();
                                etags.push((n, info.etag));
                            }
                            e.complete_multipart(BUCKET, &key, &id, &etags).unwrap();
                            println!("ACK {key} put {obj_seed} {size}");
                        }
                        _ => {
                            println!("START {key} del 0 0");
                            e.delete_object(BUCKET, &key).unwrap();
                            println!("ACK {key} del 0 0");
                        }
                    }
                }
            });
        }
    });
}

// ---------------------------------------------------------------------------------------------
// The parent

/// Kills the child on drop (a failing parent leaves no writer behind).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What a key holds: the (seed, size) of its object, or nothing.
type State = Option<(u64, usize)>;

#[derive(Debug)]
struct Op {
    /// `None` for a delete.
    put: State,
    acked: bool,
}

/// Complete `START`/`ACK` lines of the child's output, in order.
fn parse(out: &[u8]) -> Vec<(bool, String, State)> {
    let text = String::from_utf8_lossy(out);
    let complete = match text.rfind('\n') {
        Some(i) => &text[..i],
        None => "",
    };
    complete
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let ack = match f.first() {
                Some(&"START") => false,
                Some(&"ACK") => true,
                _ => return None,
            };
            assert_eq!(f.len(), 5, "bad line {l:?}");
            let put = (f[2] == "put").then(|| (f[3].parse().unwrap(), f[4].parse().unwrap()));
            Some((ack, f[1].to_string(), put))
        })
        .collect()
}

/// Reads `key`; it must be complete and consistent with its own metadata: the bytes of the
/// seed it names, of its size, with the matching ETag. Returns its (seed, size).
fn read_consistent(e: &Engine, key: &str) -> Result<State, String> {
    let mut r = match e.get_object(BUCKET, key, None) {
        Ok(r) => r,
        Err(EngineError::NoSuchKey { .. }) => return Ok(None),
        Err(err) => return Err(format!("{key}: open failed: {err}")),
    };
    let info: ObjectInfo = r.info().clone();
    let seed: u64 = info
        .user_meta
        .get("x-amz-meta-seed")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{key}: no seed in {info:?}"))?;
    let mut out = Vec::new();
    loop {
        match r.next_chunk() {
            Ok(Some(c)) => out.extend(c),
            Ok(None) => break,
            Err(err) => {
                return Err(format!(
                    "{key}: read failed after {} bytes: {err}",
                    out.len()
                ))
            }
        }
    }
    let size = info.size as usize;
    if out.len() != size || out != data(size, seed) {
        return Err(format!(
            "{key}: {} bytes read are not the {size} bytes of seed {seed}",
            out.len()
        ));
    }
    if info.etag != expected_etag(&out, info.parts) {
        return Err(format!(
            "{key}: ETag {} does not match its bytes",
            info.etag
        ));
    }
    Ok(Some((seed, size)))
}

fn drives_env(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn killed_writers_leave_only_complete_objects_2_plus_2() {
    killed_writers(
        8,
        Geo {
            set_size: 4,
            parity: 2,
        },
    );
}

#[test]
fn killed_writers_leave_only_complete_objects_4_plus_2() {
    killed_writers(
        6,
        Geo {
            set_size: 6,
            parity: 2,
        },
    );
}

#[test]
fn killed_writers_leave_only_complete_objects_12_plus_4() {
    killed_writers(
        16,
        Geo {
            set_size: 16,
            parity: 4,
        },
    );
}

fn quiet(g: Geo) -> Config {
    Config {
        background_heal: false,
        ..config(g)
    }
}

/// On real XFS drives, one of them frozen (`fsfreeze`) at a random moment of the load — its
/// writes hang mid-commit — and the child killed while it is frozen; thawed, then checked as
/// always. A drive that stops answering must never cost an acknowledged write.
#[test]
fn killed_writers_with_a_frozen_drive_on_xfs_4_plus_2() {
    let drives: Vec<common::XfsDrive> = (0..6).map(|_| common::XfsDrive::new(320)).collect();
    let paths: Vec<PathBuf> = drives.iter().map(|d| d.path.clone()).collect();
    killed_writers_on(
        &paths,
        Geo {
            set_size: 6,
            parity: 2,
        },
        Some(&drives),
        10,
    );
}

/// The child test's name as the harness knows it: its module path inside this test binary.
fn child_test_name() -> String {
    let module = module_path!().split_once("::").map_or("", |(_, m)| m);
    format!("{module}::crash_child")
}

fn killed_writers(drives: usize, geo: Geo) {
    let dirs = Dirs::new(drives);
    killed_writers_on(&dirs.paths, geo, None, ROUNDS);
}

fn killed_writers_on(
    paths: &[PathBuf],
    geo: Geo,
    frozen: Option<&[common::XfsDrive]>,
    rounds: usize,
) {
    let drives = paths.len();
    {
        let e = Engine::open(&[paths.to_vec()], quiet(geo)).unwrap();
        assert_eq!(e.set_count(), drives / geo.set_size);
        e.make_bucket(BUCKET).unwrap();
    }
    let exe = std::env::current_exe().unwrap();
    let mut rng = Rng(0x5eed_1234_abcd_0001 ^ u64::from(std::process::id()));
    // What each key holds as far as the parent knows (observed after the last kill, then
    // acknowledged operations on top).
    let mut state: BTreeMap<String, State> = BTreeMap::new();
    let (mut acks, mut in_flight_kills, mut orphans, mut checked, mut swept) = (0, 0, 0, 0, 0);
    for round in 0..rounds {
        let child_seed = rng.next();
        let mut child = Killed(
            Command::new(&exe)
                .args([
                    "--exact",
                    &child_test_name(),
                    "--nocapture",
                    "--include-ignored",
                ])
                .env(DRIVES_ENV, drives_env(paths))
                .env(SEED_ENV, child_seed.to_string())
                .env(GEOMETRY_ENV, format!("{},{}", geo.set_size, geo.parity))
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let mut stdout = child.0.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = stdout.read_to_end(&mut out);
            out
        });
        // Start-up takes a few tens of milliseconds; kill anywhere after it.
        std::thread::sleep(Duration::from_millis(
            40 + rng.next() % (400 * drives as u64 / 8).max(400),
        ));
        match frozen {
            None => drop(child), // SIGKILL, then reap
            Some(xfs) => {
                // Writes to the frozen drive hang; the others go on until they need it. The
                // kill lands while it is frozen (a task blocked on the freeze dies on thaw).
                let victim = &xfs[rng.below(xfs.len())];
                victim.freeze();
                std::thread::sleep(Duration::from_millis(100 + rng.next() % 300));
                let _ = child.0.kill();
                victim.thaw();
                drop(child);
            }
        }
        let out = reader.join().unwrap();
        let events = parse(&out);

        // The model: acknowledged operations apply in order; a started one not acknowledged
        // (at most one per key: each key belongs to one thread) is in flight.
        let mut pending: BTreeMap<String, Op> = BTreeMap::new();
        for (ack, key, put) in events {
            if ack {
                let op = pending.remove(&key).expect("ACK without START");
                assert_eq!(op.put, put);
                assert!(!op.acked);
                state.insert(key, put);
                acks += 1;
            } else {
                let op = Op { put, acked: false };
                assert!(
                    pending.insert(key, op).is_none(),
                    "two operations in flight"
                );
            }
        }
        if !pending.is_empty() {
            in_flight_kills += 1;
        }

        // A fresh start on the drives (without a healer: the parent only looks).
        let e = Engine::open(&[paths.to_vec()], quiet(geo)).unwrap();
        assert!(e.problems().is_empty(), "{:?}", e.problems());
        for p in paths {
            let left: Vec<_> = std::fs::read_dir(p.join(".strata.sys/tmp"))
                .unwrap()
                .flatten()
                .map(|x| x.path())
                .collect();
            assert!(left.is_empty(), "round {round}: tmp not emptied: {left:?}");
        }
        // Every listed object is complete; listing, HEAD and GET agree.
        let listed: BTreeSet<String> = e
            .list_objects(
                BUCKET,
                &ListQuery {
                    max_keys: 1000,
                    ..Default::default()
                },
            )
            .unwrap()
            .objects
            .into_iter()
            .map(|o| o.key)
            .collect();
        let mut keys: BTreeSet<String> = state.keys().cloned().collect();
        keys.extend(pending.keys().cloned());
        for key in &listed {
            assert!(
                keys.contains(key),
                "round {round}: unknown object {key} listed"
            );
        }
        for key in &keys {
            let got = read_consistent(&e, key).unwrap_or_else(|m| panic!("round {round}: {m}"));
            let head = e.head_object(BUCKET, key);
            assert_eq!(
                got.is_some(),
                head.is_ok(),
                "round {round}: {key}: GET and HEAD disagree ({head:?})"
            );
            assert_eq!(
                got.is_some(),
                listed.contains(key),
                "round {round}: {key}: GET and the listing disagree"
            );
            let acked = state.get(key).copied().flatten();
            let in_flight = pending.get(key).map(|op| op.put);
            assert!(
                got == acked || in_flight == Some(got),
                "round {round}: {key} holds {got:?}; acknowledged {acked:?}, in flight {:?}",
                pending.get(key)
            );
            state.insert(key.clone(), got);
        }
        // Data directories no metadata references (a kill between the two renames of a
        // commit) are harmless; counted for the record.
        orphans += leftovers(paths).0;
        checked += keys.len();
        // The sweep (what the scanner does at start-up) heals every key and removes the
        // leftovers, and changes no key's state.
        swept += e.sweep_orphans();
        for key in &keys {
            let again = read_consistent(&e, key).unwrap_or_else(|m| panic!("round {round}: {m}"));
            assert_eq!(
                again, state[key],
                "round {round}: {key} changed in the sweep"
            );
        }
        let (unreferenced, versions) = leftovers(paths);
        assert_eq!(unreferenced, 0, "round {round}: leftovers after the sweep");
        assert!(
            versions.iter().all(|n| *n == 1),
            "round {round}: a key holds {versions:?} versions after the sweep"
        );
    }
    eprintln!(
        "{drives} drives ({}+{}{}): {rounds} rounds, {acks} acknowledged operations, \
         {in_flight_kills} kills with operations in flight, {checked} key states checked, \
         {orphans} leftovers seen after kills, {swept} swept",
        geo.set_size - geo.parity,
        geo.parity,
        if frozen.is_some() {
            ", XFS, one frozen per round"
        } else {
            ""
        }
    );
    assert!(
        acks >= rounds,
        "the child barely wrote ({acks} acknowledgements)"
    );
    assert!(
        in_flight_kills >= rounds / 2,
        "few kills hit an operation ({in_flight_kills} of {rounds})"
    );
}

/// Leftovers on the drives (data directories no entry refers to, metadata being written), and
/// for every key on every drive the number of versions its metadata lists (deletions count).
fn leftovers(paths: &[PathBuf]) -> (usize, Vec<usize>) {
    let (mut unreferenced, mut versions) = (0, Vec::new());
    for p in paths {
        for meta_file in find_files(&p.join(BUCKET), "%meta") {
            let dir = meta_file.parent().unwrap();
            let meta = MetaFile::decode(&std::fs::read(&meta_file).unwrap()).unwrap();
            versions.push(
                meta.versions
                    .iter()
                    .filter(|e| e.version.object.is_some())
                    .count(),
            );
            if meta.versions.iter().any(|e| e.version.object.is_none()) {
                versions.push(0); // a deletion left behind
            }
            unreferenced += std::fs::read_dir(dir)
                .unwrap()
                .flatten()
                .filter(|x| {
                    let name = x.file_name().to_string_lossy().into_owned();
                    (name.starts_with("%d") && !meta.data_dirs().any(|d| d == &name[2..]))
                        || name.starts_with("%meta.tmp-")
                })
                .count();
        }
    }
    (unreferenced, versions)
}

/// Shard data on a real XFS drive is written around the page cache (`O_DIRECT`): after a PUT
/// of a 5 MiB object at most the file's last partial page (written buffered) is cached; and
/// the object reads back byte for byte, also after the drive was remounted (what the barrier
/// made durable is on the device).
#[test]
fn shard_data_bypasses_the_page_cache_on_xfs_and_round_trips() {
    let drive = common::XfsDrive::new(320);
    let body = data(5 * (1 << 20) + 1234, 77);
    let open = || {
        Engine::open(
            std::slice::from_ref(&vec![drive.path.clone()]),
            Config {
                background_heal: false,
                ..Config::default()
            },
        )
        .unwrap()
    };
    let e = open();
    e.make_bucket("odirect").unwrap();
    e.put_object("odirect", "big", &mut &body[..], &PutOptions::default())
        .unwrap();
    let shard = find_files(&drive.path, "part.1");
    assert_eq!(shard.len(), 1, "one shard file: {shard:?}");
    let cached = resident_pages(&shard[0]);
    assert!(
        cached <= 1,
        "{cached} pages of the shard in the page cache after the PUT"
    );
    assert!(crate::support::get(&e, "odirect", "big").unwrap() == body);
    drop(e);
    drive.unmount();
    drive.mount();
    assert!(crate::support::get(&open(), "odirect", "big").unwrap() == body);
}

/// Pages of the file in the page cache (`mincore` over a mapping of it).
fn resident_pages(path: &std::path::Path) -> usize {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::open(path).unwrap();
    let len = f.metadata().unwrap().len() as usize;
    // SAFETY: a fresh read-only shared mapping of an open file, unmapped below and never
    // dereferenced (mincore only inspects it).
    let map = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_SHARED,
            f.as_raw_fd(),
            0,
        )
    };
    assert_ne!(map, libc::MAP_FAILED);
    let mut pages = vec![0u8; len.div_ceil(4096)];
    // SAFETY: `map` is a mapping of `len` bytes; `pages` has a byte for each of its pages.
    let rc = unsafe { libc::mincore(map, len, pages.as_mut_ptr()) };
    // SAFETY: unmaps exactly the mapping made above.
    unsafe { libc::munmap(map, len) };
    assert_eq!(rc, 0);
    pages.iter().filter(|b| *b & 1 == 1).count()
}
