//! Scalar kernel: one 256-entry table lookup per byte and coefficient. Runs on any CPU,
//! is the reference the SIMD kernels are tested against, and finishes their tails.

use super::super::gf::MUL;
use std::slice;

/// `outputs[r][start..end] = sum_c coefs[c * n + r] * inputs[c][start..end]`, n = outputs.len().
///
/// # Safety
/// Every pointer is valid for `end` bytes, inputs are not written during the call and no
/// output overlaps an input or another output.
pub(super) unsafe fn dot(
    coefs: &[u8],
    inputs: &[*const u8],
    outputs: &[*mut u8],
    start: usize,
    end: usize,
) {
    let n = outputs.len();
    let len = end - start;
    if len == 0 {
        return;
    }
    for (r, &o) in outputs.iter().enumerate() {
        // SAFETY: valid, exclusive output range per the contract above.
        let out = unsafe { slice::from_raw_parts_mut(o.add(start), len) };
        for (c, &i) in inputs.iter().enumerate() {
            // SAFETY: valid input range that no output overlaps.
            let inp = unsafe { slice::from_raw_parts(i.add(start), len) };
            // Indexing a [u8; 256] with a u8 needs no bounds check.
            let table = &MUL[coefs[c * n + r] as usize];
            if c == 0 {
                for (o, &x) in out.iter_mut().zip(inp) {
                    *o = table[x as usize];
                }
            } else {
                for (o, &x) in out.iter_mut().zip(inp) {
                    *o ^= table[x as usize];
                }
            }
        }
        if inputs.is_empty() {
            out.fill(0);
        }
    }
}
