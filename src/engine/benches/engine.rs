//! Criterion benchmarks of the storage engine's data path: PUT and GET of 1 MiB and 64 MiB
//! objects through `Engine`, on drive folders in tmpfs (/dev/shm, falling back to the temp
//! directory), for a 4-drive set (2+2) and a single drive. Throughput is in bytes of object.
//! Each PUT overwrites the same key, so the drives stay the same size whatever the run time.
//! `engine-put-stages-64MiB` times, one thread each, the stages a 64 MiB PUT to 2+2 goes
//! through (throughput in object bytes, so the stage times add up against the PUT's).
//! Results and the breakdown of where PUT time goes: hack/BENCHMARKS.md.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use md5::{Digest, Md5};
use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;
use strata_codec::erasure::Codec;
use strata_engine::geometry::{encode_block, EncodedBlock, Geometry};
use strata_engine::{Config, Engine, PutOptions};

const SIZES: [(&str, usize); 2] = [("1MiB", 1 << 20), ("64MiB", 64 << 20)];
const LAYOUTS: [(&str, usize); 2] = [("4-drives-2+2", 4), ("1-drive", 1)];

struct Deployment {
    engine: Engine,
    _dir: tempfile::TempDir,
}

fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .expect("temp dir")
}

fn deployment(drives: usize) -> Deployment {
    let dir = scratch_dir();
    let paths: Vec<PathBuf> = (0..drives)
        .map(|i| dir.path().join(format!("d{i}")))
        .collect();
    for p in &paths {
        std::fs::create_dir_all(p).expect("drive dir");
    }
    let engine = Engine::open(
        &[paths],
        Config {
            background_heal: false,
            ..Config::default()
        },
    )
    .expect("open engine");
    engine.make_bucket("bench").expect("bucket");
    Deployment { engine, _dir: dir }
}

fn body(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn put(e: &Engine, key: &str, data: &[u8]) {
    e.put_object("bench", key, &mut &data[..], &PutOptions::default())
        .expect("put");
}

fn get(e: &Engine, key: &str) -> u64 {
    let mut r = e.get_object("bench", key, None).expect("get");
    let mut n = 0u64;
    while let Some(chunk) = r.next_chunk().expect("read") {
        n += black_box(chunk).len() as u64;
    }
    n
}

fn bench_engine(c: &mut Criterion) {
    for (size_name, len) in SIZES {
        let data = body(len);
        let big = len > (8 << 20);
        for op in ["put", "get"] {
            let mut group = c.benchmark_group(format!("engine-{op}-{size_name}"));
            group.throughput(Throughput::Bytes(len as u64));
            if big {
                group.sample_size(10);
                group.measurement_time(Duration::from_secs(6));
            } else {
                group.sample_size(20);
                group.measurement_time(Duration::from_secs(3));
            }
            for (layout, drives) in LAYOUTS {
                let d = deployment(drives);
                put(&d.engine, "obj", &data);
                group.bench_function(BenchmarkId::new(layout, size_name), |b| match op {
                    "put" => b.iter(|| put(&d.engine, "obj", black_box(&data))),
                    _ => b.iter(|| assert_eq!(get(&d.engine, "obj"), len as u64)),
                });
            }
            group.finish();
        }
    }
}

/// The stages of a 64 MiB PUT to 2+2 with 1 MiB blocks, each alone on one thread.
fn bench_put_stages(c: &mut Criterion) {
    const LEN: usize = 64 << 20;
    let data = body(LEN);
    let geo = Geometry {
        data: 2,
        parity: 2,
        block_size: 1 << 20,
    };
    let codec = Codec::new(2, 2).expect("codec");
    let encoded: Vec<EncodedBlock> = data
        .chunks(geo.block_size)
        .map(|b| encode_block(&codec, &geo, b).expect("encode"))
        .collect();
    let mut group = c.benchmark_group("engine-put-stages-64MiB");
    group.throughput(Throughput::Bytes(LEN as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("md5-etag", |b| b.iter(|| Md5::digest(black_box(&data))));
    group.bench_function("copy-to-block-buffer", |b| {
        let mut block = vec![0u8; geo.block_size];
        b.iter(|| {
            for chunk in data.chunks(geo.block_size) {
                block[..chunk.len()].copy_from_slice(black_box(chunk));
            }
        })
    });
    group.bench_function("split+encode-2+2", |b| {
        b.iter(|| {
            for chunk in data.chunks(geo.block_size) {
                black_box(encode_block(&codec, &geo, chunk).expect("encode"));
            }
        })
    });
    group.bench_function("blake3-4-shards", |b| {
        b.iter(|| {
            for e in &encoded {
                for i in 0..geo.drives() {
                    black_box(blake3::hash(e.shard(i)));
                }
            }
        })
    });
    let dir = scratch_dir();
    group.bench_function("write+fsync-4-shard-files-tmpfs", |b| {
        b.iter(|| {
            for i in 0..geo.drives() {
                let path = dir.path().join(format!("part.{i}"));
                let mut f = std::io::BufWriter::with_capacity(
                    256 * 1024,
                    std::fs::File::create(&path).expect("create"),
                );
                for e in &encoded {
                    f.write_all(&[0u8; 32]).expect("write");
                    f.write_all(e.shard(i)).expect("write");
                }
                f.into_inner().expect("flush").sync_all().expect("fsync");
                std::fs::remove_file(&path).expect("remove");
            }
        })
    });
    group.finish();

    // Fixed costs per PUT, whatever its size: the writer threads of one PUT and the commit's
    // per-drive threads (4 + 4 spawns for 2+2).
    let mut group = c.benchmark_group("engine-put-fixed");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(2));
    group.bench_function("spawn+join-8-scoped-threads", |b| {
        b.iter(|| {
            std::thread::scope(|s| {
                let handles: Vec<_> = (0..8).map(|i| s.spawn(move || black_box(i))).collect();
                handles.into_iter().for_each(|h| {
                    h.join().expect("join");
                });
            })
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1));
    targets = bench_engine, bench_put_stages
}
criterion_main!(benches);
