//! MD5 (the S3 ETag) over many uploads at once. MD5 is a serial chain per stream (~0.6 GB/s
//! per core) and was the top of the server's profile for 1 MiB PUTs. With AVX-512, sixteen
//! streams advance together, one per 32-bit lane: concurrent uploads hand their blocks to a
//! shared hasher, and whichever of them finds it idle hashes a batch of up to sixteen blocks
//! of equal length for everybody (the same group pattern as the engine's durability
//! barriers). One stream alone, or a CPU without AVX-512, takes the scalar path.
//!
//! A hasher that found the kernel idle used to run its block at once, alone (so scalar): under
//! 8 uploads most blocks went that way (a profile showed 10 % of the server's CPU in scalar MD5
//! beside 4 % in the lanes). `update_during` hands the block in before the caller's other work
//! for it (writing its shards) and collects the digest after, so the blocks of other uploads
//! that arrive meanwhile share the batch.

use md5::block_api::compress as compress_scalar;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

const LANES: usize = 16;
/// Batches smaller than this run scalar (the lane kernel costs about as much as three
/// scalar streams).
const MIN_LANES: usize = 3;
/// How long a deferred block may wait for others to make a batch of `MIN_LANES`.
const LINGER: Duration = Duration::from_millis(3);
/// Below this many bytes a block is hashed by its own thread: a batch would not pay.
const SHARED_MIN: usize = 64 * 1024;
const INIT: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];

/// An MD5 computation whose whole 64-byte chunks may be hashed in a shared batch.
pub struct Md5 {
    state: [u32; 4],
    tail: Vec<u8>,
    len: u64,
    /// Counted in `STREAMS` (made by `new`, not dropped yet).
    counted: bool,
}

/// Streams made by `Md5::new` and not dropped: the uploads in flight (their bodies still
/// arriving, mostly) whose blocks a deferred block could share a batch with.
static STREAMS: AtomicUsize = AtomicUsize::new(0);
/// Blocks the shared hasher ran in lanes, and alone (scalar): see `shared_blocks`.
static IN_LANES: AtomicUsize = AtomicUsize::new(0);
static ALONE: AtomicUsize = AtomicUsize::new(0);

/// Blocks handed to the shared hasher so far that were hashed in the lane kernel, and those
/// hashed alone (a batch of one or two): how well concurrent uploads share it.
pub fn shared_blocks() -> (usize, usize) {
    (
        IN_LANES.load(Ordering::Relaxed),
        ALONE.load(Ordering::Relaxed),
    )
}

impl Drop for Md5 {
    fn drop(&mut self) {
        if self.counted {
            STREAMS.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Default for Md5 {
    fn default() -> Self {
        Md5::new()
    }
}

impl Md5 {
    pub fn new() -> Md5 {
        STREAMS.fetch_add(1, Ordering::Relaxed);
        Md5 {
            state: INIT,
            tail: Vec::with_capacity(64),
            len: 0,
            counted: true,
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        self.feed(data, || (), Duration::ZERO);
    }

    /// Whether deferring a block of `len` bytes (`update_during`) may let it share a batch:
    /// the lane kernel is there and at least two other uploads are in flight. Otherwise
    /// hashing it beside other work, at once, costs the same CPU and less time.
    pub fn defers(&self, len: usize) -> bool {
        len >= SHARED_MIN && simd_available() && STREAMS.load(Ordering::Relaxed) >= MIN_LANES
    }

    /// `update(data)` with `work` run after the block was handed to the shared hasher and
    /// before its result is awaited (a little longer, when other uploads are in flight, for
    /// their blocks to join it); returns what `work` returns.
    pub fn update_during<R>(&mut self, data: &[u8], work: impl FnOnce() -> R) -> R {
        let linger = match STREAMS.load(Ordering::Relaxed) >= MIN_LANES {
            true => LINGER,
            false => Duration::ZERO,
        };
        self.feed(data, work, linger)
    }

    fn feed<R>(&mut self, mut data: &[u8], work: impl FnOnce() -> R, linger: Duration) -> R {
        self.len += data.len() as u64;
        if !self.tail.is_empty() {
            let take = (64 - self.tail.len()).min(data.len());
            self.tail.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.tail.len() < 64 {
                return work();
            }
            compress_chunks(&mut self.state, &self.tail);
            self.tail.clear();
        }
        let whole = data.len() / 64 * 64;
        let (head, rest) = data.split_at(whole);
        let out = if whole >= SHARED_MIN && simd_available() {
            let pending = Pending::submit(&mut self.state, head, linger);
            let out = work();
            drop(pending); // waits for the batch that hashes it
            out
        } else {
            compress_chunks(&mut self.state, head);
            work()
        };
        self.tail.extend_from_slice(rest);
        out
    }

    pub fn finalize(mut self) -> [u8; 16] {
        let bits = self.len.wrapping_mul(8);
        let mut pad = std::mem::take(&mut self.tail);
        pad.push(0x80);
        while pad.len() % 64 != 56 {
            pad.push(0);
        }
        pad.extend_from_slice(&bits.to_le_bytes());
        compress_chunks(&mut self.state, &pad);
        let mut out = [0u8; 16];
        for (i, w) in self.state.iter().enumerate() {
            out[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
        }
        out
    }
}

/// The MD5 digests of several buffers, sixteen at a time in SIMD lanes where available.
pub fn digest_many(inputs: &[&[u8]]) -> Vec<[u8; 16]> {
    let mut out = Vec::with_capacity(inputs.len());
    for group in inputs.chunks(LANES) {
        let whole = group.iter().map(|d| d.len() / 64 * 64).min().unwrap_or(0);
        let heads: Vec<&[u8]> = group.iter().map(|d| &d[..whole]).collect();
        let mut states = vec![INIT; group.len()];
        if simd_available() && group.len() > 2 {
            compress_lanes(&mut states, &heads);
        } else {
            for (s, d) in states.iter_mut().zip(&heads) {
                compress_chunks(s, d);
            }
        }
        for (d, state) in group.iter().zip(states) {
            let mut h = Md5 {
                state,
                tail: Vec::with_capacity(64),
                len: whole as u64,
                counted: false,
            };
            h.update(&d[whole..]);
            out.push(h.finalize());
        }
    }
    out
}

fn compress_chunks(state: &mut [u32; 4], data: &[u8]) {
    let (chunks, rest) = data.as_chunks::<64>();
    debug_assert!(rest.is_empty());
    compress_scalar(state, chunks);
}

/// Whether this CPU has the lane kernel's AVX-512F: then streams share the SIMD hasher, in
/// every build (this crate is optimised in dev builds too, so the tests take the shipped path).
/// The CPU features of the lane kernel, as `is_x86_feature_detected!` names them.
pub const LANE_FEATURES: &[&str] = &["avx512f"];

fn simd_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static HAS: OnceLock<bool> = OnceLock::new();
        *HAS.get_or_init(|| std::arch::is_x86_feature_detected!("avx512f"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// A block waiting to be hashed: its owner blocks in `Shared::wait` (dropping its `Pending`)
/// until it is done, so the data stays borrowed (and valid) for as long as the pointer is used.
struct Job {
    state: [u32; 4],
    data: *const u8,
    len: usize,
}

// SAFETY: the pointer is only read before its owner's `Pending` is dropped (see `Job`).
unsafe impl Send for Job {}

#[derive(Default)]
struct Queue {
    next_id: u64,
    pending: Vec<(u64, Job)>,
    done: HashMap<u64, [u32; 4]>,
    running: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    changed: Condvar,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| Shared {
        queue: Mutex::new(Queue::default()),
        changed: Condvar::new(),
    })
}

/// A block handed to the shared hasher: dropping it waits until the block is hashed and
/// stores the new state, so the borrowed data outlives every use of its pointer (also when
/// the caller's work in between unwinds).
struct Pending<'a> {
    id: u64,
    linger: Duration,
    state: &'a mut [u32; 4],
    _data: std::marker::PhantomData<&'a [u8]>,
}

impl<'a> Pending<'a> {
    fn submit(state: &'a mut [u32; 4], data: &'a [u8], linger: Duration) -> Pending<'a> {
        let id = shared().submit(*state, data);
        Pending {
            id,
            linger,
            state,
            _data: std::marker::PhantomData,
        }
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        *self.state = shared().wait(self.id, self.linger);
    }
}

impl Shared {
    /// Advances `state` over `data` (whole 64-byte chunks), in a batch with other streams'
    /// blocks when there are any.
    #[cfg(test)]
    fn hash(&self, state: &mut [u32; 4], data: &[u8]) {
        drop(Pending::submit(state, data, Duration::ZERO));
    }

    /// Queues a block (its owner must `wait` for it before the data goes: see `Pending`).
    fn submit(&self, state: [u32; 4], data: &[u8]) -> u64 {
        #[cfg(test)]
        tests::SHARED_CALLS.with(|n| n.set(n.get() + 1));
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let id = q.next_id;
        q.next_id += 1;
        q.pending.push((
            id,
            Job {
                state,
                data: data.as_ptr(),
                len: data.len(),
            },
        ));
        if q.pending.len() >= MIN_LANES {
            self.changed.notify_all(); // a batch for lingering waiters
        }
        id
    }

    /// The state after block `id`: hashed by a batch another waiter runs, or by one this
    /// waiter runs when none is running.
    /// Up to `linger` past the call it waits for a batch worth the lane kernel to gather.
    fn wait(&self, id: u64, linger: Duration) -> [u32; 4] {
        let deadline = Instant::now() + linger;
        let mut q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(done) = q.done.remove(&id) {
                return done;
            }
            if q.running {
                q = self.changed.wait(q).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if q.pending.len() < MIN_LANES && !left.is_zero() {
                q = match self.changed.wait_timeout(q, left) {
                    Ok((q, _)) => q,
                    Err(p) => p.into_inner().0,
                };
                continue;
            }
            q.running = true;
            let batch = take_batch(&mut q.pending);
            drop(q);
            let results = run_batch(batch);
            q = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            q.done.extend(results);
            q.running = false;
            self.changed.notify_all();
        }
    }
}

/// Up to sixteen pending jobs of the oldest job's length (lanes advance in lockstep).
fn take_batch(pending: &mut Vec<(u64, Job)>) -> Vec<(u64, Job)> {
    let Some(len) = pending.first().map(|(_, j)| j.len) else {
        return Vec::new();
    };
    let mut batch = Vec::new();
    let mut i = 0;
    while i < pending.len() && batch.len() < LANES {
        if pending[i].1.len == len {
            batch.push(pending.remove(i));
        } else {
            i += 1;
        }
    }
    batch
}

fn run_batch(batch: Vec<(u64, Job)>) -> Vec<(u64, [u32; 4])> {
    // SAFETY: every job's owner holds its `Pending`, whose drop waits until the result is
    // published: the data is borrowed until then.
    let slices: Vec<&[u8]> = batch
        .iter()
        .map(|(_, j)| unsafe { std::slice::from_raw_parts(j.data, j.len) })
        .collect();
    let mut states: Vec<[u32; 4]> = batch.iter().map(|(_, j)| j.state).collect();
    if batch.len() < MIN_LANES {
        ALONE.fetch_add(batch.len(), Ordering::Relaxed);
        for (s, d) in states.iter_mut().zip(&slices) {
            compress_chunks(s, d);
        }
    } else {
        IN_LANES.fetch_add(batch.len(), Ordering::Relaxed);
        compress_lanes(&mut states, &slices);
    }
    batch.iter().map(|(id, _)| *id).zip(states).collect()
}

/// Advances up to sixteen states over inputs of one length (a multiple of 64).
fn compress_lanes(states: &mut [[u32; 4]], inputs: &[&[u8]]) {
    let mut lanes = [INIT; LANES];
    let mut ins: [&[u8]; LANES] = [inputs[0]; LANES];
    for (i, (s, d)) in states.iter().zip(inputs).enumerate() {
        lanes[i] = *s;
        ins[i] = d;
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: only reached when `simd_available` found AVX-512F.
    unsafe {
        avx512::compress_x16(&mut lanes, &ins)
    };
    states.copy_from_slice(&lanes[..states.len()]);
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::LANES;
    use std::arch::x86_64::*;

    const K: [u32; 64] = [
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
        0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
        0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
        0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
        0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
        0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
        0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
        0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
        0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
        0xeb86d391,
    ];
    const S: [[u32; 4]; 4] = [
        [7, 12, 17, 22],
        [5, 9, 14, 20],
        [4, 11, 16, 23],
        [6, 10, 15, 21],
    ];

    /// One MD5 step for every lane: a = b + rotl(a + f(b, c, d) + k + m, s), where `f` is the
    /// round's boolean function as a vpternlogd truth table.
    #[inline(always)]
    unsafe fn step<const F: i32>(
        a: __m512i,
        b: __m512i,
        c: __m512i,
        d: __m512i,
        k: u32,
        m: __m512i,
        s: u32,
    ) -> __m512i {
        // SAFETY: only called from `compress_x16`, which runs with AVX-512F enabled.
        unsafe {
            let f = _mm512_ternarylogic_epi32::<F>(b, c, d);
            let t = _mm512_add_epi32(
                _mm512_add_epi32(a, f),
                _mm512_add_epi32(_mm512_set1_epi32(k as i32), m),
            );
            _mm512_add_epi32(b, _mm512_rolv_epi32(t, _mm512_set1_epi32(s as i32)))
        }
    }

    /// Sixteen MD5 states over sixteen inputs of one length, a lane each.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn compress_x16(states: &mut [[u32; 4]; LANES], inputs: &[&[u8]; LANES]) {
        let len = inputs[0].len();
        let mut v = [_mm512_setzero_si512(); 4];
        for (r, reg) in v.iter_mut().enumerate() {
            let col: [u32; LANES] = std::array::from_fn(|l| states[l][r]);
            // SAFETY: `col` is 16 u32s, the 64 bytes an unaligned load reads.
            *reg = unsafe { _mm512_loadu_si512(col.as_ptr().cast()) };
        }
        let mut words = [[0u32; LANES]; 16];
        for chunk in (0..len).step_by(64) {
            // Transpose: word w of every lane's 64-byte chunk into one vector.
            for (l, input) in inputs.iter().enumerate() {
                let block = &input[chunk..chunk + 64];
                for (w, word) in words.iter_mut().enumerate() {
                    word[l] = u32::from_le_bytes([
                        block[4 * w],
                        block[4 * w + 1],
                        block[4 * w + 2],
                        block[4 * w + 3],
                    ]);
                }
            }
            // SAFETY: each `words[w]` is 16 u32s, the 64 bytes an unaligned load reads.
            let m: [__m512i; 16] =
                std::array::from_fn(|w| unsafe { _mm512_loadu_si512(words[w].as_ptr().cast()) });
            let [mut a, mut b, mut c, mut d] = v;
            for i in 0..64 {
                let round = i / 16;
                let g = match round {
                    0 => i,
                    1 => (5 * i + 1) % 16,
                    2 => (3 * i + 5) % 16,
                    _ => (7 * i) % 16,
                };
                let (k, s) = (K[i], S[round][i % 4]);
                // F = b ? c : d; G = d ? b : c; H = b ^ c ^ d; I = c ^ (b | !d)
                // SAFETY: this function runs with AVX-512F enabled, as `step` needs.
                let f_new = unsafe {
                    match round {
                        0 => step::<0xCA>(a, b, c, d, k, m[g], s),
                        1 => step::<0xE4>(a, b, c, d, k, m[g], s),
                        2 => step::<0x96>(a, b, c, d, k, m[g], s),
                        _ => step::<0x39>(a, b, c, d, k, m[g], s),
                    }
                };
                a = d;
                d = c;
                c = b;
                b = f_new;
            }
            v = [
                _mm512_add_epi32(v[0], a),
                _mm512_add_epi32(v[1], b),
                _mm512_add_epi32(v[2], c),
                _mm512_add_epi32(v[3], d),
            ];
        }
        for (r, reg) in v.iter().enumerate() {
            let mut col = [0u32; LANES];
            // SAFETY: `col` is 16 u32s, the 64 bytes an unaligned store writes.
            unsafe { _mm512_storeu_si512(col.as_mut_ptr().cast(), *reg) };
            for (l, state) in states.iter_mut().enumerate() {
                state[r] = col[l];
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use md5::{Digest, Md5 as Reference};
    use std::cell::Cell;

    thread_local! {
        /// Blocks this thread handed to the shared lane hasher.
        pub(super) static SHARED_CALLS: Cell<u64> = const { Cell::new(0) };
    }

    fn data(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9e3779b97f4a7c15) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn matches_the_reference_for_every_length_and_split() {
        for len in [
            0,
            1,
            55,
            56,
            63,
            64,
            65,
            127,
            128,
            1000,
            SHARED_MIN + 7,
            3 * SHARED_MIN,
        ] {
            let d = data(len, len as u64);
            let want: [u8; 16] = Reference::digest(&d).into();
            let mut one = Md5::new();
            one.update(&d);
            assert_eq!(one.finalize(), want, "len {len}");
            let mut parts = Md5::new();
            for piece in d.chunks(777) {
                parts.update(piece);
            }
            assert_eq!(parts.finalize(), want, "len {len} in pieces");
        }
    }

    /// The lane kernel, called directly for every lane count and several lengths, against
    /// the md-5 crate's digests of the same inputs (each with its own tail after the lanes).
    pub(crate) fn check_lane_kernel() {
        for lanes in 1..=LANES {
            for whole in [0, 64, 128, 64 * 17, 64 * 1000] {
                let inputs: Vec<Vec<u8>> = (0..lanes)
                    .map(|i| data(whole + (i * 7) % 64, (lanes * 1000 + whole + i) as u64))
                    .collect();
                let heads: Vec<&[u8]> = inputs.iter().map(|d| &d[..whole]).collect();
                let mut states = vec![INIT; lanes];
                compress_lanes(&mut states, &heads);
                for (i, (d, state)) in inputs.iter().zip(states).enumerate() {
                    let mut h = Md5 {
                        state,
                        tail: Vec::with_capacity(64),
                        len: whole as u64,
                        counted: false,
                    };
                    h.update(&d[whole..]);
                    let want: [u8; 16] = Reference::digest(d).into();
                    assert_eq!(h.finalize(), want, "{lanes} lanes, {whole} bytes, lane {i}");
                }
            }
        }
    }

    /// On a CPU without AVX-512F this passes, but says so on stderr (and hack/test.sh's
    /// coverage table lists the kernel as not tested).
    #[test]
    fn lane_kernel_avx512_matches_the_md5_crate() {
        crate::coverage::check_or_say_why("md5x avx512 lanes", LANE_FEATURES, check_lane_kernel);
    }

    /// Fails when the CPU has the lane kernel but a stream does not take it (as debug builds
    /// once did not): the tests would not be testing what ships.
    #[test]
    fn streams_take_the_lane_hasher_when_the_cpu_has_it() {
        let before = SHARED_CALLS.with(Cell::get);
        let d = data(2 * SHARED_MIN, 5);
        let mut h = Md5::new();
        h.update(&d);
        let want: [u8; 16] = Reference::digest(&d).into();
        assert_eq!(h.finalize(), want);
        let shared = SHARED_CALLS.with(Cell::get) > before;
        assert_eq!(
            shared,
            simd_available(),
            "shared lane hasher used: {shared}"
        );
    }

    #[test]
    fn the_shared_hasher_batches_streams_and_returns_each_its_own_state() {
        // Batches of more than two run the lane kernel: only on a CPU that has it.
        let name = "md5x shared hasher";
        crate::coverage::check_or_say_why(name, LANE_FEATURES, shared_hasher_batches);
    }

    fn shared_hasher_batches() {
        let inputs: Vec<Vec<u8>> = (0..20).map(|i| data(128 * 1024, 7 + i)).collect();
        std::thread::scope(|s| {
            for (i, d) in inputs.iter().enumerate() {
                s.spawn(move || {
                    let start = [INIT[0], INIT[1] ^ i as u32, INIT[2], INIT[3]];
                    let mut want = start;
                    compress_chunks(&mut want, d);
                    let mut got = start;
                    shared().hash(&mut got, d);
                    assert_eq!(got, want, "stream {i}");
                });
            }
        });
    }

    /// Uploads that hash their blocks while writing them (`update_during`, as the engine does
    /// once several are in flight) share lane batches instead of each running its block alone
    /// (the scalar MD5 a profile of 8 concurrent PUTs showed), and get their own digests.
    #[test]
    fn deferred_blocks_of_concurrent_uploads_share_lane_batches() {
        let name = "md5x deferred batching";
        crate::coverage::check_or_say_why(name, LANE_FEATURES, deferred_blocks_batch);
    }

    fn deferred_blocks_batch() {
        let inputs: Vec<Vec<u8>> = (0..8).map(|i| data(4 << 20, 300 + i)).collect();
        let started = std::sync::Barrier::new(inputs.len());
        let (lanes0, alone0) = shared_blocks();
        std::thread::scope(|s| {
            for d in &inputs {
                let started = &started;
                s.spawn(move || {
                    let mut h = Md5::new();
                    started.wait();
                    for block in d.chunks(1 << 20) {
                        assert!(h.defers(block.len()));
                        // The shards' writes, while the block waits for company.
                        let work = || std::thread::sleep(std::time::Duration::from_millis(5));
                        h.update_during(block, work);
                    }
                    let want: [u8; 16] = Reference::digest(d).into();
                    assert_eq!(h.finalize(), want);
                });
            }
        });
        let (lanes, alone) = shared_blocks();
        let (lanes, alone) = (lanes - lanes0, alone - alone0);
        assert!(
            lanes >= 3 * alone,
            "{lanes} blocks hashed in lanes, {alone} alone"
        );
    }

    #[test]
    fn digest_many_matches_one_by_one() {
        let inputs: Vec<Vec<u8>> = (0..21).map(|i| data(5000 + 64 * i, i as u64)).collect();
        let slices: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
        let want: Vec<[u8; 16]> = slices.iter().map(|d| Reference::digest(d).into()).collect();
        assert_eq!(digest_many(&slices), want);
    }

    #[test]
    fn concurrent_streams_get_their_own_digests() {
        let inputs: Vec<Vec<u8>> = (0..24).map(|i| data(1 << 20, 100 + i)).collect();
        std::thread::scope(|s| {
            for d in &inputs {
                s.spawn(move || {
                    let mut h = Md5::new();
                    for block in d.chunks(256 * 1024) {
                        h.update(block);
                    }
                    let want: [u8; 16] = Reference::digest(d).into();
                    assert_eq!(h.finalize(), want);
                });
            }
        });
    }
}
