//! GFNI kernels: VGF2P8AFFINEQB multiplies every byte of a vector by a constant in one
//! instruction, given the 8x8 bit matrix of "multiply by c" (see `affine_matrix`).
//! This needs no nibble split and no table registers, so it is cheaper per byte than the
//! PSHUFB kernel and independent of the field polynomial.
//!
//! Same loop shape as the AVX2 kernel: 64 bytes of each input per iteration (two 256-bit
//! vectors or one 512-bit vector), multiplied into N outputs' accumulators in registers.

use std::arch::x86_64::*;

/// 256-bit variant: `outputs[r][start..end] = sum_c mats[c * N + r] (x) inputs[c][start..end]`.
/// Takes U vectors (32 U bytes) of each input per iteration (N U accumulators), then
/// finishes with 64-byte steps.
///
/// # Safety
/// The CPU supports AVX2 and GFNI; `outputs.len() == N`; every pointer is valid for `end`
/// bytes; `end - start` is a multiple of 64; outputs overlap neither inputs nor each other.
#[target_feature(enable = "avx2,gfni")]
pub(super) unsafe fn dot256<const N: usize, const U: usize>(
    mats: &[u64],
    inputs: &[*const u8],
    outputs: &[*mut u8],
    start: usize,
    end: usize,
) {
    debug_assert_eq!(outputs.len(), N);
    debug_assert_eq!(mats.len(), inputs.len() * N);
    debug_assert_eq!((end - start) % 64, 0);
    let outs: [*mut u8; N] = std::array::from_fn(|r| outputs[r]);
    let mut off = start;
    while off + 32 * U <= end {
        // SAFETY: off + 32 U <= end; forwarded contract.
        unsafe { step256::<N, U>(mats, inputs, &outs, off) };
        off += 32 * U;
    }
    while off < end {
        // SAFETY: the range is a multiple of 64, so off + 64 <= end.
        unsafe { step256::<N, 2>(mats, inputs, &outs, off) };
        off += 64;
    }
}

/// One iteration of [`dot256`]: U vectors at `off` of every input into N outputs.
///
/// # Safety
/// As for [`dot256`], with `off + 32 * U <= end`.
#[inline]
#[target_feature(enable = "avx2,gfni")]
unsafe fn step256<const N: usize, const U: usize>(
    mats: &[u64],
    inputs: &[*const u8],
    outs: &[*mut u8; N],
    off: usize,
) {
    let mut acc = [[_mm256_setzero_si256(); N]; U];
    for (&inp, m) in inputs.iter().zip(mats.chunks_exact(N)) {
        // SAFETY: off + 32 U <= end and the input is valid for `end` bytes.
        let x: [__m256i; U] =
            std::array::from_fn(|u| unsafe { _mm256_loadu_si256(inp.add(off + 32 * u).cast()) });
        for r in 0..N {
            let a = _mm256_set1_epi64x(m[r] as i64);
            for u in 0..U {
                let p = _mm256_gf2p8affine_epi64_epi8::<0>(x[u], a);
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

/// 512-bit variant of [`dot256`]. Takes 128 bytes of each input per iteration (two
/// vectors, 2N accumulators of the 32 zmm registers) so more loads are in flight, then a
/// last 64-byte step if needed.
///
/// # Safety
/// As for [`dot256`], with AVX-512F, AVX-512BW and GFNI instead of AVX2.
#[target_feature(enable = "avx512f,avx512bw,gfni")]
pub(super) unsafe fn dot512<const N: usize>(
    mats: &[u64],
    inputs: &[*const u8],
    outputs: &[*mut u8],
    start: usize,
    end: usize,
) {
    debug_assert_eq!(outputs.len(), N);
    debug_assert_eq!(mats.len(), inputs.len() * N);
    debug_assert_eq!((end - start) % 64, 0);
    let outs: [*mut u8; N] = std::array::from_fn(|r| outputs[r]);
    let mut off = start;
    while off + 128 <= end {
        // SAFETY: off + 128 <= end; forwarded contract.
        unsafe { step512::<N, 2>(mats, inputs, &outs, off) };
        off += 128;
    }
    if off < end {
        // SAFETY: end - off == 64 since the range is a multiple of 64.
        unsafe { step512::<N, 1>(mats, inputs, &outs, off) };
    }
}

/// One iteration of [`dot512`]: U vectors (64 U bytes) at `off` of every input.
///
/// # Safety
/// As for [`dot512`], with `off + 64 * U <= end`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,gfni")]
unsafe fn step512<const N: usize, const U: usize>(
    mats: &[u64],
    inputs: &[*const u8],
    outs: &[*mut u8; N],
    off: usize,
) {
    let mut acc = [[_mm512_setzero_si512(); N]; U];
    for (&inp, m) in inputs.iter().zip(mats.chunks_exact(N)) {
        // SAFETY: off + 64 * U <= end and the input is valid for `end` bytes.
        let x: [__m512i; U] =
            std::array::from_fn(|u| unsafe { _mm512_loadu_si512(inp.add(off + 64 * u).cast()) });
        for r in 0..N {
            let a = _mm512_set1_epi64(m[r] as i64);
            for u in 0..U {
                let p = _mm512_gf2p8affine_epi64_epi8::<0>(x[u], a);
                acc[u][r] = _mm512_xor_si512(acc[u][r], p);
            }
        }
    }
    for (u, row) in acc.iter().enumerate() {
        for (&out, &v) in outs.iter().zip(row) {
            // SAFETY: off + 64 U <= end; the output is valid and exclusive for `end` bytes.
            unsafe { _mm512_storeu_si512(out.add(off + 64 * u).cast(), v) };
        }
    }
}
