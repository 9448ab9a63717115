//! Kernels computing `out[r] = sum_c coef[r][c] * in[c]` over GF(2^8) for byte slices.
//!
//! Encoding and reconstruction both reduce to this one "matrix times shards" operation.
//! A [`Prepared`] matrix holds the coefficients in the layout every kernel wants; [`apply`]
//! walks the shards and hands each kernel runs of whole 64-byte blocks, finishing the tail
//! (< 64 bytes) with the portable kernel.
//!
//! Speed comes from two things shared by the SIMD kernels:
//! - output rows are processed in groups of up to [`MAX_GROUP`], so each input vector is
//!   loaded once and multiplied into all outputs of the group held in registers;
//! - when there is more than one group (m > 4), the shards are walked in [`CHUNK`]-byte
//!   pieces so the inputs are still in L1/L2 when the next group reads them again.

use super::gf::{self, Matrix};

mod portable;

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod gfni;

/// Most output rows one kernel pass keeps in registers (4 outputs x 2 vectors = 8
/// accumulators, leaving room for the inputs and tables in 16 ymm registers).
pub const MAX_GROUP: usize = 4;

/// Bytes per shard processed for all groups before moving on, when there are several
/// groups: 16 inputs x 32 KiB = 512 KiB stays in a 1 MiB L2.
const CHUNK: usize = 32 * 1024;

/// Bytes every SIMD kernel consumes per loop iteration; lengths are cut to a multiple.
const BLOCK: usize = 64;

/// An implementation of the GF(2^8) multiply-accumulate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// Table lookup per byte; correct on any CPU.
    Portable,
    /// Split-nibble PSHUFB (ISA-L / klauspost technique), 256-bit.
    Avx2,
    /// GF2P8AFFINEQB, one instruction per multiply, 256-bit vectors.
    GfniAvx2,
    /// GF2P8AFFINEQB on 512-bit vectors.
    GfniAvx512,
}

impl Kernel {
    /// Every kernel, fastest-preferred first.
    pub const ALL: [Kernel; 4] = [
        Kernel::GfniAvx512,
        Kernel::GfniAvx2,
        Kernel::Avx2,
        Kernel::Portable,
    ];

    /// The stable name reported by `Codec::kernel`.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Portable => "portable",
            Kernel::Avx2 => "avx2",
            Kernel::GfniAvx2 => "gfni-avx2",
            Kernel::GfniAvx512 => "gfni-avx512",
        }
    }

    /// The x86_64 CPU features the kernel needs, as `is_x86_feature_detected!` names them.
    pub fn required_features(self) -> &'static [&'static str] {
        match self {
            Kernel::Portable => &[],
            Kernel::Avx2 => &["avx2"],
            Kernel::GfniAvx2 => &["avx2", "gfni"],
            Kernel::GfniAvx512 => &["avx512f", "avx512bw", "gfni"],
        }
    }

    /// The required features this CPU lacks (all of them on another architecture).
    pub fn missing_features(self) -> Vec<&'static str> {
        self.required_features()
            .iter()
            .copied()
            .filter(|f| !cpu_has(f))
            .collect()
    }

    /// Whether this CPU can run the kernel (checked at run time).
    pub fn is_available(self) -> bool {
        self.missing_features().is_empty()
    }

    /// The kernels this CPU can run, fastest-preferred first.
    pub fn available() -> Vec<Kernel> {
        Kernel::ALL
            .into_iter()
            .filter(|k| k.is_available())
            .collect()
    }

    /// The best kernel for this CPU.
    pub fn detect() -> Kernel {
        Kernel::ALL
            .into_iter()
            .find(|k| k.is_available())
            .unwrap_or(Kernel::Portable)
    }
}

/// Whether this CPU has one of the features named in [`Kernel::required_features`].
pub(crate) fn cpu_has(feature: &str) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        match feature {
            "avx2" => has!("avx2"),
            "gfni" => has!("gfni"),
            "avx512f" => has!("avx512f"),
            "avx512bw" => has!("avx512bw"),
            other => {
                debug_assert!(false, "unknown CPU feature {other:?}");
                false
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = feature;
        false
    }
}

/// Coefficients of up to [`MAX_GROUP`] consecutive output rows, stored input-major
/// (`[c * n + r]`) so a kernel reads the `n` entries for input `c` contiguously.
pub(crate) struct Group {
    first_row: usize,
    n: usize,
    /// Raw coefficients, for the portable kernel.
    raw: Vec<u8>,
    /// Per coefficient: 16-entry product table for the low nibble, then for the high one.
    nibble: Vec<[u8; 32]>,
    /// Per coefficient: the 8x8 bit matrix of "multiply by c" in GF2P8AFFINEQB layout.
    affine: Vec<u64>,
}

/// A coefficient matrix (rows = outputs, cols = inputs) ready for any kernel.
pub(crate) struct Prepared {
    rows: usize,
    cols: usize,
    groups: Vec<Group>,
}

impl Prepared {
    pub(crate) fn new(m: &Matrix) -> Prepared {
        let groups = (0..m.rows())
            .step_by(MAX_GROUP)
            .map(|first| Group::new(m, first, MAX_GROUP.min(m.rows() - first)))
            .collect();
        Prepared {
            rows: m.rows(),
            cols: m.cols(),
            groups,
        }
    }

    pub(crate) fn rows(&self) -> usize {
        self.rows
    }
}

impl Group {
    fn new(m: &Matrix, first_row: usize, n: usize) -> Group {
        let mut raw = Vec::with_capacity(m.cols() * n);
        for c in 0..m.cols() {
            for r in first_row..first_row + n {
                raw.push(m.get(r, c));
            }
        }
        let nibble = raw.iter().map(|&c| nibble_tables(c)).collect();
        let affine = raw.iter().map(|&c| affine_matrix(c)).collect();
        Group {
            first_row,
            n,
            raw,
            nibble,
            affine,
        }
    }
}

/// PSHUFB tables for multiplication by `c`: `c * x` for x in 0..16, then `c * (x << 4)`.
/// Since multiplication distributes over xor, `c * b = lo[b & 15] ^ hi[b >> 4]`.
fn nibble_tables(c: u8) -> [u8; 32] {
    let mut t = [0u8; 32];
    for x in 0..16u8 {
        t[x as usize] = gf::mul(c, x);
        t[16 + x as usize] = gf::mul(c, x << 4);
    }
    t
}

/// The bit matrix A with GF2P8AFFINEQB(x, A, 0) = c * x.
///
/// Multiplication by a constant is linear over GF(2): bit i of `c * x` is the parity of
/// `x AND row_i`, where bit j of row_i is bit i of `c * 2^j`. The instruction computes
/// output bit i from byte (7 - i) of the 64-bit matrix, so row_i goes to byte 7 - i.
fn affine_matrix(c: u8) -> u64 {
    let mut a = 0u64;
    for i in 0..8 {
        let mut row = 0u8;
        for j in 0..8 {
            if gf::mul(c, 1 << j) & (1 << i) != 0 {
                row |= 1 << j;
            }
        }
        a |= u64::from(row) << (8 * (7 - i));
    }
    a
}

/// `outputs[r] = sum_c p[r][c] * inputs[c]` with the given kernel.
///
/// The caller guarantees: `inputs.len() == p.cols()`, `outputs.len() == p.rows()`, all
/// slices have the same length, and `kernel.is_available()`. Inputs and outputs cannot
/// overlap (one is shared, the other exclusive).
pub(crate) fn apply(kernel: Kernel, p: &Prepared, inputs: &[&[u8]], outputs: &mut [&mut [u8]]) {
    debug_assert_eq!(inputs.len(), p.cols);
    debug_assert_eq!(outputs.len(), p.rows);
    let len = inputs.first().map_or(0, |s| s.len());
    debug_assert!(inputs.iter().all(|s| s.len() == len));
    debug_assert!(outputs.iter().all(|s| s.len() == len));
    debug_assert!(kernel.is_available());

    let in_ptrs: Vec<*const u8> = inputs.iter().map(|s| s.as_ptr()).collect();
    let out_ptrs: Vec<*mut u8> = outputs.iter_mut().map(|s| s.as_mut_ptr()).collect();
    let simd_len = if kernel == Kernel::Portable {
        0
    } else {
        len - len % BLOCK
    };
    // SAFETY: every pointer is valid for `len` bytes (slices of that length borrowed for
    // the duration of this call), inputs are only read and outputs only written, the
    // ranges passed are within 0..len, and SIMD ranges are multiples of BLOCK.
    unsafe {
        run(kernel, p, &in_ptrs, &out_ptrs, 0, simd_len);
        run(Kernel::Portable, p, &in_ptrs, &out_ptrs, simd_len, len);
    }
}

/// Runs `kernel` over bytes `start..end` of every shard, chunked when there are several
/// groups so the inputs stay in cache between groups.
///
/// # Safety
/// As for [`apply`]: pointers valid for `end` bytes, kernel available, and for SIMD
/// kernels `end - start` a multiple of BLOCK.
unsafe fn run(
    kernel: Kernel,
    p: &Prepared,
    inputs: &[*const u8],
    outputs: &[*mut u8],
    start: usize,
    end: usize,
) {
    let chunk = if p.groups.len() > 1 {
        CHUNK
    } else {
        usize::MAX
    };
    let mut lo = start;
    while lo < end {
        let hi = lo + chunk.min(end - lo);
        for g in &p.groups {
            let outs = &outputs[g.first_row..g.first_row + g.n];
            // SAFETY: forwarded from the caller; `outs` has g.n pointers.
            unsafe { dispatch(kernel, g, inputs, outs, lo, hi) };
        }
        lo = hi;
    }
}

/// Calls the kernel specialised for the group size.
///
/// # Safety
/// As for [`run`], with `outputs.len() == g.n`.
unsafe fn dispatch(
    kernel: Kernel,
    g: &Group,
    inputs: &[*const u8],
    outputs: &[*mut u8],
    start: usize,
    end: usize,
) {
    // SAFETY: (all arms) forwarded from the caller, which checked the CPU features.
    unsafe {
        match kernel {
            Kernel::Portable => portable::dot(&g.raw, inputs, outputs, start, end),
            #[cfg(target_arch = "x86_64")]
            // U (vectors per input per iteration) keeps N * U <= 8 accumulators, as
            // AVX2-only CPUs have 16 ymm registers.
            Kernel::Avx2 => match g.n {
                1 => avx2::dot::<1, 4>(&g.nibble, inputs, outputs, start, end),
                2 => avx2::dot::<2, 4>(&g.nibble, inputs, outputs, start, end),
                3 => avx2::dot::<3, 2>(&g.nibble, inputs, outputs, start, end),
                _ => avx2::dot::<4, 2>(&g.nibble, inputs, outputs, start, end),
            },
            #[cfg(target_arch = "x86_64")]
            Kernel::GfniAvx2 => match g.n {
                1 => gfni::dot256::<1, 4>(&g.affine, inputs, outputs, start, end),
                2 => gfni::dot256::<2, 4>(&g.affine, inputs, outputs, start, end),
                3 => gfni::dot256::<3, 2>(&g.affine, inputs, outputs, start, end),
                _ => gfni::dot256::<4, 2>(&g.affine, inputs, outputs, start, end),
            },
            #[cfg(target_arch = "x86_64")]
            Kernel::GfniAvx512 => match g.n {
                1 => gfni::dot512::<1>(&g.affine, inputs, outputs, start, end),
                2 => gfni::dot512::<2>(&g.affine, inputs, outputs, start, end),
                3 => gfni::dot512::<3>(&g.affine, inputs, outputs, start, end),
                _ => gfni::dot512::<4>(&g.affine, inputs, outputs, start, end),
            },
            #[cfg(not(target_arch = "x86_64"))]
            _ => portable::dot(&g.raw, inputs, outputs, start, end),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nibble_tables_multiply() {
        for c in [0u8, 1, 2, 0x53, 0xff] {
            let t = nibble_tables(c);
            for x in 0..=255u8 {
                let v = t[(x & 15) as usize] ^ t[16 + (x >> 4) as usize];
                assert_eq!(v, gf::mul(c, x));
            }
        }
    }

    /// Software model of GF2P8AFFINEQB with imm8 = 0 for one byte.
    fn affine_model(a: u64, x: u8) -> u8 {
        let mut out = 0u8;
        for i in 0..8 {
            let row = (a >> (8 * (7 - i))) as u8;
            if (row & x).count_ones() % 2 == 1 {
                out |= 1 << i;
            }
        }
        out
    }

    #[test]
    fn affine_matrices_multiply() {
        for c in 0..=255u8 {
            let a = affine_matrix(c);
            for x in 0..=255u8 {
                assert_eq!(affine_model(a, x), gf::mul(c, x), "c={c} x={x}");
            }
        }
    }
}
