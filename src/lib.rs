//! Strata: erasure-coded, S3-compatible object storage on the bare drives of a Kubernetes
//! cluster. See README.md for the parts and how they fit.

pub mod bench;
pub mod cli;
pub mod csi;
pub mod deploy;
pub mod drive;
pub mod fsutil;
pub mod logging;
pub mod s3;
pub mod server;

// The codec and the engine are their own crates (src/codec/, src/engine/); re-exported so that
// `crate::engine::…` and `strata::erasure::…` paths keep working.
pub use strata_codec::{bitrot, erasure, md5x};
pub use strata_engine as engine;
