//! Strata: erasure-coded, S3-compatible object storage on the bare drives of a Kubernetes
//! cluster. See README.md for the parts and how they fit.

pub mod bench;
pub mod cli;
pub mod csi;
pub mod deploy;
pub mod drive;
pub mod engine;
pub mod fsutil;
pub mod logging;
pub mod s3;
pub mod server;

// The codec is its own crate (src/codec/); re-exported so that `crate::erasure::…` and
// `strata::erasure::…` paths keep working.
pub use strata_codec::{bitrot, erasure, md5x};
