//! Bitrot hash candidates, hashing one 1 MiB block (the unit the engine hashes per shard
//! file is smaller, 1 MiB / k, so both sizes are measured). Throughput in bytes hashed.
//! Keyed where the hash supports it, as the bitrot check would use it.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use highway::{HighwayHash, HighwayHasher, Key};
use std::hint::black_box;
use std::time::Duration;

const KEY: [u8; 32] = *b"strata bitrot key, 32 bytes long";

fn bench_hashes(c: &mut Criterion) {
    for len in [1usize << 20, (1 << 20) / 8] {
        let data: Vec<u8> = (0..len).map(|i| (i * 7 + (i >> 9)) as u8).collect();
        let mut group = c.benchmark_group(format!("hash-{}KiB", len / 1024));
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function("blake3-keyed", |b| {
            b.iter(|| blake3::keyed_hash(&KEY, black_box(&data)))
        });
        group.bench_function("highwayhash-256", |b| {
            let key = Key([
                u64::from_le_bytes([1, 2, 3, 4, 5, 6, 7, 8]),
                0x0123_4567_89ab_cdef,
                0xfedc_ba98_7654_3210,
                42,
            ]);
            b.iter(|| HighwayHasher::new(key).hash256(black_box(&data)))
        });
        group.bench_function("xxh3-128", |b| {
            b.iter(|| xxhash_rust::xxh3::xxh3_128(black_box(&data)))
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    targets = bench_hashes
}
criterion_main!(benches);
