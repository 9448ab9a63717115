//! Strata: erasure-coded, S3-compatible object storage on the bare drives of a Kubernetes
//! cluster. See README.md for the parts and how they fit.

pub mod bench;
pub mod bitrot;
pub mod cli;
pub mod csi;
pub mod deploy;
pub mod drive;
pub mod engine;
pub mod erasure;
pub mod fsutil;
pub mod logging;
pub mod md5x;
pub mod s3;
pub mod server;
