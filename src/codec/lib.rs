//! Strata's codec: the kernels of the data path, a crate of their own so that they are
//! optimised even in dev builds (the workspace's `[profile.dev.package.strata-codec]`) and the
//! paths the release binary takes are the paths the tests take.
//!
//! - [`erasure`]: Reed-Solomon over GF(2^8), SIMD kernels chosen at run time;
//! - [`bitrot`]: the hash stored before every shard block;
//! - [`md5x`]: the ETag (MD5) of concurrent uploads, sixteen streams at once in AVX-512 lanes.
//!
//! It depends on nothing else of Strata's; the `strata` crate re-exports the three modules.

pub mod bitrot;
pub mod erasure;
pub mod md5x;

#[cfg(test)]
mod coverage;
