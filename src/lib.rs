//! Strata: erasure-coded, S3-compatible object storage on the bare drives of a Kubernetes
//! cluster. See README.md for the parts and how they fit.

pub mod cli;
pub mod drive;
pub mod fsutil;
pub mod logging;
