//! AVX2 split-nibble kernel (the technique of ISA-L's gf_vect_dot_prod and
//! klauspost/reedsolomon): `c * b = lo_c[b & 15] ^ hi_c[b >> 4]`, where each 16-entry
//! table is looked up for 32 bytes at once with VPSHUFB.
//!
//! Each iteration takes 64 bytes (two vectors) of every input, splits their nibbles once,
//! and multiplies them into the N outputs' accumulators kept in registers; the N outputs
//! are stored once per iteration.

use std::arch::x86_64::*;

/// `outputs[r][start..end] = sum_c tables[c * N + r] (x) inputs[c][start..end]`.
/// Takes U vectors (32 U bytes) of each input per iteration (N U accumulators), then
/// finishes with 64-byte steps.
///
/// # Safety
/// The CPU supports AVX2; `outputs.len() == N`; every pointer is valid for `end` bytes;
/// `end - start` is a multiple of 64; outputs overlap neither inputs nor each other.
#[target_feature(enable = "avx2")]
pub(super) unsafe fn dot<const N: usize, const U: usize>(
    tables: &[[u8; 32]],
    inputs: &[*const u8],
    outputs: &[*mut u8],
    start: usize,
    end: usize,
) {
    debug_assert_eq!(outputs.len(), N);
    debug_assert_eq!(tables.len(), inputs.len() * N);
    debug_assert_eq!((end - start) % 64, 0);
    let outs: [*mut u8; N] = std::array::from_fn(|r| outputs[r]);
    let mut off = start;
    while off + 32 * U <= end {
        // SAFETY: off + 32 U <= end; forwarded contract.
        unsafe { step::<N, U>(tables, inputs, &outs, off) };
        off += 32 * U;
    }
    while off < end {
        // SAFETY: the range is a multiple of 64, so off + 64 <= end.
        unsafe { step::<N, 2>(tables, inputs, &outs, off) };
        off += 64;
    }
}

/// One iteration of [`dot`]: U vectors at `off` of every input into N outputs.
///
/// # Safety
/// As for [`dot`], with `off + 32 * U <= end`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn step<const N: usize, const U: usize>(
    tables: &[[u8; 32]],
    inputs: &[*const u8],
    outs: &[*mut u8; N],
    off: usize,
) {
    let mask = _mm256_set1_epi8(0x0f);
    let mut acc = [[_mm256_setzero_si256(); N]; U];
    for (&inp, t) in inputs.iter().zip(tables.chunks_exact(N)) {
        // SAFETY: off + 32 U <= end and the input is valid for `end` bytes.
        let x: [__m256i; U] =
            std::array::from_fn(|u| unsafe { _mm256_loadu_si256(inp.add(off + 32 * u).cast()) });
        // VPSHUFB only uses the low 4 bits (and bit 7 as "zero"), so mask both halves.
        let lo: [__m256i; U] = std::array::from_fn(|u| _mm256_and_si256(x[u], mask));
        let hi: [__m256i; U] =
            std::array::from_fn(|u| _mm256_and_si256(_mm256_srli_epi64(x[u], 4), mask));
        for r in 0..N {
            let (tl, th) = broadcast_tables(&t[r]);
            for u in 0..U {
                let p = _mm256_xor_si256(
                    _mm256_shuffle_epi8(tl, lo[u]),
                    _mm256_shuffle_epi8(th, hi[u]),
                );
                acc[u][r] = _mm256_xor_si256(acc[u][r], p);
            }
        }
    }
    for (u, row) in acc.iter().enumerate() {
        for (&out, &v) in outs.iter().zip(row) {
            // SAFETY: off + 32 U <= end; the output is valid and exclusive for `end` bytes.
            unsafe { _mm256_storeu_si256(out.add(off + 32 * u).cast(), v) };
        }
    }
}

/// Loads the low- and high-nibble tables, each duplicated into both 128-bit lanes
/// (VPSHUFB looks up within each lane).
#[inline]
#[target_feature(enable = "avx2")]
fn broadcast_tables(t: &[u8; 32]) -> (__m256i, __m256i) {
    // SAFETY: `t` is 32 readable bytes; unaligned 16-byte loads are allowed.
    unsafe {
        let lo = _mm_loadu_si128(t.as_ptr().cast());
        let hi = _mm_loadu_si128(t.as_ptr().add(16).cast());
        (
            _mm256_broadcastsi128_si256(lo),
            _mm256_broadcastsi128_si256(hi),
        )
    }
}
