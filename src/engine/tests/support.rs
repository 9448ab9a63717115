//! The engine tests' helpers: drive folders, deterministic data, whole-object reads, file snapshots.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use strata_engine::{Config, Engine, EngineError, ObjectInfo, PutOptions};

pub struct Dirs {
    pub tmp: tempfile::TempDir,
    pub paths: Vec<PathBuf>,
}

impl Dirs {
    pub fn new(n: usize) -> Dirs {
        Dirs::new_in(n, None)
    }

    /// Drive folders under `base` (e.g. /dev/shm for benches), or a temporary directory.
    pub fn new_in(n: usize, base: Option<&Path>) -> Dirs {
        let tmp = match base {
            Some(b) => tempfile::tempdir_in(b).unwrap(),
            None => tempfile::tempdir().unwrap(),
        };
        let paths: Vec<PathBuf> = (0..n).map(|i| tmp.path().join(format!("d{i}"))).collect();
        for p in &paths {
            std::fs::create_dir_all(p).unwrap();
        }
        Dirs { tmp, paths }
    }

    pub fn open(&self, cfg: Config) -> Engine {
        Engine::open(std::slice::from_ref(&self.paths), cfg).unwrap()
    }
}

/// Small blocks so that tests cross block boundaries cheaply; no background healer so that
/// tests see the damage they make.
pub fn cfg() -> Config {
    Config {
        block_size: 64 * 1024,
        inline_limit: 4096,
        min_part_size: 100 * 1024,
        background_heal: false,
        ..Config::default()
    }
}

/// Deterministic pseudo-random bytes (xorshift).
pub fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407)
        | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

pub fn get(e: &Engine, b: &str, k: &str) -> Result<Vec<u8>, EngineError> {
    let mut r = e.get_object(b, k, None)?;
    let mut out = Vec::new();
    while let Some(c) = r.next_chunk()? {
        out.extend(c);
    }
    Ok(out)
}

pub fn put(e: &Engine, b: &str, k: &str, body: &[u8]) -> ObjectInfo {
    e.put_object(b, k, &mut &body[..], &PutOptions::default())
        .unwrap()
}

pub fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    find_files(dir, name).into_iter().next()
}

pub fn find_files(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(find_files(&p, name));
        } else if e.file_name() == name {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Every file under `dir` (relative path → bytes), skipping the temporary area.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            if rel.starts_with(".strata.sys/tmp") {
                continue;
            }
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}
