//! Streaming, not buffering: a 2 GiB object goes up (AWS CLI multipart, 10 parts in flight)
//! and comes back down (ranged GETs in parallel) while the server's peak resident memory
//! (VmHWM) stays under 256 MiB. One test, so that CI pays for the 2 GiB once (about a minute
//! on a debug build).

use crate::s3_support;

use s3_support::{same_file, write_big_file, Server};
use std::time::Instant;

const LIMIT_MIB: u64 = 256;

#[test]
fn two_gib_round_trip_stays_under_256_mib_resident() {
    let s = Server::start();
    let w = s.work();
    let t0 = Instant::now();
    // 2 GiB: a pseudo-random MiB repeated, each copy stamped with its index (not all zeros,
    // no two MiB alike; seconds to write instead of minutes from /dev/urandom).
    write_big_file(&w.join("two.bin"), 2048);
    let made = t0.elapsed();
    let before = s.peak_rss_kib();

    s.aws_ok(&["s3", "mb", "s3://memory"]);
    let t1 = Instant::now();
    s.aws_ok(&[
        "s3",
        "cp",
        "--only-show-errors",
        "two.bin",
        "s3://memory/two.bin",
    ]);
    let up = t1.elapsed();
    let after_up = s.peak_rss_kib();

    let t2 = Instant::now();
    s.aws_ok(&[
        "s3",
        "cp",
        "--only-show-errors",
        "s3://memory/two.bin",
        "back.bin",
    ]);
    let down = t2.elapsed();
    let peak = s.peak_rss_kib();

    println!(
        "server peak RSS (VmHWM): {:.1} MiB at start, {:.1} MiB after the 2 GiB upload, \
         {:.1} MiB after the download (limit {LIMIT_MIB} MiB); file {made:.1?}, \
         upload {up:.1?}, download {down:.1?}",
        before as f64 / 1024.0,
        after_up as f64 / 1024.0,
        peak as f64 / 1024.0,
    );
    assert!(
        same_file(&w.join("two.bin"), &w.join("back.bin")),
        "the 2 GiB object came back different"
    );
    assert!(
        peak < LIMIT_MIB * 1024,
        "server peak RSS {} MiB is over {LIMIT_MIB} MiB",
        peak / 1024
    );
    // Free the disk space early (the drives hold another 4 GiB of shards).
    let _ = std::fs::remove_file(w.join("two.bin"));
    let _ = std::fs::remove_file(w.join("back.bin"));
}
