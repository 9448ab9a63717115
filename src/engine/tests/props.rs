//! Property tests of the engine's data-safety promises, over random objects (0 bytes, 1 byte,
//! block boundaries, several blocks, inline and file-backed), random set sizes (1–16 drives)
//! and random parity:
//! (a) any m lost drives: the object reads back byte-exact;
//! (b) bit flips, truncations and deleted files in up to m shards of a block: exact bytes;
//! (c) more than m lost drives (or damaged shards of one block): a read-quorum error, never
//!     wrong data;
//! (d) ranged reads at random offsets return exactly the slice.
//!
//! Drives are lost either by renaming their directory away under a running engine (and back),
//! or with `Engine::take_offline` on a freshly opened engine.

use crate::support::{cfg, data, find_files, get, Dirs};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use std::io::Read;
use std::path::{Path, PathBuf};
use strata_engine::geometry::Geometry;
use strata_engine::{Config, Engine, EngineError, ObjectInfo, PutOptions};

/// Block size of `cfg()`: small, so that "several blocks" stays cheap.
const B: usize = 64 * 1024;
const MIB: usize = 1 << 20;
const BUCKET: &str = "props";
const KEY: &str = "some/dir/object";
const SET_SIZES: [usize; 9] = [1, 2, 3, 4, 5, 6, 8, 12, 16];
/// Loss combinations tried per case when there are more than this many.
const MAX_COMBOS: usize = 40;

// ---------------------------------------------------------------------------------------------
// Random helpers

/// splitmix64: the choices inside one case (which drives, which bytes) derive from one seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }

    /// `k` distinct values of `0..n`, sorted.
    fn subset(&mut self, n: usize, k: usize) -> Vec<usize> {
        let mut all: Vec<usize> = (0..n).collect();
        for i in 0..k {
            let j = self.range(i, n - 1);
            all.swap(i, j);
        }
        let mut out = all[..k].to_vec();
        out.sort();
        out
    }

    /// Between `lo` and `hi` distinct values of `0..n`, sorted.
    fn some_of(&mut self, n: usize, lo: usize, hi: usize) -> Vec<usize> {
        let k = self.range(lo, hi);
        self.subset(n, k)
    }
}

/// All subsets of `0..n` with 1..=max elements, or a random sample of them (always including
/// subsets of the largest size) when there are more than `MAX_COMBOS`.
fn loss_combos(n: usize, max: usize, rng: &mut Rng) -> Vec<Vec<usize>> {
    let total: u128 = (1..=max).map(|k| binomial(n, k)).sum();
    if total <= MAX_COMBOS as u128 {
        let mut out = Vec::new();
        for mask in 1u32..(1 << n) {
            if mask.count_ones() as usize <= max {
                out.push((0..n).filter(|i| mask & (1 << i) != 0).collect());
            }
        }
        return out;
    }
    (0..MAX_COMBOS)
        .map(|i| {
            let k = if i % 2 == 0 { max } else { rng.range(1, max) };
            rng.subset(n, k)
        })
        .collect()
}

fn binomial(n: usize, k: usize) -> u128 {
    (0..k).fold(1u128, |acc, i| acc * (n - i) as u128 / (i + 1) as u128)
}

// ---------------------------------------------------------------------------------------------
// Cases

#[derive(Debug, Clone)]
struct Case {
    drives: usize,
    /// `Config::parity`; `None` is the default.
    parity: Option<usize>,
    size: usize,
    seed: u64,
    /// Drives the choices inside the case (loss combinations, damage).
    choice: u64,
    /// Lose drives by renaming their directories (else `take_offline`).
    rename: bool,
}

impl Case {
    /// Parity the engine must use: MinIO's defaults, or the configured one (at most n/2).
    fn m(&self) -> usize {
        if self.drives == 1 {
            return 0;
        }
        let default = match self.drives {
            2 | 3 => 1,
            4 | 5 => 2,
            6 | 7 => 3,
            _ => 4,
        };
        self.parity.unwrap_or(default).min(self.drives / 2)
    }
}

/// Sizes around everything that matters with 64 KiB blocks: empty, one byte, the inline limit
/// region, block boundaries −1/0/+1, several blocks.
fn small_block_size() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        Just(1),
        2..16 * 1024usize,
        Just(B - 1),
        Just(B),
        Just(B + 1),
        Just(2 * B),
        Just(3 * B + 1),
        Just(3 * B - 1),
        B..6 * B,
    ]
}

fn case_with(sizes: BoxedStrategy<usize>, set_sizes: Vec<usize>) -> impl Strategy<Value = Case> {
    (
        prop::sample::select(set_sizes),
        sizes,
        any::<u64>(),
        any::<u64>(),
        any::<bool>(),
    )
        .prop_flat_map(|(drives, size, seed, choice, rename)| {
            let parity: BoxedStrategy<Option<usize>> = if drives < 2 {
                Just(None).boxed()
            } else {
                prop_oneof![Just(None), (1..=drives / 2).prop_map(Some)].boxed()
            };
            parity.prop_map(move |parity| Case {
                drives,
                parity,
                size,
                seed,
                choice,
                rename,
            })
        })
}

fn case() -> impl Strategy<Value = Case> {
    case_with(small_block_size().boxed(), SET_SIZES.to_vec())
}

/// A few cases with the real 1 MiB blocks and objects of a few MiB.
fn big_case() -> impl Strategy<Value = Case> {
    let sizes = prop_oneof![
        Just(MIB - 1),
        Just(MIB + 1),
        Just(2 * MIB),
        2 * MIB..4 * MIB + 3,
    ];
    case_with(sizes.boxed(), vec![4, 5, 6, 8])
}

// ---------------------------------------------------------------------------------------------
// Fixture: one object on a fresh deployment

struct Fixture {
    dirs: Dirs,
    cfg: Config,
    case: Case,
    body: Vec<u8>,
    info: ObjectInfo,
    /// The engine that wrote the object (stays open; renamed-away drives vanish under it).
    engine: Engine,
}

impl Fixture {
    fn new(case: &Case, cfg: Config) -> Fixture {
        let dirs = Dirs::new(case.drives);
        let cfg = Config {
            parity: case.parity,
            ..cfg
        };
        let engine = dirs.open(cfg.clone());
        engine.make_bucket(BUCKET).unwrap();
        let body = data(case.size, case.seed);
        let info = engine
            .put_object(BUCKET, KEY, &mut &body[..], &PutOptions::default())
            .unwrap();
        assert_eq!(info.size, case.size as u64);
        Fixture {
            dirs,
            cfg,
            case: case.clone(),
            body,
            info,
            engine,
        }
    }

    fn geometry(&self) -> Geometry {
        Geometry {
            data: self.case.drives - self.case.m(),
            parity: self.case.m(),
            block_size: self.cfg.block_size,
        }
    }

    /// Whether the object is stored inline; checked against what is on disk.
    fn inline(&self) -> bool {
        let geo = self.geometry();
        let expected = self.case.size < geo.block_size
            && geo.shard_file_size(self.case.size as u64) <= self.cfg.inline_limit as u64;
        let on_disk = (0..self.case.drives).all(|p| self.part_file(p).is_none());
        assert_eq!(expected, on_disk, "inline decision for {:?}", self.case);
        expected
    }

    /// Drive `position`'s directory. The deployment was created in path order, so position p
    /// is `paths[p]`; checked here so that a change of that rule cannot hide behind the test.
    fn path(&self, position: usize) -> &Path {
        let p = &self.dirs.paths[position];
        let state = self
            .engine
            .drives()
            .into_iter()
            .find(|d| d.position == position)
            .unwrap();
        if let Some(path) = &state.path {
            assert_eq!(path, p);
        }
        p
    }

    fn part_file(&self, position: usize) -> Option<PathBuf> {
        let files = find_files(&self.dirs.paths[position].join(BUCKET), "part.1");
        assert!(files.len() <= 1, "{files:?}");
        files.into_iter().next()
    }

    fn meta_file(&self, position: usize) -> PathBuf {
        let files = find_files(&self.dirs.paths[position].join(BUCKET), "%meta");
        assert_eq!(files.len(), 1, "{files:?}");
        files.into_iter().next().unwrap()
    }

    /// Runs `f` with the drives at `lost` positions gone: renamed away under the running
    /// engine (and back afterwards, even if `f` panics), or taken offline in a fresh engine.
    fn with_lost<T>(&self, lost: &[usize], f: impl FnOnce(&Engine) -> T) -> T {
        if self.case.rename {
            let _away = Away::new(lost.iter().map(|&p| self.path(p).to_path_buf()).collect());
            f(&self.engine)
        } else {
            let e = Engine::open(std::slice::from_ref(&self.dirs.paths), self.cfg.clone()).unwrap();
            for &p in lost {
                e.take_offline(0, p);
            }
            f(&e)
        }
    }
}

/// Drive directories renamed away; renamed back on drop.
struct Away(Vec<(PathBuf, PathBuf)>);

impl Away {
    fn new(paths: Vec<PathBuf>) -> Away {
        Away(
            paths
                .into_iter()
                .map(|p| {
                    let gone = p.with_extension("away");
                    std::fs::rename(&p, &gone).unwrap();
                    (p, gone)
                })
                .collect(),
        )
    }
}

impl Drop for Away {
    fn drop(&mut self) {
        for (p, gone) in &self.0 {
            let _ = std::fs::rename(gone, p);
        }
    }
}

fn read_range(e: &Engine, start: u64, len: u64) -> Result<Vec<u8>, EngineError> {
    let mut r = e.get_object(BUCKET, KEY, Some((start, len)))?;
    let want = r.len();
    let mut out = Vec::new();
    while let Some(c) = r.next_chunk()? {
        out.extend(c);
    }
    assert_eq!(out.len() as u64, want, "reader announced {want} bytes");
    Ok(out)
}

fn assert_read_quorum<T: std::fmt::Debug>(r: Result<T, EngineError>, what: &str) {
    match r {
        Err(EngineError::ReadQuorum { .. }) => {}
        other => panic!("{what}: expected a read-quorum error, got {other:?}"),
    }
}

/// Reads the object; it must be exact, with the metadata the write returned.
fn assert_exact(fx: &Fixture, e: &Engine, what: &str) {
    let r = e.get_object(BUCKET, KEY, None);
    let mut r = r.unwrap_or_else(|err| panic!("{what}: open failed: {err}"));
    assert_eq!(r.info().size, fx.info.size, "{what}: size");
    assert_eq!(r.info().etag, fx.info.etag, "{what}: etag");
    assert_eq!(r.info().version_id, fx.info.version_id, "{what}: version");
    let mut out = Vec::new();
    loop {
        match r.next_chunk() {
            Ok(Some(c)) => out.extend(c),
            Ok(None) => break,
            Err(err) => panic!("{what}: read failed after {} bytes: {err}", out.len()),
        }
    }
    assert!(
        out == fx.body,
        "{what}: {} bytes read back differ",
        out.len()
    );
}

/// A read that may fail but must never return anything but the object. (With the metadata of
/// more than m drives deleted, the object is gone: NoSuchKey is then an answer too.)
fn assert_exact_or_error(fx: &Fixture, e: &Engine, what: &str) {
    match get(e, BUCKET, KEY) {
        Ok(out) => assert!(out == fx.body, "{what}: wrong data returned"),
        Err(EngineError::ReadQuorum { .. } | EngineError::NoSuchKey { .. }) => {}
        Err(other) => panic!("{what}: unexpected error {other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Damage

#[derive(Debug, Clone, Copy)]
enum Harm {
    /// Flip one bit at this offset.
    Flip(u64, u8),
    /// Cut the file to this length.
    Truncate(u64),
    /// Overwrite these bytes with garbage.
    Garbage(u64, u64),
    Delete,
}

fn apply(path: &Path, harm: Harm) {
    use std::os::unix::fs::FileExt;
    match harm {
        Harm::Flip(at, bit) => {
            let f = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .unwrap();
            let mut b = [0u8];
            f.read_exact_at(&mut b, at).unwrap();
            b[0] ^= 1 << bit;
            f.write_all_at(&b, at).unwrap();
        }
        Harm::Truncate(len) => std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .unwrap()
            .set_len(len)
            .unwrap(),
        Harm::Garbage(at, len) => {
            let f = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .unwrap();
            let mut bytes = vec![0u8; len as usize];
            f.read_exact_at(&mut bytes, at).unwrap();
            // Every byte changes.
            for (b, r) in bytes.iter_mut().zip(data(len as usize, at)) {
                *b ^= r | 1;
            }
            f.write_all_at(&bytes, at).unwrap();
        }
        Harm::Delete => std::fs::remove_file(path).unwrap(),
    }
}

/// Byte range of block `b`'s record (hash + shard) in a shard file.
fn record(geo: &Geometry, size: u64, b: u64) -> (u64, u64) {
    let len = (32 + geo.shard_len(geo.block_len(size, b))) as u64;
    (geo.shard_offset(b), len)
}

/// One random harm to a whole file of `len` bytes.
fn harm_anywhere(rng: &mut Rng, len: u64) -> Harm {
    match rng.range(0, 3) {
        _ if len == 0 => Harm::Delete,
        0 => Harm::Flip(rng.next() % len, rng.range(0, 7) as u8),
        1 => Harm::Truncate(rng.next() % len),
        2 => {
            let at = rng.next() % len;
            Harm::Garbage(at, 1 + rng.next() % (len - at).min(64))
        }
        _ => Harm::Delete,
    }
}

/// Damages up to m shards of every block of a file-backed object; returns what was done.
/// With `independent`, each block picks its own damaged drives (bit flips only, so that the
/// damage of one block never spills into the next); otherwise up to m drives are chosen once
/// and each gets flips, a truncation, garbage or a deleted shard file, or damage to its copy
/// of the metadata instead.
fn damage_files(fx: &Fixture, rng: &mut Rng, independent: bool) -> Vec<(usize, Harm)> {
    let geo = fx.geometry();
    let (n, m, size) = (fx.case.drives, fx.case.m(), fx.case.size as u64);
    let blocks = geo.blocks(size);
    let mut plan = Vec::new();
    if independent {
        for b in 0..blocks {
            let (off, len) = record(&geo, size, b);
            let count = if b == 0 { m } else { rng.range(0, m) };
            for p in rng.subset(n, count) {
                plan.push((p, Harm::Flip(off + rng.next() % len, rng.range(0, 7) as u8)));
            }
        }
    } else {
        let count = rng.range(1, m);
        for p in rng.subset(n, count) {
            let file_len = geo.shard_file_size(size);
            match rng.range(0, 3) {
                // Flips in a few random blocks.
                0 => {
                    for _ in 0..rng.range(1, 3) {
                        let (off, len) = record(&geo, size, rng.next() % blocks);
                        plan.push((p, Harm::Flip(off + rng.next() % len, rng.range(0, 7) as u8)));
                    }
                }
                // The drive's metadata copy (its shard index, sizes, ETag …) instead.
                1 => {
                    let meta = fx.meta_file(p);
                    let harm = harm_anywhere(rng, std::fs::metadata(&meta).unwrap().len());
                    apply(&meta, harm);
                    plan.push((p + META, harm));
                }
                _ => plan.push((p, harm_anywhere(rng, file_len))),
            }
        }
    }
    for &(p, harm) in &plan {
        if p < META {
            apply(&fx.part_file(p).unwrap(), harm);
        }
    }
    plan
}

/// Added to a drive position in a damage plan: the harm went to the metadata file.
const META: usize = 1000;

/// Damages the metadata file (which holds the shard bytes) of up to m drives of an inline
/// object.
fn damage_inline(fx: &Fixture, rng: &mut Rng, count: usize) -> Vec<(usize, Harm)> {
    let mut plan = Vec::new();
    for p in rng.subset(fx.case.drives, count) {
        let file = fx.meta_file(p);
        let len = std::fs::metadata(&file).unwrap().len();
        let harm = harm_anywhere(rng, len);
        apply(&file, harm);
        plan.push((p, harm));
    }
    plan
}

// ---------------------------------------------------------------------------------------------
// The properties

fn lost_drives_read_back(case: &Case, cfg: Config) {
    let fx = Fixture::new(case, cfg);
    let mut rng = Rng(case.choice);
    assert_exact(&fx, &fx.engine, "healthy");
    let m = case.m();
    if m == 0 {
        return;
    }
    for lost in loss_combos(case.drives, m, &mut rng) {
        fx.with_lost(&lost, |e| {
            assert_exact(&fx, e, &format!("drives {lost:?} lost"));
            let head = e.head_object(BUCKET, KEY).unwrap();
            assert_eq!(head, fx.info, "head with drives {lost:?} lost");
        });
    }
}

fn damaged_shards_read_back(case: &Case, cfg: Config) {
    let fx = Fixture::new(case, cfg);
    let mut rng = Rng(case.choice);
    let m = case.m();
    if m == 0 {
        return;
    }
    let plan = if fx.inline() {
        let count = rng.range(1, m);
        damage_inline(&fx, &mut rng, count)
    } else {
        let independent = rng.range(0, 1) == 1;
        damage_files(&fx, &mut rng, independent)
    };
    let what = format!("damage {plan:?}");
    // A fresh engine as well as the one that wrote: nothing is cached.
    assert_exact(&fx, &fx.engine, &what);
    let fresh = Engine::open(std::slice::from_ref(&fx.dirs.paths), fx.cfg.clone()).unwrap();
    assert_exact(&fx, &fresh, &what);
    assert_eq!(fresh.head_object(BUCKET, KEY).unwrap(), fx.info, "{what}");
}

fn too_many_losses_fail(case: &Case, cfg: Config) {
    let fx = Fixture::new(case, cfg);
    let mut rng = Rng(case.choice);
    let (n, m) = (case.drives, case.m());
    for _ in 0..3 {
        let lost = rng.some_of(n, m + 1, n);
        fx.with_lost(&lost, |e| {
            let what = format!("drives {lost:?} of {n} lost, parity {m}");
            assert_read_quorum(get(e, BUCKET, KEY), &what);
            assert_read_quorum(e.head_object(BUCKET, KEY), &what);
        });
    }
    // More than m damaged shards in one block: an error, never wrong data.
    let geo = fx.geometry();
    let size = case.size as u64;
    let mut plan = Vec::new();
    if fx.inline() {
        plan = damage_inline(&fx, &mut rng, m + 1);
        assert_exact_or_error(&fx, &fx.engine, &format!("inline damage {plan:?}"));
    } else if size > 0 {
        let b = rng.next() % geo.blocks(size);
        let (off, len) = record(&geo, size, b);
        for p in rng.some_of(n, m + 1, n) {
            let harm = Harm::Flip(off + rng.next() % len, rng.range(0, 7) as u8);
            apply(&fx.part_file(p).unwrap(), harm);
            plan.push((p, harm));
        }
        assert_read_quorum(get(&fx.engine, BUCKET, KEY), &format!("damage {plan:?}"));
        // Blocks before the damaged one still read.
        if b > 0 {
            let out = read_range(&fx.engine, 0, b * geo.block_size as u64).unwrap();
            assert!(out == fx.body[..b as usize * geo.block_size]);
        }
    }
}

fn ranges_equal_slices(case: &Case, cfg: Config) {
    let fx = Fixture::new(case, cfg);
    let mut rng = Rng(case.choice);
    let size = case.size as u64;
    // Healthy, then with up to m drives lost.
    let lost = rng.some_of(case.drives, 0, case.m());
    fx.with_lost(&lost, |e| {
        for i in 0..8 {
            if size == 0 {
                break;
            }
            let start = match i {
                0 => 0,
                1 => size - 1,
                2 => (fx.cfg.block_size as u64 - 1).min(size - 1),
                _ => rng.next() % size,
            };
            let len = match i % 3 {
                0 => 1 + rng.next() % (size - start), // inside the object
                1 => 1 + rng.next() % (2 * fx.cfg.block_size as u64), // maybe past the end
                _ => u64::MAX - start,                // "to the end" (bytes=N-)
            };
            let end = (start + len.min(size - start)) as usize;
            let what = format!("range {start}+{len} of {size}, drives {lost:?} lost");
            let out = read_range(e, start, len).unwrap_or_else(|err| panic!("{what}: {err}"));
            assert!(out == fx.body[start as usize..end], "{what}");
        }
        // Through `Read` with odd buffer sizes.
        if size > 0 {
            let start = rng.next() % size;
            let mut r = e.get_object(BUCKET, KEY, Some((start, size))).unwrap();
            let mut out = Vec::new();
            let mut buf = vec![0u8; 1 + rng.range(0, 9000)];
            loop {
                let k = r.read(&mut buf).unwrap();
                if k == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..k]);
            }
            assert!(out == fx.body[start as usize..], "Read from {start}");
        }
        for (start, len) in [(size, 1), (size + 7, 10)] {
            assert!(
                matches!(
                    e.get_object(BUCKET, KEY, Some((start, len))),
                    Err(EngineError::InvalidRange { .. })
                ),
                "range {start}+{len} of {size} must be refused"
            );
        }
    });
}

/// `cases` per property; PROPTEST_CASES overrides it for a deeper run.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(cases),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(24))]

    #[test]
    fn any_m_lost_drives_read_back(case in case()) {
        lost_drives_read_back(&case, cfg());
    }

    #[test]
    fn up_to_m_damaged_shards_per_block_read_back(case in case()) {
        damaged_shards_read_back(&case, cfg());
    }

    #[test]
    fn more_than_m_losses_fail_with_read_quorum(case in case()) {
        too_many_losses_fail(&case, cfg());
    }

    #[test]
    fn ranged_reads_equal_the_slice(case in case()) {
        ranges_equal_slices(&case, cfg());
    }
}

/// Real 1 MiB blocks (and the real 128 KiB inline limit) with objects of a few MiB.
fn real_cfg() -> Config {
    Config {
        background_heal: false,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config(4))]

    #[test]
    fn big_blocks_survive_losses_damage_and_ranges(case in big_case()) {
        lost_drives_read_back(&Case { choice: case.choice ^ 1, ..case.clone() }, real_cfg());
        damaged_shards_read_back(&case, real_cfg());
        ranges_equal_slices(&case, real_cfg());
    }
}
