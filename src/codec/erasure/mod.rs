//! Strata's Reed-Solomon erasure codec over GF(2^8), with SIMD kernels chosen at run time.
//!
//! A [`Codec`] splits nothing itself: the caller hands it `k` equally long data shards and
//! gets `m` parity shards back ([`Codec::encode`]); from any `k` of the `k + m` shards it
//! rebuilds the others ([`Codec::reconstruct`]).
//!
//! # The encoding matrix (stored data depends on it forever)
//!
//! The code is systematic: shard `i < k` is data shard `i` unchanged, and parity shard `j`
//! is `sum_i P[j][i] * data[i]` with the m x k Cauchy matrix
//!
//! ```text
//! P[j][i] = 1 / ((k + j) xor i)      in GF(2^8) with polynomial 0x11D (x^8+x^4+x^3+x^2+1)
//! ```
//!
//! Every square submatrix of a Cauchy matrix is invertible, so every k x k submatrix of
//! [I; P] is too: any k shards decode. The same matrix is ISA-L's `gf_gen_cauchy1_matrix`
//! and klauspost/reedsolomon's `WithCauchyMatrix()`, so either library can read Strata's
//! shards. The storage format records [`MATRIX_ID`] next to `k` and `m`; a different matrix
//! must get a new id and the old one must stay readable.

mod gf;
mod kernels;

#[cfg(test)]
pub(crate) use kernels::cpu_has;
pub use kernels::Kernel;

use gf::Matrix;
use kernels::Prepared;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Algorithm id of the encoding matrix described in the module docs (Cauchy, P[j][i] =
/// 1/((k+j) xor i), GF(2^8)/0x11D). Recorded by the storage format; never reuse a value.
pub const MATRIX_ID: u8 = 1;

/// Largest k + m: the Cauchy construction needs k + m distinct field elements.
pub const MAX_SHARDS: usize = 256;

/// Reconstruction plans kept per codec; a set with failed drives reuses a handful of
/// patterns, so when the map grows past this it is simply cleared.
const PLAN_CACHE_LIMIT: usize = 1024;

/// Errors from the codec. Shard-shape errors are caller bugs or corrupt metadata; the only
/// data-dependent one is [`CodecError::TooFewShards`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("invalid erasure geometry {data}+{parity}: need 1 <= data and data + parity <= {MAX_SHARDS}")]
    InvalidGeometry { data: usize, parity: usize },
    #[error("expected {expected} {what}, got {got}")]
    WrongCount {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("shard {index} is {got} bytes long, expected {expected} like shard 0")]
    LengthMismatch {
        index: usize,
        expected: usize,
        got: usize,
    },
    #[error("only {present} shards present, need at least {needed} to reconstruct")]
    TooFewShards { present: usize, needed: usize },
    #[error("erasure kernel {0} is not supported by this CPU")]
    KernelUnavailable(&'static str),
    #[error("decoding matrix is singular (encoding matrix corrupt?)")]
    Singular,
}

/// A Reed-Solomon codec for one geometry (k data + m parity shards).
///
/// Cheap to clone (shares its tables and plan cache through an `Arc`), `Send + Sync`.
#[derive(Clone)]
pub struct Codec {
    inner: Arc<Inner>,
}

struct Inner {
    k: usize,
    m: usize,
    kernel: Kernel,
    /// The m x k parity part of the encoding matrix.
    parity: Matrix,
    /// `parity` prepared for the kernels.
    encoder: Prepared,
    /// Reconstruction plans per (present set, parity_too).
    plans: RwLock<HashMap<PatternKey, Arc<Plan>>>,
}

/// Which shards are present (bit i = shard i) and whether parity is rebuilt too.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct PatternKey {
    present: [u64; 4],
    parity_too: bool,
}

/// What each shard does in one reconstruction.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Input,
    Output,
    Unused,
}

/// A reconstruction for one erasure pattern: the roles of the shards and the matrix that
/// maps the inputs (in shard order) to the outputs (in shard order).
struct Plan {
    roles: Vec<Role>,
    matrix: Prepared,
}

impl Codec {
    /// A codec using the fastest kernel this CPU supports.
    pub fn new(data: usize, parity: usize) -> Result<Codec, CodecError> {
        Codec::with_kernel(data, parity, Kernel::detect())
    }

    /// A codec using the given kernel (tests and benchmarks); errors if the CPU lacks it.
    pub fn with_kernel(data: usize, parity: usize, kernel: Kernel) -> Result<Codec, CodecError> {
        if data == 0 || data + parity > MAX_SHARDS {
            return Err(CodecError::InvalidGeometry { data, parity });
        }
        if !kernel.is_available() {
            return Err(CodecError::KernelUnavailable(kernel.name()));
        }
        let p = Matrix::cauchy_parity(data, parity);
        Ok(Codec {
            inner: Arc::new(Inner {
                k: data,
                m: parity,
                kernel,
                encoder: Prepared::new(&p),
                parity: p,
                plans: RwLock::new(HashMap::new()),
            }),
        })
    }

    pub fn data_shards(&self) -> usize {
        self.inner.k
    }

    pub fn parity_shards(&self) -> usize {
        self.inner.m
    }

    /// Name of the kernel in use: "gfni-avx512", "gfni-avx2", "avx2" or "portable".
    pub fn kernel(&self) -> &'static str {
        self.inner.kernel.name()
    }

    /// Computes the m parity shards from the k data shards. All slices must have the same
    /// length, which may be anything (including 0).
    pub fn encode(&self, data: &[&[u8]], parity: &mut [&mut [u8]]) -> Result<(), CodecError> {
        let inner = &*self.inner;
        check_count("data shards", inner.k, data.len())?;
        check_count("parity shards", inner.m, parity.len())?;
        let len = data[0].len();
        check_lengths(len, 0, data.iter().map(|s| s.len()))?;
        check_lengths(len, inner.k, parity.iter().map(|s| s.len()))?;
        if inner.m > 0 {
            kernels::apply(inner.kernel, &inner.encoder, data, parity);
        }
        Ok(())
    }

    /// Rebuilds missing shards in place.
    ///
    /// `shards` holds all k + m buffers, each allocated with the shard length; `present[i]`
    /// says whether shard i holds valid data. Missing data shards are always filled;
    /// missing parity shards only when `parity_too`. Fails with
    /// [`CodecError::TooFewShards`] when fewer than k shards are present.
    pub fn reconstruct(
        &self,
        shards: &mut [&mut [u8]],
        present: &[bool],
        parity_too: bool,
    ) -> Result<(), CodecError> {
        let inner = &*self.inner;
        let n = inner.k + inner.m;
        check_count("shards", n, shards.len())?;
        check_count("present flags", n, present.len())?;
        check_lengths(shards[0].len(), 0, shards.iter().map(|s| s.len()))?;
        let have = present.iter().filter(|&&p| p).count();
        if have < inner.k {
            return Err(CodecError::TooFewShards {
                present: have,
                needed: inner.k,
            });
        }
        let wanted = |i: usize| !present[i] && (i < inner.k || parity_too);
        if !(0..n).any(wanted) {
            return Ok(());
        }
        let plan = self.plan(present, parity_too)?;
        let mut inputs: Vec<&[u8]> = Vec::with_capacity(inner.k);
        let mut outputs: Vec<&mut [u8]> = Vec::with_capacity(plan.matrix.rows());
        for (shard, role) in shards.iter_mut().zip(&plan.roles) {
            match role {
                Role::Input => inputs.push(&**shard),
                Role::Output => outputs.push(&mut **shard),
                Role::Unused => {}
            }
        }
        kernels::apply(inner.kernel, &plan.matrix, &inputs, &mut outputs);
        Ok(())
    }

    /// The cached plan for this erasure pattern, built on first use.
    fn plan(&self, present: &[bool], parity_too: bool) -> Result<Arc<Plan>, CodecError> {
        let key = pattern_key(present, parity_too);
        let plans = &self.inner.plans;
        // A poisoned lock only means another thread panicked mid-insert of an Arc: the
        // map itself is still consistent, so keep using it.
        if let Some(plan) = plans.read().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(Arc::clone(plan));
        }
        let plan = Arc::new(self.build_plan(present, parity_too)?);
        let mut map = plans.write().unwrap_or_else(|e| e.into_inner());
        if map.len() >= PLAN_CACHE_LIMIT {
            map.clear();
        }
        map.insert(key, Arc::clone(&plan));
        Ok(plan)
    }

    /// Decoding matrix for a pattern: invert the rows of [I; P] of the first k present
    /// shards (D), then missing data shard i is row i of D and missing parity j is P[j] D,
    /// so every output is computed from the same k inputs in one pass.
    fn build_plan(&self, present: &[bool], parity_too: bool) -> Result<Plan, CodecError> {
        let inner = &*self.inner;
        let (k, n) = (inner.k, inner.k + inner.m);
        let inputs: Vec<usize> = (0..n).filter(|&i| present[i]).take(k).collect();
        let outputs: Vec<usize> = (0..n)
            .filter(|&i| !present[i] && (i < k || parity_too))
            .collect();

        let mut sub = Matrix::zero(k, k);
        for (r, &s) in inputs.iter().enumerate() {
            for c in 0..k {
                sub.set(r, c, self.encoding_entry(s, c));
            }
        }
        let decode = sub.invert().ok_or(CodecError::Singular)?;

        let mut rows = Matrix::zero(outputs.len(), k);
        for (r, &o) in outputs.iter().enumerate() {
            for c in 0..k {
                // Row o of [I; P] times D: D's row o for data, P[o - k] D for parity.
                let v = if o < k {
                    decode.get(o, c)
                } else {
                    let p = inner.parity.row(o - k);
                    (0..k).fold(0, |acc, i| acc ^ gf::mul(p[i], decode.get(i, c)))
                };
                rows.set(r, c, v);
            }
        }

        let mut roles = vec![Role::Unused; n];
        for &i in &inputs {
            roles[i] = Role::Input;
        }
        for &o in &outputs {
            roles[o] = Role::Output;
        }
        Ok(Plan {
            roles,
            matrix: Prepared::new(&rows),
        })
    }

    /// Entry (row, col) of the full (k + m) x k encoding matrix [I; P].
    fn encoding_entry(&self, row: usize, col: usize) -> u8 {
        if row < self.inner.k {
            u8::from(row == col)
        } else {
            self.inner.parity.get(row - self.inner.k, col)
        }
    }
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codec")
            .field("data", &self.inner.k)
            .field("parity", &self.inner.m)
            .field("kernel", &self.inner.kernel.name())
            .finish()
    }
}

fn pattern_key(present: &[bool], parity_too: bool) -> PatternKey {
    let mut bits = [0u64; 4];
    for (i, _) in present.iter().enumerate().filter(|(_, &p)| p) {
        bits[i / 64] |= 1 << (i % 64);
    }
    PatternKey {
        present: bits,
        parity_too,
    }
}

fn check_count(what: &'static str, expected: usize, got: usize) -> Result<(), CodecError> {
    if expected == got {
        Ok(())
    } else {
        Err(CodecError::WrongCount {
            what,
            expected,
            got,
        })
    }
}

/// Checks every length equals `expected`; `first` is the shard index of the first length.
fn check_lengths(
    expected: usize,
    first: usize,
    lens: impl Iterator<Item = usize>,
) -> Result<(), CodecError> {
    for (i, got) in lens.enumerate() {
        let index = first + i;
        if got != expected {
            return Err(CodecError::LengthMismatch {
                index,
                expected,
                got,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
