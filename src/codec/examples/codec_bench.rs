//! Strata side of hack/bench-codec: encode and reconstruct throughput for every kernel
//! this CPU has, single thread, in the same units as the Go and ISA-L programs.
//! Prints "RESULT strata-<kernel> <k>+<m> <op> <GB/s of data>" and "CHECK ... <fnv64>".
//!
//! usage: codec_bench K M SHARD_LEN [SECONDS]

use std::time::Instant;
use strata_codec::erasure::{Codec, Kernel};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        return Err("usage: codec_bench K M SHARD_LEN [SECONDS]".into());
    }
    let k: usize = args[1].parse()?;
    let m: usize = args[2].parse()?;
    let len: usize = args[3].parse()?;
    let secs: f64 = args.get(4).map_or(Ok(1.0), |s| s.parse())?;
    for kernel in Kernel::available() {
        bench_kernel(Codec::with_kernel(k, m, kernel)?, len, secs)?;
    }
    Ok(())
}

fn bench_kernel(codec: Codec, len: usize, secs: f64) -> Result<(), Box<dyn std::error::Error>> {
    let (k, m) = (codec.data_shards(), codec.parity_shards());
    let name = format!("strata-{}", codec.kernel());
    // Same data pattern as the Go and C programs, so the parity checksums must agree.
    let mut shards: Vec<Vec<u8>> = (0..k + m)
        .map(|i| {
            (0..len)
                .map(|j| (i * 131 + j * 7 + (j >> 8)) as u8)
                .collect()
        })
        .collect();
    let encode = |shards: &mut Vec<Vec<u8>>| {
        let (data, parity) = shards.split_at_mut(k);
        let d: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
        let mut p: Vec<&mut [u8]> = parity.iter_mut().map(Vec::as_mut_slice).collect();
        codec.encode(&d, &mut p)
    };
    encode(&mut shards)?;
    let h = shards[k..]
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, s| fnv(h, s));
    println!("CHECK {name} {k}+{m} {h:016x}");

    let bytes = (k * len) as f64;
    let gbps = timed(secs, || encode(&mut shards))? * bytes / 1e9;
    println!("RESULT {name} {k}+{m} encode {gbps:.2}");
    let mut lost_counts = vec![("1", 1)];
    if m > 1 {
        lost_counts.push(("m", m));
    }
    for (label, lost) in lost_counts {
        let present: Vec<bool> = (0..k + m).map(|i| i >= lost).collect();
        let gbps = timed(secs, || {
            let mut refs: Vec<&mut [u8]> = shards.iter_mut().map(Vec::as_mut_slice).collect();
            codec.reconstruct(&mut refs, &present, false)
        })? * bytes
            / 1e9;
        println!("RESULT {name} {k}+{m} reconstruct-{label} {gbps:.2}");
    }
    Ok(())
}

/// Rounds per measurement: the best round is reported, so a burst of load from another
/// process on this shared machine does not count against one implementation.
const ROUNDS: u32 = 5;

/// Calls per second of `f` (best of ROUNDS rounds of secs / ROUNDS), after a warm-up call.
fn timed<E>(secs: f64, mut f: impl FnMut() -> Result<(), E>) -> Result<f64, E> {
    f()?;
    let mut best = 0f64;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed().as_secs_f64() < secs / f64::from(ROUNDS) {
            f()?;
            n += 1;
        }
        best = best.max(n as f64 / start.elapsed().as_secs_f64());
    }
    Ok(best)
}

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}
