//! Criterion benchmarks of the erasure codec: encode and reconstruct (1 and m lost data
//! shards) for 4+2, 8+4 and 12+4, for every kernel this CPU has, with throughput counted
//! in bytes of data (k x shard length). Shard length: 1 MiB / k (one 1 MiB block, the
//! engine's case) and 1 MiB. `hack/bench-codec/run.sh` has the side-by-side with Go/ISA-L.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;
use strata_codec::erasure::{Codec, Kernel};

const GEOMETRIES: [(usize, usize); 3] = [(4, 2), (8, 4), (12, 4)];
const BLOCK: usize = 1 << 20;

fn shards(k: usize, m: usize, len: usize) -> Vec<Vec<u8>> {
    (0..k + m)
        .map(|i| {
            (0..len)
                .map(|j| (i * 131 + j * 7 + (j >> 8)) as u8)
                .collect()
        })
        .collect()
}

fn encode(codec: &Codec, shards: &mut [Vec<u8>]) {
    let (data, parity) = shards.split_at_mut(codec.data_shards());
    let d: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
    let mut p: Vec<&mut [u8]> = parity.iter_mut().map(Vec::as_mut_slice).collect();
    codec.encode(black_box(&d), &mut p).expect("encode");
}

fn reconstruct(codec: &Codec, shards: &mut [Vec<u8>], present: &[bool]) {
    let mut refs: Vec<&mut [u8]> = shards.iter_mut().map(Vec::as_mut_slice).collect();
    codec
        .reconstruct(black_box(&mut refs), present, false)
        .expect("reconstruct");
}

fn bench_codec(c: &mut Criterion) {
    for (k, m) in GEOMETRIES {
        for (size_name, len) in [("block", BLOCK / k), ("1MiB", BLOCK)] {
            let mut group = c.benchmark_group(format!("rs-{k}+{m}-{size_name}"));
            group.throughput(Throughput::Bytes((k * len) as u64));
            for kernel in Kernel::available() {
                let codec = Codec::with_kernel(k, m, kernel).expect("kernel available");
                let mut sh = shards(k, m, len);
                group.bench_function(BenchmarkId::new("encode", kernel.name()), |b| {
                    b.iter(|| encode(&codec, &mut sh))
                });
                encode(&codec, &mut sh);
                for (label, lost) in [("reconstruct-1", 1), ("reconstruct-m", m)] {
                    let present: Vec<bool> = (0..k + m).map(|i| i >= lost).collect();
                    group.bench_function(BenchmarkId::new(label, kernel.name()), |b| {
                        b.iter(|| reconstruct(&codec, &mut sh, &present))
                    });
                }
            }
            group.finish();
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    targets = bench_codec
}
criterion_main!(benches);
