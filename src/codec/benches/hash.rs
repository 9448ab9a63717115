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
    bench_etag(c);
}

/// The S3 ETag (MD5): one stream with the md-5 crate, and sixteen streams at once in
/// AVX-512 lanes (`strata_codec::md5x`, what concurrent uploads share).
fn bench_etag(c: &mut Criterion) {
    use md5::Digest;
    let len = 1usize << 20;
    let inputs: Vec<Vec<u8>> = (0..16)
        .map(|s| {
            (0..len)
                .map(|i| (i * 7 + s * 13 + (i >> 9)) as u8)
                .collect()
        })
        .collect();
    let mut group = c.benchmark_group("etag-md5-1MiB");
    group.throughput(Throughput::Bytes(len as u64));
    group.bench_function("md-5 one stream", |b| {
        b.iter(|| md5::Md5::digest(black_box(&inputs[0])))
    });
    group.throughput(Throughput::Bytes(16 * len as u64));
    group.bench_function("md5x 16 streams", |b| {
        let slices: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
        b.iter(|| strata_codec::md5x::digest_many(black_box(&slices)))
    });
    group.finish();
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
